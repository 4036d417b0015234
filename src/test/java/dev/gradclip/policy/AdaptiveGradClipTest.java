package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** AGC per unit against Optax's formula (fixtures from scripts/fixtures/policies.py), layouts, backends. */
class AdaptiveGradClipTest {
    static Clipper cpu;
    static Clipper emu;

    @BeforeAll
    static void open() {
        cpu = Clipper.create(Backend.CPU);
        emu = Clipper.create(Backend.EMULATED);
    }

    @AfterAll
    static void close() {
        cpu.close();
        emu.close();
    }

    static DType dtype(String name) {
        switch (name) {
            case "float32": return DType.FLOAT32;
            case "float64": return DType.FLOAT64;
            case "float16": return DType.FLOAT16;
            default: return DType.BFLOAT16;
        }
    }

    static double[] hex(List<Object> l) {
        return l.stream().mapToDouble(PolicyFixtureTest::bits).toArray();
    }

    @Test
    @SuppressWarnings("unchecked")
    void matchesOptaxPerUnitWithinOneUlpOnEveryDtypeAndBackendsAgreeBitwise() throws IOException {
        Map<String, Object> doc = PolicyFixtureTest.load("agc.json");
        List<Map<String, Object>> cases = (List<Map<String, Object>>) doc.get("cases");
        assertTrue(cases.size() >= 100);
        int clippedUnits = 0;
        for (Map<String, Object> c : cases) {
            DType dt = dtype((String) c.get("dtype"));
            double lambda = PolicyFixtureTest.bits(c.get("lambda"));
            double eps = PolicyFixtureTest.bits(c.get("eps"));
            long[] shape = ((List<Object>) c.get("shape")).stream().mapToLong(x -> (Long) x).toArray();
            double[] g = hex((List<Object>) c.get("grad"));
            double[] w = hex((List<Object>) c.get("param"));
            double[] want = hex((List<Object>) c.get("expected"));
            Object ga = Dtypes.of(dt, g);
            Object wa = Dtypes.of(dt, w);
            for (int i = 0; i < g.length; i++) {
                assertEquals(g[i], Dtypes.get(dt, ga, i), "fixture inputs are exact in " + dt);
            }
            Object gb = Dtypes.copy(ga);
            AdaptiveGradClip agc = new AdaptiveGradClip(lambda, eps, UnitLayout.PYTORCH);
            StepRecord r = TrainingClipper.builder(agc).build().step(cpu, GradientSet.of(Dtypes.tensor(dt, ga)),
                    GradientSet.of(Dtypes.tensor(dt, wa)), new long[][] {shape});
            TrainingClipper.builder(agc).build().step(emu, GradientSet.of(Dtypes.tensor(dt, gb)),
                    GradientSet.of(Dtypes.tensor(dt, wa)), new long[][] {shape});
            String where = c.get("dtype") + " " + shape.length + "-d " + java.util.Arrays.toString(shape) + " λ=" + lambda;
            Dtypes.assertSameBits(dt, ga, gb, where + " cpu vs emulated");
            long worst = 0;
            for (int i = 0; i < g.length; i++) {
                worst = Math.max(worst, Dtypes.ulps(dt, Dtypes.get(dt, ga, i), want[i]));
                if (want[i] != g[i]) clippedUnits++;
            }
            // fp64 storage: the unit norms of fp64 data are rounded fp64 sums (the canonical order; the
            // reference's are exact), so the factor carries a few fp64 ulps; narrower types see none of it
            long bound = dt == DType.FLOAT64 ? 4 : 1;
            assertTrue(worst <= bound, where + ": " + worst + " ulp from Optax");
            assertTrue(Double.isNaN(r.threshold()));
        }
        assertTrue(clippedUnits > 1000, "the fixtures clip: " + clippedUnits + " elements changed");
    }

    @Test
    void dl4jInputMajorLayoutGivesTheSameUnitsAsPytorchLayout() {
        Random rnd = new Random(7);
        int out = 5;
        int in = 9;
        float[] gPt = new float[out * in];   // [out, in] row-major
        float[] wPt = new float[out * in];
        for (int i = 0; i < gPt.length; i++) {
            gPt[i] = (float) (rnd.nextGaussian() * (i / in == 2 ? 10 : 0.001));
            wPt[i] = (float) rnd.nextGaussian();
        }
        // DL4J [nIn, nOut] in column-major order holds exactly the same bytes: unit j = column j, contiguous
        float[] gDl = gPt.clone();
        AdaptiveGradClip agc = AdaptiveGradClip.of(0.05);
        TrainingClipper.builder(agc).build().step(cpu, GradientSet.of(Tensor.of(gPt)), GradientSet.of(Tensor.of(wPt)),
                new long[][] {{out, in}});
        TrainingClipper.builder(agc.withLayout(UnitLayout.DL4J_INPUT_MAJOR)).build().step(cpu, GradientSet.of(Tensor.of(gDl)),
                GradientSet.of(Tensor.of(wPt)), new long[][] {{in, out}});
        assertTrue(java.util.Arrays.equals(gPt, gDl));
        assertEquals(5, UnitLayout.PYTORCH.units(new long[] {5, 9}));
        assertEquals(9, UnitLayout.DL4J_INPUT_MAJOR.units(new long[] {5, 9}));
        assertEquals(1, UnitLayout.PYTORCH.units(new long[] {1, 9}));
        assertEquals(1, UnitLayout.DL4J_INPUT_MAJOR.units(new long[] {1, 9}), "a [1, n] bias is one unit");
        assertEquals(1, UnitLayout.PYTORCH.units(new long[] {}));
    }

    @Test
    void mismatchesAreRejectedBeforeAnythingIsModified() {
        TrainingClipper tc = TrainingClipper.builder(AdaptiveGradClip.of(0.01)).build();
        float[] g = {100f, 100f, 100f, 100f};
        float[] w = {1f, 1f, 1f, 1f};
        assertThrows(IllegalArgumentException.class,
                () -> tc.step(cpu, GradientSet.of(Tensor.of(g)), GradientSet.of(Tensor.of(w)), new long[][] {{3, 2}}));
        assertThrows(IllegalArgumentException.class,
                () -> tc.step(cpu, GradientSet.of(Tensor.of(g)), GradientSet.of(Tensor.of(new float[3])), new long[][] {{4}}));
        assertThrows(IllegalArgumentException.class,
                () -> tc.step(cpu, GradientSet.of(Tensor.of(g)), GradientSet.empty(), new long[][] {{4}}));
        assertThrows(IllegalStateException.class, () -> tc.step(cpu, GradientSet.of(Tensor.of(g))));
        assertEquals(100f, g[0]);
        assertEquals(0, tc.nextStep());
        StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(g)), GradientSet.of(Tensor.of(w)), new long[][] {{2, 2}});
        assertTrue(r.clipped());
        double max = 0.01 * Math.sqrt(2);
        double factor = max / Math.sqrt(2 * 100.0 * 100.0);
        assertEquals((float) (100f * (float) factor), g[0]);
        assertEquals(factor, r.scale());
    }
}
