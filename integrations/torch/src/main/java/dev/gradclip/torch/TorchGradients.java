package dev.gradclip.torch;

import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch gradients (JavaCPP PyTorch presets) as gradclip views of their own memory, zero copies: a CPU tensor
 * becomes {@code dev.gradclip.Tensor.ofAddress(data_ptr, numel, dtype)}, a CUDA tensor
 * {@code dev.gradclip.Tensor.onDevice(data_ptr, numel, dtype)} (for the CUDA backend, on the tensor's current
 * CUDA stream: see {@link #currentCudaStream(Tensor)}).
 *
 * <p>A tensor is accepted when it is defined, strided (not sparse, MKL-DNN, quantized or meta), non-overlapping and
 * dense (contiguous, or a permutation of contiguous such as channels-last: its elements then fill
 * {@code [data_ptr, data_ptr + nbytes)}, and norms are summed in memory order), of type fp32, fp64, fp16 or bf16,
 * and on the CPU or a CUDA device. Anything else is refused with an exception naming the tensor, before anything
 * is written. Parameters whose gradient is undefined (never reached by backward) are left out, as
 * {@code torch::nn::utils::clip_grad_norm_} leaves them out.
 *
 * <p>The views borrow libtorch's memory: keep the tensors alive and do not run backward or an optimizer step
 * while gradclip works on them.
 */
public final class TorchGradients {
    private TorchGradients() {
    }

    /** The gradients of {@code module.parameters()} (recursively), named by {@code named_parameters()}. */
    public static NamedGradients of(Module module) {
        Objects.requireNonNull(module, "module is null");
        Libtorch.load();
        StringTensorDict named = module.named_parameters(true);
        List<String> names = new ArrayList<>();
        List<Tensor> params = new ArrayList<>();
        for (long i = 0; i < named.size(); i++) {
            names.add(named.get(i).key().getString());
            params.add(named.get(i).value());
        }
        return of(names, params);
    }

    /** The gradients of {@code parameters} (in order; parameters without a gradient are left out). */
    public static NamedGradients of(TensorVector parameters) {
        Objects.requireNonNull(parameters, "parameters is null");
        Libtorch.load();
        List<String> names = new ArrayList<>();
        List<Tensor> params = new ArrayList<>();
        for (long i = 0; i < parameters.size(); i++) {
            names.add("parameter " + i);
            params.add(parameters.get(i));
        }
        return of(names, params);
    }

    private static NamedGradients of(List<String> names, List<Tensor> params) {
        List<String> keptNames = new ArrayList<>();
        List<Tensor> grads = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            if (!g.defined()) continue;
            check(g, names.get(i) + ".grad");
            keptNames.add(names.get(i));
            grads.add(g);
        }
        List<dev.gradclip.Tensor> views = new ArrayList<>(grads.size());
        for (Tensor g : grads) views.add(viewChecked(g));
        return new NamedGradients(keptNames, GradientSet.of(views), List.copyOf(grads));
    }

    /**
     * A view of one libtorch tensor's memory.
     *
     * @throws IllegalArgumentException if the tensor cannot be viewed in place (see the class comment)
     */
    public static dev.gradclip.Tensor view(Tensor t, String name) {
        Objects.requireNonNull(t, "tensor is null");
        Libtorch.load();
        check(t, name);
        return viewChecked(t);
    }

    private static dev.gradclip.Tensor viewChecked(Tensor t) {
        DType dtype = dtype(t, "tensor");
        long n = t.numel();
        long address = n == 0 ? 0 : t.data_ptr().address();
        if (t.is_cuda()) return dev.gradclip.Tensor.onDevice(address, n, dtype);
        return dev.gradclip.Tensor.ofAddress(address, n, dtype);
    }

    static void check(Tensor t, String name) {
        if (t.isNull() || !t.defined()) throw new IllegalArgumentException(name + " is undefined");
        if (t.is_sparse() || t.layout().value != torch.Layout.Strided.value) {
            throw new IllegalArgumentException(name + " has layout " + t.layout() + "; only strided (dense) tensors are clipped in place");
        }
        if (t.is_mkldnn() || t.is_quantized() || t.is_meta()) {
            throw new IllegalArgumentException(name + " is an MKL-DNN, quantized or meta tensor; it has no plain memory to clip");
        }
        dtype(t, name);
        torch.DeviceType dev = t.device().type();
        if (dev.value != torch.DeviceType.CPU.value && dev.value != torch.DeviceType.CUDA.value) {
            throw new IllegalArgumentException(name + " is on " + dev + "; gradclip reads CPU and CUDA memory only");
        }
        if (!t.is_non_overlapping_and_dense()) {
            throw new IllegalArgumentException(name + " is not dense (a strided view with gaps or overlaps, e.g. a slice or "
                    + "an expanded tensor); clip its base tensor, or make it contiguous and clip that copy yourself");
        }
        if (t.numel() > 0 && t.data_ptr().address() == 0) {
            throw new IllegalArgumentException(name + " has no storage (data_ptr is null)");
        }
    }

    /** The gradclip type of a libtorch tensor. */
    static DType dtype(Tensor t, String name) {
        // JavaCPP enums: compare the native values (a returned constant need not be the same Java object)
        torch.ScalarType s = t.scalar_type();
        if (s.value == torch.ScalarType.Float.value) return DType.FLOAT32;
        if (s.value == torch.ScalarType.Double.value) return DType.FLOAT64;
        if (s.value == torch.ScalarType.Half.value) return DType.FLOAT16;
        if (s.value == torch.ScalarType.BFloat16.value) return DType.BFLOAT16;
        throw new IllegalArgumentException(name + " has type " + s + "; gradclip clips Float, Double, Half and BFloat16");
    }

    /**
     * The {@code cudaStream_t} (as an address) of libtorch's current stream on {@code t}'s CUDA device, for
     * {@code Clipper.onStream(long)}: gradclip's kernels then run after the backward pass that produced the
     * gradients and before the optimizer kernels queued later, with no host synchronisation. Needs the presets' GPU
     * build ({@code linux-x86_64-gpu}) and the CUDA presets on the class path.
     *
     * @throws IllegalArgumentException if {@code t} is not a CUDA tensor
     */
    public static long currentCudaStream(Tensor t) {
        Objects.requireNonNull(t, "tensor is null");
        Libtorch.load();
        if (!t.is_cuda()) throw new IllegalArgumentException("not a CUDA tensor: " + t.device().type());
        byte index = t.device().index();
        try {
            Class<?> cuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
            Object stream = cuda.getMethod("getCurrentCUDAStream", byte.class).invoke(null, index);
            Method raw = stream.getClass().getMethod("stream"); // returns org.bytedeco.cuda.cudart.CUstream_st
            return ((Pointer) raw.invoke(stream)).address();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("could not read libtorch's current CUDA stream (are the presets' GPU build and "
                    + "org.bytedeco:cuda on the class path?)", e);
        }
    }
}
