package dev.gradclip.integration.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.integration.ClipStep;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demos' shared command line, with a stand-in trainer (no framework). */
class RegressionDemoTest {

    private static RegressionLoop.Run fakeRun(String label, boolean diverged, double lastLoss) {
        List<RegressionLoop.Epoch> epochs = List.of(new RegressionLoop.Epoch(1, 5.0, 4.0, 0.1),
                new RegressionLoop.Epoch(2, lastLoss, Double.POSITIVE_INFINITY, 0.1));
        return new RegressionLoop.Run(label, epochs, diverged, diverged ? 2 : -1, 10, label.equals("none") ? 0 : 10, 3.0);
    }

    /** Records what it is asked to train; the unclipped run diverges when {@code unclippedDiverges}. */
    private static final class FakeRunner implements RegressionDemo.Runner {
        final boolean unclippedDiverges;
        final List<String> calls = new ArrayList<>();
        final List<ClipStep> steps = new ArrayList<>();

        FakeRunner(boolean unclippedDiverges) {
            this.unclippedDiverges = unclippedDiverges;
        }

        @Override
        public RegressionLoop.Run run(RegressionData data, ClipStep step, dev.gradclip.Clipper clipper, String label,
                                      int epochs, long seed, PrintStream log) {
            calls.add(label + " n=" + data.n() + " epochs=" + epochs + " seed=" + seed + " backend=" + clipper.backend().cliName());
            steps.add(step);
            return fakeRun(label, label.equals("none") && unclippedDiverges, Double.NaN);
        }
    }

    @Test
    void parsesTheCommandLine() {
        RegressionDemo.Options d = RegressionDemo.parse(new String[0], "djl");
        assertFalse(d.quick());
        assertEquals(10_000, d.samples());
        assertEquals(30, d.epochs());
        assertEquals(Path.of("demo-out"), d.out());
        assertEquals(Backend.CPU, d.backend());
        RegressionDemo.Options q = RegressionDemo.parse(
                new String[] {"--trainer", "torch", "--quick", "--out", "x/y", "--backend", "EMULATED"}, "torch");
        assertTrue(q.quick());
        assertEquals(3000, q.samples());
        assertEquals(10, q.epochs());
        assertEquals(Path.of("x/y"), q.out());
        assertEquals(Backend.EMULATED, q.backend());
        assertTrue(RegressionDemo.parse(new String[] {"-h"}, "djl").help());
        assertEquals("this is the djl demo; --trainer is torch", assertThrows(IllegalArgumentException.class,
                () -> RegressionDemo.parse(new String[] {"--trainer", "torch"}, "djl")).getMessage());
        assertEquals("unknown argument '--fast'", assertThrows(IllegalArgumentException.class,
                () -> RegressionDemo.parse(new String[] {"--fast"}, "djl")).getMessage());
        assertEquals("--out needs a value", assertThrows(IllegalArgumentException.class,
                () -> RegressionDemo.parse(new String[] {"--out"}, "djl")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> RegressionDemo.parse(new String[] {"--backend", "tpu"}, "djl"));
    }

    @Test
    void runsThreeClippingsAndWritesTheResults(@TempDir Path dir) throws IOException {
        FakeRunner runner = new FakeRunner(true);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = RegressionDemo.run(new String[] {"--quick", "--out", dir.toString()},
                new RegressionDemo.Trainer("fake", "Fake 1.0 (CPU)", "SGD lr 0.01", runner),
                new PrintStream(log, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, status, log.toString(StandardCharsets.UTF_8));
        assertEquals(List.of("none n=3000 epochs=10 seed=7 backend=cpu", "global-norm:1 n=3000 epochs=10 seed=7 backend=cpu",
                "value:3 n=3000 epochs=10 seed=7 backend=cpu"), runner.calls);
        assertNull(runner.steps.get(0));
        assertTrue(runner.steps.get(1).toString().startsWith("global-norm "), runner.steps.get(1).toString());
        assertTrue(runner.steps.get(2).toString().startsWith("value "), runner.steps.get(2).toString());
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("Fake 1.0 (CPU): exploding regression, 3000 samples, 10 epochs, SGD lr 0.01"), out);
        assertTrue(out.contains("fake: the unclipped run diverged and every clipped run trained."), out);
        assertTrue(out.contains("yes (2)"), out);
        assertTrue(out.contains("100.0%"), out);
        String json = Files.readString(dir.resolve("fake-regression.json"));
        assertTrue(json.startsWith("{\"trainer\":\"fake\",\"experiment\":\"exploding-regression\",\"samples\":3000,\"epochs\":10,"
                + "\"runs\":[{\"clipping\":\"none\",\"diverged\":true,\"steps\":10,\"clipped_steps\":0,\"epochs\":[{\"epoch\":1,"
                + "\"train_loss\":5.0,\"val_loss\":4.0},{\"epoch\":2,\"train_loss\":null,\"val_loss\":null}]}"), json);
        assertTrue(json.endsWith("]}\n"), json);
    }

    @Test
    void statusOneWhenTheUnclippedRunDoesNotDiverge(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = RegressionDemo.run(new String[] {"--quick", "--out", dir.toString()},
                new RegressionDemo.Trainer("fake", "Fake", "SGD", new FakeRunner(false)),
                new PrintStream(log, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        assertEquals(1, status);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("fake: WARNING: the expected outcome"));
    }

    @Test
    void aBadCommandLineIsStatusTwoWithTheUsage() throws IOException {
        FakeRunner runner = new FakeRunner(true);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = RegressionDemo.run(new String[] {"--bogus"}, new RegressionDemo.Trainer("fake", "Fake", "SGD", runner),
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, status);
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("fake demo: unknown argument '--bogus'"), e);
        assertTrue(e.contains(RegressionDemo.usage("fake")), e);
        assertTrue(runner.calls.isEmpty());
        assertEquals(0, RegressionDemo.run(new String[] {"--help"}, new RegressionDemo.Trainer("fake", "Fake", "SGD", runner),
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(runner.calls.isEmpty());
    }
}
