package dev.gradclip.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.internal.HalfFloats;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * CPU versus a native backend, bit for bit: outputs, per-tensor norms, total, scales and counts, for
 * every operation, dtype and p in {1, 2, ∞} (p = 3: reports and fp64 elements within a relative 1e-13,
 * fp32 elements within 2 ulp, 16-bit within 1, since pow differs). Each side
 * gets its own copy of the same values in native memory, at a start misaligned by 0–3 elements.
 */
final class ParitySuite {
    enum Values { NORMAL, HUGE, SUBNORMAL, SPECIALS, ZEROS, WIDE }

    record Case(String name, DType dtype, long[] sizes, Values values, long seed) {
    }

    /** The one NaN a report may hold (Java's {@code Double.NaN}). */
    private static final long CANONICAL_NAN = 0x7ff8000000000000L;

    private final Clipper cpu;
    private final Clipper other;
    private final Backend otherKind;
    int operationsCompared;

    ParitySuite(Clipper cpu, Clipper other) {
        this.cpu = cpu;
        this.other = other;
        this.otherKind = other.backend();
    }

    /** A data set in native memory: one buffer per tensor, each view starting {@code k} elements in. */
    private static final class Data implements AutoCloseable {
        final List<NativeBuffer> buffers = new ArrayList<>();
        final List<Tensor> views = new ArrayList<>();

        GradientSet set() {
            return GradientSet.of(views);
        }

        @Override
        public void close() {
            buffers.forEach(NativeBuffer::close);
        }
    }

    private static Data make(Case c) {
        Data d = new Data();
        SplittableRandom r = new SplittableRandom(c.seed());
        for (long n : c.sizes()) {
            int misalign = r.nextInt(4);
            NativeBuffer nb = NativeBuffer.allocate(c.dtype(), n + misalign);
            d.buffers.add(nb);
            Tensor view = nb.tensor(misalign, n);
            d.views.add(view);
            for (long i = 0; i < n; i++) {
                double x = value(c.values(), c.dtype(), r);
                long at = misalign + i;
                if (Double.isNaN(x) && r.nextBoolean()) {
                    putPayloadNaN(nb, at, c.dtype(), r);
                    continue;
                }
                switch (c.dtype()) {
                    case FLOAT32 -> nb.putFloat(at, (float) x);
                    case FLOAT64 -> nb.putDouble(at, x);
                    case FLOAT16 -> nb.putBits(at, HalfFloats.floatToHalf((float) x));
                    case BFLOAT16 -> nb.putBits(at, HalfFloats.floatToBfloat16((float) x));
                }
            }
        }
        return d;
    }

    /**
     * A NaN of either sign with a random non-zero payload, quiet or signalling, written as raw bits (so the
     * payload reaches the kernels: what a NaN's payload becomes in partials is compared bit for bit).
     */
    private static void putPayloadNaN(NativeBuffer nb, long at, DType dtype, SplittableRandom r) {
        boolean negative = r.nextBoolean();
        switch (dtype) {
            case FLOAT32 -> nb.putFloat(at, Float.intBitsToFloat((negative ? 0xff800000 : 0x7f800000) | ((r.nextInt() & 0x7fffff) | 1)));
            case FLOAT64 -> nb.putDouble(at, Double.longBitsToDouble((negative ? 0xfff0000000000000L : 0x7ff0000000000000L)
                    | ((r.nextLong() & 0x000fffffffffffffL) | 1)));
            case FLOAT16 -> nb.putBits(at, (short) ((negative ? 0xfc00 : 0x7c00) | ((r.nextInt() & 0x3ff) | 1)));
            case BFLOAT16 -> nb.putBits(at, (short) ((negative ? 0xff80 : 0x7f80) | ((r.nextInt() & 0x7f) | 1)));
        }
    }

