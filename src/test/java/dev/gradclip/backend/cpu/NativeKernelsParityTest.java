package dev.gradclip.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.backend.ClampCounts;
import dev.gradclip.internal.HalfFloats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The native kernels against the Java reference, pass by pass (the backend SPI), on every instruction-set
 * path this CPU has, bit for bit: partials, tensor sums, counts and the memory after clamp and scale as
 * raw bits (NaN payloads included; NaN partials only as NaN). Heap arrays (each tensor a slice of its
 * own array at an odd offset) and off-heap memory, mixed in one set; sizes around the chunk and lane
 * boundaries, many small tensors, special values.
 */
class NativeKernelsParityTest {
    private static String initialIsa;

    @BeforeAll
    static void requireNative() {
        assumeTrue(NativeKernels.AVAILABLE, () -> "native CPU kernels unavailable: " + NativeKernels.UNAVAILABLE);
        initialIsa = NativeKernels.isa();
    }

    @AfterAll
    static void restore() {
        if (initialIsa != null) NativeKernels.setIsa(initialIsa);
    }

    private static final long C = ChunkPlan.CHUNK;
    private static final long[][] SHAPES = {
        {0, 1, 2, 3, 5, 7, 31, 33, 127, 128, 129, 1023, 1024, 1025, 4097},
        {C - 1, C, C + 1},
        {2 * C + 3, 1, 0, 1000},
        {3 * C + 1023},
    };

    /** A set whose tensors alternate between heap slices and off-heap buffers. */
    private static final class Data implements AutoCloseable {
        final List<Tensor> tensors = new ArrayList<>();
        final List<Object> heap = new ArrayList<>();
        final List<NativeBuffer> buffers = new ArrayList<>();

        GradientSet set() {
            return GradientSet.of(tensors);
        }

        /** Every element's raw bits, tensor after tensor. */
        long[] bits() {
            long total = 0;
            for (Tensor x : tensors) total += x.size();
            long[] out = new long[(int) total];
            int k = 0;
            for (int t = 0; t < tensors.size(); t++) {
                Tensor x = tensors.get(t);
                for (long i = 0; i < x.size(); i++) out[k++] = bitsAt(t, i);
            }
            return out;
        }

        private long bitsAt(int t, long i) {
            Tensor x = tensors.get(t);
            if (x instanceof Tensor.HeapFloats a) return Float.floatToRawIntBits(a.array()[a.offset() + (int) i]);
            if (x instanceof Tensor.HeapDoubles a) return Double.doubleToRawLongBits(a.array()[a.offset() + (int) i]);
            if (x instanceof Tensor.HeapShorts a) return a.array()[a.offset() + (int) i] & 0xffff;
            NativeBuffer b = buffers.get(t);
            long at = b.count() - x.size() + i;
            return switch (x.dtype()) {
                case FLOAT32 -> Float.floatToRawIntBits(b.getFloat(at));
                case FLOAT64 -> Double.doubleToRawLongBits(b.getDouble(at));
                default -> b.getBits(at) & 0xffff;
            };
        }

        @Override
        public void close() {
            for (NativeBuffer b : buffers) if (b != null) b.close();
        }
    }

    private static double value(SplittableRandom r, DType d, int kind) {
        double g = r.nextGaussian();
        return switch (kind) {
            case 0 -> g;
            case 1 -> g * (d == DType.FLOAT64 ? 1e200 : d == DType.FLOAT16 ? 3e4 : 1e37);
            case 2 -> g * (d == DType.FLOAT64 ? 1e-310 : d == DType.FLOAT16 ? 3e-6 : 1e-41);
            case 3 -> r.nextInt(8) == 0 ? -0.0 : 0.0;
            default -> switch (r.nextInt(30)) {
                case 0 -> Double.longBitsToDouble(0x7ff8000000000123L | ((long) r.nextInt(2) << 63));
                case 1 -> Double.POSITIVE_INFINITY;
                case 2 -> Double.NEGATIVE_INFINITY;
                case 3 -> -0.0;
                default -> g;
            };
        };
    }

    private static Data make(long seed, DType d, long[] sizes, int kind) {
        SplittableRandom r = new SplittableRandom(seed);
        Data data = new Data();
        for (int t = 0; t < sizes.length; t++) {
            int n = (int) sizes[t];
            int off = r.nextInt(4);
            boolean heap = t % 2 == 0;
            NativeBuffer nb = heap ? null : NativeBuffer.allocate(d, n + off);
            Object arr = null;
            if (heap) {
                arr = switch (d) {
                    case FLOAT32 -> new float[n + off];
                    case FLOAT64 -> new double[n + off];
                    default -> new short[n + off];
                };
            }
            for (int i = 0; i < n; i++) {
                double x = value(r, d, kind);
                switch (d) {
                    case FLOAT32 -> { if (heap) ((float[]) arr)[off + i] = (float) x; else nb.putFloat(off + i, (float) x); }
                    case FLOAT64 -> { if (heap) ((double[]) arr)[off + i] = x; else nb.putDouble(off + i, x); }
                    default -> {
                        short h = d == DType.FLOAT16 ? HalfFloats.floatToHalf((float) x) : HalfFloats.floatToBfloat16((float) x);
                        if (heap) ((short[]) arr)[off + i] = h; else nb.putBits(off + i, h);
                    }
                }
            }
            data.buffers.add(nb);
            data.heap.add(arr);
            if (heap) {
                data.tensors.add(switch (d) {
                    case FLOAT32 -> Tensor.of((float[]) arr, off, n);
                    case FLOAT64 -> Tensor.of((double[]) arr, off, n);
                    default -> Tensor.of((short[]) arr, off, n, d);
                });
            } else {
                data.tensors.add(nb.tensor(off, n));
            }
        }
        return data;
    }

