package dev.gradclip.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One benchmark fork: one implementation, one tensor layout, one shape set, one dtype, every operation.
 * bench/py/driver.py starts one JVM per fork and repeats forks to measure the run-to-run spread.
 *
 * <p><b>Method (why not JMH).</b> Every timed call gets fresh gradients: before <em>every</em> call,
 * of every operation and every implementation, the working tensors are restored from a pristine copy
 * of the call's dataset, outside the timed region; the call alone is timed with {@link System#nanoTime()}
 * (~25 ns, negligible even for imdb-lstm's ~0.1 ms calls, where JMH's {@code Level.Invocation} setup
 * would add its own per-call bookkeeping and warnings). The read-only operations are restored too, so
 * every call starts from the same cache state (the end of a copy, as after a backward pass). The
 * operations run round-robin in one JVM (each round calls each operation once, starting at a rotating
 * position), so the JIT profile is the mix a trainer produces, not one tuned to a single clipped
 * fraction, and no operation always follows the same one. Warm-up: whole rounds, untimed, until both a
 * minimum count and a minimum time are reached; then measured rounds likewise (and at most a maximum).
 * The PyTorch 1.13 peer (bench/py/torch_peer.py) follows the same protocol.
 *
 * <p>The data: with {@code --data DIR} the fork loads the run's dataset cache ({@link DataCache}, written
 * once per shape set by bench/py/driver.py; sizes and CRC-32s are checked), else it generates them
 * ({@link DataCache#generateInMemory}, the same bits). Either way the datasets exist before the first call.
 *
 * <p>Before the warm-up each operation runs once and is checked: gradclip's clip-by-value report must
 * count exactly the elements the generator put outside the bound, the clipping global clip must scale
 * (scale &lt; 1) and the non-clipping one must not; after a peer's clip by value every element that was
 * outside must be at the bound ({@link #requireAtBound}); a failed check aborts the fork (exit 3).
 */
public final class Harness {
    public static volatile Object sink;

    public static final List<String> ALL_OPS = List.of("value-0", "value-1", "value-5", "value-30", "value-90",
            "norms", "clip", "noclip");

    /** The implementation under test, holding its own working copy of the gradients. */
    public interface Impl extends AutoCloseable {
        /** What runs (backend, threads, library path), for the record. */
        String describe();

        /** Copies the pristine values (float[] or short[] per tensor) into the working tensors; untimed. */
        void restore(Object[] pristine);

        /** The timed call. */
        Object run(String op);

        /** A line proving the call did what it claims; throws IllegalStateException when it did not. */
        String check(String op, Object result, long expectedOutside);

        @Override
        default void close() {
        }
    }

    static int fractionOf(String op) {
        return op.startsWith("value-") ? Integer.parseInt(op.substring(6)) : Data.BASE_FRACTION;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) usage("bad argument " + args[i]);
            a.put(args[i].substring(2), args[++i]);
        }
        String impl = req(a, "impl"), shapes = req(a, "shapes"), dtype = a.getOrDefault("dtype", "fp32");
        String layout = a.getOrDefault("layout", "heap");
        List<String> ops = List.of(a.getOrDefault("ops", String.join(",", ALL_OPS)).split(","));
        double warmS = Double.parseDouble(a.getOrDefault("warmup-s", "2"));
        int warmMin = Integer.parseInt(a.getOrDefault("warmup-rounds", "3"));
        double measureS = Double.parseDouble(a.getOrDefault("measure-s", "5"));
        int minRounds = Integer.parseInt(a.getOrDefault("rounds", "10"));
        int maxRounds = Integer.parseInt(a.getOrDefault("max-rounds", "400"));
        Path out = Path.of(req(a, "out"));
        String label = a.getOrDefault("label", "jvm");
        if (!List.of("fp32", "bf16", "fp16").contains(dtype)) usage("dtype " + dtype);

        long[] sizes = Data.sizes(shapes);
        long elements = Arrays.stream(sizes).sum();
        List<Integer> fractions = ops.stream().map(Harness::fractionOf).distinct().toList();
        String dataDir = a.get("data");
        log("%s %s %s %s %s: %s %,d elements × %d datasets", label, impl, layout, shapes, dtype,
                dataDir != null ? "loading (" + dataDir + ")" : "generating", elements, fractions.size());
        long g0 = System.nanoTime();
        Map<Integer, DataCache.Dataset> data = dataDir != null
                ? DataCache.load(Path.of(dataDir), shapes, sizes, dtype, fractions)
                : DataCache.generateInMemory(sizes, dtype, fractions);
        Map<Integer, Object[]> pristine = new LinkedHashMap<>();
        Map<Integer, Long> outside = new LinkedHashMap<>();
        data.forEach((f, d) -> {
            pristine.put(f, d.tensors());
            outside.put(f, d.outside());
        });
        double genS = (System.nanoTime() - g0) * 1e-9;
        // the global-norm clip's thresholds: from the fp64 norm of the base dataset as stored (same for every impl)
        double norm = data.values().iterator().next().baseNorm();
        double clipMax = 0.5 * norm, noclipMax = 2.0 * norm;

        Impl im = switch (impl) {
            case "gradclip" -> new GradclipImpl(sizes, dtype, layout, clipMax, noclipMax);
            case "naive" -> new NaiveImpl(sizes, dtype, clipMax, noclipMax);
            case "nd4j" -> Nd4jImpl.create(sizes, dtype, clipMax, noclipMax);
            case "libtorch" -> LibtorchImpl.create(sizes, dtype, clipMax, noclipMax);
            default -> throw new IllegalArgumentException("unknown impl " + impl);
        };
        Map<String, String> checks = new LinkedHashMap<>();
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        try (im) {
            for (String op : ops) {
                int f = fractionOf(op);
                im.restore(pristine.get(f));
                Object r = im.run(op);
                String c = im.check(op, r, outside.get(f));
                checks.put(op, c);
                samples.put(op, new ArrayList<>());
                log("[check] %s %s %s %s %s %s: %s", label, impl, layout, shapes, dtype, op, c);
            }
            int nops = ops.size();
            long w0 = System.nanoTime();
            int rounds = 0;
            while (rounds < warmMin || (System.nanoTime() - w0) * 1e-9 < warmS) {
                for (int k = 0; k < nops; k++) {
                    String op = ops.get((k + rounds) % nops);
                    im.restore(pristine.get(fractionOf(op)));
                    sink = im.run(op);
                }
                rounds++;
            }
            double warmTook = (System.nanoTime() - w0) * 1e-9;
            long m0 = System.nanoTime();
            int measured = 0;
            while (measured < maxRounds && (measured < minRounds || (System.nanoTime() - m0) * 1e-9 < measureS)) {
                for (int k = 0; k < nops; k++) {
                    String op = ops.get((k + measured) % nops);
                    im.restore(pristine.get(fractionOf(op)));
                    long t0 = System.nanoTime();
                    Object r = im.run(op);
                    long t1 = System.nanoTime();
                    sink = r;
                    samples.get(op).add((t1 - t0) * 1e-6);
                }
                measured++;
            }
            double measureTook = (System.nanoTime() - m0) * 1e-9;
            StringBuilder j = new StringBuilder();
            j.append("{\n \"impl\": ").append(q(impl)).append(",\n \"layout\": ").append(q(layout))
                    .append(",\n \"jvm\": ").append(q(label))
                    .append(",\n \"java\": ").append(q(System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")))
                    .append(",\n \"jvm_args\": ").append(q(String.join(" ",
                            java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())))
                    .append(",\n \"shapes\": ").append(q(shapes)).append(",\n \"dtype\": ").append(q(dtype))
                    .append(",\n \"elements\": ").append(elements).append(",\n \"tensors\": ").append(sizes.length)
                    .append(",\n \"cores\": ").append(Runtime.getRuntime().availableProcessors())
                    .append(",\n \"describe\": ").append(q(im.describe()))
                    .append(",\n \"data\": ").append(q(dataDir != null ? "cache" : "generated"))
                    .append(",\n \"generate_s\": ").append(fmt(genS))
                    .append(",\n \"warmup_rounds\": ").append(rounds).append(",\n \"warmup_s\": ").append(fmt(warmTook))
                    .append(",\n \"rounds\": ").append(measured).append(",\n \"measure_s\": ").append(fmt(measureTook))
                    .append(",\n \"max_norm_clip\": ").append(clipMax).append(",\n \"max_norm_noclip\": ").append(noclipMax)
                    .append(",\n \"records\": [");
            String sep = "\n  ";
            for (String op : ops) {
                double[] s = samples.get(op).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                j.append(sep).append("{\"op\": ").append(q(op))
                        .append(", \"median_ms\": ").append(fmt(pct(s, 0.5)))
                        .append(", \"min_ms\": ").append(fmt(s[0]))
                        .append(", \"p10_ms\": ").append(fmt(pct(s, 0.1)))
                        .append(", \"p90_ms\": ").append(fmt(pct(s, 0.9)))
                        .append(", \"samples\": ").append(s.length)
                        .append(", \"outside\": ").append(op.startsWith("value-") ? outside.get(fractionOf(op)) : -1)
                        .append(", \"check\": ").append(q(checks.get(op))).append("}");
                sep = ",\n  ";
                log("%s %s %s %s %s %-8s median %9.3f ms  (p10 %.3f, p90 %.3f, %d samples)", label, impl, layout, shapes,
                        dtype, op, pct(s, 0.5), pct(s, 0.1), pct(s, 0.9), s.length);
            }
            j.append("\n ]\n}\n");
            Path tmp = out.resolveSibling(out.getFileName() + ".part");
            Files.writeString(tmp, j.toString());
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IllegalStateException e) {
            log("CHECK FAILED: %s", e.getMessage());
            System.exit(3);
        }
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        double pos = p * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.6f", v);
    }

    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : String.valueOf(s).toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static void log(String fmt, Object... args) {
        System.err.println(String.format(Locale.ROOT, fmt, args));
        System.err.flush();
    }

    private static String req(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) usage("missing --" + k);
        return v;
    }

    private static void usage(String why) {
        System.err.println("Harness: " + why + "\nusage: --impl gradclip|naive|nd4j|libtorch --shapes SET --out FILE"
                + " [--dtype fp32|bf16|fp16] [--layout heap|native|direct] [--ops a,b] [--label JVM] [--data CACHE_DIR]"
                + " [--warmup-s S] [--warmup-rounds N] [--measure-s S] [--rounds N] [--max-rounds N]");
        System.exit(2);
    }

    /**
     * The check of a peer's clip by value: every element that was outside is at the bound afterwards;
     * in fp32 exactly those ({@code exact}: inside magnitudes are below 0.5), in bf16/fp16 also the inside
     * ones that round to 0.5. Throws IllegalStateException (the fork aborts) otherwise.
     */
    static String requireAtBound(String op, long atBound, long expectedOutside, boolean exact) {
        if (exact ? atBound != expectedOutside : atBound < expectedOutside) {
            throw new IllegalStateException(op + ": " + atBound + " elements at the bound after the clip, "
                    + expectedOutside + " were outside");
        }
        return atBound + " elements at the bound after the clip (" + expectedOutside + " were outside)";
    }

    static void requireFp32(String who, String dtype) {
        if (!dtype.equals("fp32")) throw new IllegalArgumentException(who + ": fp32 only");
    }
}
