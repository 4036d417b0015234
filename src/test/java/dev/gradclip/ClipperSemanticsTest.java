package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.backend.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The formulas of every operation on the CPU backend, against float64-or-better truth. */
class ClipperSemanticsTest {
    private final CpuBackend cpu = new CpuBackend();
    private final Clipper clipper = Clipper.using(cpu);

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    @Test
    void l2NormsAreExactToFp64() {
        SplittableRandom r = new SplittableRandom(3);
        float[] a = random(r, 100_003, 1.0);
        float[] b = random(r, 65_536, 1e-3);
        float[] c = random(r, 1, 50);
        ClipReport rep = clipper.norms(GradientSet.of(Tensor.of(a), Tensor.of(b), Tensor.of(c)), NormType.L2);
        double truth = Truth.l2(Truth.widen(a), Truth.widen(b), Truth.widen(c));
        assertTrue(Truth.relativeError(rep.totalNorm(), truth) < 1e-14, rep.totalNorm() + " vs " + truth);
        assertTrue(Truth.relativeError(rep.tensorNorm(0), Truth.l2(Truth.widen(a))) < 1e-14);
        assertEquals(Math.abs(c[0]), rep.tensorNorm(2), 0.0);
        assertEquals(0, rep.nonFiniteElements());
    }

    @Test
    void l1InfAndGeneralP() {
        float[] a = {3, -4, 0, 1};
        float[] b = {-12};
        GradientSet set = GradientSet.of(Tensor.of(a), Tensor.of(b));
        assertEquals(20.0, clipper.norms(set, NormType.L1).totalNorm());
        assertEquals(12.0, clipper.norms(set, NormType.INF).totalNorm());
        assertEquals(Math.sqrt(9 + 16 + 1 + 144), clipper.norms(set, NormType.L2).totalNorm());
        double p3 = Math.pow(27 + 64 + 1 + 1728, 1.0 / 3);
        assertEquals(p3, clipper.norms(set, NormType.of(3)).totalNorm(), 1e-12);
        assertEquals(Math.pow(Math.pow(3, 0.5) + Math.pow(4, 0.5) + 1 + Math.pow(12, 0.5), 2),
                clipper.norms(set, NormType.of(0.5)).totalNorm(), 1e-12);
        assertArrayEquals(new double[] {5.0990195135927845, 12.0}, clipper.norms(set, NormType.L2).tensorNorms(), 1e-15);
    }

