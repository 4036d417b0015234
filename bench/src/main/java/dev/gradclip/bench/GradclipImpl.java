package dev.gradclip.bench;

import dev.gradclip.Backend;
import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.backend.cpu.CpuBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * gradclip through its public API ({@code Clipper.create(Backend.CPU)}: the CPU backend, all cores;
 * {@code Clipper.apply} with the {@link ClipOperation} records), on
 * tensors in one of three layouts: {@code heap} ({@code float[]}, {@code short[]} for bf16/fp16),
 * {@code native} (one {@link NativeBuffer} per tensor) or {@code direct} (one direct {@link ByteBuffer}
 * per tensor, native order).
 */
final class GradclipImpl implements Harness.Impl {
    private final Clipper clipper = Clipper.create(Backend.CPU);
    private final String layout;
    private final boolean half;
    private final GradientSet set;
    private final Object[] heap;          // float[] / short[] (heap layout)
    private final NativeBuffer[] natives; // native layout
    private final Object[] views;         // FloatBuffer / ShortBuffer views (direct layout)
    private final ClipOperation clip, noclip;

    GradclipImpl(long[] sizes, String dtype, String layout, double clipMax, double noclipMax) {
        this.layout = layout;
        half = !dtype.equals("fp32");
        DType dt = switch (dtype) {
            case "fp32" -> DType.FLOAT32;
            case "bf16" -> DType.BFLOAT16;
            case "fp16" -> DType.FLOAT16;
            default -> throw new IllegalArgumentException(dtype);
        };
        int n = sizes.length;
        heap = layout.equals("heap") ? new Object[n] : null;
        natives = layout.equals("native") ? new NativeBuffer[n] : null;
        views = layout.equals("direct") ? new Object[n] : null;
        List<Tensor> ts = new ArrayList<>(n);
        for (int t = 0; t < n; t++) {
            int len = Math.toIntExact(sizes[t]);
            switch (layout) {
                case "heap" -> {
                    if (half) {
                        short[] x = new short[len];
                        heap[t] = x;
                        ts.add(Tensor.of(x, dt));
                    } else {
                        float[] x = new float[len];
                        heap[t] = x;
                        ts.add(Tensor.of(x));
                    }
                }
                case "native" -> {
                    natives[t] = NativeBuffer.allocate(dt, len);
                    ts.add(natives[t].tensor());
                }
                case "direct" -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(len * dt.byteSize()).order(ByteOrder.nativeOrder());
                    views[t] = half ? b.asShortBuffer() : b.asFloatBuffer();
                    ts.add(Tensor.of(b, dt));
                }
                default -> throw new IllegalArgumentException("layout " + layout + " (heap, native, direct)");
            }
        }
        set = GradientSet.of(ts);
        clip = new ClipOperation.ByGlobalNorm(NormClip.of(clipMax));
        noclip = new ClipOperation.ByGlobalNorm(NormClip.of(noclipMax));
    }

    @Override
    public String describe() {
        String isa = CpuBackend.nativeIsa();
        String kernels = isa != null ? "native " + isa : "java (" + CpuBackend.nativeUnavailableReason() + ")";
        return clipper + ", kernels " + kernels + ", layout " + layout;
    }

    @Override
    public void restore(Object[] pristine) {
        for (int t = 0; t < pristine.length; t++) {
            Object src = pristine[t];
            switch (layout) {
                case "heap" -> HeapRestore.copy(src, heap[t]);
                case "native" -> {
                    // a JavaCPP view of the buffer (the anonymous subclass may set Pointer's protected fields)
                    long at = natives[t].address();
                    long n = natives[t].count();
                    if (half) new ShortPointer() { { address = at; limit = n; capacity = n; } }.put((short[]) src);
                    else new FloatPointer() { { address = at; limit = n; capacity = n; } }.put((float[]) src);
                }
                default -> {
                    if (half) ((ShortBuffer) views[t]).clear().put((short[]) src);
                    else ((FloatBuffer) views[t]).clear().put((float[]) src);
                }
            }
        }
    }

    private final ClipOperation byValue = new ClipOperation.ByValue(ValueClip.symmetric(Data.BOUND));
    private final ClipOperation norms = new ClipOperation.Norms(NormType.L2, NonFinitePolicy.PROPAGATE);

    /** The call as a trainer makes it: {@code Clipper.apply} with one of the operation records. */
    @Override
    public Object run(String op) {
        return clipper.apply(set, switch (op) {
            case "norms" -> norms;
            case "clip" -> clip;
            case "noclip" -> noclip;
            default -> byValue; // value-<fraction>: the data decide the fraction
        });
    }

    @Override
    public String check(String op, Object result, long expectedOutside) {
        ClipReport r = (ClipReport) result;
        String d = "norm " + r.totalNorm() + ", scale " + r.scale() + ", clipped elements " + r.clippedElements()
                + " of " + r.totalElements();
        if (op.startsWith("value-") && r.clippedElements() != expectedOutside) {
            throw new IllegalStateException(op + ": clipped " + r.clippedElements() + " elements, the data have "
                    + expectedOutside + " outside the bound");
        }
        if (op.equals("clip") && !(r.scale() < 0.6 && r.scale() > 0.4)) throw new IllegalStateException("clip: scale " + r.scale());
        if (op.equals("noclip") && r.scale() != 1.0) throw new IllegalStateException("noclip: scale " + r.scale());
        return d;
    }

    @Override
    public void close() {
        clipper.close();
        if (natives != null) for (NativeBuffer b : natives) b.close();
    }
}
