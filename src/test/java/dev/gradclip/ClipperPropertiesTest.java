package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.backend.cpu.CpuBackend;
import dev.gradclip.internal.HalfFloats;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Properties over random gradient sets: sizes 0, 1, primes, lane and chunk boundaries ±1; fp32, fp64,
 * fp16 and bf16; normal, huge, tiny and subnormal values.
 */
class ClipperPropertiesTest {
    private static final int[] SIZES = {0, 1, 2, 3, 7, 31, 1023, 1024, 1025, 4099, 65_535, 65_536, 65_537, 131_071, 131_073};

    /** A random set described by a seed, so it can be rebuilt identically for each side of a comparison. */
    record SetSpec(long seed, int tensors, DType dtype, int magnitude) {
        List<Object> arrays() {
            SplittableRandom r = new SplittableRandom(seed);
            List<Object> out = new ArrayList<>();
            for (int t = 0; t < tensors; t++) {
                int n = SIZES[r.nextInt(SIZES.length)];
                double scale = switch (magnitude) {
                    case 0 -> 1.0;
                    case 1 -> 1e-40;  // subnormal fp32
                    case 2 -> 1e30;   // fp32 squares beyond fp32 range
                    default -> Math.pow(10, r.nextInt(-20, 20));
                };
                switch (dtype) {
                    case FLOAT32 -> {
                        float[] a = new float[n];
                        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
                        out.add(a);
                    }
                    case FLOAT64 -> {
                        double[] a = new double[n];
                        for (int i = 0; i < n; i++) a[i] = r.nextGaussian() * scale;
                        out.add(a);
                    }
                    default -> {
                        short[] a = new short[n];
                        double s = Math.min(scale, 1000);
                        for (int i = 0; i < n; i++) {
                            float f = (float) (r.nextGaussian() * s);
                            a[i] = dtype == DType.FLOAT16 ? HalfFloats.floatToHalf(f) : HalfFloats.floatToBfloat16(f);
                        }
                        out.add(a);
                    }
                }
            }
            return out;
        }

        GradientSet heap(List<Object> arrays) {
            List<Tensor> ts = new ArrayList<>();
            for (Object a : arrays) {
                if (a instanceof float[] f) ts.add(Tensor.of(f));
                else if (a instanceof double[] d) ts.add(Tensor.of(d));
                else ts.add(Tensor.of((short[]) a, dtype));
            }
            return GradientSet.of(ts);
        }
    }

