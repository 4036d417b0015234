package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.internal.HalfFloats;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The operations built on the backend passes (two-phase clip, per-tensor factors, the operation
 * vocabulary) and the numerics rules of docs/canonical-reduction.md that the passes carry (the NaN rule
 * of the scale pass, TF with max norm 0, the general-p rule), on the CPU and the emulated backend, as raw bits.
 */
class ClipperPassesTest {
    private static final Clipper CPU = Clipper.create(Backend.CPU);
    private static final Clipper EMU = Clipper.create(Backend.EMULATED);

    /** Backends, not clippers: JUnit closes AutoCloseable arguments after each invocation. */
    static Stream<Backend> clippers() {
        return Stream.of(Backend.CPU, Backend.EMULATED);
    }

    private static Clipper on(Backend kind) {
        return kind == Backend.CPU ? CPU : EMU;
    }

    @AfterAll
    static void closeAll() {
        CPU.close();
        EMU.close();
    }

    private static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            int e = Float.floatToRawIntBits(expected[i]);
            int a = Float.floatToRawIntBits(actual[i]);
            if (e != a) {
                throw new AssertionError(what + ": element " + i + " is 0x" + Integer.toHexString(a) + ", expected 0x" + Integer.toHexString(e));
            }
        }
    }

    // ------------------------------------------------------------------ two-phase clip

    @ParameterizedTest
    @MethodSource("clippers")
    void partialsThenTotalNormIsTheGlobalClipBitForBit(Backend kind) {
        Clipper c = on(kind);
        float[] a = random(1, 140_000, 1.0);
        float[] b = random(2, 999, 3.0);
        float[] a2 = a.clone();
        float[] b2 = b.clone();
        NormClip clip = NormClip.of(1.0).withSemantics(Semantics.TF);
        ClipReport direct = c.clipByGlobalNorm(GradientSet.of(Tensor.of(a), Tensor.of(b)), clip);

        GradientSet set = GradientSet.of(Tensor.of(a2), Tensor.of(b2));
        NormPartials parts = c.partials(set, NormType.L2);
        assertEquals(2, parts.tensorCount());
        assertEquals(3, parts.chunkSums(0).length, "140,000 elements are 3 chunks of 65,536");
        assertEquals(1, parts.chunkSums(1).length);
        assertEquals(Double.doubleToRawLongBits(direct.totalNorm()), Double.doubleToRawLongBits(parts.totalNorm()));
        assertEquals(Math.sqrt(parts.tensorSum(0)), parts.tensorNorm(0));
        assertFalse(parts.hasMaxAbs());
        assertThrows(IllegalStateException.class, () -> parts.maxAbs(0));
        ClipReport phase2 = c.clipWithTotalNorm(set, clip, parts.totalNorm());
        assertEquals(direct.scale(), phase2.scale());
        assertEquals(direct.clippedElements(), phase2.clippedElements());
        assertTrue(Double.isNaN(phase2.tensorNorm(0)), "phase two does not measure tensor norms");
        assertBits(a, a2, "tensor 0");
        assertBits(b, b2, "tensor 1");
    }

    @Test
    void partialsOfTheSameDataAreEqualOnEveryBackend() {
        float[] a = random(3, 70_000, 1e-3);
        NormPartials x = CPU.partials(GradientSet.of(Tensor.of(a)), NormType.L1);
        NormPartials y = EMU.partials(GradientSet.of(Tensor.of(a.clone())), NormType.L1);
        assertEquals(x, y);
        assertArrayEquals(x.chunkSums(0), y.chunkSums(0));
    }

    @ParameterizedTest
    @MethodSource("clippers")
    void totalNormPolicyIsAppliedInPhaseTwo(Backend kind) {
        Clipper c = on(kind);
        float[] a = {1, 2, 3};
        GradientSet set = GradientSet.of(Tensor.of(a));
        NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class,
                () -> c.clipWithTotalNorm(set, NormClip.of(1).withNonFinite(NonFinitePolicy.ERROR), Double.NaN));
        assertTrue(e.getMessage().contains("nothing was scaled"), e.getMessage());
        ClipReport skipped = c.clipWithTotalNorm(set, NormClip.of(1).withNonFinite(NonFinitePolicy.SKIP), Double.POSITIVE_INFINITY);
        assertTrue(skipped.skipped());
        assertArrayEquals(new float[] {1, 2, 3}, a);
        ClipReport r = c.clipWithTotalNorm(set, NormClip.of(1), 2.0);
        assertEquals(1.0 / (2.0 + 1e-6), r.scale());
        assertEquals((float) (1.0 / (2.0 + 1e-6)) * 3f, a[2]);
    }

    // ------------------------------------------------------------------ per-tensor factors

    @ParameterizedTest
    @MethodSource("clippers")
    void scaleEachMultipliesEachTensorByItsFactor(Backend kind) {
        Clipper c = on(kind);
        float[] a = {1, -2, 4};
        double[] d = {3, 0.5};
        short[] h = {HalfFloats.floatToHalf(2f)};
        float[] untouched = {7, 8};
        ClipReport r = c.scaleEach(GradientSet.of(Tensor.of(a), Tensor.of(d), Tensor.of(h, DType.FLOAT16), Tensor.of(untouched)),
                new double[] {0.5, -2.0, 0.25, 1.0});
        assertArrayEquals(new float[] {0.5f, -1f, 2f}, a);
        assertArrayEquals(new double[] {-6, -1}, d);
        assertEquals(0.5f, HalfFloats.halfToFloat(h[0]));
        assertArrayEquals(new float[] {7, 8}, untouched);
        assertEquals(Operation.SCALE, r.operation());
        assertEquals(6, r.clippedElements(), "the tensor with factor 1 is not written");
        assertEquals(-2.0, r.scale());
        assertFalse(r.hasNorms());
    }

    @Test
    void scaleEachRejectsBadFactorsBeforeWriting() {
        float[] a = {1, 2};
        GradientSet set = GradientSet.of(Tensor.of(a));
        assertThrows(IllegalArgumentException.class, () -> CPU.scaleEach(set, new double[] {1, 2}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CPU.scaleEach(set, new double[] {Double.NaN}));
        assertTrue(e.getMessage().contains("factor 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CPU.scaleEach(set, new double[] {Double.POSITIVE_INFINITY}));
        assertThrows(NullPointerException.class, () -> CPU.scaleEach(set, null));
        assertArrayEquals(new float[] {1, 2}, a);
    }

    // ------------------------------------------------------------------ the operation vocabulary

    @ParameterizedTest
    @MethodSource("clippers")
    void applyRunsTheOperationItNames(Backend kind) {
        Clipper c = on(kind);
        ClipOperation[] ops = {
            new ClipOperation.ByValue(ValueClip.symmetric(0.5)),
            new ClipOperation.ByNorm(NormClip.of(0.7)),
            new ClipOperation.ByGlobalNorm(NormClip.of(0.7).withNormType(NormType.INF)),
            new ClipOperation.Renormalize(NormType.L1, NonFinitePolicy.PROPAGATE),
            new ClipOperation.Norms(NormType.L2, NonFinitePolicy.ERROR),
        };
        String[] names = {"value", "norm", "global-norm", "renormalize", "norms"};
        for (int k = 0; k < ops.length; k++) {
            float[] x = random(10 + k, 500, 1.0);
            float[] y = x.clone();
            ClipReport viaApply = c.apply(GradientSet.of(Tensor.of(x)), ops[k]);
            ClipReport direct = switch (k) {
                case 0 -> c.clipByValue(GradientSet.of(Tensor.of(y)), ValueClip.symmetric(0.5));
                case 1 -> c.clipByNorm(GradientSet.of(Tensor.of(y)), NormClip.of(0.7));
                case 2 -> c.clipByGlobalNorm(GradientSet.of(Tensor.of(y)), NormClip.of(0.7).withNormType(NormType.INF));
                case 3 -> c.renormalize(GradientSet.of(Tensor.of(y)), NormType.L1, NonFinitePolicy.PROPAGATE);
                default -> c.norms(GradientSet.of(Tensor.of(y)), NormType.L2, NonFinitePolicy.ERROR);
            };
            assertEquals(names[k], ops[k].cliName());
            assertEquals(ops[k].kind(), viaApply.operation());
            assertEquals(ops[k].kind().cliName(), ops[k].cliName());
            assertEquals(direct.toString(), viaApply.toString());
            assertBits(y, x, ops[k].cliName());
        }
        assertThrows(NullPointerException.class, () -> c.apply(GradientSet.empty(), null));
        assertThrows(NullPointerException.class, () -> new ClipOperation.ByValue(null));
    }

    // ------------------------------------------------------------------ the NaN rule of the scale pass

    @ParameterizedTest
    @MethodSource("clippers")
    void nanRuleFp32(Backend kind) {
        Clipper c = on(kind);
        float nanPayload = Float.intBitsToFloat(0xffa0_0001); // a negative signalling NaN with a payload
        float[] a = {nanPayload, Float.POSITIVE_INFINITY, 2f, Float.NEGATIVE_INFINITY};
        // TORCH with an infinite norm: scale 0, so inf * 0 is NaN: canonical; the NaN keeps its bits, quieted
        ClipReport r = c.clipWithTotalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(1), Double.POSITIVE_INFINITY);
        assertEquals(0.0, r.scale());
        assertBits(new float[] {Float.intBitsToFloat(0xffe0_0001), Float.intBitsToFloat(0x7fc0_0000), 0f,
                Float.intBitsToFloat(0x7fc0_0000)}, a, "fp32");
        float[] b = {Float.POSITIVE_INFINITY, -1f};
        ClipReport g = c.clipByGlobalNorm(GradientSet.of(Tensor.of(b)), NormClip.of(1));
        assertEquals(0.0, g.scale(), "N = inf gives scale 0 (torch)");
        assertBits(new float[] {Float.intBitsToFloat(0x7fc0_0000), -0f}, b, "fp32 global");
    }

    @ParameterizedTest
    @MethodSource("clippers")
    void nanRuleNanScaleGivesCanonicalNaN(Backend kind) {
        Clipper c = on(kind);
        double[] d = {1.5, Double.longBitsToDouble(0xfff0_0000_0000_0123L)};
        short[] h = {HalfFloats.floatToHalf(1f), (short) 0xfd01};
        short[] b = {HalfFloats.floatToBfloat16(1f), (short) 0xff81};
        float[] f = {1f};
        // a NaN total norm under PROPAGATE: scale NaN (TF) is applied
        ClipReport r = c.clipWithTotalNorm(GradientSet.of(Tensor.of(d), Tensor.of(h, DType.FLOAT16), Tensor.of(b, DType.BFLOAT16),
                Tensor.of(f)), NormClip.of(1).withSemantics(Semantics.TF), Double.NaN);
        assertTrue(Double.isNaN(r.scale()));
        assertEquals(0x7ff8_0000_0000_0000L, Double.doubleToRawLongBits(d[0]));
        assertEquals(0xfff8_0000_0000_0123L, Double.doubleToRawLongBits(d[1]));
        assertEquals(0x7e00, h[0] & 0xffff);
        assertEquals(0xff01, h[1] & 0xffff);
        assertEquals(0x7fc0, b[0] & 0xffff);
        assertEquals(0xffc1, b[1] & 0xffff);
        assertEquals(0x7fc0_0000, Float.floatToRawIntBits(f[0]));
    }

    // ------------------------------------------------------------------ TF with max norm 0

    @ParameterizedTest
    @MethodSource("clippers")
    void tfMaxNormZeroOnZeroGradientsIsScaleOne(Backend kind) {
        Clipper c = on(kind);
        float[] zeros = {0f, -0f, 0f};
        for (NonFinitePolicy policy : NonFinitePolicy.values()) {
            ClipReport r = c.clipByGlobalNorm(GradientSet.of(Tensor.of(zeros)),
                    new NormClip(0.0, NormType.L2, Semantics.TF, policy));
            assertEquals(1.0, r.scale(), policy.name());
            assertFalse(r.skipped());
            assertEquals(0, r.clippedElements());
            assertBits(new float[] {0f, -0f, 0f}, zeros, "zeros stay zeros (" + policy + ")");
            ClipReport perTensor = c.clipByNorm(GradientSet.of(Tensor.of(zeros)), new NormClip(0.0, NormType.L2, Semantics.TF, policy));
            assertEquals(1.0, perTensor.scale());
        }
        float[] some = {3, 4};
        ClipReport r = c.clipByGlobalNorm(GradientSet.of(Tensor.of(some)), new NormClip(0.0, NormType.L2, Semantics.TF,
                NonFinitePolicy.ERROR));
        assertEquals(0.0, r.scale(), "max norm 0 with a positive norm zeroes the gradients, as TF and Optax do");
        assertBits(new float[] {0f, 0f}, some, "zeroed");
    }

    // ------------------------------------------------------------------ general p never overflows

    @ParameterizedTest
    @MethodSource("clippers")
    void largeFinitePDoesNotOverflow(Backend kind) {
        Clipper c = on(kind);
        // torch.linalg.vector_norm([3, -2, 1], 1e308) is 3
        ClipReport r = c.norms(GradientSet.of(Tensor.of(new float[] {3, -2, 1})), NormType.of(1e308));
        assertEquals(3.0, r.totalNorm());
        assertEquals(3.0, r.tensorNorm(0));
        // p = 20 with |x| ~ 1e30: |x|^20 = 1e600 overflows unscaled
        float[] big = {1e30f, -2e30f, 5e29f};
        float[] other = {1e-3f};
        GradientSet set = GradientSet.of(Tensor.of(big), Tensor.of(other));
        ClipReport p20 = c.norms(set, NormType.of(20));
        double truth = 2e30 * Math.pow(Math.pow(0.5, 20) + 1 + Math.pow(0.25, 20), 1.0 / 20);
        assertEquals(truth, p20.totalNorm(), truth * 1e-6);
        assertEquals(truth, p20.tensorNorm(0), truth * 1e-6);
        NormPartials parts = c.partials(set, NormType.of(20));
        assertTrue(parts.hasMaxAbs());
        assertEquals((double) 2e30f, parts.maxAbs(0));
        assertEquals((double) 1e-3f, parts.maxAbs(1));
        // clipping with it scales instead of zeroing every gradient
        ClipReport clip = c.clipByGlobalNorm(set, NormClip.of(1.0).withNormType(NormType.of(20)));
        assertTrue(clip.scale() > 0 && clip.scale() < 1e-29, "scale " + clip.scale());
        assertTrue(big[1] != 0f && Float.isFinite(big[1]), "gradients scaled, not zeroed: " + big[1]);
    }

    @ParameterizedTest
    @MethodSource("clippers")
    void generalPWithNonFiniteAndZeroTensors(Backend kind) {
        Clipper c = on(kind);
        float[] zeros = new float[5];
        float[] inf = {1, Float.POSITIVE_INFINITY};
        float[] nan = {Float.NaN, 1};
        assertEquals(0.0, c.norms(GradientSet.of(Tensor.of(zeros)), NormType.of(3)).totalNorm());
        ClipReport r = c.norms(GradientSet.of(Tensor.of(zeros), Tensor.of(inf)), NormType.of(3));
        assertEquals(Double.POSITIVE_INFINITY, r.totalNorm());
        assertEquals(0.0, r.tensorNorm(0));
        assertEquals(1, r.nonFiniteElements());
        ClipReport n = c.norms(GradientSet.of(Tensor.of(inf), Tensor.of(nan)), NormType.of(0.5));
        assertTrue(Double.isNaN(n.totalNorm()));
        assertEquals(2, n.nonFiniteElements());
    }
}
