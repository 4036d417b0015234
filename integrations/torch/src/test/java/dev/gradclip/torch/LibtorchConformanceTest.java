package dev.gradclip.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.ValueClip;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Conformance with libtorch 2.10 (JavaCPP presets), in the JVM: {@code clamp_} / {@code clip_grad_value_} bit for
 * bit, {@code torch::nn::utils::clip_grad_norm_} within measured ulp distances. Sizes are reduced for CI;
 * {@code -Dgradclip.conformance.seeds=N} runs more random cases (default 3). The measured distances are written
 * to {@code target/libtorch-conformance.txt}.
 */
class LibtorchConformanceTest {
    static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16};
    static final int SEEDS = Integer.getInteger("gradclip.conformance.seeds", 3);
    static Clipper clipper;
    static final Map<String, String> measured = new TreeMap<>();

    @BeforeAll
    static void open() {
        Libtorch.load();
        clipper = Clipper.create(Backend.CPU);
    }

    @AfterAll
    static void close() throws IOException {
        clipper.close();
        StringBuilder b = new StringBuilder("libtorch 2.10 conformance (" + SEEDS + " seeds), max distances measured\n");
        measured.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/libtorch-conformance.txt"), b.toString(), StandardCharsets.UTF_8);
        System.out.print(b);
    }

    /** A parameter of {@code dtype} whose gradient holds {@code values} (rounded to dtype by libtorch). */
    static Tensor param(double[] values, DType dtype) {
        Tensor p = torch.zeros(values.length).to(Bits.scalarType(dtype));
        p.set_requires_grad(true);
        p.mutable_grad().put(Bits.tensor(values, dtype));
        return p;
    }

    static double[] gradientValues(Random rnd, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = scale * rnd.nextGaussian();
        return v;
    }

    /** Specials: signed zeros, a subnormal-ish tiny value, values at and next to the bounds. */
    static double[] specials(double bound) {
        return new double[] {0.0, -0.0, 1e-42, -1e-42, bound, -bound, Math.nextUp(bound), Math.nextDown(-bound),
                2 * bound, -2 * bound, 0.5 * bound, 65504, -65504, 1e30, -1e30, 3.3895313892515355e38};
    }

    // ------------------------------------------------------------------ clip by value: bit for bit

    @Test
    void clipByValueIsBitForBitLibtorchClamp() {
        double[][] bounds = {{-1.0, 1.0}, {-0.1, 0.1}, {-3.0, 0.5}, {0.0, 1e-3}, {-1e-3, 0.0}, {-1.0 / 3, 2.0 / 3}};
        long cases = 0;
        for (DType dtype : DTYPES) {
            for (int seed = 0; seed < SEEDS; seed++) {
                Random rnd = new Random(seed);
                for (double[] mm : bounds) {
                    List<double[]> grads = List.of(gradientValues(rnd, 70_000, 1.0), specials(mm[1]),
                            gradientValues(rnd, 17, 100.0), new double[0]);
                    List<Tensor> ours = new ArrayList<>();
                    List<Tensor> theirs = new ArrayList<>();
                    for (double[] g : grads) {
                        ours.add(Bits.tensor(g, dtype));
                        theirs.add(Bits.tensor(g, dtype));
                    }
                    // NaN and infinities with payloads, written as raw bits
                    poison(ours.get(1), theirs.get(1), dtype);
                    List<dev.gradclip.Tensor> views = new ArrayList<>();
                    for (int i = 0; i < ours.size(); i++) views.add(TorchGradients.view(ours.get(i), "g" + i));
                    clipper.clipByValue(GradientSet.of(views), ValueClip.between(mm[0], mm[1]));
                    for (int i = 0; i < theirs.size(); i++) {
                        Tensor t = theirs.get(i);
                        t.clamp_(new ScalarOptional(new Scalar(mm[0])), new ScalarOptional(new Scalar(mm[1])));
                        assertArrayEquals(Bits.bits(t), Bits.bits(ours.get(i)),
                                dtype + " clamp(" + mm[0] + ", " + mm[1] + ") tensor " + i + " seed " + seed);
                        cases++;
                    }
                }
            }
        }
        measured.put("clip by value vs clamp_ (fp32/fp64/fp16/bf16)", "bit-identical in " + cases + " tensors");
    }

    @Test
    void clipByValueIsBitForBitClipGradValue() {
        for (DType dtype : DTYPES) {
            Random rnd = new Random(42);
            double[] a = gradientValues(rnd, 5000, 2.0);
            double[] b = specials(0.75);
            Tensor pa = param(a, dtype);
            Tensor pb = param(b, dtype);
            Tensor qa = param(a, dtype);
            Tensor qb = param(b, dtype);
            TensorVector params = new TensorVector(pa, pb);
            torch.clip_grad_value_(params, 0.75);
            clipper.clipByValue(TorchGradients.of(new TensorVector(qa, qb)).gradients(), ValueClip.symmetric(0.75));
            assertArrayEquals(Bits.bits(pa.grad()), Bits.bits(qa.grad()), dtype.toString());
            assertArrayEquals(Bits.bits(pb.grad()), Bits.bits(qb.grad()), dtype.toString());
        }
    }

    /** Writes NaNs with payloads and both infinities into the first elements of both tensors. */
    static void poison(Tensor a, Tensor b, DType dtype) {
        long[] specials = switch (dtype) {
            case FLOAT32 -> new long[] {0x7fc00000L, 0xffc00001L, 0x7f800001L, 0x7f800000L, 0xff800000L};
            case FLOAT64 -> new long[] {0x7ff8000000000000L, 0xfff8000000000001L, 0x7ff0000000000001L,
                    0x7ff0000000000000L, 0xfff0000000000000L};
            case FLOAT16 -> new long[] {0x7e00, 0xfe01, 0x7c01, 0x7c00, 0xfc00};
            case BFLOAT16 -> new long[] {0x7fc0, 0xffc1, 0x7f81, 0x7f80, 0xff80};
        };
        for (Tensor t : new Tensor[] {a, b}) {
            for (int i = 0; i < specials.length; i++) putBits(t, i, specials[i], dtype);
        }
    }

    static long canonicalNaN(DType d) {
        return switch (d) {
            case FLOAT32 -> 0x7fc00000L;
            case FLOAT64 -> 0x7ff8000000000000L;
            case FLOAT16 -> 0x7e00;
            case BFLOAT16 -> 0x7fc0;
        };
    }

    static void putBits(Tensor t, int i, long bits, DType dtype) {
        switch (dtype) {
            case FLOAT32 -> new org.bytedeco.javacpp.IntPointer(t.data_ptr()).capacity(t.numel()).put(i, (int) bits);
            case FLOAT64 -> new org.bytedeco.javacpp.LongPointer(t.data_ptr()).capacity(t.numel()).put(i, bits);
            default -> new org.bytedeco.javacpp.ShortPointer(t.data_ptr()).capacity(t.numel()).put(i, (short) bits);
        }
    }
    // ------------------------------------------------------------------ clip_grad_norm_

    record NormCase(DType dtype, double p, int seed) { }

    static NormType normType(double p) {
        return p == Double.POSITIVE_INFINITY ? NormType.INF : NormType.of(p);
    }

    static String pName(double p) {
        return p == Double.POSITIVE_INFINITY ? "inf" : String.valueOf((int) p);
    }

    /**
     * One comparison with {@code torch::nn::utils::clip_grad_norm_(params, maxNorm, p)}: returns {max ulps of the
     * total norm in dtype, max ulps of the clipped elements, elements compared, elements bit-identical}.
     */
    static long[] compareNormClip(List<double[]> grads, DType dtype, double p, double maxNorm, double[] ourNormOut) {
        TensorVector theirs = new TensorVector();
        TensorVector ours = new TensorVector();
        for (double[] g : grads) {
            theirs.push_back(param(g, dtype));
            ours.push_back(param(g, dtype));
        }
        double torchNorm = torch.clip_grad_norm_(theirs, maxNorm, p, false);
        ClipReport r = clipper.clipByGlobalNorm(TorchGradients.of(ours).gradients(),
                NormClip.of(maxNorm).withNormType(normType(p)));
        ourNormOut[0] = r.totalNorm();
        ourNormOut[1] = torchNorm;
        long normUlps = Bits.ulps(Bits.roundBits(r.totalNorm(), dtype), Bits.roundBits(torchNorm, dtype), dtype);
        long maxUlps = 0;
        long n = 0;
        long same = 0;
        for (long i = 0; i < theirs.size(); i++) {
            long[] a = Bits.bits(theirs.get(i).grad());
            long[] b = Bits.bits(ours.get(i).grad());
            for (int k = 0; k < a.length; k++) {
                n++;
                if (a[k] == b[k]) {
                    same++;
                    continue;
                }
                assertTrue(!Bits.isNaN(a[k], dtype) && !Bits.isNaN(b[k], dtype),
                        dtype + " p=" + pName(p) + ": NaN in one result only at element " + k);
                maxUlps = Math.max(maxUlps, Bits.ulps(a[k], b[k], dtype));
            }
        }
        return new long[] {normUlps, maxUlps, n, same};
    }

    /** Our fp64 total norm against libtorch's norm of the same values converted to fp64: relative difference. */
    static double relativeToLibtorchFp64(List<double[]> grads, DType dtype, double p, double ours) {
        TensorVector v = new TensorVector();
        for (double[] g : grads) {
            Tensor t = Bits.tensor(g, dtype).to(torch.ScalarType.Double); // exact widening of the dtype's values
            Tensor q = torch.zeros(g.length).to(torch.ScalarType.Double);
            q.set_requires_grad(true);
            q.mutable_grad().put(t);
            v.push_back(q);
        }
        double ref = torch.clip_grad_norm_(v, Double.MAX_VALUE, p, false);
        return Math.abs(ours - ref) / ref;
    }

    /**
     * Bounds asserted in CI, in ulps of the gradient's own type, from the distances measured here (3 and 20 seeds;
     * see integrations/README.md): p = inf is exact (a maximum); libtorch's L2 and L3 norms accumulate in fp64 on
     * the CPU and agree within a few ulps; fp16/bf16 norms agree after rounding to the 16-bit type. libtorch's L1
     * norm is a plain sum in the tensor's own type: it is checked against the worst-case error bound of such a sum
     * instead ({@link #l1Bound}), and our answer against libtorch's fp64 norm of the same values.
     */
    static long normUlpBound(DType d, double p) {
        if (p == Double.POSITIVE_INFINITY) return 0;
        return switch (d) {
            case FLOAT32, FLOAT64 -> p == 1 ? Long.MAX_VALUE : 8;
            case FLOAT16, BFLOAT16 -> 1;
        };
    }

    /** Relative error bound of a recursive sum of n non-negative terms in a type with unit roundoff u: (n-1)u/(1-(n-1)u). */
    static double l1Bound(long n, DType d) {
        double u = d == DType.FLOAT64 ? 0x1p-53 : 0x1p-24;
        return (n - 1) * u / (1 - (n - 1) * u);
    }

    /**
     * Elements: libtorch multiplies by its scale, computed from its norm in the tensor's type, we by the fp64 scale of
     * ours; the elements' distance follows the norms' (twice the norm's ulps, ulps differing between binades) plus
     * the roundings of the two scales and products.
     */
    static long elementUlpBound(DType d, long normUlps) {
        return 2 * normUlps + (d.byteSize() == 2 ? 2 : 4);
    }

    @Test
    void clipGradNormAgreesWithLibtorchWithinMeasuredUlps() {
        double[] ps = {1, 2, Double.POSITIVE_INFINITY, 3};
        for (DType dtype : DTYPES) {
            for (double p : ps) {
                long worstNorm = 0;
                long worstElem = 0;
                long worstElemOverBound = Long.MIN_VALUE;
                double worstL1 = 0;
                long n = 0;
                long same = 0;
                double worstRel = 0;
                for (int seed = 0; seed < SEEDS; seed++) {
                    Random rnd = new Random(1000 + seed);
                    // libtorch's C++ clip_grad_norm_ with p = inf throws on a zero-element gradient (max() of an empty
                    // tensor, see libtorchInfNormRefusesAnEmptyGradient): the empty tensor is in the p != inf cases only
                    List<double[]> grads = new ArrayList<>(List.of(gradientValues(rnd, 70_000, 0.05), gradientValues(rnd, 1000, 1.0),
                            gradientValues(rnd, 3, 10.0), gradientValues(rnd, 257, 0.001)));
                    if (p != Double.POSITIVE_INFINITY) grads.add(3, new double[0]);
                    double[] norms = new double[2];
                    long[] c = compareNormClip(grads, dtype, p, 0.5, norms);
                    assertTrue(norms[0] > 0.5, "the case must clip: " + norms[0]);
                    worstNorm = Math.max(worstNorm, c[0]);
                    worstElem = Math.max(worstElem, c[1]);
                    worstElemOverBound = Math.max(worstElemOverBound, c[1] - elementUlpBound(dtype, c[0]));
                    if (p == 1) {
                        double rel = Math.abs(norms[1] - norms[0]) / norms[0];
                        worstL1 = Math.max(worstL1, rel);
                        assertTrue(rel <= l1Bound(c[2], dtype), dtype + " L1: libtorch's norm is " + rel + " from ours");
                    }
                    n += c[2];
                    same += c[3];
                    worstRel = Math.max(worstRel, relativeToLibtorchFp64(grads, dtype, p, norms[0]));
                }
                String key = String.format(Locale.ROOT, "clip_grad_norm_ %-8s p=%-3s", dtype.numpyName(), pName(p));
                measured.put(key, String.format(Locale.ROOT,
                        "total norm %d ulp%s, elements %d ulp (%.2f%% bit-identical of %d), our norm vs libtorch's fp64 norm %.1e relative",
                        worstNorm, p == 1 ? String.format(Locale.ROOT, " (%.1e relative)", worstL1) : "", worstElem,
                        100.0 * same / n, n, worstRel));
                if (Boolean.getBoolean("measure")) continue;
                assertTrue(worstNorm <= normUlpBound(dtype, p), key + ": total norm " + worstNorm + " ulp");
                assertTrue(worstElemOverBound <= 0, key + ": elements " + worstElem + " ulp, beyond the bound from the norms'");
                assertTrue(worstRel < 1e-13, key + ": our fp64 norm is " + worstRel + " from libtorch's fp64 norm");
            }
        }
    }

    @Test
    void clipGradNormWhenNothingNeedsClippingLeavesEveryBitAlone() {
        for (DType dtype : DTYPES) {
            Random rnd = new Random(7);
            List<double[]> grads = List.of(gradientValues(rnd, 2000, 1e-3), gradientValues(rnd, 10, 1e-3));
            double[] norms = new double[2];
            long[] c = compareNormClip(grads, dtype, 2, 1e6, norms);
            assertEquals(c[2], c[3], dtype + ": an unclipped set must stay bit-identical (libtorch multiplies by 1)");
        }
    }

    @Test
    void libtorchInfNormRefusesAnEmptyGradient() {
        TensorVector theirs = new TensorVector(param(new double[] {1, -7}, DType.FLOAT32), param(new double[0], DType.FLOAT32));
        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> torch.clip_grad_norm_(theirs, 1.0, Double.POSITIVE_INFINITY, false));
        assertTrue(e.getMessage().contains("numel() == 0"), e.getMessage());
        TensorVector ours = new TensorVector(param(new double[] {1, -7}, DType.FLOAT32), param(new double[0], DType.FLOAT32));
        ClipReport r = clipper.clipByGlobalNorm(TorchGradients.of(ours).gradients(), NormClip.of(1.0).withNormType(NormType.INF));
        assertEquals(7.0, r.totalNorm());
        assertEquals(0.0, r.tensorNorm(1));
        measured.put("p=inf with an empty gradient", "libtorch 2.10 throws (max() of an empty tensor); gradclip: that tensor's norm is 0");
    }

    @Test
    void emptyListsAndUndefinedGradients() {
        assertEquals(0.0, torch.clip_grad_norm_(new TensorVector(), 1.0, 2.0, false));
        ClipReport r = clipper.clipByGlobalNorm(TorchGradients.of(new TensorVector()).gradients(), NormClip.of(1.0));
        assertEquals(0.0, r.totalNorm());
        assertEquals(0, r.tensorCount());
        // a parameter whose gradient was never set is left out by both
        Tensor undefined = torch.zeros(4);
        undefined.set_requires_grad(true);
        Tensor withGrad = param(new double[] {3, 4}, DType.FLOAT32);
        NamedGradients g = TorchGradients.of(new TensorVector(undefined, withGrad));
        assertEquals(List.of("parameter 1"), g.names());
        double theirs = torch.clip_grad_norm_(new TensorVector(undefined, param(new double[] {3, 4}, DType.FLOAT32)), 1.0, 2.0, false);
        assertEquals(5.0, theirs);
        assertEquals(5.0, clipper.clipByGlobalNorm(g.gradients(), NormClip.of(1.0)).totalNorm());
    }

    @Test
    void nonFiniteGradients() {
        for (DType dtype : DTYPES) {
            for (double p : new double[] {1, 2, Double.POSITIVE_INFINITY, 3}) {
                // an infinity: libtorch's norm is inf, its scale max/(inf + 1e-6) = 0
                List<double[]> withInf = List.of(new double[] {1, -2, Double.POSITIVE_INFINITY, 0.5}, new double[] {-3, 0});
                double[] norms = new double[2];
                TensorVector theirs = new TensorVector();
                TensorVector ours = new TensorVector();
                for (double[] g : withInf) {
                    theirs.push_back(param(g, dtype));
                    ours.push_back(param(g, dtype));
                }
                double tn = torch.clip_grad_norm_(theirs, 1.0, p, false);
                ClipReport r = clipper.clipByGlobalNorm(TorchGradients.of(ours).gradients(), NormClip.of(1.0).withNormType(normType(p)));
                assertEquals(Double.POSITIVE_INFINITY, tn);
                assertEquals(Double.POSITIVE_INFINITY, r.totalNorm());
                assertEquals(0.0, r.scale());
                for (long i = 0; i < theirs.size(); i++) {
                    long[] a = Bits.bits(theirs.get(i).grad());
                    long[] b = Bits.bits(ours.get(i).grad());
                    for (int k = 0; k < a.length; k++) {
                        if (Bits.isNaN(a[k], dtype)) {
                            // inf * 0: both NaN; gradclip writes the positive canonical quiet NaN of the type (the
                            // shared NaN rule), libtorch whatever its arithmetic produced (recorded, see README)
                            assertEquals(canonicalNaN(dtype), b[k], dtype + " element " + k);
                            measured.merge("inf * 0 NaN bits " + dtype.numpyName(),
                                    String.format("libtorch 0x%x, gradclip 0x%x", a[k], b[k]), (x, y) -> x);
                        } else {
                            assertEquals(a[k], b[k], dtype + " p=" + pName(p) + " element " + k + ": finite x * 0 (signed zero)");
                        }
                    }
                }
                // a NaN: libtorch's norm is NaN and so is every element afterwards
                TensorVector t2 = new TensorVector(param(new double[] {1, Double.NaN, 2}, dtype), param(new double[] {5}, dtype));
                TensorVector o2 = new TensorVector(param(new double[] {1, Double.NaN, 2}, dtype), param(new double[] {5}, dtype));
                assertTrue(Double.isNaN(torch.clip_grad_norm_(t2, 1.0, p, false)));
                ClipReport r2 = clipper.clipByGlobalNorm(TorchGradients.of(o2).gradients(), NormClip.of(1.0).withNormType(normType(p)));
                assertTrue(Double.isNaN(r2.totalNorm()));
                for (long i = 0; i < t2.size(); i++) {
                    long[] a = Bits.bits(t2.get(i).grad());
                    long[] b = Bits.bits(o2.get(i).grad());
                    for (int k = 0; k < a.length; k++) {
                        assertTrue(Bits.isNaN(a[k], dtype), dtype + " p=" + pName(p));
                        // the NaN input is itself the canonical NaN here, so every element is canonical under our rule
                        assertEquals(canonicalNaN(dtype), b[k], dtype + " p=" + pName(p));
                        measured.merge("NaN-norm result bits " + dtype.numpyName() + " [" + i + "][" + k + "]",
                                String.format("libtorch 0x%x, gradclip 0x%x", a[k], b[k]), (x, y) -> x);
                    }
                }
                assertTrue(norms.length == 2);
            }
        }
    }
}