    private static double value(Values kind, DType dtype, SplittableRandom r) {
        double g = r.nextGaussian();
        return switch (kind) {
            case NORMAL -> g;
            case HUGE -> g * (dtype == DType.FLOAT64 ? 1e200 : dtype == DType.FLOAT16 ? 3e4 : 1e37);
            case SUBNORMAL -> g * (dtype == DType.FLOAT64 ? 1e-310 : dtype == DType.FLOAT16 ? 3e-6 : 1e-41);
            case ZEROS -> r.nextInt(8) == 0 ? -0.0 : 0.0;
            case WIDE -> g * Math.pow(10, r.nextInt(-30, 30));
            case SPECIALS -> switch (r.nextInt(40)) {
                case 0 -> Double.NaN;
                case 1 -> Double.POSITIVE_INFINITY;
                case 2 -> Double.NEGATIVE_INFINITY;
                case 3 -> -0.0;
                default -> g;
            };
        };
    }

    /**
     * Runs the operations on one case: with {@code every}, each operation for p in {1, 2, ∞, 3} and both
     * semantics (about 40); otherwise one clip by value and, for each p, norms plus one randomly chosen
     * clipping operation (about 10).
     */
    void run(Case c, SplittableRandom r, boolean every) {
        NormType[] ps = {NormType.L1, NormType.L2, NormType.INF, NormType.of(3)};
        NonFinitePolicy[] policies = NonFinitePolicy.values();
        NonFinitePolicy policy = policies[r.nextInt(policies.length)];
        double bound = Math.abs(r.nextGaussian()) * (c.values() == Values.HUGE ? 1e4 : 1.0);
        compare(c, "value", (k, s) -> k.clipByValue(s, ValueClip.symmetric(bound).withNonFinite(policy)), false);
        double lo = -Math.abs(r.nextGaussian());
        double hi = r.nextInt(5) == 0 ? 0.0 : Math.abs(r.nextGaussian()) / 2;
        if (every || r.nextBoolean()) {
            compare(c, "value-asym", (k, s) -> k.clipByValue(s, ValueClip.between(lo, hi)), false);
        }
        for (NormType p : ps) {
            boolean approx = !(p.p() == 1 || p.p() == 2 || p.isInfinity());
            comparePartials(c, p, approx);
            ClipReport n = compare(c, "norms p=" + p, (k, s) -> k.norms(s, p), approx);
            double total = n.totalNorm();
            double clipping = Double.isFinite(total) && total > 0 ? total / 3 : 1.0;
            double notClipping = Double.isFinite(total) && total > 0 ? total * 2 : 1.0;
            int pick = r.nextInt(4);
            for (Semantics sem : Semantics.values()) {
                if (!every && sem != Semantics.values()[r.nextInt(2)]) continue;
                if (every || pick == 0) compare(c, "global p=" + p + " " + sem + " clipping", (k, s) -> k.clipByGlobalNorm(s,
                        new NormClip(clipping, p, sem, policy)), approx);
                if (every || pick == 1) compare(c, "global p=" + p + " " + sem + " not clipping", (k, s) -> k.clipByGlobalNorm(s,
                        new NormClip(notClipping, p, sem, policy)), approx);
                if (every || pick == 2) compare(c, "per-tensor p=" + p + " " + sem, (k, s) -> k.clipByNorm(s,
                        new NormClip(clipping / Math.max(1, c.sizes().length), p, sem, policy)), approx);
            }
            if (every || pick == 3) compare(c, "renormalize p=" + p, (k, s) -> k.renormalize(s, p, policy), approx);
        }
    }

