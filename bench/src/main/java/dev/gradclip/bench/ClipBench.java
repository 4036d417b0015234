package dev.gradclip.bench;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One clipping operation on one shape set, by one implementation. Every invocation is timed on its own
 * (SampleTime); bench/run reports the median.
 *
 * <p>Operations: {@code value} (clip by value to [-0.99, 0.99]: ~1% of the elements are outside),
 * {@code norms} (per-tensor and total L2 norms), {@code clip} (global-norm clip with max_norm = 0.5 × the
 * measured total norm, so it scales by ~0.5) and {@code noclip} (max_norm = 2 × the norm: nothing to do).
 * The operations that write ({@code value}, {@code clip}) restore the gradients from a pristine copy before
 * every invocation (untimed, Level.Invocation: each call is several milliseconds, far above JMH's
 * per-invocation overhead), so every measured call really clips the same elements by the same factor.
 *
 * <p>Implementations: {@code gradclip} (the library's CPU backend through the public API, all cores),
 * {@code gradclip-1t} (the same on one thread: {@code Clipper.using(new CpuBackend(1))}),
 * {@code naive} (the loop a user would write: per tensor one double accumulator, then scale; one thread),
 * {@code dl4j} (ND4J: norm2 per tensor, in-place muli / clipbyvalue, as DL4J's ClipL2PerLayer does).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ClipBench {
    @Param({"gpt2-small"})
    public String shapes;

    @Param({"value", "norms", "clip", "noclip"})
    public String op;

    @Param({"fp32"})
    public String dtype;

    @Param({"gradclip"})
    public String impl;

    /** The operation as the measured call: everything decided in setup. */
    public interface Op {
        Object run();

        /** Copies the pristine values back (ops that write); untimed. */
        void restore();

        /** The total L2 norm of the current values, computed by this implementation. */
        double norm();

        /** A line for the log proving the case is what it claims (clipped or not, and by how much). */
        String describe(Object result);
    }

    private Op run;

    @Setup(Level.Trial)
    public void setup() {
        long[] sizes = Data.sizes(shapes);
        boolean writes = op.equals("value") || op.equals("clip");
        switch (impl) {
            case "gradclip" -> run = new GradclipOp(Clipper.create(Backend.CPU), sizes, dtype, op, writes);
            case "gradclip-1t" -> run = new GradclipOp(Clipper.using(new CpuBackend(1)), sizes, dtype, op, writes);
            case "naive" -> run = new NaiveOp(sizes, dtype, op, writes);
            case "dl4j" -> run = Dl4jOp.create(sizes, dtype, op, writes);
            default -> throw new IllegalArgumentException("unknown impl " + impl);
        }
        // check once, untimed, that the case is what it claims; then put the values back
        Object r = run.run();
        System.out.println("[check] " + impl + " " + shapes + " " + op + " " + dtype + ": " + run.describe(r));
        run.restore();
    }

    @Setup(Level.Invocation)
    public void restore() {
        run.restore();
    }

    @Benchmark
    public Object run() {
        return run.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        run = null;
    }

    static double maxNormFor(String op, double norm) {
        return op.equals("clip") ? 0.5 * norm : 2.0 * norm;
    }

    // ------------------------------------------------------------------ gradclip, public API

    static final class GradclipOp implements Op {
        private final Clipper clipper;
        private final GradientSet set;
        private final Object[] data;
        private final Object[] pristine;
        private final String op;
        private final NormClip normClip;
        private final ValueClip valueClip = ValueClip.symmetric(Data.VALUE_BOUND);

        GradclipOp(Clipper clipper, long[] sizes, String dtype, String op, boolean writes) {
            this.clipper = clipper;
            this.op = op;
            data = new Object[sizes.length];
            pristine = writes ? new Object[sizes.length] : null;
            List<Tensor> ts = new ArrayList<>();
            for (int t = 0; t < sizes.length; t++) {
                switch (dtype) {
                    case "fp32" -> {
                        float[] a = Data.floats(t, sizes[t]);
                        data[t] = a;
                        ts.add(Tensor.of(a));
                        if (writes) pristine[t] = a.clone();
                    }
                    case "bf16", "fp16" -> {
                        short[] a = Data.halves(t, sizes[t], dtype.equals("bf16"));
                        data[t] = a;
                        ts.add(Tensor.of(a, dtype.equals("bf16") ? DType.BFLOAT16 : DType.FLOAT16));
                        if (writes) pristine[t] = a.clone();
                    }
                    default -> throw new IllegalArgumentException("dtype " + dtype);
                }
            }
            set = GradientSet.of(ts);
            normClip = NormClip.of(maxNormFor(op, norm()));
        }

        @Override
        public Object run() {
            return switch (op) {
                case "value" -> clipper.clipByValue(set, valueClip);
                case "norms" -> clipper.norms(set, NormType.L2);
                case "clip", "noclip" -> clipper.clipByGlobalNorm(set, normClip);
                default -> throw new IllegalArgumentException("op " + op);
            };
        }

        @Override
        public void restore() {
            if (pristine == null) return;
            for (int t = 0; t < data.length; t++) {
                Object src = pristine[t];
                System.arraycopy(src, 0, data[t], 0, java.lang.reflect.Array.getLength(src));
            }
        }

        @Override
        public double norm() {
            return clipper.norms(set, NormType.L2).totalNorm();
        }

        @Override
        public String describe(Object result) {
            ClipReport r = (ClipReport) result;
            return "norm " + r.totalNorm() + ", scale " + r.scale() + ", clipped elements " + r.clippedElements()
                    + " of " + r.totalElements() + ", " + clipper;
        }
    }

    // ------------------------------------------------------------------ the loop a user would write

    static final class NaiveOp implements Op {
        private final float[][] data;
        private final float[][] pristine;
        private final String op;
        private final double maxNorm;

        NaiveOp(long[] sizes, String dtype, String op, boolean writes) {
            if (!dtype.equals("fp32")) throw new IllegalArgumentException("naive: fp32 only");
            this.op = op;
            data = new float[sizes.length][];
            pristine = writes ? new float[sizes.length][] : null;
            for (int t = 0; t < sizes.length; t++) {
                data[t] = Data.floats(t, sizes[t]);
                if (writes) pristine[t] = data[t].clone();
            }
            maxNorm = maxNormFor(op, norm());
        }

        private static double sumSquares(float[] a) {
            double s = 0;
            for (float x : a) s += (double) x * x;
            return s;
        }

        @Override
        public double norm() {
            double total = 0;
            for (float[] a : data) {
                double n = Math.sqrt(sumSquares(a));
                total += n * n;
            }
            return Math.sqrt(total);
        }

        @Override
        public Object run() {
            switch (op) {
                case "value": {
                    float c = Data.VALUE_BOUND;
                    for (float[] a : data) {
                        for (int i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i], -c), c);
                    }
                    return data;
                }
                case "norms": {
                    double[] norms = new double[data.length];
                    double total = 0;
                    for (int t = 0; t < data.length; t++) {
                        double s = sumSquares(data[t]);
                        norms[t] = Math.sqrt(s);
                        total += s;
                    }
                    return Math.sqrt(total);
                }
                default: {
                    double total = 0;
                    for (float[] a : data) total += sumSquares(a);
                    double norm = Math.sqrt(total);
                    double coef = maxNorm / (norm + 1e-6);
                    if (coef < 1.0) {
                        float s = (float) coef;
                        for (float[] a : data) {
                            for (int i = 0; i < a.length; i++) a[i] *= s;
                        }
                    }
                    return new double[] {norm, Math.min(coef, 1.0)};
                }
            }
        }

        @Override
        public void restore() {
            if (pristine == null) return;
            for (int t = 0; t < data.length; t++) System.arraycopy(pristine[t], 0, data[t], 0, data[t].length);
        }

        @Override
        public String describe(Object result) {
            if (result instanceof double[] d) return "norm " + d[0] + ", scale " + d[1];
            if (result instanceof Double d) return "norm " + d;
            long out = 0;
            for (float[] a : pristine) for (float x : a) if (Math.abs(x) > Data.VALUE_BOUND) out++;
            return out + " elements were outside the bound";
        }
    }
}
