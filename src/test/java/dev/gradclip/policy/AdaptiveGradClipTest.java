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

/** AGC per unit against Optax's formula (fixtures from scripts/fixtures/agc.py), layouts, backends. */
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

    static UnitLayout layout(String name) {
        switch (name) {
            case "pytorch": return UnitLayout.PYTORCH;
            case "dl4j_input_major": return UnitLayout.DL4J_INPUT_MAJOR;
            default: throw new IllegalArgumentException("unknown layout in fixture: " + name);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> cases(String group) throws IOException {
        return (List<Map<String, Object>>) PolicyFixtureTest.load("agc.json").get(group);
    }

    @SuppressWarnings("unchecked")
    static long[] longs(Object list) {
        return ((List<Object>) list).stream().mapToLong(x -> (Long) x).toArray();
    }

    /** One case run on the CPU backend and, on a copy of the same gradients, on the emulated one. */
    record Run(DType dtype, String where, Object cpuOut, Object emuOut, StepRecord cpu, StepRecord emu) {
    }

    static Run run(Map<String, Object> c, Object grads, Object params) {
        DType dt = dtype((String) c.get("dtype"));
        long[] shape = longs(c.get("shape"));
        AdaptiveGradClip agc = new AdaptiveGradClip(PolicyFixtureTest.bits(c.get("lambda")), PolicyFixtureTest.bits(c.get("eps")),
                layout((String) c.get("layout")));
        Object onEmu = Dtypes.copy(grads);
        StepRecord rc = TrainingClipper.builder(agc).build().step(cpu, GradientSet.of(Dtypes.tensor(dt, grads)),
                GradientSet.of(Dtypes.tensor(dt, params)), new long[][] {shape});
        StepRecord re = TrainingClipper.builder(agc).build().step(emu, GradientSet.of(Dtypes.tensor(dt, onEmu)),
                GradientSet.of(Dtypes.tensor(dt, params)), new long[][] {shape});
        String where = c.get("name") + " " + dt + " " + c.get("layout") + " " + java.util.Arrays.toString(shape) + " " + agc.spec();
        return new Run(dt, where, grads, onEmu, rc, re);
    }

    /**
     * The fixture's smallest unit factor and total norm against the step records, bit for bit: the record's
     * scale is the smallest factor (1 when no unit clips), its total norm the canonical L2 norm over the unit
     * views; the clipped flag; the CPU and emulated outputs bit for bit.
     */
    static void assertRecord(Map<String, Object> c, Run r) {
        double minFactor = PolicyFixtureTest.bits(c.get("min_unit_factor"));
        double total = PolicyFixtureTest.bits(c.get("total_norm"));
        for (StepRecord rec : List.of(r.cpu(), r.emu())) {
            assertEquals(Double.doubleToRawLongBits(total), Double.doubleToRawLongBits(rec.totalNorm()),
                    r.where() + ": total norm " + rec.totalNorm() + " vs the canonical " + total);
            assertEquals(Double.doubleToRawLongBits(minFactor), Double.doubleToRawLongBits(rec.scale()),
                    r.where() + ": smallest unit factor " + rec.scale() + " vs " + minFactor);
            assertEquals((Long) c.get("clipped_units") > 0, rec.clipped(), r.where() + ": clipped");
            assertTrue(Double.isNaN(rec.threshold()), r.where() + ": AGC sets no single threshold");
        }
        Dtypes.assertSameBits(r.dtype(), r.cpuOut(), r.emuOut(), r.where() + ": cpu vs emulated");
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> c, String key) {
        return (List<Object>) c.get(key);
    }

    /**
     * The reference (scripts/fixtures/agc.py): Optax's formula in fp64 on unit norms computed in the canonical
     * order by the script's own implementation of docs/canonical-reduction.md, applied by the canonical rule.
     * Required: within 1 ulp on every dtype; observed: bitwise (printed per dtype).
     */
    @Test
    void matchesOptaxOnCanonicalUnitNormsWithinOneUlpOnEveryDtypeBitwiseAcrossBackends() throws IOException {
        List<Map<String, Object>> cases = cases("cases");
        assertTrue(cases.size() >= 250, "fixture has " + cases.size() + " cases");
        Map<DType, Long> worst = new java.util.EnumMap<>(DType.class);
        Map<DType, Long> differing = new java.util.EnumMap<>(DType.class);
        int clippedUnits = 0;
        for (Map<String, Object> c : cases) {
            DType dt = dtype((String) c.get("dtype"));
            Object g = Dtypes.ofBits(dt, list(c, "grad"));
            Object w = Dtypes.ofBits(dt, list(c, "param"));
            Object want = Dtypes.ofBits(dt, list(c, "expected"));
            Run r = run(c, g, w);
            assertRecord(c, r);
            for (int i = 0; i < Dtypes.length(want); i++) {
                long a = Dtypes.bits(dt, r.cpuOut(), i);
                long b = Dtypes.bits(dt, want, i);
                worst.merge(dt, Dtypes.ulpsBetweenBits(dt, a, b), Math::max);
                differing.merge(dt, a == b ? 0L : 1L, Long::sum);
            }
            clippedUnits += ((Long) c.get("clipped_units")).intValue();
        }
        System.out.println("AGC vs Optax on canonical unit norms: max ulp per dtype " + worst + ", elements not bitwise equal " + differing);
        assertEquals(4, worst.size(), "every dtype has cases");
        worst.forEach((dt, u) -> assertTrue(u <= 1, dt + ": " + u + " ulp from the reference"));
        assertTrue(clippedUnits > 500, "the fixtures clip: " + clippedUnits + " units");
    }

    /**
     * The second measurement, against the same formula on exact (correctly rounded) unit norms: within 1 ulp
     * for fp32, fp16 and bf16 storage (their squares are exact in fp64, the factor's few fp64 ulps vanish in
     * the rounding to the storage type); within 4 ulp for fp64, where the fp64 sum of fp64 squares is itself a
     * few ulp from exact in any order (Optax's or ours). Observed values are printed per dtype.
     */
    @Test
    void exactNormFormulaWithinOneUlpOnNarrowTypesAndFourOnFp64() throws IOException {
        Map<DType, Long> worst = new java.util.EnumMap<>(DType.class);
        for (Map<String, Object> c : cases("cases")) {
            DType dt = dtype((String) c.get("dtype"));
            Run r = run(c, Dtypes.ofBits(dt, list(c, "grad")), Dtypes.ofBits(dt, list(c, "param")));
            Object exact = Dtypes.ofBits(dt, list(c, "exact"));
            long caseWorst = 0;
            for (int i = 0; i < Dtypes.length(exact); i++) {
                caseWorst = Math.max(caseWorst, Dtypes.ulpsBetweenBits(dt, Dtypes.bits(dt, r.cpuOut(), i), Dtypes.bits(dt, exact, i)));
            }
            worst.merge(dt, caseWorst, Math::max);
        }
        System.out.println("AGC vs Optax on exact unit norms: max ulp per dtype " + worst);
        worst.forEach((dt, u) -> assertTrue(u <= (dt == DType.FLOAT64 ? 4 : 1), dt + ": " + u + " ulp from the exact-norm formula"));
    }

    /**
     * Units the explicit cases cannot hold (two chunks per unit, rows longer than the 1,024 lanes, more units
     * than lanes): inputs drawn from the fixture's seeds ({@link GeneratedValues}), the outputs' SHA-256, the
     * smallest unit factor and the total norm checked bit for bit on both backends.
     */
    @Test
    void generatedLargeUnitsMatchTheCanonicalReferenceBitwise() throws Exception {
        List<Map<String, Object>> cases = cases("generated");
        assertTrue(cases.size() >= 24, "fixture has " + cases.size() + " generated cases");
        for (Map<String, Object> c : cases) {
            DType dt = dtype((String) c.get("dtype"));
            long[] shape = longs(c.get("shape"));
            long[] shifts = longs(c.get("exponent_shifts"));
            long seed = (Long) c.get("seed");
            long n = 1;
            for (long d : shape) n *= d;
            int units = shifts.length;
            assertEquals(layout((String) c.get("layout")).units(shape), units, c.get("name") + ": unit count");
            int len = Math.toIntExact(n / units);
            double[] g = new double[Math.toIntExact(n)];
            double[] w = new double[g.length];
            for (int u = 0; u < units; u++) GeneratedValues.fill(g, u * len, len, seed + u, dt, (int) shifts[u]);
            GeneratedValues.fill(w, 0, w.length, seed + 100_000, dt, 0);
            Object ga = Dtypes.of(dt, g);
            Object wa = Dtypes.of(dt, w);
            for (int i = 0; i < g.length; i++) assertEquals(g[i], Dtypes.get(dt, ga, i), "generated inputs are exact in " + dt);
            Run r = run(c, ga, wa);
            assertRecord(c, r);
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Dtypes.littleEndianBytes(dt, r.cpuOut()));
            assertEquals(c.get("expected_sha256"), java.util.HexFormat.of().formatHex(digest), r.where() + ": SHA-256 of the outputs");
        }
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
        assertEquals(100f * (float) factor, g[0]);
        assertEquals(factor, r.scale());
    }
}