    private static void sameDouble(String what, double a, double b) {
        if (Double.isNaN(a) && Double.isNaN(b)) return;
        assertEquals(Double.doubleToRawLongBits(a), Double.doubleToRawLongBits(b), () -> what + ": java " + a + " vs native " + b);
    }

    private static void sameBits(String what, Data a, Data b) {
        long[] x = a.bits();
        long[] y = b.bits();
        assertEquals(x.length, y.length);
        for (int i = 0; i < x.length; i++) {
            if (x[i] != y[i]) fail(what + ": element " + i + ": java 0x" + Long.toHexString(x[i]) + " vs native 0x" + Long.toHexString(y[i]));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "avx2", "avx512"})
    void everyPassMatchesTheJavaReference(String isa) {
        assumeTrue(NativeKernels.isaSupported(isa), () -> "this CPU has no " + isa);
        assertTrue(NativeKernels.setIsa(isa));
        assertEquals(isa, NativeKernels.isa());
        CpuBackend ref = new CpuBackend(2, CpuBackend.Kernels.JAVA);
        CpuBackend nat = new CpuBackend(2, CpuBackend.Kernels.NATIVE);
        assertTrue(nat.kernels().equals("native " + isa), nat.kernels());
        SplittableRandom r = new SplittableRandom(isa.hashCode());
        int compared = 0;
        for (DType d : DType.values()) {
            for (long[] sizes : SHAPES) {
                for (int kind = 0; kind < 5; kind++) {
                    long seed = r.nextLong();
                    String where = isa + " " + d + " kind " + kind + " sizes " + Arrays.toString(sizes);
                    for (NormType p : new NormType[] {NormType.L1, NormType.L2, NormType.INF}) {
                        try (Data a = make(seed, d, sizes, kind); Data b = make(seed, d, sizes, kind)) {
                            NormPartials x = ref.norms(a.set(), p);
                            NormPartials y = nat.norms(b.set(), p);
                            assertEquals(x.nonFiniteElements(), y.nonFiniteElements(), where + " nonfinite");
                            for (int t = 0; t < sizes.length; t++) {
                                double[] cx = x.chunkSums(t);
                                double[] cy = y.chunkSums(t);
                                for (int c = 0; c < cx.length; c++) sameDouble(where + " p=" + p + " tensor " + t + " chunk " + c, cx[c], cy[c]);
                                sameDouble(where + " p=" + p + " tensor sum " + t, x.tensorSum(t), y.tensorSum(t));
                            }
                            sameDouble(where + " p=" + p + " total", x.totalNorm(), y.totalNorm());
                            assertEquals(x.nonFiniteElements(), ref.countNonFinite(a.set()));
                            assertEquals(y.nonFiniteElements(), nat.countNonFinite(b.set()));
                            sameBits(where + " norms wrote", a, b);
                            compared++;
                        }
                    }
                    double lo = -Math.abs(r.nextGaussian()) * (kind == 1 ? 1e4 : 1);
                    double hi = r.nextInt(5) == 0 ? 0.0 : Math.abs(r.nextGaussian());
                    try (Data a = make(seed, d, sizes, kind); Data b = make(seed, d, sizes, kind)) {
                        ClampCounts x = ref.clamp(a.set(), lo, hi);
                        ClampCounts y = nat.clamp(b.set(), lo, hi);
                        assertEquals(x, y, where + " clamp counts");
                        sameBits(where + " clamp [" + lo + ", " + hi + "]", a, b);
                        compared++;
                    }
                    double[] scales = new double[sizes.length];
                    for (int t = 0; t < scales.length; t++) {
                        scales[t] = switch (r.nextInt(7)) {
                            case 0 -> 1.0;
                            case 1 -> Double.NaN;
                            case 2 -> 0.0;
                            case 3 -> 1e-40;
                            case 4 -> 1e39;
                            default -> r.nextDouble() * 2;
                        };
                    }
                    try (Data a = make(seed, d, sizes, kind); Data b = make(seed, d, sizes, kind)) {
                        assertEquals(ref.scale(a.set(), scales), nat.scale(b.set(), scales), where + " scale count");
                        sameBits(where + " scale " + Arrays.toString(scales), a, b);
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared > 100, "compared " + compared);
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "avx2", "avx512"})
    void tenThousandSmallTensors(String isa) {
        assumeTrue(NativeKernels.isaSupported(isa), () -> "this CPU has no " + isa);
        assertTrue(NativeKernels.setIsa(isa));
        long[] sizes = new long[10_000];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < sizes.length; i++) sizes[i] = r.nextInt(0, 1200);
        CpuBackend ref = new CpuBackend(2, CpuBackend.Kernels.JAVA);
        CpuBackend nat = new CpuBackend(2, CpuBackend.Kernels.NATIVE);
        try (Data a = make(11, DType.FLOAT32, sizes, 4); Data b = make(11, DType.FLOAT32, sizes, 4)) {
            NormPartials x = ref.norms(a.set(), NormType.L2);
            NormPartials y = nat.norms(b.set(), NormType.L2);
            for (int t = 0; t < sizes.length; t++) sameDouble("tensor " + t, x.tensorSum(t), y.tensorSum(t));
            sameDouble("total", x.totalNorm(), y.totalNorm());
            assertEquals(ref.clamp(a.set(), -0.5, 0.5), nat.clamp(b.set(), -0.5, 0.5));
            sameBits("clamp", a, b);
        }
    }
}
