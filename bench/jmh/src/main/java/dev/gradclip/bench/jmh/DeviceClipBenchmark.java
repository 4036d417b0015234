package dev.gradclip.bench.jmh;

import dev.gradclip.ClipReport;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a JVM caller pays per call on device-resident gradients (issue 13, item 4): the JNI crossing, the
 * launches and the read-back of the report, end to end, to set next to the kernel time that
 * {@code scripts/gpu/gc_check} measures with CUDA events and next to torch in the same results file.
 * <ul>
 *   <li>{@link #clipSync}: {@code clipByGlobalNorm}: the norms pass, the decision on the host, the scale pass;</li>
 *   <li>{@link #clipAsync}: {@code clipByGlobalNormAsync(..).get()}: the fused path (scale and policy on the
 *       device), queued, then read;</li>
 *   <li>{@link #norms}: the norms alone.</li>
 * </ul>
 * Clipping (max norm 1e-3: every element is written) restores the gradients before each call, outside the
 * measured time (a device-to-device copy); not clipping (1e30) writes nothing. Run by
 * {@code scripts/gpu/run-jmh.sh} (a short mode of about two minutes on the GPU machine).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class DeviceClipBenchmark {

    /** The clip of the clip benchmarks. */
    @State(Scope.Benchmark)
    public static class Clip {
        /** clipping (max norm 1e-3) or not-clipping (1e30). */
        @Param({"clipping", "not-clipping"})
        public String mode;

        NormClip clip;

        @Setup(Level.Trial)
        public void open() {
            switch (mode) {
                case "clipping" -> clip = NormClip.of(1e-3);
                case "not-clipping" -> clip = NormClip.of(1e30);
                default -> throw new IllegalArgumentException("mode is clipping or not-clipping, not " + mode);
            }
        }

        /** A clipping call writes the gradients: restore them before each call (not timed). */
        @Setup(Level.Invocation)
        public void restore(DeviceGradients g) {
            if ("clipping".equals(mode)) g.restore();
        }
    }

    @Benchmark
    public ClipReport clipSync(DeviceGradients g, Clip c) {
        return g.clipper.clipByGlobalNorm(g.set, c.clip);
    }

    @Benchmark
    public ClipReport clipAsync(DeviceGradients g, Clip c) {
        return g.clipper.clipByGlobalNormAsync(g.set, c.clip).get();
    }

    @Benchmark
    public ClipReport norms(DeviceGradients g) {
        return g.clipper.norms(g.set, NormType.L2);
    }
}