    /**
     * Phase one of a two-phase clip: every chunk partial, tensor sum, max|x| (general p), norm and count, as
     * raw bits (NaN payloads included, as for memory). For a general p the pow-based partials, sums and
     * norms agree within a relative 1e-13 instead, except NaN, which is still compared bit for bit.
     */
    private void comparePartials(Case c, NormType p, boolean approx) {
        String where = c.name() + " [" + c.dtype() + ", " + c.values() + "] partials p=" + p + " on " + otherKind.cliName();
        try (Data a = make(c); Data b = make(c)) {
            NormPartials pa = cpu.partials(a.set(), p);
            NormPartials pb = other.partials(b.set(), p);
            assertEquals(pa.tensorCount(), pb.tensorCount(), where + ": tensor count");
            assertEquals(pa.nonFiniteElements(), pb.nonFiniteElements(), where + ": non-finite elements");
            assertEquals(pa.hasMaxAbs(), pb.hasMaxAbs(), where + ": max|x| kept");
            for (int t = 0; t < pa.tensorCount(); t++) {
                double[] ca = pa.chunkSums(t);
                double[] cb = pb.chunkSums(t);
                assertEquals(ca.length, cb.length, where + ": chunks of tensor " + t);
                for (int k = 0; k < ca.length; k++) assertSamePartial(where + ": tensor " + t + " chunk " + k, ca[k], cb[k], approx);
                assertSamePartial(where + ": tensor sum " + t, pa.tensorSum(t), pb.tensorSum(t), approx);
                assertSamePartial(where + ": tensor norm " + t, pa.tensorNorm(t), pb.tensorNorm(t), approx);
                if (pa.hasMaxAbs()) assertSamePartial(where + ": max|x| of tensor " + t, pa.maxAbs(t), pb.maxAbs(t), false);
            }
            assertSamePartial(where + ": total norm", pa.totalNorm(), pb.totalNorm(), approx);
            if (!approx) assertEquals(pa, pb, where);
            operationsCompared++;
        }
    }

    /**
     * Raw bits (a NaN's payload included); with {@code approx}, finite values within a relative 1e-13 (or
     * both within the subnormal range of each other).
     */
    private static void assertSamePartial(String what, double a, double b, boolean approx) {
        long ra = Double.doubleToRawLongBits(a);
        long rb = Double.doubleToRawLongBits(b);
        if (ra == rb) return;
        if (approx && generalPClose(a, b)) return;   // subnormal sums of pow terms included
        fail(what + ": cpu " + a + " (0x" + Long.toHexString(ra) + ") vs " + b + " (0x" + Long.toHexString(rb) + ")");
    }

    private ClipReport compare(Case c, String op, BiFunction<Clipper, GradientSet, ClipReport> call, boolean approx) {
        String where = c.name() + " [" + c.dtype() + ", " + c.values() + "] " + op + " on " + otherKind.cliName();
        try (Data a = make(c); Data b = make(c)) {
            ClipReport ra = null;
            ClipReport rb = null;
            NonFiniteGradientException ea = null;
            NonFiniteGradientException eb = null;
            try {
                ra = call.apply(cpu, a.set());
            } catch (NonFiniteGradientException e) {
                ea = e;
            }
            try {
                rb = call.apply(other, b.set());
            } catch (NonFiniteGradientException e) {
                eb = e;
            }
            if ((ea == null) != (eb == null)) {
                fail(where + ": one backend threw NonFiniteGradientException and the other did not: cpu=" + ea + ", other=" + eb);
            }
            if (ea != null) {
                ra = ea.report();
                rb = eb.report();
            }
            assertSameReport(where, ra, rb, approx);
            assertSameMemory(where, c, a, b, approx);
            operationsCompared++;
            return ra;
        }
    }

    private static void assertSameReport(String where, ClipReport a, ClipReport b, boolean approx) {
        assertEquals(a.hasNorms(), b.hasNorms(), where + ": hasNorms");
        if (a.hasNorms()) {
            assertSameDouble(where + ": total norm", a.totalNorm(), b.totalNorm(), approx);
            double[] na = a.tensorNorms();
            double[] nb = b.tensorNorms();
            assertEquals(na.length, nb.length, where + ": tensor count");
            for (int i = 0; i < na.length; i++) assertSameDouble(where + ": norm of tensor " + i, na[i], nb[i], approx);
            double[] sa = a.tensorScales();
            double[] sb = b.tensorScales();
            for (int i = 0; i < sa.length; i++) assertSameDouble(where + ": scale of tensor " + i, sa[i], sb[i], approx);
            assertSameDouble(where + ": scale", a.scale(), b.scale(), approx);
        }
        if (!approx) assertEquals(a.clippedElements(), b.clippedElements(), where + ": clipped elements");
        assertEquals(a.nonFiniteElements(), b.nonFiniteElements(), where + ": non-finite elements");
        assertEquals(a.skipped(), b.skipped(), where + ": skipped");
    }

