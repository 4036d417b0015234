package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipOperation;
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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LossScaledClipTest {

    static float[][] data(long seed, double s) {
        Random r = new Random(seed);
        float[][] d = {new float[300], new float[7], new float[0], new float[70_000]};
        for (float[] a : d) for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * 0.01 * (a.length == 7 ? 50 : 1) * s);
        return d;
    }

    static GradientSet set(float[][] d) {
        return GradientSet.of(Arrays.stream(d).map(Tensor::of).toArray(Tensor[]::new));
    }

    static float[][] copy(float[][] d) {
        return Arrays.stream(d).map(float[]::clone).toArray(float[][]::new);
    }

    @Test
    void powerOfTwoScaleEqualsUnscaleThenOperateBitForBit() {
        double s = 1024;
        List<ClipOperation> ops = List.of(new ClipOperation.ByGlobalNorm(NormClip.of(0.3)),
                new ClipOperation.ByNorm(NormClip.of(0.05).withSemantics(Semantics.TF)),
                new ClipOperation.ByValue(ValueClip.symmetric(0.01)),
                new ClipOperation.Renormalize(NormType.L2, NonFinitePolicy.PROPAGATE));
        try (Clipper cpu = Clipper.create(Backend.CPU); Clipper emu = Clipper.create(Backend.EMULATED)) {
            for (ClipOperation op : ops) {
                float[][] a = data(3, s);
                float[][] b = copy(a);
                float[][] e = copy(a);
                LossScaledClip.Result r = LossScaledClip.apply(cpu, set(a), op, s);
                LossScaledClip.apply(emu, set(e), op, s);
                GradientSet bs = set(b);
                double[] inv = new double[bs.size()];
                Arrays.fill(inv, 1 / s);
                cpu.scaleEach(bs, inv);
                ClipReport want = cpu.apply(bs, op);
                for (int t = 0; t < a.length; t++) {
                    assertArrayEquals(b[t], a[t], op.cliName() + " tensor " + t);
                    assertArrayEquals(a[t], e[t], op.cliName() + " cpu vs emulated, tensor " + t);
                }
                if (!(op instanceof ClipOperation.ByValue)) {
                    assertEquals(want.totalNorm(), r.totalNorm(), op.cliName());
                    assertArrayEquals(want.tensorNorms(), r.tensorNorms(), op.cliName());
                    assertArrayEquals(want.tensorScales(), r.tensorScales(), op.cliName());
                } else {
                    assertEquals(want.clippedElements(), r.clippedElements());
                }
                assertTrue(r.clippedElements() > 0, op.cliName() + " clips");
            }
        }
    }

    @Test
    void normsMeasureTheUnscaledGradientsAndWriteNothing() {
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            float[] g = {6f, 8f};
            LossScaledClip.Result r = LossScaledClip.apply(cpu, GradientSet.of(Tensor.of(g)),
                    new ClipOperation.Norms(NormType.L2, NonFinitePolicy.PROPAGATE), 2);
            assertEquals(5.0, r.totalNorm());
            assertArrayEquals(new float[] {6f, 8f}, g);
        }
    }

    @Test
    void nonFiniteFollowsThePolicyBeforeAnythingIsWritten() {
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            for (ClipOperation op : List.of(
                    new ClipOperation.ByGlobalNorm(NormClip.of(1).withNonFinite(NonFinitePolicy.SKIP)),
                    new ClipOperation.ByNorm(NormClip.of(1).withNonFinite(NonFinitePolicy.SKIP)),
                    new ClipOperation.ByValue(ValueClip.symmetric(1).withNonFinite(NonFinitePolicy.SKIP)))) {
                float[] g = {6f, Float.POSITIVE_INFINITY};
                float[] h = {4f};
                LossScaledClip.Result r = LossScaledClip.apply(cpu, GradientSet.of(Tensor.of(g), Tensor.of(h)), op, 2);
                assertTrue(r.skipped(), op.cliName());
                assertEquals(1, r.nonFiniteElements());
                assertArrayEquals(new float[] {6f, Float.POSITIVE_INFINITY}, g);
                assertArrayEquals(new float[] {4f}, h, "SKIP leaves even the finite tensor scaled by S");
            }
            for (ClipOperation op : List.of(
                    new ClipOperation.ByGlobalNorm(NormClip.of(1).withNonFinite(NonFinitePolicy.ERROR)),
                    new ClipOperation.ByValue(ValueClip.symmetric(1).withNonFinite(NonFinitePolicy.ERROR)),
                    new ClipOperation.Norms(NormType.L2, NonFinitePolicy.ERROR))) {
                float[] g = {6f, Float.NaN};
                assertThrows(NonFiniteGradientException.class, () -> LossScaledClip.apply(cpu, GradientSet.of(Tensor.of(g)), op, 2));
                assertEquals(6f, g[0]);
            }
            float[] g = {6f, Float.NaN};
            float[] h = {4f};
            LossScaledClip.apply(cpu, GradientSet.of(Tensor.of(g), Tensor.of(h)), new ClipOperation.ByNorm(NormClip.of(1)), 2);
            assertTrue(Float.isNaN(g[0]), "PROPAGATE: the NaN tensor's scale is NaN");
            assertEquals((float) (Semantics.TORCH.scale(2.0, 1.0) / 2 * 4), h[0], 1e-6f);
            assertThrows(IllegalArgumentException.class, () -> LossScaledClip.apply(cpu, GradientSet.empty(),
                    new ClipOperation.ByGlobalNorm(NormClip.of(1)), 0));
        }
    }
}
