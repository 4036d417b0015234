package dev.gradclip.integration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Operation;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The factories run the core's operations through {@link Clipper#apply}, bit for bit. */
class ClipStepTest {
    private static float[][] gradients() {
        return new float[][] {{3f, -4f, 0.5f, Float.MIN_VALUE}, {12f, -0f, 7.25f}};
    }

    private static ParameterGradients view(float[][] g) {
        List<Tensor> t = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < g.length; i++) {
            t.add(Tensor.of(g[i]));
            names.add("p" + i);
        }
        return new ParameterGradients(names, GradientSet.of(t));
    }

    /** The step's result against {@code clipper.apply(operation)} on a copy: same bits, same report. */
    private static void assertSameAsApply(Clipper clipper, ClipStep step, ClipOperation operation) {
        float[][] ours = gradients();
        float[][] theirs = gradients();
        ClipReport r = step.clip(clipper, view(ours));
        ClipReport expected = clipper.apply(view(theirs).gradients(), operation);
        for (int i = 0; i < ours.length; i++) {
            int[] a = new int[ours[i].length];
            int[] b = new int[ours[i].length];
            for (int k = 0; k < a.length; k++) {
                a[k] = Float.floatToRawIntBits(ours[i][k]);
                b[k] = Float.floatToRawIntBits(theirs[i][k]);
            }
            assertArrayEquals(b, a, step + ": tensor " + i);
        }
        assertEquals(expected.operation(), r.operation());
        assertEquals(Double.doubleToRawLongBits(expected.totalNorm()), Double.doubleToRawLongBits(r.totalNorm()), step.toString());
        assertEquals(Double.doubleToRawLongBits(expected.scale()), Double.doubleToRawLongBits(r.scale()), step.toString());
        assertEquals(expected.clippedElements(), r.clippedElements(), step.toString());
        assertEquals(expected.toString(), r.toString());
    }

    @Test
    void factoriesRunTheirOperation() {
        NormClip norm = NormClip.of(2.0);
        ValueClip value = ValueClip.symmetric(1.0);
        ClipOperation renormalize = new ClipOperation.Renormalize(NormType.L2, NonFinitePolicy.PROPAGATE);
        try (Clipper c = Clipper.create(Backend.CPU)) {
            assertSameAsApply(c, ClipStep.globalNorm(norm), new ClipOperation.ByGlobalNorm(norm));
            assertSameAsApply(c, ClipStep.perTensorNorm(norm), new ClipOperation.ByNorm(norm));
            assertSameAsApply(c, ClipStep.byValue(value), new ClipOperation.ByValue(value));
            assertSameAsApply(c, ClipStep.of(renormalize), renormalize);
            assertSameAsApply(c, ClipStep.normsOnly(NormType.INF), new ClipOperation.Norms(NormType.INF, NonFinitePolicy.PROPAGATE));
        }
    }

    @Test
    void globalNormClipsToTheMaximum() {
        float[][] g = gradients();
        ClipReport r;
        try (Clipper c = Clipper.create(Backend.CPU)) {
            r = ClipStep.globalNorm(NormClip.of(1.0)).clip(c, view(g));
        }
        assertEquals(Operation.CLIP_GLOBAL_NORM, r.operation());
        assertTrue(r.clipped());
        double sum = 0;
        for (float[] t : g) for (float x : t) sum += (double) x * x;
        assertEquals(1.0, Math.sqrt(sum), 1e-6, "the clipped global L2 norm is max_norm (1e-6 from the +1e-6)");
    }

    @Test
    void normsOnlyWritesNothing() {
        float[][] g = gradients();
        ClipReport r;
        try (Clipper c = Clipper.create(Backend.CPU)) {
            r = ClipStep.normsOnly(NormType.L2).clip(c, view(g));
        }
        assertFalse(r.clipped());
        assertEquals(0, r.clippedElements());
        double minSquared = (double) Float.MIN_VALUE * Float.MIN_VALUE;
        assertEquals(Math.sqrt(9 + 16 + 0.25 + minSquared + 144 + 52.5625), r.totalNorm(), 1e-12, "the L2 norm of all elements");
        float[][] fresh = gradients();
        for (int i = 0; i < g.length; i++) assertArrayEquals(fresh[i], g[i]);
    }

    @Test
    void namesSayTheOperation() {
        NormClip norm = NormClip.of(1.0);
        assertEquals("global-norm " + new ClipOperation.ByGlobalNorm(norm), ClipStep.globalNorm(norm).toString());
        assertEquals("norm " + new ClipOperation.ByNorm(norm), ClipStep.perTensorNorm(norm).toString());
        assertTrue(ClipStep.byValue(ValueClip.symmetric(3.0)).toString().startsWith("value "));
        assertTrue(ClipStep.normsOnly(NormType.L1).toString().startsWith("norms "));
    }

    @Test
    void nullArgumentsAreRefused() {
        assertThrows(NullPointerException.class, () -> ClipStep.of(null));
        assertThrows(NullPointerException.class, () -> ClipStep.globalNorm(null));
        assertThrows(NullPointerException.class, () -> ClipStep.byValue(null));
    }
}
