package dev.gradclip.monitor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradientMonitorTest {

    private static StepObservation total(long step, double norm) {
        return StepObservation.builder(step, norm).build();
    }

    @Test
    void explodingNeedsHistoryAndComparesWithTheRollingMedian() {
        GradientMonitor m = new GradientMonitor(List.of(), MonitorConfig.defaults().withWindow(4).withExploding(3, 3));
        assertTrue(m.observe(total(0, 1)).alerts().isEmpty());
        assertTrue(m.observe(total(1, 100)).alerts().isEmpty(), "only 1 norm of history: no verdict");
        assertTrue(m.observe(total(2, 2)).alerts().isEmpty());
        // window {1, 100, 2}: median 2, limit 6
        MonitoredStep s = m.observe(total(3, 6.5));
        assertEquals(1, s.alerts().size());
        Alert a = s.alerts().get(0);
        assertEquals(Alert.Kind.EXPLODING, a.kind());
        assertEquals(3, a.step());
        assertEquals(-1, a.tensor());
        assertEquals(6.5, a.value());
        assertEquals(6.0, a.reference());
        assertTrue(a.message().contains("exploding"), a.message());
        // the spike enters the window after the verdict: {1, 100, 2, 6.5}, median (2 + 6.5) / 2
        assertEquals(4, s.rolling().count());
        assertEquals(4.25, s.rolling().median());
        assertTrue(m.observe(total(4, 12.75)).alerts().isEmpty(), "12.75 is not > 3 x 4.25");
        // window (full, oldest dropped) {100, 2, 6.5, 12.75}: median (6.5 + 12.75) / 2 = 9.625
        MonitoredStep t = m.observe(total(5, 28.9));
        assertEquals(1, t.alerts().size(), "28.9 > 3 x 9.625 = 28.875");
        assertEquals(28.875, t.alerts().get(0).reference());
        assertEquals(4, t.rolling().count());
        assertEquals(List.of(2.0, 6.5, 12.75, 28.9), windowOf(t.rolling(), 2, 6.5, 12.75, 28.9));
    }

    private static List<Double> windowOf(RollingStats r, double... expect) {
        double mean = 0;
        for (double v : expect) mean += v / expect.length;
        double ss = 0;
        for (double v : expect) ss += (v - mean) * (v - mean);
        assertEquals(mean, r.mean(), 1e-12);
        assertEquals(Math.sqrt(ss / expect.length), r.std(), 1e-12);
        double[] sorted = expect.clone();
        java.util.Arrays.sort(sorted);
        assertEquals(sorted[0], r.min());
        assertEquals(sorted[sorted.length - 1], r.max());
        assertEquals(Percentiles.linear(sorted, 50), r.median());
        List<Double> l = new ArrayList<>();
        for (double v : expect) l.add(v);
        return l;
    }

    @Test
    void rollingStatisticsMatchTheFormulas() {
        GradientMonitor m = new GradientMonitor(List.of(), MonitorConfig.defaults().withWindow(3).withExploding(1e9, 1));
        m.observe(total(0, 4));
        m.observe(total(1, 1));
        RollingStats r = m.observe(total(2, 7)).rolling();
        assertEquals(new RollingStats(3, 3, 4, Math.sqrt(6), 4, 1, 7), r);
        r = m.observe(total(3, 2)).rolling(); // window {1, 7, 2}
        assertEquals(3, r.count());
        assertEquals(10.0 / 3, r.mean(), 1e-15);
        assertEquals(2, r.median());
        r = m.observe(total(4, Double.NaN)).rolling();
        assertEquals(2, r.median(), "non-finite norms stay out of the window");
    }

    @Test
    void vanishingOncePerStreakPerTensor() {
        MonitorConfig cfg = MonitorConfig.defaults().withVanishing(1e-3, 3);
        GradientMonitor m = new GradientMonitor(List.of("a", "b"), cfg);
        List<Alert> seen = new ArrayList<>();
        m.addListener(seen::add);
        double[][] norms = {{1e-4, 1}, {1e-4, 1}, {1e-4, 1e-5}, {1e-4, 1e-5}, {1e-4, 1e-5}, {1, 1e-5}, {1e-4, 1e-5}};
        for (int i = 0; i < norms.length; i++) {
            m.observe(StepObservation.builder(i, 1).tensorNorms(norms[i]).build());
        }
        assertEquals(2, seen.size(), seen.toString());
        assertEquals(Alert.Kind.VANISHING, seen.get(0).kind());
        assertEquals(2, seen.get(0).step());
        assertEquals("a", seen.get(0).tensorName());
        assertEquals(0, seen.get(0).tensor());
        assertEquals(1e-3, seen.get(0).reference());
        assertEquals(4, seen.get(1).step());
        assertEquals("b", seen.get(1).tensorName());
        assertEquals(seen, m.alerts());
    }

    @Test
    void vanishingWatchesTheTotalWithoutTensorNorms() {
        GradientMonitor m = new GradientMonitor(List.of("a"), MonitorConfig.defaults().withVanishing(1e-6, 2));
        assertTrue(m.observe(total(0, 0)).alerts().isEmpty());
        MonitoredStep s = m.observe(total(1, 0));
        assertTrue(s.has(Alert.Kind.VANISHING));
        assertEquals("total", s.alerts().get(0).tensorName());
    }

    @Test
    void nonFiniteStepsAlertEveryTime() {
        GradientMonitor m = GradientMonitor.create(List.of());
        List<MonitoredStep> steps = new ArrayList<>();
        List<Alert> alerts = new ArrayList<>();
        m.addListener(new MonitorListener() {
            @Override
            public void onAlert(Alert alert) { alerts.add(alert); }

            @Override
            public void onStep(MonitoredStep step) {
                steps.add(step);
                assertEquals(alerts.size(), m.alerts().size() - step.alerts().size(), "onStep comes before onAlert");
            }
        });
        m.observe(StepObservation.builder(0, Double.NaN).build());
        m.observe(StepObservation.builder(1, 3).nonFiniteElements(2).build());
        m.observe(StepObservation.builder(2, Double.POSITIVE_INFINITY).build());
        m.observe(StepObservation.builder(3, 3).foundInf(true).build());
        m.observe(StepObservation.builder(4, 3).build());
        assertEquals(5, steps.size());
        assertEquals(4, alerts.size());
        for (Alert a : alerts) assertEquals(Alert.Kind.NON_FINITE, a.kind());
        assertEquals(2.0, alerts.get(1).value(), "the count when counted");
        assertTrue(steps.get(2).observation().foundInf(), "an infinite total norm is found_inf");
        assertFalse(steps.get(4).has(Alert.Kind.NON_FINITE));
    }

    @Test
    void badObservationsAndConfigsAreRejected() {
        GradientMonitor m = GradientMonitor.create(List.of("a", "b"));
        assertThrows(IllegalArgumentException.class,
                () -> m.observe(StepObservation.builder(0, 1).tensorNorms(new double[]{1}).build()));
        assertTrue(m.steps().isEmpty(), "nothing recorded");
        assertThrows(IllegalArgumentException.class, () -> GradientMonitor.create(List.of("a", "a")));
        assertThrows(IllegalArgumentException.class, () -> GradientMonitor.create(List.of(" ")));
        assertThrows(IllegalArgumentException.class, () -> StepObservation.builder(0, -1));
        assertThrows(IllegalArgumentException.class, () -> StepObservation.builder(0, 1).clippedFraction(1.5));
        assertThrows(IllegalArgumentException.class, () -> StepObservation.builder(0, 1).threshold(-1));
        assertThrows(IllegalArgumentException.class, () -> StepObservation.builder(0, 1).tensorNorms(new double[]{-0.5}));
        assertThrows(IllegalArgumentException.class,
                () -> StepObservation.builder(0, 1).tensorNorms(new double[]{1, 2}).after(1, new double[]{1}).build());
        assertThrows(IllegalArgumentException.class, () -> new MonitorConfig(0, 10, 1, 1e-7, 1));
        assertThrows(IllegalArgumentException.class, () -> new MonitorConfig(10, 1, 1, 1e-7, 1));
        assertThrows(IllegalArgumentException.class, () -> new MonitorConfig(10, 10, 11, 1e-7, 1));
        assertThrows(IllegalArgumentException.class, () -> new MonitorConfig(10, 10, 1, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new MonitorConfig(10, 10, 1, 1e-7, 0));
    }

    @Test
    void closedMonitorRefusesSteps() throws Exception {
        GradientMonitor m = GradientMonitor.create(List.of());
        m.close();
        assertThrows(IllegalStateException.class, () -> m.observe(total(0, 1)));
    }

    @Test
    void fromReportDerivesAfterNormsThatMatchAMeasurement() {
        float[] w = {3, 4, 0, 12};
        float[] b = {5, 0};
        try (Clipper clipper = Clipper.create(Backend.CPU)) {
            GradientSet set = GradientSet.of(Tensor.of(w), Tensor.of(b));
            ClipReport r = clipper.clipByGlobalNorm(set, NormClip.of(1.0).withSemantics(Semantics.TF));
            StepObservation o = StepObservation.fromReport(7, r, 1.0);
            assertEquals(7, o.step());
            assertEquals(Math.sqrt(9 + 16 + 144 + 25), o.totalNorm(), 1e-12);
            assertEquals(1.0, o.totalNormAfter(), 1e-12);
            assertEquals(1.0, o.threshold());
            assertTrue(o.clipped());
            assertEquals(1.0, o.clippedFraction());
            ClipReport measured = clipper.norms(set, NormType.L2);
            assertEquals(measured.totalNorm(), o.totalNormAfter(), 1e-6);
            assertArrayEquals(measured.tensorNorms(), o.tensorNormsAfter(), 1e-6);

            float[] x = {3, 4};
            float[] y = {0.5f, 0};
            GradientSet per = GradientSet.of(Tensor.of(x), Tensor.of(y));
            ClipReport pr = clipper.clipByNorm(per, NormClip.of(1.0).withSemantics(Semantics.TF));
            StepObservation po = StepObservation.fromReport(0, pr, 1.0);
            assertArrayEquals(new double[]{1.0, 0.5}, po.tensorNormsAfter(), 1e-12);
            assertEquals(Math.sqrt(1.25), po.totalNormAfter(), 1e-12);
            assertArrayEquals(clipper.norms(per, NormType.L2).tensorNorms(), po.tensorNormsAfter(), 1e-6);

            float[] u = {3, 4, 0, 12};
            float[] v = {5, 0};
            GradientSet two = GradientSet.of(Tensor.of(u), Tensor.of(v));
            dev.gradclip.NormPartials parts = clipper.partials(two, NormType.L2);
            ClipReport applied = clipper.clipWithTotalNorm(two, NormClip.of(2.0), parts.totalNorm());
            StepObservation t = StepObservation.fromTwoPhase(3, parts, applied, 2.0);
            assertEquals(Math.sqrt(194), t.totalNorm(), 1e-12);
            assertEquals(2.0, t.totalNormAfter(), 1e-5);
            assertArrayEquals(clipper.norms(two, NormType.L2).tensorNorms(), t.tensorNormsAfter(), 1e-5);
            assertTrue(t.clipped());
            StepObservation untouched = StepObservation.fromTwoPhase(4, parts, null, Double.NaN);
            assertEquals(untouched.totalNorm(), untouched.totalNormAfter());
            assertFalse(untouched.clipped());
            ClipReport each = clipper.scaleEach(two, new double[]{0.5, 1.0});
            StepObservation e = StepObservation.fromTwoPhase(5, parts, each, Double.NaN);
            assertEquals(0.5 * parts.tensorNorm(0), e.tensorNormAfter(0), 1e-12);
            assertEquals(Math.hypot(0.5 * parts.tensorNorm(0), parts.tensorNorm(1)), e.totalNormAfter(), 1e-12);
            assertThrows(IllegalArgumentException.class, () -> StepObservation.fromTwoPhase(0, parts, pr, 1.0));

            ClipReport byValue = clipper.clipByValue(per, ValueClip.symmetric(0.1));
            assertThrows(IllegalArgumentException.class, () -> StepObservation.fromReport(0, byValue, 0.1));
        }
    }
}
