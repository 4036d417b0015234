package dev.gradclip.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
 * The evidence for bench/proposals: the CPU backend's fp32 chunk loops (ScalarKernels, copied) against the
 * proposed Vector API loops (VectorKernels), over 2^27 floats (512 MiB) in 65,536-element chunks split
 * between {@code threads} threads as the backend splits them. Setup first checks that both give
 * bit-identical results (sums, clamped arrays, counts) on hostile data, then times them on the
 * benchmark's uniform [-1, 1) values (clamp bound 0.99: ~1% outside; restored before each invocation).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBench {
    static final int N = 1 << 27;
    static final int CHUNK = 65_536;

    @Param({"sumsq", "clamp"})
    public String kernel;

    @Param({"scalar", "vector"})
    public String variant;

    @Param({"1", "2"})
    public int threads;

    private float[] a;
    private float[] pristine;
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setup() {
        checkBitExact();
        a = new float[N];
        for (int i = 0; i < N; i++) a[i] = Data.value(0, i);
        if (kernel.equals("clamp")) pristine = a.clone();
        pool = Executors.newFixedThreadPool(Math.max(1, threads - 1));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdownNow();
    }

    @Setup(Level.Invocation)
    public void restore() {
        if (pristine != null) System.arraycopy(pristine, 0, a, 0, N);
    }

    private double part(int p) {
        int chunks = N / CHUNK;
        int from = chunks * p / threads;
        int to = chunks * (p + 1) / threads;
        double[] lanes = new double[ScalarKernels.LANES];
        long[] counts = new long[3];
        double r = 0;
        boolean vector = variant.equals("vector");
        for (int c = from; c < to; c++) {
            if (kernel.equals("sumsq")) {
                r += vector ? VectorKernels.sumSquares(a, c * CHUNK, CHUNK, lanes) : ScalarKernels.sumSquares(a, c * CHUNK, CHUNK, lanes);
            } else {
                r += vector ? VectorKernels.clamp(a, c * CHUNK, CHUNK, -0.99f, 0.99f, counts) : ScalarKernels.clamp(a, c * CHUNK, CHUNK, -0.99f, 0.99f, counts);
            }
        }
        return r;
    }

    @Benchmark
    public double run() throws Exception {
        List<Future<Double>> fs = new ArrayList<>();
        for (int p = 1; p < threads; p++) {
            int q = p;
            fs.add(pool.submit(() -> part(q)));
        }
        double r = part(0);
        for (Future<Double> f : fs) r += f.get();
        return r;
    }

    /** Scalar and vector kernels agree bit for bit on random lengths, offsets and hostile values. */
    static void checkBitExact() {
        Random rnd = new Random(42);
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0.0f, -0.0f, 0.99f, -0.99f,
                Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-30f, 3e38f};
        double[] l1 = new double[1024];
        double[] l2 = new double[1024];
        for (int trial = 0; trial < 300; trial++) {
            int len = trial < 50 ? rnd.nextInt(3000) : rnd.nextInt(CHUNK + 1);
            int off = rnd.nextInt(37);
            float[] x = new float[off + len + 5];
            for (int i = 0; i < x.length; i++) {
                int kind = rnd.nextInt(100);
                x[i] = kind < 3 ? special[rnd.nextInt(special.length)]
                        : kind < 50 ? (float) rnd.nextGaussian() : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(60) - 30));
            }
            if (trial % 3 == 0) { // mostly finite: the sum must be compared on meaningful values too
                for (int i = 0; i < x.length; i++) if (!Float.isFinite(x[i])) x[i] = 1.5f;
            }
            double s1 = ScalarKernels.sumSquares(x, off, len, l1);
            double s2 = VectorKernels.sumSquares(x, off, len, l2);
            if (Double.doubleToRawLongBits(s1) != Double.doubleToRawLongBits(s2)) {
                throw new AssertionError("sumSquares differs: " + s1 + " vs " + s2 + " (len " + len + ")");
            }
            float[] y1 = x.clone();
            float[] y2 = x.clone();
            long[] c1 = new long[3];
            long[] c2 = new long[3];
            float lo = trial % 2 == 0 ? -0.99f : 0.0f;
            float hi = trial % 2 == 0 ? 0.99f : 2.0f;
            long k1 = ScalarKernels.clamp(y1, off, len, lo, hi, c1);
            long k2 = VectorKernels.clamp(y2, off, len, lo, hi, c2);
            if (k1 != k2 || !Arrays.equals(c1, c2)) throw new AssertionError("clamp counts differ");
            for (int i = 0; i < y1.length; i++) {
                if (Float.floatToRawIntBits(y1[i]) != Float.floatToRawIntBits(y2[i])) {
                    throw new AssertionError("clamp differs at " + i + ": " + y1[i] + " vs " + y2[i]);
                }
            }
        }
        System.out.println("[check] scalar and vector kernels agree bit for bit on 300 hostile cases");
    }
}
