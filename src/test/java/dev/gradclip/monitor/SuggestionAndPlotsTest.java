package dev.gradclip.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuggestionAndPlotsTest {
    @TempDir
    Path dir;

    @Test
    void percentilesAreNumpysLinearInterpolation() {
        // numpy.percentile([1, 2, 3, 4], 90) == 3.7; ([1, 2, 3], 50) == 2; ([1, 2], 25) == 1.25
        assertEquals(3.7, Percentiles.linear(new double[]{1, 2, 3, 4}, 90), 1e-15);
        assertEquals(2.0, Percentiles.linear(new double[]{1, 2, 3}, 50));
        assertEquals(1.25, Percentiles.linear(new double[]{1, 2}, 25));
        assertEquals(5.0, Percentiles.linear(new double[]{5}, 37));
        assertEquals(1.0, Percentiles.linear(new double[]{1, 9}, 0));
        assertEquals(9.0, Percentiles.linear(new double[]{1, 9}, 100));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.linear(new double[0], 50));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.linear(new double[]{1}, 101));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.linear(new double[]{1}, Double.NaN));
    }

    static List<StepObservation> norms(double... values) {
        List<StepObservation> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) out.add(StepObservation.builder(i, values[i]).build());
        return out;
    }

    @Test
    void ordinals() {
        assertEquals(List.of("1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "90th", "100th", "37.5th"),
                java.util.stream.DoubleStream.of(1, 2, 3, 4, 11, 12, 13, 21, 90, 100, 37.5)
                        .mapToObj(ThresholdSuggestion::ordinal).toList());
    }

    @Test
    void suggestionIsThePercentileOfTheFiniteWarmUpNorms() {
        List<StepObservation> steps = norms(5, 1, Double.NaN, 3, 2, 4, 100, 100);
        ThresholdSuggestion s = ThresholdSuggestion.of(steps, 90, 6); // warm-up: 5, 1, NaN, 3, 2, 4
        assertEquals(6, s.stepsRead());
        assertEquals(5, s.stepsUsed());
        assertEquals(4.6, s.threshold(), 1e-12, "numpy.percentile([1, 2, 3, 4, 5], 90)");
        assertEquals(3.0, s.median());
        assertEquals(1.0, s.min());
        assertEquals(5.0, s.max());
        assertEquals(1, s.wouldClip());
        assertEquals("fixed:4.6", s.policy());
        assertTrue(s.rationale().stream().anyMatch(l -> l.contains("the 90th percentile")), s.rationale().toString());
        assertTrue(s.rationale().stream().anyMatch(l -> l.contains("non-finite ones are left out")));

        ThresholdSuggestion all = ThresholdSuggestion.of(steps, 50, 0);
        assertEquals(8, all.stepsRead());
        assertEquals(4.0, all.threshold(), "median of 1, 2, 3, 4, 5, 100, 100");
        assertTrue(all.rationale().stream().anyMatch(l -> l.contains("spikes are present")));

        assertThrows(IllegalArgumentException.class, () -> ThresholdSuggestion.of(norms(Double.NaN), 90, 0));
        assertThrows(IllegalArgumentException.class, () -> ThresholdSuggestion.of(norms(1), -1, 0));
        assertThrows(IllegalArgumentException.class, () -> ThresholdSuggestion.of(norms(1), 50, -2));
        assertThrows(IllegalArgumentException.class, () -> ThresholdSuggestion.of(List.of(), 50, 0));
    }

    @Test
    void plotsAreWrittenAsPngsShowingTheThresholdAndTheHeatMap() throws IOException {
        List<StepObservation> steps = LogRoundTripTest.sampleSteps();
        List<Path> written = MonitorPlots.writeAll(steps, LogRoundTripTest.NAMES, List.of(), dir.resolve("plots"), "run");
        assertEquals(List.of(dir.resolve("plots/norms.png"), dir.resolve("plots/clipped-fraction.png"),
                dir.resolve("plots/tensor-norms.png")), written);
        BufferedImage norms = ImageIO.read(written.get(0).toFile());
        assertEquals(1200, norms.getWidth());
        assertTrue(countColour(norms, Chart.ORANGE) > 200, "the dashed threshold line is drawn");
        assertTrue(countColour(norms, Chart.BLUE) > 200, "the norm line is drawn");
        BufferedImage heat = ImageIO.read(written.get(2).toFile());
        assertTrue(countColour(heat, MonitorPlots.ZERO) > 100, "tensor 0_b is exactly 0 for 12 steps: black");
        assertTrue(countColour(heat, MonitorPlots.NON_FINITE) > 100, "non-finite bins in magenta");
        assertTrue(countColour(heat, MonitorPlots.viridis(0)) > 0 && countColour(heat, MonitorPlots.viridis(1)) > 0,
                "the colour ramp spans the finite positive norms");
        try (var files = Files.list(dir.resolve("plots"))) {
            assertEquals(3, files.count(), "no temporary files left");
        }
    }

    @Test
    void withoutTensorNormsThereIsNoHeatMap() throws IOException {
        List<Path> written = MonitorPlots.writeAll(norms(1, 2, 3), List.of(), List.of(), dir, "");
        assertEquals(2, written.size());
        assertThrows(IllegalArgumentException.class, () -> MonitorPlots.tensorHeatMap(norms(1), List.of(), ""));
        assertThrows(IllegalArgumentException.class, () -> MonitorPlots.normChart(List.of(), List.of(), ""));
    }

    static int countColour(BufferedImage img, java.awt.Color c) {
        int n = 0;
        int rgb = c.getRGB() & 0xFFFFFF;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xFFFFFF) == rgb) n++;
            }
        }
        return n;
    }
}