    @Provide
    Arbitrary<SetSpec> sets() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 5),
                Arbitraries.of(DType.values()), Arbitraries.integers().between(0, 3)).as(SetSpec::new);
    }

    private static void assertSameBits(List<Object> a, List<Object> b) {
        for (int i = 0; i < a.size(); i++) {
            Object x = a.get(i);
            if (x instanceof float[] f) assertArrayEquals(f, (float[]) b.get(i));
            else if (x instanceof double[] d) assertArrayEquals(d, (double[]) b.get(i));
            else assertArrayEquals((short[]) x, (short[]) b.get(i));
        }
    }

    private static void assertSameReport(ClipReport a, ClipReport b) {
        assertEquals(Double.doubleToLongBits(a.totalNorm()), Double.doubleToLongBits(b.totalNorm()));
        assertArrayEquals(a.tensorNorms(), b.tensorNorms());
        assertEquals(Double.doubleToLongBits(a.scale()), Double.doubleToLongBits(b.scale()));
        assertEquals(a.clippedElements(), b.clippedElements());
        assertEquals(a.nonFiniteElements(), b.nonFiniteElements());
    }

    @Property(tries = 60)
    void threadsNeverChangeABit(@ForAll("sets") SetSpec spec, @ForAll("normTypes") NormType p) {
        List<Object> one = spec.arrays();
        List<Object> many = spec.arrays();
        NormClip clip = NormClip.of(0.5).withNormType(p);
        ClipReport a = Clipper.using(new CpuBackend(1)).clipByGlobalNorm(spec.heap(one), clip);
        ClipReport b = Clipper.using(new CpuBackend(3)).clipByGlobalNorm(spec.heap(many), clip);
        assertSameReport(a, b);
        assertSameBits(one, many);
    }

    @Provide
    Arbitrary<NormType> normTypes() {
        return Arbitraries.of(NormType.L1, NormType.L2, NormType.INF, NormType.of(3), NormType.of(0.5));
    }

    @Property(tries = 60)
    void l2NormIsFp64Exact(@ForAll("sets") SetSpec spec) {
        List<Object> arrays = spec.arrays();
        ClipReport r = Clipper.using(new CpuBackend()).norms(spec.heap(arrays), NormType.L2);
        List<double[]> widened = new ArrayList<>();
        for (Object a : arrays) {
            if (a instanceof float[] f) widened.add(Truth.widen(f));
            else if (a instanceof double[] d) widened.add(d);
            else {
                short[] s = (short[]) a;
                double[] d = new double[s.length];
                for (int i = 0; i < s.length; i++) {
                    d[i] = spec.dtype() == DType.FLOAT16 ? HalfFloats.halfToFloat(s[i]) : HalfFloats.bfloat16ToFloat(s[i]);
                }
                widened.add(d);
            }
        }
        double truth = Truth.l2(widened.toArray(new double[0][]));
        // fp64 lanes: at most ~ (elements per lane + tree depth) roundings of 2^-53 each
        assertTrue(Truth.relativeError(r.totalNorm(), truth) < 1e-13, r.totalNorm() + " vs truth " + truth);
    }

    @Property(tries = 60)
    void globalClipBoundsTheNorm(@ForAll("sets") SetSpec spec) {
        if (spec.dtype() != DType.FLOAT32 && spec.dtype() != DType.FLOAT64) return; // 16-bit rounding is coarser
        List<Object> arrays = spec.arrays();
        Clipper c = Clipper.using(new CpuBackend());
        ClipReport before = c.norms(spec.heap(arrays), NormType.L2);
        double max = before.totalNorm() / 3 + Double.MIN_NORMAL;
        ClipReport clip = c.clipByGlobalNorm(spec.heap(arrays), NormClip.of(max).withSemantics(Semantics.TF));
        double after = c.norms(spec.heap(arrays), NormType.L2).totalNorm();
        // subnormal fp32 elements round with an absolute error of up to half of Float.MIN_VALUE each
        double slack = Math.sqrt(clip.totalElements()) * Float.MIN_VALUE;
        assertTrue(after <= max * (1 + 1e-6) + slack, after + " > " + max);
        if (clip.scale() == 1.0) assertEquals(0, clip.clippedElements(), "a scale of 1 writes nothing");
    }

    @Property(tries = 60)
    void valueClipKeepsEveryElementInBounds(@ForAll("sets") SetSpec spec) {
        List<Object> arrays = spec.arrays();
        long outside = 0;
        double lo = -0.75;
        double hi = 0.5;
        for (Object a : arrays) {
            if (a instanceof float[] f) for (float x : f) outside += (x < (float) lo || x > (float) hi) ? 1 : 0;
            else if (a instanceof double[] d) for (double x : d) outside += (x < lo || x > hi) ? 1 : 0;
            else for (short s : (short[]) a) {
                boolean half = spec.dtype() == DType.FLOAT16;
                float x = half ? HalfFloats.halfToFloat(s) : HalfFloats.bfloat16ToFloat(s);
                float l = half ? HalfFloats.roundToHalf(lo) : HalfFloats.roundToBfloat16(lo);
                float h = half ? HalfFloats.roundToHalf(hi) : HalfFloats.roundToBfloat16(hi);
                outside += (x < l || x > h) ? 1 : 0;
            }
        }
        ClipReport r = Clipper.using(new CpuBackend()).clipByValue(spec.heap(arrays), ValueClip.between(lo, hi));
        assertEquals(outside, r.clippedElements());
        for (Object a : arrays) {
            if (a instanceof float[] f) for (float x : f) assertTrue(x >= (float) lo && x <= (float) hi);
            else if (a instanceof double[] d) for (double x : d) assertTrue(x >= lo && x <= hi);
        }
    }
}
