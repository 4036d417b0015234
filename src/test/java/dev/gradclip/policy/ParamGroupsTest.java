package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ParamGroupsTest {

    static float[] random(long seed, int n, double scale) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    @Test
    void eachGroupIsClippedByItsOwnRuleWithOneReportEach() {
        try (Clipper c = Clipper.create(Backend.CPU)) {
            float[] w1 = random(1, 300, 1);
            float[] w2 = random(2, 70, 1);
            float[] head = random(3, 40, 10);
            float[] emb = random(4, 500, 100);
            float[] sched = random(5, 20, 3);
            float[] w1b = w1.clone();
            float[] w2b = w2.clone();
            float[] headB = head.clone();
            float[] embB = emb.clone();
            TrainingClipper tc = TrainingClipper.builder(new LinearSchedule(0.5, 0.1, 10)).build();
            List<ParamGroups.Report> r = ParamGroups.clip(c, List.of(
                    new ParamGroups.Group("body", GradientSet.of(Tensor.of(w1), Tensor.of(w2)),
                            ParamGroups.Rule.of(new ClipOperation.ByGlobalNorm(NormClip.of(1.0)))),
                    new ParamGroups.Group("head", GradientSet.of(Tensor.of(head)),
                            ParamGroups.Rule.of(new ClipOperation.ByValue(ValueClip.symmetric(5)))),
                    new ParamGroups.Group("embeddings", GradientSet.of(Tensor.of(emb)), ParamGroups.Rule.exclude()),
                    new ParamGroups.Group("scheduled", GradientSet.of(Tensor.of(sched)), ParamGroups.Rule.policy(tc))));
            assertEquals(4, r.size());
            ClipReport body = c.clipByGlobalNorm(GradientSet.of(Tensor.of(w1b), Tensor.of(w2b)), NormClip.of(1.0));
            ClipReport hv = c.clipByValue(GradientSet.of(Tensor.of(headB)), ValueClip.symmetric(5));
            assertArrayEquals(w1b, w1);
            assertArrayEquals(w2b, w2);
            assertArrayEquals(headB, head);
            assertArrayEquals(embB, emb, "excluded");
            assertEquals(body.totalNorm(), r.get(0).report().totalNorm());
            assertEquals(hv.clippedElements(), r.get(1).report().clippedElements());
            assertTrue(r.get(1).report().clippedElements() > 0);
            assertTrue(r.get(2).excluded());
            assertNull(r.get(2).report());
            assertEquals(0.5, r.get(3).record().threshold());
            assertEquals("body", r.get(0).name());
        }
    }

    @Test
    void badGroupsAreRejectedBeforeAnyIsTouched() {
        try (Clipper c = Clipper.create(Backend.CPU)) {
            float[] a = random(1, 100, 10);
            float[] before = a.clone();
            ParamGroups.Rule clip = ParamGroups.Rule.of(new ClipOperation.ByGlobalNorm(NormClip.of(0.1)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParamGroups.clip(c, List.of(
                    new ParamGroups.Group("a", GradientSet.of(Tensor.of(a, 0, 60)), clip),
                    new ParamGroups.Group("b", GradientSet.of(Tensor.of(a, 50, 50)), clip))));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ParamGroups.clip(c, List.of(
                    new ParamGroups.Group("a", GradientSet.of(Tensor.of(a, 0, 50)), clip),
                    new ParamGroups.Group("a", GradientSet.of(Tensor.of(a, 50, 50)), clip))));
            assertArrayEquals(before, a);
            assertThrows(IllegalArgumentException.class,
                    () -> ParamGroups.Rule.policy(TrainingClipper.builder(AdaptiveGradClip.of(0.1)).build()));
        }
    }
}
