import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzWriter;
import dev.gradclip.internal.HalfFloats;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The helper of examples/distributed/run (compiled by it against the gradclip jar):
 *
 * <pre>
 * make SHAPES RANKS DTYPE DIR   DIR/whole.npz: one array per line of SHAPES (e.g. gpt2-small's 148 tensors) with
 *                               deterministic random gradients; DIR/rank0.npz ... : the same arrays split into RANKS
 *                               contiguous runs of about equal size (rank r holds the r-th run, in order)
 * port                          a free TCP port on 127.0.0.1 for the rendezvous
 * check RANKS DIR               compares the ranks' reports and archives with one process's: PASS or FAIL, exit 0 or 1
 * </pre>
 */
public final class ShardedArchives {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "make" -> make(Path.of(args[1]), Integer.parseInt(args[2]), args[3], Path.of(args[4]));
            case "port" -> {
                try (ServerSocket s = new ServerSocket(0)) {
                    System.out.println(s.getLocalPort());
                }
            }
            case "check" -> System.exit(check(Integer.parseInt(args[1]), Path.of(args[2])) ? 0 : 1);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void make(Path shapes, int ranks, String dtype, Path dir) throws Exception {
        List<long[]> dims = new ArrayList<>();
        long total = 0;
        for (String line : Files.readAllLines(shapes)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            long[] d = Arrays.stream(line.trim().split("x")).mapToLong(s -> Long.parseLong(s.trim())).toArray();
            dims.add(d);
            total += NamedArray.elementCount(d);
        }
        if (ranks > dims.size()) throw new IllegalArgumentException(ranks + " ranks for " + dims.size() + " arrays");
        List<NamedArray> arrays = new ArrayList<>();
        for (int t = 0; t < dims.size(); t++) {
            // one stream per array, seeded by its index: the same gradients whatever the split
            SplittableRandom rnd = new SplittableRandom(0x6772_6164L * 31 + t);
            int n = Math.toIntExact(NamedArray.elementCount(dims.get(t)));
            String name = String.format("param%03d", t);
            if (dtype.equals("float16")) {
                short[] a = new short[n];
                for (int i = 0; i < n; i++) a[i] = HalfFloats.floatToHalf((float) (gaussian(rnd) * 1e-3));
                arrays.add(NamedArray.ofFloat16(name, dims.get(t), a));
            } else if (dtype.equals("float32")) {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) (gaussian(rnd) * 1e-3);
                arrays.add(NamedArray.ofFloat32(name, dims.get(t), a));
            } else {
                throw new IllegalArgumentException("dtype must be float32 or float16, got " + dtype);
            }
        }
        NpzWriter.write(dir.resolve("whole.npz"), arrays, false);
        // cut where the running element count crosses r/ranks of the total, at least one array per rank
        int[] cuts = new int[ranks + 1];
        cuts[ranks] = arrays.size();
        long seen = 0;
        int t = 0;
        for (int r = 1; r < ranks; r++) {
            do { // at least one array for rank r - 1, and one left for each rank after it
                seen += NamedArray.elementCount(dims.get(t++));
            } while (t < arrays.size() - (ranks - r) && seen < total * r / ranks);
            cuts[r] = t;
        }
        for (int r = 0; r < ranks; r++) {
            List<NamedArray> mine = arrays.subList(cuts[r], cuts[r + 1]);
            NpzWriter.write(dir.resolve("rank" + r + ".npz"), mine, false);
            long elements = mine.stream().mapToLong(a -> NamedArray.elementCount(a.shape())).sum();
            System.out.printf("  rank%d.npz: arrays %d-%d (%d arrays, %,d elements)%n", r, cuts[r], cuts[r + 1] - 1, mine.size(), elements);
        }
        System.out.printf("  whole.npz: %d arrays, %,d %s elements%n", arrays.size(), total, dtype);
    }

    /** A standard normal deviate (Box-Muller on the splittable generator; deterministic). */
    private static double gaussian(SplittableRandom rnd) {
        double u = 1.0 - rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(\\[[^\\]]*\\]|\"[^\"]*\"|[^,}]*)").matcher(json);
        if (!m.find()) throw new IllegalStateException("no \"" + name + "\" in " + json);
        return m.group(1);
    }

    private static List<String> numbers(String jsonArray) {
        String inner = jsonArray.substring(1, jsonArray.length() - 1);
        return inner.isEmpty() ? List.of() : Arrays.asList(inner.split(","));
    }

    private static Map<String, byte[]> entries(Path npz) throws Exception {
        Map<String, byte[]> out = new HashMap<>();
        try (ZipFile z = new ZipFile(npz.toFile())) {
            for (Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                out.put(entry.getName(), z.getInputStream(entry).readAllBytes());
            }
        }
        return out;
    }

    private static boolean check(int ranks, Path dir) throws Exception {
        List<String> problems = new ArrayList<>();
        String whole = Files.readString(dir.resolve("whole.json")).strip();
        String total = field(whole, "total_norm");
        String scale = field(whole, "scale");
        List<String> norms = numbers(field(whole, "tensor_norms"));
        Map<String, byte[]> reference = entries(dir.resolve("whole-out.npz"));
        List<String> gathered = new ArrayList<>();
        int arrays = 0;
        for (int r = 0; r < ranks; r++) {
            String report = Files.readString(dir.resolve("rank" + r + ".json"));
            if (!report.matches("\\{[^\n]*\\}\n")) {
                problems.add("rank " + r + ": stdout is not exactly one JSON object: " + report);
                continue;
            }
            if (!field(report, "total_norm").equals(total)) problems.add("rank " + r + ": total_norm " + field(report, "total_norm") + " != " + total);
            if (!field(report, "scale").equals(scale)) problems.add("rank " + r + ": scale " + field(report, "scale") + " != " + scale);
            gathered.addAll(numbers(field(report, "tensor_norms")));
            Map<String, byte[]> mine = entries(dir.resolve("rank" + r + "-out.npz"));
            for (Map.Entry<String, byte[]> e : mine.entrySet()) {
                byte[] ref = reference.remove(e.getKey());
                if (ref == null) problems.add("rank " + r + ": " + e.getKey() + " is not in one process's output (or is on two ranks)");
                else if (!Arrays.equals(ref, e.getValue())) problems.add("rank " + r + ": the bytes of " + e.getKey() + " differ from one process's");
                arrays++;
            }
        }
        if (!gathered.equals(norms)) problems.add("the ranks' tensor_norms, concatenated in rank order, differ from one process's");
        if (!reference.isEmpty()) problems.add("arrays missing from every rank's output: " + reference.keySet());
        if (problems.isEmpty()) {
            System.out.println("PASS: " + ranks + " ranks printed total_norm " + total + " and scale " + scale + " like one process, their "
                    + "tensor_norms concatenate to one process's, and all " + arrays + " arrays they wrote are byte-identical to one process's"
                    + (scale.equals("1.0") ? " (note: nothing was clipped; lower --max-norm to see the scale applied)" : ""));
            return true;
        }
        System.out.println("FAIL:");
        problems.forEach(p -> System.out.println("  " + p));
        return false;
    }
}
