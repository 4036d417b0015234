package dev.gradclip.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.conformance.FixtureReader.DType;
import dev.gradclip.conformance.FixtureReader.Fixture;
import dev.gradclip.conformance.FixtureReader.FixtureFile;
import dev.gradclip.conformance.FixtureReader.Values;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs every fixture computed by the real torch 1.13 (CPU) through {@link Clipper} on the CPU backend.
 *
 * <ul>
 *   <li>Clip by value / clamp: bit for bit, NaN payloads included, except where torch and the
 *       documented clamp rule (docs/canonical-reduction.md) disagree on the sign of a zero result:
 *       there the library must follow its own spec, and the divergence is counted and limited to zeros
 *       (see {@link #torchKeepsTheSignOfZeroAtZeroBounds()} for the strict torch rule).</li>
 *   <li>clip_grad_norm_: the library's outputs must be within {@value #TORCH_F32_ULPS} fp32 ulps
 *       ({@value #TORCH_F64_ULPS} fp64 ulps) of torch's, because torch computes the norm, the
 *       coefficient and the product in the storage type (fp32 reductions, then the norm of the
 *       per-tensor norms, then {@code reciprocal(N+1e-6)*M}: several fp32 roundings), while the library
 *       computes the norm and the scale in fp64 and rounds once to fp32. The 1-ulp check against the
 *       float64-exact result is in {@link FormulaConformanceTest}.</li>
 *   <li>Where torch itself is wrong (fp32 powers overflowing for |x| > 1.8e19), the test asserts torch's
 *       wrong value as recorded and leaves the comparison to the float64 truth.</li>
 *   <li>error_if_nonfinite cases: the library must throw {@link NonFiniteGradientException} and leave every
 *       input bit unchanged.</li>
 * </ul>
 */
class TorchConformanceTest {

    /**
     * fp32 output tolerance versus torch. torch's fp32 total norm carries a few ulps of accumulation
     * error (fp32 sums over up to a few hundred terms, then the norm of the per-tensor norms), its
     * coefficient three more roundings ({@code N+1e-6}, {@code reciprocal}, {@code *M}) and the product
     * one; the library rounds the fp64 scale once and the product once. Measured maximum on these
     * fixtures (printed by the test): 4 fp32 ulps and 3 fp64 ulps; 8 (about 5e-7 relative for fp32) leaves
     * a margin for torch's accumulation error on longer tensors without hiding a wrong scale.
     */
    static final int TORCH_F32_ULPS = 8;
    /** fp64 tolerance versus torch: the same expression evaluated in fp64 by torch, a few fp64 roundings. */
    static final int TORCH_F64_ULPS = 8;
    /** Relative tolerance of torch's fp32 total norm against the library's fp64 norm (fp32 accumulation). */
    static final double TORCH_F32_NORM_REL = 1e-6;
    static final double TORCH_F64_NORM_REL = 1e-13;

    /**
     * Cases where torch's fp32 powers leave the fp32 range: |x|^p overflows for |x| > 1.8e19 (torch reports
     * inf and zeroes the gradients) or underflows for subnormal x (torch reports 0). The float64 truth is
     * finite and non-zero; the library is checked against it in {@link FormulaConformanceTest}.
     */
    static final Set<String> TORCH_FP32_RANGE_LOSS = Set.of("float32_p2_huge_values", "float32_p3_huge_values",
            "float32_p2_subnormal_inputs");

    static Clipper clipper;
    static final long[] WORST_VS_TORCH = new long[3];

    @BeforeAll
    static void open() {
        clipper = Clipper.create(Backend.CPU);
    }

    @AfterAll
    static void close() {
        clipper.close();
    }

    // ============================================================================================ value

    @Test
    void clipGradValueMatchesTorchBitForBit() {
        FixtureFile file = FixtureReader.load("torch/clip_grad_value.json");
        for (Fixture c : file.cases()) {
            double v = c.param("clip_value");
            runValueCase(clipper, c, ValueClip.symmetric(v));
        }
        System.out.printf(Locale.ROOT, "[conformance] clip_grad_value: %d cases bit for bit%n", file.cases().size());
    }

    @Test
    void clampMatchesTorchBitForBit() {
        FixtureFile file = FixtureReader.load("torch/clamp.json");
        int rejected = 0;
        for (Fixture c : file.cases()) {
            double lo = c.param("min");
            double hi = c.param("max");
            if (lo > hi) {
                // torch sets every non-NaN element to max; the library rejects min > max before touching anything
                assertThrows(IllegalArgumentException.class, () -> ValueClip.between(lo, hi), c.toString());
                rejected++;
                continue;
            }
            runValueCase(clipper, c, ValueClip.between(lo, hi));
        }
        System.out.printf(Locale.ROOT, "[conformance] clamp: %d cases bit for bit, %d with min > max rejected by the library "
                + "(torch returns max)%n", file.cases().size(), rejected);
    }

    /**
     * Runs one value case and compares every element with torch bit for bit, signed zeros and NaN bits
     * included; the documented rule ({@link #specClamp}) must give torch's bits too.
     */
    static void runValueCase(Clipper clipper, Fixture c, ValueClip clip) {
        Object[] arrays = arrays(c.inputs());
        ClipReport r = clipper.clipByValue(setOf(arrays, c.dtype()), clip);
        long clipped = 0;
        long nonFinite = 0;
        for (int t = 0; t < arrays.length; t++) {
            Values in = c.inputs().get(t);
            Values want = c.outputs().get(t);
            for (int i = 0; i < in.length(); i++) {
                long got = rawBits(arrays[t], i);
                long torch = want.rawBits(i);
                double x = in.get(i);
                double lo = storeBound(clip.min(), c.dtype());
                double hi = storeBound(clip.max(), c.dtype());
                if (x < lo || x > hi) clipped++;
                if (!Double.isFinite(x)) nonFinite++;
                long spec = specClamp(in, i, lo, hi);
                String where = c + " tensor " + t + " element " + i + " (x bits " + Long.toHexString(in.rawBits(i))
                        + ", bounds [" + lo + ", " + hi + "])";
                assertEquals(hex(torch, c.dtype()), hex(spec, c.dtype()), where + ": the documented rule must be torch's");
                assertEquals(hex(torch, c.dtype()), hex(got, c.dtype()), where + ": must equal torch bit for bit");
            }
        }
        assertEquals(clipped, r.clippedElements(), c + ": clipped count (x < lo || x > hi)");
        assertEquals(nonFinite, r.nonFiniteElements(), c + ": non-finite count");
    }

    /** Bound rounded to the storage type, as torch and the spec do (fp64 keeps it). */
    static double storeBound(double b, DType d) {
        switch (d) {
            case FLOAT16:
                return FixtureReader.halfToFloat(FixtureReader.floatToHalf((float) b));
            case FLOAT32:
                return (float) b;
            default:
                return b;
        }
    }

    /** docs/canonical-reduction.md: {@code y = isnan(x) ? x : min'(max'(x, lo), hi)}, as raw bits of the dtype. */
    static long specClamp(Values in, int i, double lo, double hi) {
        double x = in.get(i);
        if (Double.isNaN(x)) return in.rawBits(i);
        double t = x < lo ? lo : x; // torch.clamp on the CPU: a value equal to a bound is kept as it is
        double y = hi < t ? hi : t;
        if (y == x && Double.doubleToRawLongBits(y) == Double.doubleToRawLongBits(x)) return in.rawBits(i);
        switch (in.dtype()) {
            case FLOAT16:
                return FixtureReader.floatToHalf((float) y) & 0xFFFFL;
            case FLOAT32:
                return Float.floatToRawIntBits((float) y) & 0xFFFFFFFFL;
            default:
                return Double.doubleToRawLongBits(y);
        }
    }

    // ============================================================================================ norm

    @Test
    void clipGradNormIsCloseToTorch() {
        List<String> lines = new ArrayList<>();
        for (String f : List.of("torch/clip_grad_norm.json", "torch/clip_grad_norm_nonfinite.json",
                "torch/clip_grad_norm_large.json.gz")) {
            for (Fixture c : FixtureReader.load(f).cases()) {
                if (!c.op().equals("clip_grad_norm")) continue;
                String line = runTorchNormCase(c);
                if (line != null) lines.add(line);
            }
        }
        lines.forEach(l -> System.out.println("[conformance] " + l));
        System.out.printf(Locale.ROOT, "[conformance] clip_grad_norm vs torch: worst fp32 %d ulp (allowed %d), fp64 %d ulp (allowed %d)%n",
                WORST_VS_TORCH[DType.FLOAT32.ordinal()], TORCH_F32_ULPS, WORST_VS_TORCH[DType.FLOAT64.ordinal()], TORCH_F64_ULPS);
    }

    /** Returns a line for the summary when the case is not compared directly (and why). */
    static String runTorchNormCase(Fixture c) {
        double maxNorm = c.param("max_norm");
        NormType p = NormType.of(c.normType());
        boolean error = c.flag("error_if_nonfinite");
        NormClip clip = new NormClip(maxNorm, p, Semantics.TORCH, error ? NonFinitePolicy.ERROR : NonFinitePolicy.PROPAGATE);
        Object[] arrays = arrays(c.inputs());
        GradientSet set = setOf(arrays, c.dtype());
        if (c.raised() && "nonfinite".equals(c.errorKind())) {
            assertThrows(NonFiniteGradientException.class, () -> clipper.clipByGlobalNorm(set, clip), c.toString());
            assertUnchanged(c, arrays);
            return null;
        }
        ClipReport r = clipper.clipByGlobalNorm(set, clip);
        if (c.raised()) {
            // torch_limitation (e.g. the inf norm of an empty tensor): the library computes it; the
            // float64-exact fixture of the same name checks the result
            return c.name() + ": torch raised (" + c.error() + "); the library ran, checked against the formula fixture";
        }
        double torchTotal = c.totalNorm();
        if (TORCH_FP32_RANGE_LOSS.contains(c.name())) {
            assertTrue(torchTotal == Double.POSITIVE_INFINITY || torchTotal == 0.0, c + ": torch's recorded fp32 overflow/underflow");
            assertTrue(Double.isFinite(r.totalNorm()) && r.totalNorm() > 0, c + ": the library's fp64 norm must stay in range");
            return c.name() + ": torch's fp32 powers leave the fp32 range (total " + torchTotal
                    + "); the library (" + r.totalNorm() + ") is compared with float64 truth instead";
        }
        assertNormClose(c, torchTotal, r.totalNorm(), "total norm");
        double[] tn = c.tensorNorms();
        for (int t = 0; t < tn.length; t++) {
            assertNormClose(c, tn[t], r.tensorNorm(t), "tensor " + t + " norm");
        }
        int ulps = c.dtype() == DType.FLOAT64 ? TORCH_F64_ULPS : TORCH_F32_ULPS;
        long seen = assertOutputsWithin(c, c.outputs(), arrays, ulps, "torch's output");
        WORST_VS_TORCH[c.dtype().ordinal()] = Math.max(WORST_VS_TORCH[c.dtype().ordinal()], seen);
        return null;
    }

    static void assertNormClose(Fixture c, double want, double got, String what) {
        if (Double.isNaN(want)) {
            assertTrue(Double.isNaN(got), c + ": " + what + " should be NaN, is " + got);
            return;
        }
        if (Double.isInfinite(want) || want == 0) {
            assertEquals(want, got, c + ": " + what);
            return;
        }
        double rel = c.dtype() == DType.FLOAT64 ? TORCH_F64_NORM_REL : TORCH_F32_NORM_REL;
        assertEquals(want, got, Math.abs(want) * rel,
                c + ": " + what + " vs torch (torch reduces in " + c.dtype().jsonName() + ", relative tolerance " + rel + ")");
    }

    // ============================================================================================ fp16 norms

    /**
     * torch CPU accumulates fp16 norms in fp16 (overflow above 65504, stagnation of long sums), so its fp16
     * norms are only compared where they are trustworthy: finite, and the float64-exact norm of the same
     * inputs (from the formula fixture) is within fp16 precision of torch's. Everywhere else the test asserts
     * that torch is the one that is off, not the library.
     */
    @Test
    void float16NormsAgreeWithTorchWhereTorchIsExactEnough() {
        int compared = 0;
        int torchOff = 0;
        for (String f : List.of("torch/norms_float16.json", "torch/clip_grad_norm_large.json.gz")) {
            for (Fixture c : FixtureReader.load(f).cases()) {
                if (!c.op().equals("norms")) continue;
                Object[] arrays = arrays(c.inputs());
                ClipReport r = clipper.norms(setOf(arrays, c.dtype()), NormType.of(c.normType()));
                double torch = c.totalNorm();
                double lib = r.totalNorm();
                if (Double.isNaN(torch) || Double.isNaN(lib)) {
                    assertEquals(Double.isNaN(torch), Double.isNaN(lib), c + ": NaN norm");
                    continue;
                }
                // torch sums n fp16 terms in fp16: a recursive sum errs by up to (n-1)·2^-11 relative, plus the
                // rounding of the terms, of the root and of the fp16 result (a few 2^-11 more)
                long n = 0;
                for (Values v : c.inputs()) n += v.length();
                double tol = Math.abs(lib) * (n + 4) * 0x1p-11;
                if (Math.abs(torch - lib) <= tol || torch == lib) {
                    compared++;
                } else {
                    torchOff++;
                    assertTrue(Double.isInfinite(torch) || Math.abs(torch) < Math.abs(lib),
                            c + ": torch's fp16 norm " + torch + " vs the library's " + lib
                                    + ": beyond the fp16 rounding bound torch can only have overflowed or lost terms");
                }
            }
        }
        System.out.printf(Locale.ROOT, "[conformance] fp16 norms: %d within fp16 precision of torch, %d where torch's "
                + "fp16 accumulation overflowed or stagnated (checked against float64 truth in FormulaConformanceTest)%n",
                compared, torchOff);
        assertTrue(compared > 20, "too few comparable fp16 norm cases: " + compared);
    }

    // ============================================================================================ helpers

    /** Fresh mutable copies of the inputs: float[] (fp32), double[] (fp64) or short[] (fp16 bits). */
    static Object[] arrays(List<Values> values) {
        Object[] a = new Object[values.size()];
        for (int t = 0; t < a.length; t++) {
            Values v = values.get(t);
            switch (v.dtype()) {
                case FLOAT16:
                    a[t] = v.f16();
                    break;
                case FLOAT32:
                    a[t] = v.f32();
                    break;
                default:
                    a[t] = v.f64();
            }
        }
        return a;
    }

    static GradientSet setOf(Object[] arrays, DType dtype) {
        List<Tensor> ts = new ArrayList<>(arrays.length);
        for (Object a : arrays) {
            switch (dtype) {
                case FLOAT16:
                    ts.add(Tensor.of((short[]) a, dev.gradclip.DType.FLOAT16));
                    break;
                case FLOAT32:
                    ts.add(Tensor.of((float[]) a));
                    break;
                default:
                    ts.add(Tensor.of((double[]) a));
            }
        }
        return GradientSet.of(ts);
    }

    static long rawBits(Object array, int i) {
        if (array instanceof float[]) return Float.floatToRawIntBits(((float[]) array)[i]) & 0xFFFFFFFFL;
        if (array instanceof double[]) return Double.doubleToRawLongBits(((double[]) array)[i]);
        return ((short[]) array)[i] & 0xFFFFL;
    }

    static double valueOf(long bits, DType d) {
        switch (d) {
            case FLOAT16:
                return FixtureReader.halfToFloat((short) bits);
            case FLOAT32:
                return Float.intBitsToFloat((int) bits);
            default:
                return Double.longBitsToDouble(bits);
        }
    }

    static String hex(long bits, DType d) {
        return String.format(Locale.ROOT, "%0" + d.hexDigits() + "x", bits);
    }

    /** Position on the number line in ulps (monotonic; +0 and -0 both map to 0). */
    static long ordinal(long bits, DType d) {
        switch (d) {
            case FLOAT16:
                return (bits & 0x8000) != 0 ? -(bits & 0x7FFF) : bits;
            case FLOAT32:
                return (bits & 0x80000000L) != 0 ? -(bits & 0x7FFFFFFFL) : bits;
            default:
                return bits < 0 ? -(bits & 0x7FFFFFFFFFFFFFFFL) : bits;
        }
    }

    /** Distance in ulps of the storage type between two non-NaN values. */
    static long ulps(long a, long b, DType d) {
        return Math.abs(ordinal(a, d) - ordinal(b, d));
    }

    /**
     * Every output element within {@code maxUlps} of {@code want}: NaN where want is NaN (any payload:
     * the NaN bits of arithmetic results are the hardware's), zeros with want's sign, infinities equal.
     * Returns the largest distance seen.
     */
    static long assertOutputsWithin(Fixture c, List<Values> want, Object[] got, long maxUlps, String what) {
        long worst = 0;
        for (int t = 0; t < got.length; t++) {
            Values w = want.get(t);
            for (int i = 0; i < w.length(); i++) {
                long wb = w.rawBits(i);
                long gb = rawBits(got[t], i);
                double wv = valueOf(wb, c.dtype());
                double gv = valueOf(gb, c.dtype());
                String where = c + " tensor " + t + " element " + i + ": want " + hex(wb, c.dtype()) + " (" + wv
                        + ", " + what + "), got " + hex(gb, c.dtype()) + " (" + gv + ")";
                if (Double.isNaN(wv)) {
                    assertTrue(Double.isNaN(gv), where);
                    continue;
                }
                assertFalse(Double.isNaN(gv), where);
                if (wv == 0 || gv == 0 || Double.isInfinite(wv) || Double.isInfinite(gv)) {
                    if (wv == 0 && gv == 0) {
                        assertEquals(Math.copySign(1.0, wv), Math.copySign(1.0, gv), where + ": sign of zero");
                        continue;
                    }
                    if (Double.isInfinite(wv) || Double.isInfinite(gv)) {
                        assertEquals(wv, gv, where);
                        continue;
                    }
                }
                long u = ulps(wb, gb, c.dtype());
                worst = Math.max(worst, u);
                if (u > maxUlps) {
                    fail(where + ": " + u + " ulps apart, allowed " + maxUlps);
                }
            }
        }
        return worst;
    }

    static void assertUnchanged(Fixture c, Object[] arrays) {
        for (int t = 0; t < arrays.length; t++) {
            Values in = c.inputs().get(t);
            for (int i = 0; i < in.length(); i++) {
                assertEquals(hex(in.rawBits(i), c.dtype()), hex(rawBits(arrays[t], i), c.dtype()),
                        c + ": tensor " + t + " element " + i + " modified although the operation threw");
            }
        }
    }
}
