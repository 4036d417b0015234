package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyStateTest {

    @Test
    void grammarParsesEveryFormAndRoundTripsTheSpec() {
        assertEquals(new FixedThreshold(1.0), ClipPolicy.parse("fixed:1"));
        assertEquals(new LinearSchedule(5, 1, 100), ClipPolicy.parse("linear:5:1:100"));
        assertEquals(new CosineSchedule(5, 1.5, 10), ClipPolicy.parse("cosine:5:1.5:10"));
        assertEquals(new AutoClip(10, 0), ClipPolicy.parse("autoclip:10"));
        assertEquals(new AutoClip(90, 1000), ClipPolicy.parse("autoclip:90:1000"));
        assertEquals(ZClip.defaults(), ClipPolicy.parse("zclip:2.5"));
        assertEquals(new ZClip(3, 0.9, 25), ClipPolicy.parse("zclip:3:0.9"));
        assertEquals(new ZClip(3, 0.9, 5), ClipPolicy.parse("zclip:3:0.9:5"));
        assertEquals(AdaptiveGradClip.of(0.01), ClipPolicy.parse("agc:0.01"));
        assertEquals(new AdaptiveGradClip(0.01, 0.5, UnitLayout.PYTORCH), ClipPolicy.parse("agc:0.01:0.5"));
        assertEquals(new StepDecaySchedule(4, 0.5, 30, 0.3), ClipPolicy.parse("stepdecay:4:0.5:30:0.3"));
        for (String s : List.of("fixed:1.25", "linear:5:1:100", "cosine:0.1:3:7", "autoclip:12.5", "autoclip:90:50",
                "zclip:2.5:0.97:25", "agc:0.16:0.001", "stepdecay:4:0.5:30:0")) {
            ClipPolicy p = ClipPolicy.parse(s);
            assertEquals(p, ClipPolicy.parse(p.spec()), s);
        }
    }

    @Test
    void badPoliciesAreRejectedWithTheReason() {
        assertMessage("unknown policy 'bogus'", "bogus:1");
        assertMessage("expected linear:M0:M1:N", "linear:1:2");
        assertMessage("expected fixed:M", "fixed");
        assertMessage("not a finite decimal number", "fixed:abc");
        assertMessage("not a finite decimal number", "fixed:nan");
        assertMessage("not a finite decimal number", "fixed:inf");
        assertMessage("must be finite and >= 0", "fixed:-1");
        assertMessage("not a positive integer", "linear:1:2:0.5");
        assertMessage("N must be >= 1", "cosine:1:2:0");
        assertMessage("P must be in [0, 100]", "autoclip:101");
        assertMessage("not a positive integer", "autoclip:10:-1");
        assertMessage("W must be >= 1", "autoclip:10:0");
        assertMessage("ALPHA must be in [0, 1)", "zclip:2.5:1");
        assertMessage("Z must be finite and > 0", "zclip:0");
        assertMessage("WARMUP must be >= 1", "zclip:2.5:0.9:0");
        assertMessage("LAMBDA must be finite and > 0", "agc:0");
        assertMessage("expected agc:LAMBDA[:EPS]", "agc:0.1:0.1:3");
        assertThrows(IllegalArgumentException.class, () -> ClipPolicy.parse(null));
    }

    private static void assertMessage(String fragment, String spec) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipPolicy.parse(spec), spec);
        assertTrue(e.getMessage().contains(fragment), spec + ": " + e.getMessage());
    }

    @Test
    void schedulesHitTheirEndpointsExactly() {
        LinearSchedule lin = new LinearSchedule(5, 1, 100);
        assertEquals(5.0, lin.threshold(0));
        assertEquals(1.0, lin.threshold(99));
        assertEquals(1.0, lin.threshold(1_000_000));
        assertEquals(5.0 + (1.0 - 5.0) * 50 / 99.0, lin.threshold(50));
        CosineSchedule cos = new CosineSchedule(5, 1, 100);
        assertEquals(5.0, cos.threshold(0));
        assertEquals(1.0, cos.threshold(99));
        assertEquals(1.0, cos.threshold(500));
        assertTrue(cos.threshold(49) > 3 && cos.threshold(50) < 3);
        assertEquals(2.0, new LinearSchedule(7, 2, 1).threshold(0));
        StepDecaySchedule sd = new StepDecaySchedule(4, 0.5, 10, 0.3);
        assertEquals(4.0, sd.threshold(9));
        assertEquals(2.0, sd.threshold(10));
        assertEquals(0.5, sd.threshold(39));
        assertEquals(0.3, sd.threshold(1000));
    }

    @Test
    void percentileIsNumpysLinearMethod() {
        double[] s = {1, 2, 3, 4};
        assertEquals(1.0, AutoClip.percentileOfSorted(s, 4, 0));
        assertEquals(4.0, AutoClip.percentileOfSorted(s, 4, 100));
        assertEquals(2.5, AutoClip.percentileOfSorted(s, 4, 50));
        assertEquals(1.3, AutoClip.percentileOfSorted(s, 4, 10), 1e-15);
        assertEquals(7.0, AutoClip.percentileOfSorted(new double[] {7}, 1, 37));
        assertThrows(IllegalArgumentException.class, () -> AutoClip.percentileOfSorted(s, 0, 10));
    }

    @Test
    void zclipWarmsUpThenClipsOutliersToTheAdaptiveThreshold() {
        PolicyState s = new ZClip(2.5, 0.97, 3).newState();
        assertTrue(Double.isNaN(s.observe(1.0)));
        assertTrue(Double.isNaN(s.observe(2.0)));
        assertTrue(Double.isNaN(s.observe(3.0)));   // initialises μ = 2, σ² = 2/3
        double mu = 2.0;
        double var = (1.0 + 0.0 + 1.0) / 3.0;
        double std = Math.sqrt(var);
        double g = 100.0;
        double z = (g - mu) / (std + 1e-6);
        double expected = mu + (2.5 * std) / (z / 2.5);
        assertEquals(expected, s.observe(g));
        assertTrue(expected < mu + 2.5 * std);
        assertTrue(Double.isNaN(s.observe(2.0)), "a norm near the mean is not clipped");
        assertEquals(s.currentThreshold(), s.pass(), "a step it does not observe gets μ");
    }

    @Test
    void observeRejectsNonFiniteNorms() {
        PolicyState s = AutoClip.of(10).newState();
        assertThrows(IllegalArgumentException.class, () -> s.observe(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> s.observe(Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> s.observe(-1));
        assertEquals(0, s.step(), "a rejected call changes nothing");
        assertTrue(Double.isNaN(s.pass()), "no history yet: no threshold");
        assertEquals(1, s.step());
    }

    @Test
    void checkpointFormIsDocumentedVersionedAndStrict() {
        PolicyState z = new ZClip(2.5, 0.97, 4).newState();
        z.observe(1.5);
        z.observe(0.1 + 0.2);
        String json = z.toJson();
        assertTrue(json.startsWith("{\"format\":\"gradclip-policy-state\",\"version\":1,\"policy\":\"zclip:2.5:0.97:4\",\"step\":2,"),
                json);
        assertTrue(json.contains("\"warmup\":[1.5,0.30000000000000004]"), json);
        assertEquals(json, PolicyState.fromJson(json).toJson());
        assertEquals(json, z.copy().toJson());

        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(json.replace("\"version\":1", "\"version\":2")));
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(json.replace("gradclip-policy-state", "x")));
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(json.replace(",\"mean\"", ",\"meen\"")));
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(json.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson("[1]"));
        assertThrows(IllegalArgumentException.class,
                () -> PolicyState.fromJson("{\"format\":\"gradclip-policy-state\",\"version\":1,\"policy\":\"agc:0.1\",\"step\":0}"));
        String a = "{\"format\":\"gradclip-policy-state\",\"version\":1,\"policy\":\"autoclip:10:2\",\"step\":3,\"history\":[1.0,2.0,3.0]}";
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(a), "more history than W");
        assertThrows(IllegalArgumentException.class, () -> PolicyState.fromJson(a.replace("[1.0,2.0,3.0]", "[1.0,\"NaN\"]")));

        PolicyState ac = PolicyState.fromJson(a.replace("autoclip:10:2", "autoclip:10:3"));
        assertEquals(3, ac.step());
        assertEquals(AutoClip.percentileOfSorted(new double[] {1, 2, 3}, 3, 10), ac.currentThreshold());
    }

    @Test
    void spikeSkipperUsesTheMedianOfAcceptedNormsAfterTheMinimum() {
        SpikeSkipper.State s = new SpikeSkipper(3.0, 4, 2).newState();
        assertFalse(s.isSpike(1e9), "nothing accepted yet");
        s.accept(1.0);
        assertFalse(s.isSpike(1e9), "one accepted, two needed");
        s.accept(3.0);
        assertEquals(2.0, s.median());
        assertTrue(s.isSpike(6.0000001));
        assertFalse(s.isSpike(6.0));
        s.accept(5.0);
        s.accept(7.0);
        s.accept(9.0);   // window 4: 3, 5, 7, 9
        assertEquals(6.0, s.median());
        SpikeSkipper.State r = SpikeSkipper.State.fromJson(s.toJson());
        assertEquals(s.toJson(), r.toJson());
        assertEquals(6.0, r.median());
        assertThrows(IllegalArgumentException.class, () -> new SpikeSkipper(0, 100, 10));
        assertThrows(IllegalArgumentException.class, () -> new SpikeSkipper(2, 5, 6));
    }

    @Test
    void dynamicLossScalerFollowsGradScaler() {
        DynamicLossScaler.State s = DynamicLossScaler.defaults().newState();
        assertEquals(65536.0, s.scale());
        for (int i = 0; i < 1999; i++) s.update(false);
        assertEquals(65536.0, s.scale());
        assertEquals(1999, s.growthTracker());
        s.update(false);
        assertEquals(131072.0, s.scale());
        assertEquals(0, s.growthTracker());
        s.update(false);
        s.update(true);
        assertEquals(65536.0, s.scale());
        assertEquals(0, s.growthTracker());
        DynamicLossScaler.State r = DynamicLossScaler.State.fromJson(s.toJson());
        assertEquals(s.toJson(), r.toJson());
        DynamicLossScaler.State huge = new DynamicLossScaler(Double.MAX_VALUE, 2, 0.5, 1).newState();
        huge.update(false);
        assertEquals(Double.MAX_VALUE, huge.scale(), "growth to infinity is not kept");
        assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(0, 2, 0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(1, 2, 1.0, 1));
    }

    @Test
    void stepRecordWritesThePinnedLogFields() {
        StepRecord r = new StepRecord(3, 2.5, Double.NaN, 1.0, false, true, false, 0, 1.0, new double[] {1, 2});
        assertEquals("{\"step\":3,\"file\":\"a \\\"b\\\".npz\",\"total_norm\":2.5,\"threshold\":null,\"scale\":1.0,"
                + "\"clipped\":false,\"skipped\":true,\"found_inf\":false}", r.toJsonLine("a \"b\".npz"));
        StepRecord n = new StepRecord(0, Double.NaN, 1.5, Double.NaN, true, false, true, 3, 4.0, null);
        assertEquals("{\"step\":0,\"total_norm\":\"NaN\",\"threshold\":1.5,\"scale\":\"NaN\",\"clipped\":true,"
                + "\"skipped\":false,\"found_inf\":true}", n.toJsonLine(null));
    }
}
