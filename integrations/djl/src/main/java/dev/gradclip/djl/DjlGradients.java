package dev.gradclip.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.util.Pair;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import dev.gradclip.integration.ParameterGradients;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Exposes DJL gradients to gradclip as views of their own memory, and refuses, before anything is written,
 * every gradient that cannot be exposed that way.
 *
 * <p>DJL's only way to the bytes of an {@link NDArray} is {@link NDArray#toByteBuffer(boolean)
 * toByteBuffer(true)}. For a dense, contiguous CPU tensor of the PyTorch engine it is a direct buffer over the
 * tensor's own storage; for anything else DJL silently returns a <em>copy</em> (a GPU tensor is copied to the
 * host, a non-contiguous or sparse one is made contiguous first), and clipping a copy would leave the real
 * gradient unclipped. So a view is made only after these checks, in this order:
 * <ol>
 *   <li>the array is on the CPU (GPU memory is not reachable through DJL's API: refused, never copied);
 *   <li>it is dense ({@link SparseFormat#DENSE});
 *   <li>its data type is fp32, fp64, fp16 or bf16;
 *   <li>it holds at most {@code Integer.MAX_VALUE} bytes (a {@link ByteBuffer} cannot address more: a
 *       gradient over 2 GiB is refused);
 *   <li>the buffer is direct, native-ordered and exactly as large as the tensor;
 *   <li><b>write-read-back</b>: the first and the last element of the buffer are overwritten with their bit
 *       complement, read back through DJL from a freshly fetched array ({@code readBack}), and restored. Only
 *       if DJL sees the written bits is the buffer the tensor's memory. A non-contiguous tensor (for which DJL
 *       made a contiguous copy), an undefined gradient (for which DJL returns new zeros each call) or any other
 *       copy fails here. The original bits are restored in every case.
 * </ol>
 * The check of step 6 costs two one-element reads; {@link DjlGradients} instances remember, per parameter, the
 * verified address and size and repeat it only when either changes.
 */
public final class DjlGradients {
    /** The largest tensor DJL can expose in place: a {@code ByteBuffer} has an {@code int} capacity. */
    public static final long MAX_BYTES = Integer.MAX_VALUE;

    private record Extent(long address, long bytes) { }

    private final Map<String, Extent> verified = new HashMap<>(); // parameter id -> the extent last verified

    /** A fresh instance with an empty cache of verified views. */
    public DjlGradients() {
    }

    /**
     * Runs {@code action} on the gradients of every trainable parameter of {@code trainer}'s model, in the
     * model's parameter order (shared parameters once), as in-place views. The views are valid only inside
     * {@code action}: the gradient handles fetched from DJL are released when it returns.
     *
     * @throws IllegalStateException naming the problem, before anything is written: more than one training
     *     device, a parameter whose array is not the one the optimizer updates, or a gradient that cannot be
     *     exposed in place (see the class comment)
     */
    public <R> R withGradients(Trainer trainer, Function<ParameterGradients, R> action) {
        Objects.requireNonNull(trainer, "trainer is null");
        Objects.requireNonNull(action, "action is null");
        Device[] devices = trainer.getDevices();
        if (devices.length != 1) {
            throw new IllegalStateException(multiDeviceMessage(devices.length));
        }
        Device device = devices[0];
        Map<String, Parameter> params = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : trainer.getModel().getBlock().getParameters()) {
            Parameter param = p.getValue();
            if (!param.requiresGradient()) continue;
            params.putIfAbsent(param.getId(), param);
        }
        List<NDArray> fetched = new ArrayList<>(params.size());
        try {
            // every check first, on every parameter; then the views
            for (Parameter param : params.values()) {
                NDArray array = param.getArray();
                if (!array.getDevice().equals(device)) {
                    throw new IllegalStateException("parameter " + param.getName() + " lives on " + array.getDevice()
                            + " but the trainer trains on " + device + ": the optimizer updates a copy whose gradient "
                            + "is not this parameter's, so clipping it would clip nothing");
                }
                NDArray grad = array.getGradient();
                fetched.add(grad);
                checkViewable(grad, param.getName());
            }
            List<String> names = new ArrayList<>(params.size());
            List<Tensor> tensors = new ArrayList<>(params.size());
            int i = 0;
            for (Parameter param : params.values()) {
                NDArray array = param.getArray();
                tensors.add(view(fetched.get(i++), param.getName(), param.getId(), array::getGradient, true));
                names.add(param.getName());
            }
            return action.apply(new ParameterGradients(names, GradientSet.of(tensors)));
        } finally {
            for (NDArray g : fetched) g.close(); // the handle only: the gradient's storage belongs to its parameter
        }
    }

    /**
     * An in-place view of {@code array} (any NDArray, not only a gradient), verified by write-read-back
     * through the same array.
     *
     * @throws IllegalStateException if the array cannot be exposed in place (nothing is modified)
     */
    public static Tensor view(NDArray array, String name) {
        checkViewable(array, name);
        return new DjlGradients().view(array, name, null, () -> array, false);
    }

    private static String multiDeviceMessage(int n) {
        return "the trainer trains on " + n + " devices: each device holds only its part of the batch gradient, "
                + "and DJL sums the parts inside ParameterServer.update, one parameter at a time, right before "
                + "the optimizer step. Clipping the per-device parts is not clipping the gradient (the norm of a sum "
                + "is not the sum of norms, and value clipping does not commute with the sum), and a global norm "
                + "needs every summed gradient before any parameter is updated. Train on one device, or reduce the "
                + "gradients to one device yourself, clip them there with gradclip, and let a ParameterServer "
                + "apply that result";
    }

    /** The checks that need no buffer: device, layout, dtype and size. */
    static void checkViewable(NDArray array, String name) {
        Objects.requireNonNull(array, "array is null");
        Device d = array.getDevice();
        if (!Device.Type.CPU.equals(d.getDeviceType())) {
            throw new IllegalStateException(name + ": the array is on " + d + "; DJL exposes only CPU memory in place "
                    + "(toByteBuffer would copy it to the host, and clipping the copy would not clip the gradient)");
        }
        SparseFormat sf = array.getSparseFormat();
        if (sf != SparseFormat.DENSE) {
            throw new IllegalStateException(name + ": the array is sparse (" + sf + "); only dense arrays can be clipped in place");
        }
        dtype(array.getDataType(), name);
        long bytes = array.getShape().size() * array.getDataType().getNumOfBytes();
        if (bytes > MAX_BYTES) {
            throw new IllegalStateException(name + ": " + bytes + " bytes (" + array.getShape() + " " + array.getDataType()
                    + ") exceed the 2 GiB a java.nio.ByteBuffer can address; DJL cannot expose this tensor in place");
        }
    }

    /** The gradclip type of a DJL data type. */
    static DType dtype(DataType t, String name) {
        switch (t) {
            case FLOAT32: return DType.FLOAT32;
            case FLOAT64: return DType.FLOAT64;
            case FLOAT16: return DType.FLOAT16;
            case BFLOAT16: return DType.BFLOAT16;
            default:
                throw new IllegalStateException(name + ": data type " + t + " is not a floating-point gradient type "
                        + "gradclip clips (fp32, fp64, fp16, bf16)");
        }
    }

    private Tensor view(NDArray array, String name, String cacheKey, Supplier<NDArray> readBack, boolean closeReadBack) {
        DType dtype = dtype(array.getDataType(), name);
        long count = array.getShape().size();
        long bytes = count * dtype.byteSize();
        ByteBuffer buf = array.toByteBuffer(true);
        if (!buf.isDirect() || buf.isReadOnly()) {
            throw new IllegalStateException(name + ": DJL returned a " + (buf.isDirect() ? "read-only" : "heap")
                    + " buffer, not a writable view of the tensor's memory");
        }
        if (buf.remaining() != bytes) {
            throw new IllegalStateException(name + ": DJL's buffer holds " + buf.remaining() + " bytes, the tensor "
                    + bytes + ": not a view of it");
        }
        buf = buf.slice().order(ByteOrder.nativeOrder());
        Tensor t = Tensor.of(buf, dtype);
        if (count == 0) return t;
        long address = ((Tensor.OffHeap) t).address();
        Extent key = new Extent(address, bytes);
        if (cacheKey == null || !key.equals(verified.get(cacheKey))) {
            verifyInPlace(buf, dtype.byteSize(), count, name, readBack, closeReadBack);
            if (cacheKey != null) verified.put(cacheKey, key);
        }
        return t;
    }

    /** Write-read-back of the first and the last element; restores the original bits in every case. */
    static void verifyInPlace(ByteBuffer view, int elementBytes, long count, String name, Supplier<NDArray> readBack,
                              boolean closeReadBack) {
        long[] probes = count == 1 ? new long[] {0} : new long[] {0, count - 1};
        for (long index : probes) {
            int at = Math.toIntExact(index * elementBytes);
            byte[] original = new byte[elementBytes];
            byte[] probe = new byte[elementBytes];
            for (int b = 0; b < elementBytes; b++) {
                original[b] = view.get(at + b);
                probe[b] = (byte) ~original[b];
            }
            byte[] seen;
            try {
                for (int b = 0; b < elementBytes; b++) view.put(at + b, probe[b]);
                NDArray source = readBack.get();
                try {
                    seen = readElement(source, index, elementBytes);
                } finally {
                    if (closeReadBack) source.close();
                }
            } finally {
                for (int b = 0; b < elementBytes; b++) view.put(at + b, original[b]);
            }
            for (int b = 0; b < elementBytes; b++) {
                if (seen[b] != probe[b]) {
                    throw new IllegalStateException(name + ": the buffer DJL returned is a copy, not the tensor's memory "
                            + "(a write to element " + index + " was not seen by DJL: a non-contiguous tensor, an "
                            + "undefined gradient, or an engine that copies); refusing to clip a copy");
                }
            }
        }
    }

    private static byte[] readElement(NDArray array, long index, int elementBytes) {
        try (NDArray flat = array.reshape(-1); NDArray e = flat.get(index)) {
            ByteBuffer b = e.toByteBuffer(false);
            if (b.remaining() != elementBytes) {
                throw new IllegalStateException("read back " + b.remaining() + " bytes for one element of " + elementBytes);
            }
            byte[] out = new byte[elementBytes];
            b.get(out);
            return out;
        }
    }
}
