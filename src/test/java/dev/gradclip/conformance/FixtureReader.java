package dev.gradclip.conformance;

import dev.gradclip.testing.MiniJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * Loads the conformance fixtures under {@code src/test/resources/fixtures/} (written by
 * {@code scripts/fixtures/make_fixtures.py}) into immutable Java objects. JDK only.
 *
 * <p>In the files every number is the hex string of its bit pattern in its dtype (fp16 {@code "3c00"},
 * fp32 {@code "3f800000"}, fp64 16 hex digits), so values round-trip exactly, NaN payloads, signed
 * zeros and subnormals included. Norms ({@code total_norm}, {@code tensor_norms}, {@code clip_coef})
 * and float parameters ({@code max_norm}, {@code clip_value}, {@code min}, {@code max}) are float64
 * bits. Files ending in {@code .json.gz} are gzip-compressed JSON.
 */
public final class FixtureReader {
    private FixtureReader() {
    }

    /** Storage type of a fixture's tensors. */
    public enum DType {
        FLOAT16("float16", 4), FLOAT32("float32", 8), FLOAT64("float64", 16);

        private final String jsonName;
        private final int hexDigits;

        DType(String jsonName, int hexDigits) {
            this.jsonName = jsonName;
            this.hexDigits = hexDigits;
        }

        /** The name used in the JSON files ("float16", "float32", "float64"). */
        public String jsonName() {
            return jsonName;
        }

        /** Hex digits of one encoded element. */
        public int hexDigits() {
            return hexDigits;
        }

        public static DType of(String jsonName) {
            for (DType d : values()) {
                if (d.jsonName.equals(jsonName)) {
                    return d;
                }
            }
            throw new IllegalArgumentException("unknown dtype " + jsonName);
        }
    }

    /**
     * One tensor's elements as stored bit patterns ({@code short[]} for fp16, {@code int[]} for fp32,
     * {@code long[]} for fp64), immutable; accessors return copies.
     */
    public static final class Values {
        private final DType dtype;
        private final short[] b16;
        private final int[] b32;
        private final long[] b64;

        private Values(DType dtype, short[] b16, int[] b32, long[] b64) {
            this.dtype = dtype;
            this.b16 = b16;
            this.b32 = b32;
            this.b64 = b64;
        }

        static Values decode(DType dtype, List<?> hex, String where) {
            int n = hex.size();
            switch (dtype) {
                case FLOAT16: {
                    short[] a = new short[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = (short) parseHex(hex.get(i), 4, where);
                    }
                    return new Values(dtype, a, null, null);
                }
                case FLOAT32: {
                    int[] a = new int[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = (int) parseHex(hex.get(i), 8, where);
                    }
                    return new Values(dtype, null, a, null);
                }
                default: {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = parseHex(hex.get(i), 16, where);
                    }
                    return new Values(dtype, null, null, a);
                }
            }
        }

        public DType dtype() {
            return dtype;
        }

        public int length() {
            return dtype == DType.FLOAT16 ? b16.length : dtype == DType.FLOAT32 ? b32.length : b64.length;
        }

        /** fp16 bit patterns (dtype float16 only). */
        public short[] f16() {
            require(DType.FLOAT16);
            return b16.clone();
        }

        /** fp32 values (dtype float32 only); {@link Float#intBitsToFloat} of the stored bits. */
        public float[] f32() {
            require(DType.FLOAT32);
            float[] r = new float[b32.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = Float.intBitsToFloat(b32[i]);
            }
            return r;
        }

        /** fp32 bit patterns (dtype float32 only), exactly as in the file. */
        public int[] bits32() {
            require(DType.FLOAT32);
            return b32.clone();
        }

        /** fp64 values (dtype float64 only). */
        public double[] f64() {
            require(DType.FLOAT64);
            double[] r = new double[b64.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = Double.longBitsToDouble(b64[i]);
            }
            return r;
        }

        /** fp64 bit patterns (dtype float64 only), exactly as in the file. */
        public long[] bits64() {
            require(DType.FLOAT64);
            return b64.clone();
        }

        /** Bit pattern of element i, zero-extended (fp16 in the low 16 bits, fp32 in the low 32). */
        public long rawBits(int i) {
            switch (dtype) {
                case FLOAT16:
                    return b16[i] & 0xFFFFL;
                case FLOAT32:
                    return b32[i] & 0xFFFFFFFFL;
                default:
                    return b64[i];
            }
        }

