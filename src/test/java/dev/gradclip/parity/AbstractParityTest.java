package dev.gradclip.parity;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.parity.ParitySuite.Case;
import dev.gradclip.parity.ParitySuite.Values;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The parity cases, shared by CPU-vs-EMULATED (always) and CPU-vs-CUDA (tag gpu). The random case count
 * is {@code -Dgradclip.parity.cases} (default 1,500); a random case runs about 10 operations, a
 * structured one about 40.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractParityTest {
    private static final int CHUNK = 65_536;
    private Clipper cpu;
    private Clipper other;
    private ParitySuite suite;

    /** The backend compared with the CPU, or null (with {@link #unavailableReason()}) when it cannot run here. */
    abstract Clipper openOther();

    /** How many random cases {@link #randomCases()} runs: {@code -Dgradclip.parity.cases}, default 1,500. */
    int randomCaseCount() {
        return Integer.getInteger("gradclip.parity.cases", 1500);
    }

    /** The CPU side of the comparison: the default CPU backend unless a subclass says otherwise. */
    Clipper openCpu() {
        return Clipper.create(Backend.CPU);
    }

    /** Why {@link #openOther()} returned null. */
    String unavailableReason() {
        return null;
    }

    @BeforeAll
    void open() {
        other = openOther();
        cpu = openCpu();
        suite = other == null ? null : new ParitySuite(cpu, other);
    }

    /** Each test is reported as skipped, with the reason, when the backend is not available here. */
    @BeforeEach
    void requireBackend() {
        assumeTrue(other != null, () -> unavailableReason());
    }

    @AfterAll
    void close() {
        if (cpu != null) cpu.close();
        if (other != null) other.close();
    }

    private void runAll(List<Case> cases, long seed, boolean every) {
        SplittableRandom r = new SplittableRandom(seed);
        int before = suite.operationsCompared;
        for (Case c : cases) suite.run(c, r, every);
        assertTrue(suite.operationsCompared > before, "compared no operation");
    }

    @Test
    void boundarySizes() {
        long[] sizes = {0, 1, 2, 3, 4, 5, 7, 31, 32, 33, 1023, 1024, 1025, 4095, 4096, 4097, CHUNK - 1, CHUNK, CHUNK + 1,
                2L * CHUNK - 1, 2L * CHUNK + 1, 3L * CHUNK + 1023};
        List<Case> cases = new ArrayList<>();
        long seed = 100;
        for (DType d : DType.values()) {
            for (long n : sizes) {
                cases.add(new Case("size " + n, d, new long[] {n}, Values.NORMAL, seed++));
            }
            cases.add(new Case("all boundary sizes", d, sizes, Values.WIDE, seed++));
        }
        runAll(cases, 1, true);
    }

    @Test
    void specialValues() {
        List<Case> cases = new ArrayList<>();
        long seed = 200;
        for (DType d : DType.values()) {
            for (Values v : Values.values()) {
                cases.add(new Case("specials", d, new long[] {5, CHUNK + 3, 0, 1000}, v, seed++));
            }
        }
        runAll(cases, 2, true);
    }

    @Test
    void modelShapeSetsScaledDown() {
        List<Case> cases = new ArrayList<>();
        long seed = 300;
        for (String name : ShapeSets.NAMES) {
            long budget = name.equals("many-small") ? 200_000 : 600_000;
            long[] sizes = ShapeSets.scaled(name, budget);
            cases.add(new Case(name + " (" + sizes.length + " tensors)", DType.FLOAT32, sizes, Values.NORMAL, seed++));
            cases.add(new Case(name + " bf16", DType.BFLOAT16, sizes, Values.NORMAL, seed++));
        }
        runAll(cases, 3, false);
    }

    @Test
    void tenThousandTensors() {
        long[] sizes = new long[10_000];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < sizes.length; i++) sizes[i] = r.nextInt(0, 40);
        runAll(List.of(new Case("10,000 tensors", DType.FLOAT32, sizes, Values.SPECIALS, 400)), 4, false);
    }

    @Test
    void randomCases() {
        int count = randomCaseCount();
        SplittableRandom r = new SplittableRandom(5);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int tensors = r.nextInt(0, 7);
            long[] sizes = new long[tensors];
            for (int t = 0; t < tensors; t++) {
                sizes[t] = switch (r.nextInt(6)) {
                    case 0 -> r.nextInt(0, 8);
                    case 1 -> r.nextInt(0, 2048);
                    case 2 -> CHUNK + r.nextInt(-3, 4);
                    default -> r.nextInt(0, 300);
                };
            }
            DType d = DType.values()[r.nextInt(4)];
            Values v = Values.values()[r.nextInt(Values.values().length)];
            cases.add(new Case("random #" + i, d, sizes, v, r.nextLong()));
        }
        runAll(cases, 6, false);
    }
}
