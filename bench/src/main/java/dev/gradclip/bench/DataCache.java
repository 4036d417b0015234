package dev.gradclip.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;

/**
 * The run's dataset cache. bench/py/driver.py generates every (shape set, dtype, fraction) dataset of
 * {@link Data} once per run ({@code java dev.gradclip.bench.DataCache generate}), and every fork loads it
 * instead of generating it again: the JVM forks through {@link #load}, the PyTorch 1.13 peer through
 * {@code gen.load_cached} (numpy). Generating a large shape set took 12 s per JVM fork and 29 s per Python
 * fork; loading it takes about a second.
 *
 * <p><b>Files</b> (in one folder per shape set): {@code <dtype>-value-<f>.bin} holds the tensors of the
 * shape set concatenated in the shape file's order, as raw little-endian fp32 / bf16 / fp16 bits;
 * {@code manifest.txt} (written last, so a folder without it is an interrupted generation) records the
 * shape set, its tensor count, element count and a CRC-32 of its sizes, and per file its bytes, its CRC-32
 * and the number of elements outside the bound, and per dtype the fp64 norm of the stored
 * {@link Data#BASE_FRACTION} dataset (summed in element order, exactly as the harness summed it before
 * the cache; every implementation's global-clip thresholds come from it). Loading checks every one of
 * these and throws {@link IllegalStateException} on any difference: a stale or damaged cache fails the
 * fork, it is never measured.
 *
 * <p><b>Same bits as before.</b> Values come from {@link Data#fillRange} (the bf16/fp16 bits from
 * {@link Data#toBfloat16} / {@link Data#toHalf} of the fp32 value, as {@link Data#fill(short[], int, int,
 * boolean)} does); {@code verify} regenerates the datasets in memory with {@link Data#fill} (the
 * pre-cache path) and compares raw bits, outside counts and norm bits. bench/run --self-test runs it.
 */
public final class DataCache {
    static final String MANIFEST = "manifest.txt";
    static final String FORMAT = "gradclip-bench-data 1";
    /** Elements per generation chunk: a multiple of {@link Data#BLOCK}. */
    static final int CHUNK = 1_000_000;
    private static final int READ_BUFFER = 8 << 20;

    private DataCache() {
    }

    /** One dataset in one dtype: the tensors (float[] for fp32, short[] bits for bf16/fp16), the number of
     * elements outside the bound, and the fp64 norm of the base dataset in that dtype. */
    record Dataset(Object[] tensors, long outside, double baseNorm) {
    }

    static String fileName(String dtype, int fraction) {
        return dtype + "-value-" + fraction + ".bin";
    }

    static int width(String dtype) {
        return switch (dtype) {
            case "fp32" -> 4;
            case "bf16", "fp16" -> 2;
            default -> throw new IllegalArgumentException("dtype " + dtype + " (fp32, bf16, fp16)");
        };
    }

