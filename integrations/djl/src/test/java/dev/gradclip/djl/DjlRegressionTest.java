package dev.gradclip.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.NormClip;
import dev.gradclip.djl.demo.RegressionExperiment;
import dev.gradclip.integration.ClipStep;
import dev.gradclip.integration.demo.RegressionData;
import dev.gradclip.integration.demo.RegressionLoop;
import java.io.OutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/** The demo's exploding regression in DJL at a reduced size (1,200 samples, 4 epochs; the demo runs 10,000 and 30). */
class DjlRegressionTest {

    @Test
    void unclippedDivergesGlobalNormClippedTrains() {
        RegressionData data = RegressionData.make(1200, 30, 10, 0.1, 1);
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (Clipper clipper = Clipper.create(Backend.CPU)) {
            RegressionLoop.Run none = RegressionExperiment.run(data, null, clipper, "none", 4, 7, quiet);
            assertTrue(none.diverged(), "the unclipped run should diverge: " + none);
            assertEquals(1, none.divergedEpoch());

            RegressionLoop.Run clipped = RegressionExperiment.run(data, ClipStep.globalNorm(NormClip.of(1.0)),
                    clipper, "global-norm:1", 4, 7, quiet);
            assertFalse(clipped.diverged(), clipped.toString());
            assertEquals(4, clipped.epochs().size());
            assertEquals(clipped.steps(), clipped.clippedSteps(), "every step's norm exceeds 1 at this scale");
            assertTrue(clipped.maxNorm() > 1, clipped.toString());
            double firstVal = clipped.epochs().get(0).valLoss();
            double lastVal = clipped.epochs().get(3).valLoss();
            assertTrue(Double.isFinite(lastVal) && lastVal < 0.9 * firstVal,
                    "validation loss should fall: " + firstVal + " -> " + lastVal);
        }
    }
}
