package dev.gradclip.c10d;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.distributed.DistributedClipper;
import dev.gradclip.distributed.GradientExchange;
import dev.gradclip.distributed.ShardedGradientSet;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The per-step cost of a sharded global-norm clip over c10d Gloo on loopback, next to the clip itself
 * (bench/exchange-overhead runs it). {@code ExchangeOverhead SHAPES STEPS WORLD...}: for each world size,
 * WORLD JVMs each hold every WORLD-th tensor of the shape set (fp32, fresh random values, whole tensors)
 * and time per step: the local norm pass with the canonical combine, the c10d all-gather alone, and the
 * scale pass ({@code clipWithTotalNorm}, clipping); gradients are restored before every step, untimed. Prints one Markdown row per world size with
 * rank 0's medians in ms. {@code ExchangeOverhead rank ...} is one rank (internal).
 */
public final class ExchangeOverhead {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("rank")) {
            rank(args);
            return;
        }
        Path shapes = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        String cp = System.getProperty("java.class.path");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        System.out.println("| ranks | norm pass + combine (ms) | c10d all-gather (ms) | scale pass (ms) | all-gather / clip |");
        System.out.println("|---:|---:|---:|---:|---:|");
        for (int w = 2; w < args.length; w++) {
            int world = Integer.parseInt(args[w]);
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path dir = Files.createTempDirectory("exchange");
            List<Process> ps = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                ps.add(new ProcessBuilder(java, "-Xmx3g", "-cp", cp, ExchangeOverhead.class.getName(), "rank", shapes.toString(),
                        String.valueOf(steps), String.valueOf(port), String.valueOf(r), String.valueOf(world), dir.resolve("r" + r).toString())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("r" + r + ".log").toFile()).start()); // Gloo prints to stdout
            }
            for (int r = 0; r < world; r++) {
                Process p = ps.get(r);
                if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException("rank " + r + " failed:\n" + Files.readString(dir.resolve("r" + r + ".log")));
                }
            }
            String[] f = Files.readString(dir.resolve("r0")).trim().split(" ");
            double local = Double.parseDouble(f[0]);
            double exchange = Double.parseDouble(f[1]);
            double scale = Double.parseDouble(f[2]);
            System.out.printf("| %d | %.2f | %.3f | %.2f | %.1f %% |%n", world, local, exchange, scale, 100 * exchange / (local + scale));
        }
    }

    private static void rank(String[] args) throws Exception {
        Path shapes = Path.of(args[1]);
        int steps = Integer.parseInt(args[2]);
        int port = Integer.parseInt(args[3]);
        int rank = Integer.parseInt(args[4]);
        int world = Integer.parseInt(args[5]);
        List<Long> sizes = new ArrayList<>();
        for (String line : Files.readAllLines(shapes)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            long n = 1;
            for (String d : line.trim().split("x")) n *= Long.parseLong(d.trim());
            sizes.add(n);
        }
        List<Tensor> mine = new ArrayList<>();
        List<float[]> arrays = new ArrayList<>();
        List<float[]> pristine = new ArrayList<>();
        List<Integer> indices = new ArrayList<>();
        Random rnd = new Random(rank);
        for (int t = rank; t < sizes.size(); t += world) {
            float[] a = new float[Math.toIntExact(sizes.get(t))];
            for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian() * 1e-3f;
            pristine.add(a.clone());
            arrays.add(a);
            mine.add(Tensor.of(a));
            indices.add(t);
        }
        int[] idx = indices.stream().mapToInt(Integer::intValue).toArray();
        ShardedGradientSet set = ShardedGradientSet.wholeTensors(GradientSet.of(mine), idx, sizes.size());
        double[] local = new double[steps];
        double[] exchange = new double[steps];
        double[] scale = new double[steps];
        try (Clipper clipper = Clipper.create(Backend.CPU);
             C10dExchange ex = C10dExchange.connect(URI.create("tcp://127.0.0.1:" + port), rank, world, Duration.ofSeconds(300))) {
            long[] gatherNanos = new long[1];
            GradientExchange timed = new GradientExchange() { // times the all-gather alone
                @Override public int rank() { return ex.rank(); }
                @Override public int worldSize() { return ex.worldSize(); }
                @Override public long[][] allGather(long[] words) {
                    long g0 = System.nanoTime();
                    long[][] out = ex.allGather(words);
                    gatherNanos[0] = System.nanoTime() - g0;
                    return out;
                }
            };
            DistributedClipper dc = new DistributedClipper(clipper, timed);
            for (int s = -2; s < steps; s++) { // two warm-up steps
                for (int k = 0; k < mine.size(); k++) { // fresh gradients before every step, outside the timing
                    System.arraycopy(pristine.get(k), 0, arrays.get(k), 0, arrays.get(k).length);
                }
                long t0 = System.nanoTime();
                NormPartials global = dc.globalPartials(set, NormType.L2); // local pass, all-gather, combine
                long t1 = System.nanoTime();
                clipper.clipWithTotalNorm(set.local(), NormClip.of(global.totalNorm() / 2), global.totalNorm());
                long t2 = System.nanoTime();
                if (s >= 0) {
                    exchange[s] = gatherNanos[0] / 1e6;
                    local[s] = (t1 - t0 - gatherNanos[0]) / 1e6; // the local pass and the combine
                    scale[s] = (t2 - t1) / 1e6;
                }
            }
        }
        Files.writeString(Path.of(args[6]), median(local) + " " + median(exchange) + " " + median(scale) + "\n");
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