    /** CRC-32 of the sizes written as "n1,n2,...": the manifest's proof that the shape file is unchanged. */
    static long sizesCrc(long[] sizes) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < sizes.length; i++) b.append(i == 0 ? "" : ",").append(sizes[i]);
        CRC32 c = new CRC32();
        c.update(b.toString().getBytes(StandardCharsets.US_ASCII));
        return c.getValue();
    }

    /** sqrt(sum of x^2) in fp64 over the stored values, tensor after tensor, element after element. */
    static double norm(Object[] ts, boolean bf16) {
        double s = 0;
        for (Object o : ts) {
            if (o instanceof float[] x) {
                for (float v : x) s += (double) v * v;
            } else {
                for (short v : (short[]) o) {
                    double d = Data.fromHalfBits(v, bf16);
                    s += d * d;
                }
            }
        }
        return Math.sqrt(s);
    }

    // ---------------------------------------------------------------- generation into files

    /** A run of elements [from, to) of tensor t (from a multiple of BLOCK). */
    private record Segment(int t, int from, int to) {
        int length() {
            return to - from;
        }
    }

    /** A chunk's values: per fraction index, the fp32 values and bf16/fp16 bits of its segments in order. */
    private record ChunkValues(float[][] fp32, short[][] bf16, short[][] fp16, long[] outside) {
    }

    private static List<List<Segment>> chunks(long[] sizes) {
        List<List<Segment>> out = new ArrayList<>();
        List<Segment> cur = new ArrayList<>();
        int fill = 0;
        for (int t = 0; t < sizes.length; t++) {
            int n = Math.toIntExact(sizes[t]);
            int from = 0;
            while (from < n) {
                int room = (CHUNK - fill) / Data.BLOCK * Data.BLOCK;
                if (room == 0) {
                    out.add(cur);
                    cur = new ArrayList<>();
                    fill = 0;
                    continue;
                }
                int take = Math.min(n - from, room);
                cur.add(new Segment(t, from, from + take));
                fill += take;
                from += take;
            }
        }
        if (!cur.isEmpty()) out.add(cur);
        return out;
    }

    private static ChunkValues compute(List<Segment> segs, int[] fractions, boolean bf16, boolean fp16) {
        int len = 0;
        for (Segment s : segs) len += s.length();
        float[][] v = new float[fractions.length][len];
        short[][] b = bf16 ? new short[fractions.length][len] : null;
        short[][] h = fp16 ? new short[fractions.length][len] : null;
        long[] outside = new long[fractions.length];
        for (int k = 0; k < fractions.length; k++) {
            int off = 0;
            for (Segment s : segs) {
                outside[k] += Data.fillRange(v[k], off, s.t(), s.from(), s.to(), fractions[k]);
                off += s.length();
            }
            for (int i = 0; i < len; i++) {
                if (b != null) b[k][i] = Data.toBfloat16(v[k][i]);
                if (h != null) h[k][i] = Data.toHalf(v[k][i]);
            }
        }
        return new ChunkValues(v, b, h, outside);
    }

    /**
     * Writes every dataset of {@code shapes} in {@code dtypes} into {@code dir} (then the manifest), with
     * {@code threads} generating chunks while this thread writes them in order, computes the CRC-32s and
     * sums the norms in element order.
     */
    static void generate(String shapes, long[] sizes, List<String> dtypes, int[] fractions, Path dir, int threads)
            throws IOException, InterruptedException, ExecutionException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(MANIFEST));
        boolean bf16 = dtypes.contains("bf16"), fp16 = dtypes.contains("fp16");
        long elements = Arrays.stream(sizes).sum();
        int base = -1;
        for (int k = 0; k < fractions.length; k++) if (fractions[k] == Data.BASE_FRACTION) base = k;
        Map<String, FileChannel[]> channels = new LinkedHashMap<>();
        Map<String, CRC32[]> crcs = new HashMap<>();
        Map<String, double[]> sums = new HashMap<>();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        long[] outside = new long[fractions.length];
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            for (String d : dtypes) {
                width(d);
                FileChannel[] ch = new FileChannel[fractions.length];
                CRC32[] c = new CRC32[fractions.length];
                for (int k = 0; k < fractions.length; k++) {
                    ch[k] = FileChannel.open(dir.resolve(fileName(d, fractions[k]) + ".part"), StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
                    c[k] = new CRC32();
                }
                channels.put(d, ch);
                crcs.put(d, c);
                sums.put(d, new double[1]);
            }
            ArrayDeque<Future<ChunkValues>> inFlight = new ArrayDeque<>();
            List<List<Segment>> all = chunks(sizes);
            int next = 0;
            while (next < all.size() || !inFlight.isEmpty()) {
                while (next < all.size() && inFlight.size() < 2 * Math.max(1, threads)) {
                    List<Segment> segs = all.get(next++);
                    inFlight.add(pool.submit(() -> compute(segs, fractions, bf16, fp16)));
                }
                ChunkValues cv = inFlight.poll().get();
                for (int k = 0; k < fractions.length; k++) {
                    outside[k] += cv.outside()[k];
                    for (String d : dtypes) {
                        buf.clear();
                        switch (d) {
                            case "fp32" -> buf.asFloatBuffer().put(cv.fp32()[k]);
                            case "bf16" -> buf.asShortBuffer().put(cv.bf16()[k]);
                            default -> buf.asShortBuffer().put(cv.fp16()[k]);
                        }
                        buf.limit(cv.fp32()[k].length * width(d));
                        crcs.get(d)[k].update(buf.duplicate());
                        FileChannel ch = channels.get(d)[k];
                        while (buf.hasRemaining()) ch.write(buf);
                        if (k == base) {
                            double[] s = sums.get(d);
                            switch (d) {
                                case "fp32" -> {
                                    for (float v : cv.fp32()[k]) s[0] += (double) v * v;
                                }
                                case "bf16" -> {
                                    for (short v : cv.bf16()[k]) {
                                        double x = Data.fromHalfBits(v, true);
                                        s[0] += x * x;
                                    }
                                }
                                default -> {
                                    for (short v : cv.fp16()[k]) {
                                        double x = Data.fromHalfBits(v, false);
                                        s[0] += x * x;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // on disk before any fork starts: no write-back of ours runs under a measurement
            for (FileChannel[] ch : channels.values()) for (FileChannel c : ch) c.force(false);
        } finally {
            pool.shutdownNow();
            for (FileChannel[] ch : channels.values()) for (FileChannel c : ch) if (c != null) c.close();
        }
        StringBuilder m = new StringBuilder();
        m.append("format ").append(FORMAT).append('\n');
        m.append("shapes ").append(shapes).append('\n');
        m.append("tensors ").append(sizes.length).append('\n');
        m.append("elements ").append(elements).append('\n');
        m.append("sizes-crc32 ").append(Long.toHexString(sizesCrc(sizes))).append('\n');
        for (String d : dtypes) {
            for (int k = 0; k < fractions.length; k++) {
                Path part = dir.resolve(fileName(d, fractions[k]) + ".part");
                Files.move(part, dir.resolve(fileName(d, fractions[k])), StandardCopyOption.REPLACE_EXISTING);
                m.append(String.format(Locale.ROOT, "data %s %d %d %s %d%n", d, fractions[k], elements * width(d),
                        Long.toHexString(crcs.get(d)[k].getValue()), outside[k]));
            }
            if (base >= 0) m.append("norm ").append(d).append(' ').append(Double.toHexString(Math.sqrt(sums.get(d)[0]))).append('\n');
        }
        Path tmp = dir.resolve(MANIFEST + ".part");
        Files.writeString(tmp, m.toString());
        Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // ---------------------------------------------------------------- loading, with its checks

    private static Map<String, String[]> manifest(Path dir) throws IOException {
        Path m = dir.resolve(MANIFEST);
        if (!Files.exists(m)) throw new IllegalStateException("no dataset cache in " + dir + " (no " + MANIFEST + ")");
        Map<String, String[]> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(m, StandardCharsets.US_ASCII)) {
            String[] f = line.strip().split(" ");
            if (f.length < 2) continue;
            String key = switch (f[0]) {
                case "data" -> "data " + f[1] + " " + f[2];
                case "norm" -> "norm " + f[1];
                default -> f[0];
            };
            out.put(key, f);
        }
        return out;
    }

    private static String field(Map<String, String[]> m, String key, int i, Path dir) {
        String[] f = m.get(key);
        if (f == null || f.length <= i) throw new IllegalStateException(dir.resolve(MANIFEST) + ": no '" + key + "' line");
        return f[i];
    }

    /**
     * The datasets of {@code fractions} in {@code dtype} from the cache in {@code dir}, checked against the
     * manifest (format, shape set, tensor and element counts, CRC-32 of the sizes, file sizes, CRC-32 of
     * the bytes read); throws IllegalStateException when anything differs.
     */
    static Map<Integer, Dataset> load(Path dir, String shapes, long[] sizes, String dtype, Collection<Integer> fractions)
            throws IOException {
        Map<String, String[]> m = manifest(dir);
        String format = String.join(" ", Arrays.copyOfRange(m.getOrDefault("format", new String[] {"format"}), 1,
                m.getOrDefault("format", new String[] {"format"}).length));
        if (!format.equals(FORMAT)) throw new IllegalStateException(dir + ": format '" + format + "', expected '" + FORMAT + "'");
        long elements = Arrays.stream(sizes).sum();
        if (!field(m, "shapes", 1, dir).equals(shapes)
                || Long.parseLong(field(m, "tensors", 1, dir)) != sizes.length
                || Long.parseLong(field(m, "elements", 1, dir)) != elements
                || Long.parseUnsignedLong(field(m, "sizes-crc32", 1, dir), 16) != sizesCrc(sizes)) {
            throw new IllegalStateException(dir + ": the cache was generated for another shape set or shape file ("
                    + String.join(" ", m.get("shapes")) + ", " + field(m, "tensors", 1, dir) + " tensors)");
        }
        int w = width(dtype);
        double baseNorm = Double.parseDouble(field(m, "norm " + dtype, 2, dir));
        Map<Integer, Dataset> out = new LinkedHashMap<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        for (int f : fractions) {
            if (out.containsKey(f)) continue;
            String key = "data " + dtype + " " + f;
            long bytes = Long.parseLong(field(m, key, 3, dir));
            long crcWant = Long.parseUnsignedLong(field(m, key, 4, dir), 16);
            long outside = Long.parseLong(field(m, key, 5, dir));
            Path file = dir.resolve(fileName(dtype, f));
            if (bytes != elements * w || Files.size(file) != bytes) {
                throw new IllegalStateException(file + ": " + Files.size(file) + " bytes, expected " + elements * w);
            }
            Object[] ts = new Object[sizes.length];
            for (int t = 0; t < sizes.length; t++) {
                int n = Math.toIntExact(sizes[t]);
                ts[t] = w == 4 ? new float[n] : new short[n];
            }
            CRC32 crc = new CRC32();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                int t = 0, pos = 0;
                long left = bytes;
                while (left > 0) {
                    buf.clear();
                    buf.limit((int) Math.min(buf.capacity(), left));
                    while (buf.hasRemaining()) {
                        if (ch.read(buf) < 0) throw new IllegalStateException(file + ": shorter than its manifest says");
                    }
                    buf.flip();
                    left -= buf.remaining();
                    crc.update(buf.duplicate());
                    while (buf.hasRemaining()) {
                        while (pos == java.lang.reflect.Array.getLength(ts[t])) {
                            t++;
                            pos = 0;
                        }
                        int len = java.lang.reflect.Array.getLength(ts[t]);
                        int take = Math.min(len - pos, buf.remaining() / w);
                        if (w == 4) buf.asFloatBuffer().get((float[]) ts[t], pos, take);
                        else buf.asShortBuffer().get((short[]) ts[t], pos, take);
                        buf.position(buf.position() + take * w);
                        pos += take;
                    }
                }
            }
            if (crc.getValue() != crcWant) {
                throw new IllegalStateException(file + ": CRC-32 " + Long.toHexString(crc.getValue()) + ", the manifest says "
                        + Long.toHexString(crcWant) + " (damaged or stale cache)");
            }
            out.put(f, new Dataset(ts, outside, baseNorm));
        }
        return out;
    }

    // ---------------------------------------------------------------- in memory, as before the cache

    /** The datasets generated in this process with {@link Data#fill} (the path every fork took before the
     * cache; {@code verify} compares the cache with it, and the harness falls back to it without --data). */
    static Map<Integer, Dataset> generateInMemory(long[] sizes, String dtype, Collection<Integer> fractions) {
        boolean bf16 = dtype.equals("bf16");
        width(dtype);
        Map<Integer, Object[]> tensors = new LinkedHashMap<>();
        Map<Integer, Long> outside = new LinkedHashMap<>();
        List<Integer> todo = new ArrayList<>(fractions);
        if (!todo.contains(Data.BASE_FRACTION)) todo.add(Data.BASE_FRACTION);
        for (int f : todo) {
            if (tensors.containsKey(f)) continue;
            Object[] ts = new Object[sizes.length];
            long out0 = 0;
            for (int t = 0; t < sizes.length; t++) {
                int n = Math.toIntExact(sizes[t]);
                if (dtype.equals("fp32")) {
                    float[] x = new float[n];
                    out0 += Data.fill(x, t, f);
                    ts[t] = x;
                } else {
                    short[] x = new short[n];
                    out0 += Data.fill(x, t, f, bf16);
                    ts[t] = x;
                }
            }
            tensors.put(f, ts);
            outside.put(f, out0);
        }
        double baseNorm = norm(tensors.get(Data.BASE_FRACTION), bf16);
        Map<Integer, Dataset> out = new LinkedHashMap<>();
        for (int f : fractions) out.put(f, new Dataset(tensors.get(f), outside.get(f), baseNorm));
        return out;
    }

    private static boolean sameBits(Object a, Object b) {
        if (a instanceof float[] x) {
            float[] y = (float[]) b;
            if (x.length != y.length) return false;
            for (int i = 0; i < x.length; i++) if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) return false;
            return true;
        }
        return Arrays.equals((short[]) a, (short[]) b);
    }

    /**
     * {@code generate --shapes SET --dtypes fp32,bf16,fp16 --out DIR [--threads N] [--verify true]}: writes
     * the cache (and then verifies it, as below).
     * {@code verify --shapes SET --dtypes ... --dir DIR}: loads every dataset from the cache and compares
     * it, bit for bit, with the in-memory generation of {@link Data#fill} (values, outside counts, norm).
     * The shape files come from -Dgradclip.bench.shapes.
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) usage();
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        String shapes = a.get("shapes");
        if (shapes == null || a.get("dtypes") == null) usage();
        long[] sizes = Data.sizes(shapes);
        List<String> dtypes = List.of(a.get("dtypes").split(","));
        List<Integer> fractions = Arrays.stream(Data.FRACTIONS).boxed().toList();
        long t0 = System.nanoTime();
        String mode = args[0];
        if (mode.equals("generate") && "true".equals(a.get("verify"))) {
            mode = "generate+verify";
            a.put("dir", a.getOrDefault("out", "."));
        }
        if (mode.equals("generate+verify")) {
            Path dir = Path.of(a.getOrDefault("out", "."));
            generate(shapes, sizes, dtypes, Data.FRACTIONS, dir, Runtime.getRuntime().availableProcessors());
            mode = "verify";
        }
        switch (mode) {
            case "generate" -> {
                Path dir = Path.of(a.getOrDefault("out", "."));
                int threads = Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
                generate(shapes, sizes, dtypes, Data.FRACTIONS, dir, threads);
                System.err.printf(Locale.ROOT, "[data] %s %s: %,d elements x %d datasets written to %s in %.1f s%n", shapes,
                        String.join(",", dtypes), Arrays.stream(sizes).sum(), fractions.size(), dir, (System.nanoTime() - t0) * 1e-9);
            }
            case "verify" -> {
                Path dir = Path.of(a.getOrDefault("dir", "."));
                for (String d : dtypes) {
                    Map<Integer, Dataset> cached = load(dir, shapes, sizes, d, fractions);
                    Map<Integer, Dataset> fresh = generateInMemory(sizes, d, fractions);
                    for (int f : fractions) {
                        Dataset c = cached.get(f), g = fresh.get(f);
                        for (int t = 0; t < sizes.length; t++) {
                            if (!sameBits(c.tensors()[t], g.tensors()[t])) {
                                throw new IllegalStateException("verify " + shapes + " " + d + " value-" + f + ": tensor " + t
                                        + " differs from Data.fill");
                            }
                        }
                        if (c.outside() != g.outside()) {
                            throw new IllegalStateException("verify " + shapes + " " + d + " value-" + f + ": outside "
                                    + c.outside() + " vs " + g.outside());
                        }
                    }
                    Dataset c = cached.values().iterator().next(), g = fresh.values().iterator().next();
                    if (Double.doubleToRawLongBits(c.baseNorm()) != Double.doubleToRawLongBits(g.baseNorm())) {
                        throw new IllegalStateException("verify " + shapes + " " + d + ": norm " + c.baseNorm() + " vs " + g.baseNorm());
                    }
                    System.out.printf(Locale.ROOT, "verify %s %s: %d datasets x %,d elements identical to Data.fill, norm %s%n",
                            shapes, d, fractions.size(), Arrays.stream(sizes).sum(), Double.toHexString(c.baseNorm()));
                }
            }
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: DataCache generate --shapes SET --dtypes fp32,bf16,fp16 --out DIR [--threads N] [--verify true]\n"
                + "       DataCache verify --shapes SET --dtypes fp32,bf16,fp16 --dir DIR   (-Dgradclip.bench.shapes=DIR)");
        System.exit(2);
    }
}