    /**
     * A reported value: raw bits, so a NaN must be the same NaN on both sides (the canonical quiet NaN,
     * docs/canonical-reduction.md); with {@code approx}, finite values within a relative 1e-13.
     */
    private static void assertSameDouble(String what, double a, double b, boolean approx) {
        if (Double.isNaN(a) || Double.isNaN(b)) {
            long ra = Double.doubleToRawLongBits(a);
            long rb = Double.doubleToRawLongBits(b);
            assertEquals(ra, rb, () -> what + ": 0x" + Long.toHexString(ra) + " vs 0x" + Long.toHexString(rb));
            assertEquals(CANONICAL_NAN, ra, () -> what + ": a reported NaN is the canonical quiet NaN, got 0x" + Long.toHexString(ra));
            return;
        }
        if (approx && a != b) {
            double rel = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
            assertTrue(rel < 1e-13, what + ": " + a + " vs " + b + " (relative " + rel + ")");
            return;
        }
        assertEquals(Double.doubleToRawLongBits(a), Double.doubleToRawLongBits(b), () -> what + ": " + a + " vs " + b);
    }

    /**
     * A general-p fp64 element: each side scales by its own norm, and the norms agree within a relative
     * 1e-13 (pow differs between the JDK and libdevice), so the elements agree within the same bound.
     * An element that is NaN on either side must have the same bits (the caller checks). Measured on an
     * H200 (bench/results/gpu-nvidia-h200-2026-11-30.md): 3 ulp, which the earlier 2-ulp bound refused.
     */
    static boolean generalPClose(double u, double v) {
        if (Double.isNaN(u) || Double.isNaN(v) || Double.isInfinite(u) || Double.isInfinite(v)) return false;
        double d = Math.abs(u - v);
        return d <= 1e-13 * Math.max(Math.abs(u), Math.abs(v)) || d < Double.MIN_NORMAL;
    }

    private static void assertSameMemory(String where, Case c, Data a, Data b, boolean approx) {
        for (int t = 0; t < a.views.size(); t++) {
            NativeBuffer x = a.buffers.get(t);
            NativeBuffer y = b.buffers.get(t);
            for (long i = 0; i < x.count(); i++) {
                switch (c.dtype()) {
                    case FLOAT32 -> {
                        float u = x.getFloat(i);
                        float v = y.getFloat(i);
                        // raw bits, NaN payloads included (the NaN rule of docs/canonical-reduction.md)
                        if (approx && !Float.isNaN(u) && Math.abs(u - v) <= 2 * Math.ulp(Math.max(Math.abs(u), Math.abs(v)))) continue;
                        if (Float.floatToRawIntBits(u) != Float.floatToRawIntBits(v)) {
                            fail(where + ": tensor " + t + " element " + i + ": cpu " + u + " vs " + v);
                        }
                    }
                    case FLOAT64 -> {
                        double u = x.getDouble(i);
                        double v = y.getDouble(i);
                        if (approx && generalPClose(u, v)) continue;
                        if (Double.doubleToRawLongBits(u) != Double.doubleToRawLongBits(v)) {
                            fail(where + ": tensor " + t + " element " + i + ": cpu " + u + " vs " + v);
                        }
                    }
                    default -> {
                        short u = x.getBits(i);
                        short v = y.getBits(i);
                        boolean half = c.dtype() == DType.FLOAT16;
                        float fu = half ? HalfFloats.halfToFloat(u) : HalfFloats.bfloat16ToFloat(u);
                        float fv = half ? HalfFloats.halfToFloat(v) : HalfFloats.bfloat16ToFloat(v);
                        if (approx && !Float.isNaN(fu) && !Float.isNaN(fv) && Math.abs(u - v) <= 1) continue;
                        if (u != v) fail(where + ": tensor " + t + " element " + i + ": cpu 0x" + Integer.toHexString(u & 0xffff)
                                + " vs 0x" + Integer.toHexString(v & 0xffff));
                    }
                }
            }
        }
    }
}
