package dev.gradclip.bench;

import java.io.IOException;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch 2.10 inside the JVM, through the JavaCPP PyTorch presets (org.bytedeco:pytorch
 * 2.10.0-1.5.13): one parameter per tensor (requires_grad, its own storage never touched) whose
 * {@code grad} holds the gradient in libtorch's own memory, as in a libtorch trainer. Operations are the
 * C++ frontend's {@code torch::nn::utils::clip_grad_value_} and {@code clip_grad_norm_} (which, like
 * PyTorch 1.13's Python version, multiplies by the clamped coefficient even when it is 1); norms =
 * {@code linalg_vector_norm} per gradient, of their stack, {@code item()}. Threads: the core count.
 *
 * <p>Loading: on a machine with Debian's libtorch 1.13 installed, the presets' first load into an empty
 * JavaCPP cache resolved {@code libtorch.so} to Debian's library before {@code libtorch_cpu.so} was
 * unpacked, and crashed; so the presets' platform folder is unpacked into the cache first
 * ({@link Loader#cacheResources}). Never load DJL's libtorch in the same JVM.
 */
final class LibtorchImpl implements Harness.Impl {
    private final Tensor[] params;
    private final Tensor[] grads;
    private final TensorVector paramVector;
    private final boolean half, bf16;
    private final double clipMax, noclipMax;

    static LibtorchImpl create(long[] sizes, String dtype, double clipMax, double noclipMax) throws IOException {
        Loader.cacheResources(torch.class, "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/");
        Loader.load(torch.class);
        torch.set_num_threads(Runtime.getRuntime().availableProcessors());
        return new LibtorchImpl(sizes, dtype, clipMax, noclipMax);
    }

    private LibtorchImpl(long[] sizes, String dtype, double clipMax, double noclipMax) {
        torch.ScalarType st = switch (dtype) {
            case "fp32" -> torch.ScalarType.Float;
            case "bf16" -> torch.ScalarType.BFloat16;
            case "fp16" -> torch.ScalarType.Half;
            default -> throw new IllegalArgumentException(dtype);
        };
        half = !dtype.equals("fp32");
        bf16 = dtype.equals("bf16");
        params = new Tensor[sizes.length];
        grads = new Tensor[sizes.length];
        for (int t = 0; t < sizes.length; t++) {
            params[t] = torch.empty(new long[] {sizes[t]}, new TensorOptions(st), null);
            params[t].set_requires_grad(true);
            grads[t] = torch.empty(new long[] {sizes[t]}, new TensorOptions(st), null);
            params[t].mutable_grad().put(grads[t]);
        }
        paramVector = new TensorVector(params);
        this.clipMax = clipMax;
        this.noclipMax = noclipMax;
    }

    @Override
    public String describe() {
        return "libtorch 2.10 (JavaCPP presets 1.5.13), " + torch.get_num_threads() + " threads";
    }

    @Override
    public void restore(Object[] pristine) {
        for (int t = 0; t < grads.length; t++) {
            Tensor g = params[t].grad();
            if (half) new ShortPointer(g.data_ptr()).put((short[]) pristine[t]);
            else new FloatPointer(g.data_ptr()).put((float[]) pristine[t]);
        }
    }

    private double norms() {
        TensorVector ns = new TensorVector();
        for (Tensor p : params) ns.push_back(torch.linalg_vector_norm(p.grad()));
        return torch.linalg_vector_norm(torch.stack(ns)).item_double();
    }

    @Override
    public Object run(String op) {
        switch (op) {
            case "norms":
                return new double[] {norms(), 1.0};
            case "clip":
                return new double[] {torch.clip_grad_norm_(paramVector, clipMax), Double.NaN};
            case "noclip":
                return new double[] {torch.clip_grad_norm_(paramVector, noclipMax), Double.NaN};
            default:
                torch.clip_grad_value_(paramVector, Data.BOUND);
                return paramVector;
        }
    }

    @Override
    public String check(String op, Object result, long expectedOutside) {
        if (result instanceof double[] d) {
            return op.equals("clip") ? "norm " + d[0] + " -> " + norms() + " after the clip" : "norm " + d[0];
        }
        long atBound = 0;
        int chunk = 1 << 20;
        short[] hs = half ? new short[chunk] : null;
        float[] fs = half ? null : new float[chunk];
        for (Tensor p : params) {   // read back in bulk copies (one JNI call per element took 30 s on bert-base)
            Tensor g = p.grad();
            long n = g.numel();
            for (long at = 0; at < n; at += chunk) {
                int len = (int) Math.min(chunk, n - at);
                if (half) {
                    new ShortPointer(g.data_ptr()).position(at).get(hs, 0, len);
                    for (int i = 0; i < len; i++) if (Math.abs(Data.fromHalfBits(hs[i], bf16)) == Data.BOUND) atBound++;
                } else {
                    new FloatPointer(g.data_ptr()).position(at).get(fs, 0, len);
                    for (int i = 0; i < len; i++) if (Math.abs(fs[i]) == Data.BOUND) atBound++;
                }
            }
        }
        return Harness.requireAtBound(op, atBound, expectedOutside, !half);
    }
}
