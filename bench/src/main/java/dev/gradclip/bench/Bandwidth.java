package dev.gradclip.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The physical floor: streaming a float[] of 2^28 elements (1 GiB, 32× the L3 of the development machine)
 * on every core, split into one contiguous part per core (the calling thread takes part 0, as gradclip's
 * CPU backend does). {@code read}: read-only, 4 B/element, summed with the Vector API into 4 SIMD
 * accumulators (C2 does not vectorise an ordered scalar float sum: {@code read-scalar}, 8 scalar
 * accumulators, is kept to show that it is compute-bound, not memory-bound); {@code rw}: in place
 * {@code a[i] *= s}, 8 B/element (the loop C2 vectorises by itself). bench/run turns the medians into
 * GB/s and takes the best read and the best rw as the floor.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Bandwidth {
    public static final int ELEMENTS = 1 << 28;

    @Param({"read", "read-scalar", "rw"})
    public String mode;

    private float[] a;
    private int parts;
    private ExecutorService pool;
    /** Multiplier of the rw stream: 1 keeps the data unchanged; a field so C2 cannot remove the multiply. */
    private float s = 1.0f;

    @Setup(Level.Trial)
    public void setup() {
        a = new float[ELEMENTS];
        for (int i = 0; i < a.length; i++) a[i] = Data.value(0, i);
        parts = Runtime.getRuntime().availableProcessors();
        pool = Executors.newFixedThreadPool(Math.max(1, parts - 1), r -> {
            Thread t = new Thread(r, "bandwidth");
            t.setDaemon(true);
            return t;
        });
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdownNow();
    }

    static float read(float[] a, int from, int to) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = from;
        for (; i + 8 <= to; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < to; i++) s0 += a[i];
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    static float readVector(float[] a, int from, int to) {
        int step = F.length();
        FloatVector v0 = FloatVector.zero(F), v1 = FloatVector.zero(F), v2 = FloatVector.zero(F), v3 = FloatVector.zero(F);
        int i = from;
        for (; i + 4 * step <= to; i += 4 * step) {
            v0 = v0.add(FloatVector.fromArray(F, a, i));
            v1 = v1.add(FloatVector.fromArray(F, a, i + step));
            v2 = v2.add(FloatVector.fromArray(F, a, i + 2 * step));
            v3 = v3.add(FloatVector.fromArray(F, a, i + 3 * step));
        }
        float s = v0.add(v1).add(v2.add(v3)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < to; i++) s += a[i];
        return s;
    }

    static void scale(float[] a, int from, int to, float s) {
        for (int i = from; i < to; i++) a[i] *= s;
    }

    private float part(int p) {
        int from = (int) ((long) a.length * p / parts);
        int to = (int) ((long) a.length * (p + 1) / parts);
        if (mode.equals("read")) return readVector(a, from, to);
        if (mode.equals("read-scalar")) return read(a, from, to);
        scale(a, from, to, s);
        return 0;
    }

    @Benchmark
    public float stream() throws Exception {
        List<Future<Float>> fs = new ArrayList<>();
        for (int p = 1; p < parts; p++) {
            int q = p;
            fs.add(pool.submit(() -> part(q)));
        }
        float r = part(0);
        for (Future<Float> f : fs) r += f.get();
        return r;
    }
}