    @Test
    void globalNormTorchSemanticsWithinOneUlpOfExactScaling() {
        SplittableRandom r = new SplittableRandom(4);
        float[] a = random(r, 70_000, 1.0);
        float[] b = random(r, 333, 2.0);
        float[] a0 = a.clone();
        float[] b0 = b.clone();
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a), Tensor.of(b)), NormClip.of(1.0));
        double n = Truth.l2(Truth.widen(a0), Truth.widen(b0));
        double scale = 1.0 / (n + 1e-6);
        assertEquals(scale, rep.scale(), Math.ulp(scale) * 4);
        assertTrue(rep.clipped());
        assertEquals(70_333, rep.clippedElements());
        for (int i = 0; i < a.length; i++) {
            assertTrue(Truth.ulpDistance(a[i], Truth.scaledExactly(a0[i], scale)) <= 1, "element " + i);
        }
        for (int i = 0; i < b.length; i++) {
            assertTrue(Truth.ulpDistance(b[i], Truth.scaledExactly(b0[i], scale)) <= 1);
        }
        // the result's norm is at most max_norm (up to rounding)
        assertTrue(clipper.norms(GradientSet.of(Tensor.of(a), Tensor.of(b)), NormType.L2).totalNorm() <= 1.0 + 1e-6);
    }

    @Test
    void globalNormTfSemantics() {
        float[] a = {3, 4}; // norm 5
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(2.5).withSemantics(Semantics.TF));
        assertEquals(0.5, rep.scale());
        assertArrayEquals(new float[] {1.5f, 2f}, a);
        float[] b = {3, 4};
        ClipReport same = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(b)), NormClip.of(5).withSemantics(Semantics.TF));
        assertEquals(1.0, same.scale());
        assertFalse(same.clipped());
        float[] c = {3, 4};
        ClipReport torch = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(c)), NormClip.of(5));
        assertEquals(5 / (5 + 1e-6), torch.scale()); // torch scales by max/(norm+eps) even at the threshold
    }

    @Test
    void noWriteWhenTheScaleIsExactlyOne() {
        SplittableRandom r = new SplittableRandom(5);
        float[] a = random(r, 200_000, 1e-4);
        long before = cpu.chunkWrites();
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(100));
        assertEquals(1.0, rep.scale());
        assertEquals(0, rep.clippedElements());
        assertEquals(before, cpu.chunkWrites(), "no chunk may be written when the scale is 1");
        clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(1e-6));
        assertTrue(cpu.chunkWrites() > before);
    }

    @Test
    void nanAndInfinityPropagateLikeThePeers() {
        float[] a = {1, Float.NaN, 2};
        float[] b = {5};
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a), Tensor.of(b)), NormClip.of(1));
        assertTrue(Double.isNaN(rep.totalNorm()));
        assertTrue(Double.isNaN(rep.scale()));
        assertEquals(1, rep.nonFiniteElements());
        assertTrue(Float.isNaN(a[0]) && Float.isNaN(b[0]), "torch: NaN total makes every gradient NaN");

        float[] c = {1, Float.POSITIVE_INFINITY, -2};
        ClipReport inf = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(c)), NormClip.of(1));
        assertEquals(Double.POSITIVE_INFINITY, inf.totalNorm());
        assertEquals(0.0, inf.scale());
        assertEquals(0f, c[0]);
        assertTrue(Float.isNaN(c[1]), "inf * 0 is NaN, as in torch");
        assertEquals(-0f, c[2]);

        float[] d = {1, Float.POSITIVE_INFINITY};
        ClipReport tf = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(d)), NormClip.of(1).withSemantics(Semantics.TF));
        assertTrue(Double.isNaN(tf.scale()));
        assertTrue(Float.isNaN(d[0]) && Float.isNaN(d[1]), "TF: non-finite global norm makes every entry NaN");
    }

    @Test
    void errorAndSkipPoliciesModifyNothing() {
        float[] a = {100, Float.NaN};
        float[] b = {300, 400};
        float[] a0 = a.clone();
        float[] b0 = b.clone();
        GradientSet set = GradientSet.of(Tensor.of(a), Tensor.of(b));
        NormClip error = NormClip.of(1).withNonFinite(NonFinitePolicy.ERROR);
        NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, () -> clipper.clipByGlobalNorm(set, error));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        assertEquals(1, e.report().nonFiniteElements());
        assertThrows(NonFiniteGradientException.class, () -> clipper.clipByNorm(set, error));
        assertThrows(NonFiniteGradientException.class, () -> clipper.clipByValue(set, ValueClip.symmetric(1).withNonFinite(NonFinitePolicy.ERROR)));
        assertThrows(NonFiniteGradientException.class, () -> clipper.norms(set, NormType.L2, NonFinitePolicy.ERROR));
        assertThrows(NonFiniteGradientException.class, () -> clipper.renormalize(set, NormType.L2, NonFinitePolicy.ERROR));
        assertArrayEquals(a0, a);
        assertArrayEquals(b0, b);

        ClipReport skip = clipper.clipByGlobalNorm(set, NormClip.of(1).withNonFinite(NonFinitePolicy.SKIP));
        assertTrue(skip.skipped());
        assertFalse(skip.clipped());
        assertEquals(1.0, skip.scale());
        ClipReport skipPer = clipper.clipByNorm(set, NormClip.of(1).withNonFinite(NonFinitePolicy.SKIP));
        assertTrue(skipPer.skipped(), "one non-finite tensor leaves every tensor untouched");
        ClipReport skipValue = clipper.clipByValue(set, ValueClip.symmetric(1).withNonFinite(NonFinitePolicy.SKIP));
        assertTrue(skipValue.skipped());
        assertEquals(1, skipValue.nonFiniteElements());
        assertArrayEquals(a0, a);
        assertArrayEquals(b0, b);
    }

    @Test
    void perTensorClipByNormMatchesTfAndDl4j() {
        float[] a = {3, 4};      // norm 5 > 1: scaled by 1/5
        float[] b = {0.3f, 0.4f}; // norm 0.5 <= 1: untouched
        float[] b0 = b.clone();
        ClipReport rep = clipper.clipByNorm(GradientSet.of(Tensor.of(a), Tensor.of(b)), NormClip.of(1).withSemantics(Semantics.TF));
        assertArrayEquals(new float[] {3 * (float) 0.2, 4 * (float) 0.2}, a);
        assertArrayEquals(b0, b);
        assertArrayEquals(new double[] {0.2, 1.0}, rep.tensorScales());
        assertEquals(0.2, rep.scale());
        assertEquals(2, rep.clippedElements());
    }

    @Test
    void renormalizeDividesByTheNorm() {
        float[] a = {3, 4};
        float[] z = {0, 0};
        ClipReport rep = clipper.renormalize(GradientSet.of(Tensor.of(a), Tensor.of(z)), NormType.L2, NonFinitePolicy.PROPAGATE);
        assertArrayEquals(new float[] {0.6f, 0.8f}, a, 1e-7f);
        assertArrayEquals(new float[] {0, 0}, z);
        assertEquals(1 / 1e-5, rep.tensorScales()[1], "DL4J takes a zero norm as 1e-5");
    }

    @Test
    void clipByValueMatchesTorchClamp() {
        float[] a = {-3, -1, -0.5f, 0, 0.5f, 1, 3, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE};
        ClipReport rep = clipper.clipByValue(GradientSet.of(Tensor.of(a)), ValueClip.symmetric(1));
        assertArrayEquals(new float[] {-1, -1, -0.5f, 0, 0.5f, 1, 1, Float.NaN, 1, -1, -0f, Float.MIN_VALUE}, a);
        assertEquals(4, rep.clippedElements());
        assertEquals(3, rep.nonFiniteElements());
        assertFalse(rep.hasNorms());
        double[] d = {-2, 0.25, 7};
        clipper.clipByValue(GradientSet.of(Tensor.of(d)), ValueClip.between(0, 5));
        assertArrayEquals(new double[] {0, 0.25, 5}, d);
        // a value equal to a bound is kept as it is, signed zero included, as torch.clamp does on the CPU
        float[] z = {-0f, 0f};
        ClipReport zr = clipper.clipByValue(GradientSet.of(Tensor.of(z)), ValueClip.between(0, 0));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(z[0]));
        assertEquals(0, zr.clippedElements());
    }

    @Test
    void halfAndBfloat16ClampRoundsTheBoundsToStorage() {
        short[] h = {HalfFloatsAccess.half(0.2f), HalfFloatsAccess.half(-5f)};
        clipper.clipByValue(GradientSet.of(Tensor.of(h, DType.FLOAT16)), ValueClip.symmetric(0.1));
        assertEquals(HalfFloatsAccess.half(0.1f), h[0]);
        assertEquals(HalfFloatsAccess.half(-0.1f), h[1]);
        short[] b = {HalfFloatsAccess.bf16(0.2f)};
        clipper.clipByValue(GradientSet.of(Tensor.of(b, DType.BFLOAT16)), ValueClip.symmetric(0.1));
        assertEquals(HalfFloatsAccess.bf16(0.1f), b[0]);
    }

    @Test
    void halfScalingWithinOneUlpOfExactAndNoFp16Overflow() {
        // 65,536 halves of 60000: the norm (about 1.5e7) is far above fp16's 65,504, still exact in fp64
        short[] h = new short[65_536];
        java.util.Arrays.fill(h, HalfFloatsAccess.half(60000f));
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(h, DType.FLOAT16)), NormClip.of(1000));
        assertEquals(60000.0 * 256, rep.totalNorm());
        double scale = 1000 / (60000.0 * 256 + 1e-6);
        float expected = HalfFloatsAccess.toFloat(HalfFloatsAccess.half(Truth.scaledExactly(60000f, scale)));
        float got = HalfFloatsAccess.toFloat(h[0]);
        assertTrue(Math.abs(got - expected) <= Math.ulp(expected) * 8, got + " vs " + expected);
    }

    @Test
    void tinyRenormalizeAndHugeClipKeepFp64Precision() {
        // 1/N overflows fp32 for N < ~3e-39: the tensor is scaled in fp64 and rounded once
        float[] tiny = {3e-40f, -4e-40f};
        ClipReport r = clipper.renormalize(GradientSet.of(Tensor.of(tiny)), NormType.L2, NonFinitePolicy.PROPAGATE);
        assertTrue(Double.isFinite(r.scale()) && (float) r.scale() == Float.POSITIVE_INFINITY, "scale " + r.scale());
        assertEquals((float) (3e-40f * r.scale()), tiny[0]);
        assertEquals(0.6f, tiny[0], 1e-3f);
        // M/N below fp32's smallest normal: multiplied in fp64, not by a zero or subnormal fp32 scale
        float[] huge = {3e38f, -3e38f};
        clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(huge)), NormClip.of(1e-6).withSemantics(Semantics.TF));
        assertEquals(1e-6 / Math.sqrt(2), huge[0], 1e-12);
        float[] z = {3, 4};
        clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(z)), NormClip.of(0));
        assertArrayEquals(new float[] {0, 0}, z, "max_norm 0 zeroes the gradients, as in torch");
    }

    @Test
    void emptySetsAndEmptyTensors() {
        ClipReport e = clipper.clipByGlobalNorm(GradientSet.empty(), NormClip.of(1));
        assertEquals(0.0, e.totalNorm());
        assertEquals(1.0, e.scale());
        assertEquals(0, e.tensorCount());
        float[] none = new float[0];
        float[] one = {2};
        ClipReport r = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(none), Tensor.of(one)), NormClip.of(1));
        assertArrayEquals(new double[] {0, 2}, r.tensorNorms());
        assertEquals(0.0, clipper.clipByValue(GradientSet.empty(), ValueClip.symmetric(1)).clippedFraction());
    }

    @Test
    void fp64StorageUsesTheFp64Scale() {
        double[] d = {3, 4};
        ClipReport rep = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(d)), NormClip.of(1).withSemantics(Semantics.TF));
        assertEquals(0.2, rep.scale());
        assertArrayEquals(new double[] {3 * 0.2, 4 * 0.2}, d);
    }

    @Test
    void hugeFp64ValuesOverflowTheSquareButAreCountedFinite() {
        double[] d = {1e200, 1e200};
        ClipReport rep = clipper.norms(GradientSet.of(Tensor.of(d)), NormType.L2);
        assertEquals(Double.POSITIVE_INFINITY, rep.totalNorm());
        assertEquals(0, rep.nonFiniteElements(), "the elements are finite; only the fp64 sum of squares overflowed");
        assertEquals(1e200, clipper.norms(GradientSet.of(Tensor.of(d)), NormType.INF).totalNorm());
    }

    @Test
    void hugeFp32ValuesDoNotOverflowTheFp64Accumulator() {
        float[] a = {3e38f, 3e38f, -3e38f};
        ClipReport rep = clipper.norms(GradientSet.of(Tensor.of(a)), NormType.L2);
        assertTrue(Truth.relativeError(rep.totalNorm(), Truth.l2(Truth.widen(a))) < 1e-15);
        float[] sub = {Float.MIN_VALUE, Float.MIN_VALUE};
        assertEquals(Math.sqrt(2) * Float.MIN_VALUE, clipper.norms(GradientSet.of(Tensor.of(sub)), NormType.L2).totalNorm(), 1e-60);
    }
}