        /** Element i widened exactly to double (fp16 and fp32 widen exactly). */
        public double get(int i) {
            switch (dtype) {
                case FLOAT16:
                    return halfToFloat(b16[i]);
                case FLOAT32:
                    return Float.intBitsToFloat(b32[i]);
                default:
                    return Double.longBitsToDouble(b64[i]);
            }
        }

        /** All elements widened exactly to double. */
        public double[] widened() {
            double[] r = new double[length()];
            for (int i = 0; i < r.length; i++) {
                r[i] = get(i);
            }
            return r;
        }

        private void require(DType d) {
            if (dtype != d) {
                throw new IllegalStateException("values are " + dtype.jsonName() + ", not " + d.jsonName());
            }
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Values)) {
                return false;
            }
            Values v = (Values) o;
            return dtype == v.dtype && Arrays.equals(b16, v.b16) && Arrays.equals(b32, v.b32)
                    && Arrays.equals(b64, v.b64);
        }

        @Override
        public int hashCode() {
            return Objects.hash(dtype, Arrays.hashCode(b16), Arrays.hashCode(b32), Arrays.hashCode(b64));
        }

        @Override
        public String toString() {
            return dtype.jsonName() + "[" + length() + "]";
        }
    }

    /** One case of a fixture file. */
    public static final class Fixture {
        private final String name;
        private final String source;
        private final String op;
        private final Map<String, Object> params;
        private final DType dtype;
        private final List<Values> inputs;
        private final List<Values> outputs;
        private final Double totalNorm;
        private final double[] tensorNorms;
        private final boolean raised;
        private final String note;
        private final Double clipCoef;
        private final String error;
        private final String errorKind;
        private final List<Values> peerOutputs;
        private final String peerNote;

        private Fixture(Map<String, Object> m, String where) {
            this.name = str(m, "name", where, true);
            String w = where + " case " + name;
            this.source = str(m, "source", w, true);
            this.op = str(m, "op", w, true);
            this.dtype = DType.of(str(m, "dtype", w, true));
            this.params = decodeParams(obj(m.get("params"), Map.class, w + " params"), w);
            this.inputs = decodeTensors(m.get("inputs"), dtype, w + " inputs");
            this.outputs = m.containsKey("outputs") ? decodeTensors(m.get("outputs"), dtype, w + " outputs") : null;
            this.totalNorm = hexDouble(m.get("total_norm"), w + " total_norm");
            Object tn = m.get("tensor_norms");
            if (tn == null) {
                this.tensorNorms = null;
            } else {
                List<?> l = obj(tn, List.class, w + " tensor_norms");
                double[] a = new double[l.size()];
                for (int i = 0; i < a.length; i++) {
                    a[i] = Double.longBitsToDouble(parseHex(l.get(i), 16, w + " tensor_norms"));
                }
                this.tensorNorms = a;
            }
            this.raised = obj(m.get("raised"), Boolean.class, w + " raised");
            this.note = str(m, "note", w, true);
            this.clipCoef = hexDouble(m.get("clip_coef"), w + " clip_coef");
            this.error = str(m, "error", w, false);
            this.errorKind = str(m, "error_kind", w, false);
            this.peerOutputs = m.containsKey("peer_outputs")
                    ? decodeTensors(m.get("peer_outputs"), dtype, w + " peer_outputs") : null;
            this.peerNote = str(m, "peer_note", w, false);
            if (raised == (outputs != null) && !"norms".equals(op)) {
                throw new IllegalArgumentException(w + ": outputs must be present exactly when nothing was raised");
            }
            if (outputs != null && outputs.size() != inputs.size()) {
                throw new IllegalArgumentException(w + ": " + outputs.size() + " outputs for " + inputs.size() + " inputs");
            }
            if (outputs != null) {
                for (int t = 0; t < inputs.size(); t++) {
                    if (outputs.get(t).length() != inputs.get(t).length()) {
                        throw new IllegalArgumentException(w + ": output " + t + " has another length than its input");
                    }
                }
            }
        }

        public String name() {
            return name;
        }

        /** "torch" (run through the real torch) or "formula" (float64-exact formula). */
        public String source() {
            return source;
        }

        public String op() {
            return op;
        }

        /**
         * Parameters: float parameters as {@code Double} (decoded from float64 bits), {@code norm_type}
         * as {@code Double} (1, 2, 3 or +infinity), flags as {@code Boolean}.
         */
        public Map<String, Object> params() {
            return params;
        }

        public boolean hasParam(String key) {
            return params.containsKey(key);
        }

        /** A float parameter (max_norm, clip_value, min, max) or norm_type, as a double. */
        public double param(String key) {
            Object v = params.get(key);
            if (!(v instanceof Double)) {
                throw new IllegalArgumentException(name + ": no numeric parameter " + key);
            }
            return (Double) v;
        }

        /** A boolean parameter; false when absent. */
        public boolean flag(String key) {
            Object v = params.get(key);
            return v instanceof Boolean && (Boolean) v;
        }

        /** norm_type as a double: 1, 2, 3 or {@link Double#POSITIVE_INFINITY}. */
        public double normType() {
            return param("norm_type");
        }

        public DType dtype() {
            return dtype;
        }

        public List<Values> inputs() {
            return inputs;
        }

        /** The outputs, or null when the operation raised (or for "norms" cases, which have none). */
        public List<Values> outputs() {
            return outputs;
        }

        /** The total norm (float64), or null (raised, per-tensor ops, value clipping). */
        public Double totalNorm() {
            return totalNorm;
        }

        /** Per-tensor norms (float64), or null when absent. */
        public double[] tensorNorms() {
            return tensorNorms == null ? null : tensorNorms.clone();
        }

        public boolean raised() {
            return raised;
        }

        public String note() {
            return note;
        }

        /** torch's clip coefficient widened to float64 (torch clip_grad_norm cases), or null. */
        public Double clipCoef() {
            return clipCoef;
        }

        /** torch's error message when it raised, or null. */
        public String error() {
            return error;
        }

        /**
         * Why it raised: "nonfinite" (error_if_nonfinite with a non-finite total norm) or
         * "torch_limitation" (torch itself cannot compute it, e.g. the inf norm of an empty tensor); null
         * when nothing was raised.
         */
        public String errorKind() {
            return errorKind;
        }

        /**
         * For formula cases with non-finite norms: what the peer's literal float64 formula gives
         * (the library follows the documented semantics in {@link #outputs()} instead); else null.
         */
        public List<Values> peerOutputs() {
            return peerOutputs;
        }

        public String peerNote() {
            return peerNote;
        }

        @Override
        public String toString() {
            return source + "/" + op + "/" + name;
        }
    }

    /** One fixture file. */
    public static final class FixtureFile {
        private final String resource;
        private final String generator;
        private final String torchVersion;
        private final List<Fixture> cases;
        private final List<Map<String, Object>> notRun;

        private FixtureFile(String resource, Map<String, Object> m) {
            this.resource = resource;
            this.generator = str(m, "generator", resource, true);
            this.torchVersion = str(m, "torch_version", resource, true);
            List<?> cs = obj(m.get("cases"), List.class, resource + " cases");
            List<Fixture> out = new ArrayList<>(cs.size());
            for (Object c : cs) {
                out.add(new Fixture(asMap(c, resource), resource));
            }
            this.cases = Collections.unmodifiableList(out);
            List<Map<String, Object>> nr = new ArrayList<>();
            Object n = m.get("not_run");
            if (n != null) {
                for (Object o : obj(n, List.class, resource + " not_run")) {
                    nr.add(asMap(o, resource));
                }
            }
            this.notRun = Collections.unmodifiableList(nr);
        }

        public String resource() {
            return resource;
        }

        public String generator() {
            return generator;
        }

        public String torchVersion() {
            return torchVersion;
        }

        public List<Fixture> cases() {
            return cases;
        }

        /** Cases torch could not run at all (e.g. fp16 clamp on CPU): name, op, dtype, error. */
        public List<Map<String, Object>> notRun() {
            return notRun;
        }

        public Fixture get(String name) {
            for (Fixture f : cases) {
                if (f.name().equals(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException(resource + ": no case " + name);
        }
    }

    /** The fixture files, relative to {@code /fixtures/}, as listed in {@code /fixtures/index.txt}. */
    public static List<String> index() {
        String text = new String(readResource("/fixtures/index.txt"), StandardCharsets.US_ASCII);
        List<String> r = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                r.add(line.strip());
            }
        }
        return Collections.unmodifiableList(r);
    }

    /**
     * Loads one file from the test classpath: {@code load("/fixtures/torch/clamp.json")}, or a path
     * relative to {@code /fixtures/} such as {@code "torch/clamp.json"}.
     */
    public static FixtureFile load(String resource) {
        String path = resource.startsWith("/") ? resource : "/fixtures/" + resource;
        byte[] raw = readResource(path);
        if (path.endsWith(".gz")) {
            try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
                raw = in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(path, e);
            }
        }
        Object root = MiniJson.parse(new String(raw, StandardCharsets.UTF_8));
        return new FixtureFile(path, asMap(root, path));
    }

    /** Every file of the index, loaded. */
    public static List<FixtureFile> loadAll() {
        List<FixtureFile> r = new ArrayList<>();
        for (String f : index()) {
            r.add(load(f));
        }
        return Collections.unmodifiableList(r);
    }

    // ---------------------------------------------------------------------------------------------
    // fp16 helpers (Java 17 has no Float.float16ToFloat)

    /** Exact widening of an IEEE binary16 bit pattern to float (NaN payloads kept in the high bits). */
    public static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** Rounds a float to binary16, round-to-nearest-even (overflow to infinity; NaN stays NaN). */
    public static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int exp = (x >>> 23) & 0xFF;
        int mant = x & 0x7FFFFF;
        if (exp == 0xFF) {
            if (mant == 0) {
                return (short) (sign | 0x7C00);
            }
            return (short) (sign | 0x7C00 | 0x200 | (mant >>> 13)); // quiet NaN, payload's high bits
        }
        int e = exp - 127 + 15; // biased fp16 exponent
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign; // below half the smallest subnormal: rounds to zero
            }
            int m = mant | 0x800000; // implicit bit
            int shift = 14 - e; // 24-bit significand -> subnormal quantum 2^-24
            int q = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (q & 1) != 0)) {
                q++;
            }
            return (short) (sign | q);
        }
        int q = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (q & 1) != 0)) {
            q++; // may carry into the exponent, up to infinity: correct
        }
        return (short) (sign | q);
    }

    // ---------------------------------------------------------------------------------------------

    private static byte[] readResource(String path) {
        try (InputStream in = FixtureReader.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("fixture resource not found on the test classpath: " + path);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(path, e);
        }
    }

    static long parseHex(Object o, int digits, String where) {
        if (!(o instanceof String) || ((String) o).length() != digits) {
            throw new IllegalArgumentException(where + ": expected " + digits + " hex digits, got " + o);
        }
        String s = (String) o;
        long v = 0;
        for (int i = 0; i < digits; i++) {
            int d = Character.digit(s.charAt(i), 16);
            if (d < 0) {
                throw new IllegalArgumentException(where + ": not hex: " + s);
            }
            v = (v << 4) | d;
        }
        return v;
    }

    private static Double hexDouble(Object o, String where) {
        return o == null ? null : Double.longBitsToDouble(parseHex(o, 16, where));
    }

    private static List<Values> decodeTensors(Object o, DType dtype, String where) {
        List<?> l = obj(o, List.class, where);
        List<Values> r = new ArrayList<>(l.size());
        for (int t = 0; t < l.size(); t++) {
            r.add(Values.decode(dtype, obj(l.get(t), List.class, where + "[" + t + "]"), where + "[" + t + "]"));
        }
        return Collections.unmodifiableList(r);
    }

    private static Map<String, Object> decodeParams(Map<?, ?> raw, String where) {
        Map<String, Object> r = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : raw.entrySet()) {
            String k = (String) e.getKey();
            Object v = e.getValue();
            if ("norm_type".equals(k)) {
                if ("inf".equals(v)) {
                    v = Double.POSITIVE_INFINITY;
                } else if (v instanceof Number) {
                    v = ((Number) v).doubleValue();
                } else {
                    throw new IllegalArgumentException(where + ": bad norm_type " + v);
                }
            } else if (v instanceof String && ((String) v).length() == 16) {
                v = Double.longBitsToDouble(parseHex(v, 16, where + " params." + k));
            } else if (v instanceof Number) {
                v = ((Number) v).doubleValue();
            }
            r.put(k, v);
        }
        return Collections.unmodifiableMap(r);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o, String where) {
        return (Map<String, Object>) obj(o, Map.class, where);
    }

    private static <T> T obj(Object o, Class<T> type, String where) {
        if (!type.isInstance(o)) {
            throw new IllegalArgumentException(where + ": expected " + type.getSimpleName() + ", got "
                    + (o == null ? "null" : o.getClass().getSimpleName()));
        }
        return type.cast(o);
    }

    private static String str(Map<String, Object> m, String key, String where, boolean required) {
        Object v = m.get(key);
        if (v == null) {
            if (required) {
                throw new IllegalArgumentException(where + ": missing " + key);
            }
            return null;
        }
        return obj(v, String.class, where + " " + key);
    }
}
