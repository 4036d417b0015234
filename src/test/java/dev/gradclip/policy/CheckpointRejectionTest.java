package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A checkpoint that does not fit is rejected with {@link IllegalArgumentException} naming the problem,
 * and a rejected {@link TrainingClipper#restoreState} leaves the clipper exactly as it was.
 */
class CheckpointRejectionTest {

    private static TrainingClipper steppedFixed(double m, int steps) {
        TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(m)).skipAbove(SpikeSkipper.of(5))
                .dynamicLossScale(DynamicLossScaler.defaults()).build();
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            for (int i = 0; i < steps; i++) tc.step(cpu, GradientSet.of(Tensor.of(new float[] {3f + i, -4f})));
        }
        return tc;
    }

    private static String replaceOnce(String text, String from, String to) {
        String out = text.replace(from, to);
        assertNotEquals(text, out, "the checkpoint should hold " + from + ": " + text);
        return out;
    }

    private static void rejectedUnchanged(TrainingClipper tc, String json, String fragment) {
        String before = tc.stateJson();
        long step = tc.nextStep();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tc.restoreState(json));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment + "'");
        assertEquals(step, tc.nextStep(), "a rejected restore must not move the step");
        assertEquals(before, tc.stateJson(), "a rejected restore must restore nothing");
    }

    @Test
    void policyStateOfAnotherPolicyRestoresNothing() {
        TrainingClipper tc = steppedFixed(1, 3);
        // the outer spec says fixed:1 but the nested policy state is fixed:2's (checked last before the fix)
        String foreign = replaceOnce(steppedFixed(2, 5).stateJson(), "\"policy_spec\":\"fixed:2\"", "\"policy_spec\":\"fixed:1\"");
        rejectedUnchanged(tc, foreign, "policy state is for");
    }

    @Test
    void negativeStepRestoresNothing() {
        TrainingClipper tc = steppedFixed(1, 3);
        String negative = replaceOnce(steppedFixed(1, 5).stateJson(), "\"step\":5", "\"step\":-1");
        rejectedUnchanged(tc, negative, "step");
    }

    @Test
    void spikeStateIntegersOutsideIntNameTheField() {
        String json = SpikeSkipper.of(3).newState().toJson();
        String window = "\"window\":" + SpikeSkipper.DEFAULT_WINDOW;
        for (String[] c : new String[][] {{window, "\"window\":4294967296", "window", "4294967296"},
                {"\"min_accepted\":" + SpikeSkipper.DEFAULT_MIN_ACCEPTED, "\"min_accepted\":-2147483649", "min_accepted", "-2147483649"}}) {
            String bad = replaceOnce(json, c[0], c[1]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SpikeSkipper.State.fromJson(bad));
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains(c[3]), e.getMessage());
        }
    }

    @Test
    void lossScaleStateIntegersOutsideIntNameTheField() {
        DynamicLossScaler.State s = DynamicLossScaler.defaults().newState();
        String json = s.toJson();
        for (String[] c : new String[][] {
                {"\"growth_interval\":" + DynamicLossScaler.defaults().growthInterval(), "\"growth_interval\":2147483648", "growth_interval", "2147483648"},
                {"\"growth_tracker\":0", "\"growth_tracker\":9223372036854775807", "growth_tracker", "9223372036854775807"}}) {
            String bad = replaceOnce(json, c[0], c[1]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DynamicLossScaler.State.fromJson(bad));
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains(c[3]), e.getMessage());
        }
    }
}
