package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.testing.MiniJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every threshold policy, with and without spike skipping, step by step against the float64 reference of
 * scripts/fixtures/policies.py on recorded norm sequences (spikes, plateaus, NaN/inf, heavy tails).
 * Bitwise, except the cosine schedule (Java's fdlibm cos vs the C library's: within 2 ulp).
 */
class PolicyFixtureTest {

    static Map<String, Object> load(String name) throws IOException {
        try (InputStream in = PolicyFixtureTest.class.getResourceAsStream("/fixtures/policies/" + name)) {
            if (in == null) throw new IOException("missing fixture " + name + " (run scripts/fixtures/policies.py)");
            return MiniJson.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    static double bits(Object hex) {
        return Double.longBitsToDouble(Long.parseUnsignedLong((String) hex, 16));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyPolicyMatchesTheReferenceStepByStep() throws IOException {
        Map<String, Object> doc = load("policies.json");
        Map<String, Object> seqs = (Map<String, Object>) doc.get("sequences");
        List<Map<String, Object>> runs = (List<Map<String, Object>>) doc.get("runs");
        assertTrue(runs.size() >= 200, "fixture has " + runs.size() + " runs");
        int checked = 0;
        int thresholds = 0;
        int skips = 0;
        for (Map<String, Object> run : runs) {
            List<Object> normHex = (List<Object>) seqs.get(run.get("sequence"));
            double[] norms = normHex.stream().mapToDouble(PolicyFixtureTest::bits).toArray();
            ThresholdPolicy policy = (ThresholdPolicy) ClipPolicy.parse((String) run.get("policy"));
            PolicyState state = policy.newState();
            SpikeSkipper.State skip = run.get("skip_above") == null ? null
                    : SpikeSkipper.of(bits(run.get("skip_above"))).newState();
            List<Map<String, Object>> steps = (List<Map<String, Object>>) run.get("steps");
            assertEquals(norms.length, steps.size());
            for (int t = 0; t < norms.length; t++) {
                String where = run.get("policy") + " on " + run.get("sequence") + " skip " + run.get("skip_above") + " step " + t;
                double g = norms[t];
                boolean skipped = false;
                double m;
                if (!Double.isFinite(g)) {
                    m = state.pass();
                } else if (skip != null && skip.isSpike(g)) {
                    skipped = true;
                    m = state.pass();
                } else {
                    m = state.observe(g);
                    if (skip != null) skip.accept(g);
                }
                Map<String, Object> want = steps.get(t);
                assertEquals(want.get("skipped"), skipped, where);
                if (want.get("threshold") == null) {
                    assertTrue(Double.isNaN(m), where + ": expected no threshold, got " + m);
                } else {
                    double e = bits(want.get("threshold"));
                    if (policy instanceof CosineSchedule) {
                        assertTrue(Math.abs(e - m) <= 2 * Math.ulp(e), where + ": " + m + " vs " + e);
                    } else {
                        assertEquals(Double.doubleToRawLongBits(e), Double.doubleToRawLongBits(m), where + ": " + m + " vs " + e);
                    }
                    thresholds++;
                }
                if (skipped) skips++;
                assertEquals(t + 1, state.step());
                checked++;
            }
        }
        assertTrue(checked > 20_000, "checked " + checked);
        assertTrue(thresholds > 10_000 && skips > 50, thresholds + " thresholds, " + skips + " skips");
    }

    @Test
    @SuppressWarnings("unchecked")
    void checkpointMidRunContinuesBitForBit() throws IOException {
        Map<String, Object> doc = load("policies.json");
        Map<String, Object> seqs = (Map<String, Object>) doc.get("sequences");
        double[] norms = ((List<Object>) seqs.get("nonfinite")).stream().mapToDouble(PolicyFixtureTest::bits).toArray();
        for (String spec : List.of("autoclip:37.5:7", "autoclip:10", "zclip:2.5", "zclip:1.5:0.5:3", "cosine:5:1:100",
                "linear:5:1:100", "fixed:1.5", "stepdecay:4:0.5:30:0.3")) {
            for (int cut : new int[] {0, 1, 2, 11, 26, 60, norms.length}) {
                PolicyState a = ((ThresholdPolicy) ClipPolicy.parse(spec)).newState();
                List<Double> straight = new ArrayList<>();
                List<Double> resumed = new ArrayList<>();
                PolicyState b = ((ThresholdPolicy) ClipPolicy.parse(spec)).newState();
                for (int t = 0; t < norms.length; t++) {
                    straight.add(step(a, norms[t]));
                    if (t == cut) b = PolicyState.fromJson(b.toJson());
                    resumed.add(step(b, norms[t]));
                }
                for (int t = 0; t < norms.length; t++) {
                    assertEquals(Double.doubleToRawLongBits(straight.get(t)), Double.doubleToRawLongBits(resumed.get(t)),
                            spec + " cut " + cut + " step " + t);
                }
                assertEquals(a.toJson(), b.toJson());
            }
        }
    }

    private static double step(PolicyState s, double g) {
        return Double.isFinite(g) ? s.observe(g) : s.pass();
    }
}
