package dev.gradclip.cli.npz;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The .npy format (versions 1.0, 2.0 and 3.0): header parsing and writing, and the data bytes.
 *
 * <p>Reading accepts descrs {@code [<>=|]?f[248]}; {@code >} is big-endian and converted, the others
 * ({@code <}, and {@code =}, {@code |} or none, which numpy never writes for these types) are read as
 * little-endian. {@code fortran_order: True} data is converted to C order. Writing always produces
 * little-endian, C-order data with a version 1.0 header (2.0 when the header does not fit in 64 KiB),
 * padded exactly as numpy pads it, so an array written here has the bytes {@code np.save} writes.
 */
final class NpyFormat {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy aligns the data start to this many bytes. */
    static final int ARRAY_ALIGN = 64;
    /** numpy leaves room for this many digits in the growth axis (numpy >= 1.24). */
    static final int GROWTH_AXIS_MAX_DIGITS = 21;
    /** Headers larger than this are rejected (numpy's own default limit is 10,000). */
    static final int MAX_HEADER_BYTES = 1 << 20;
    private static final int CHUNK = 1 << 16;

    private NpyFormat() {
    }

    /** A problem with one .npy entry; the reader adds archive and entry names. */
    static final class FormatException extends Exception {
        private static final long serialVersionUID = 1L;

        FormatException(String message) {
            super(message);
        }
    }

    /** The parsed header. */
    static final class Header {
        final NpyDtype dtype;
        final boolean bigEndian;
        final boolean fortranOrder;
        final long[] shape;
        final int count;

        Header(NpyDtype dtype, boolean bigEndian, boolean fortranOrder, long[] shape, int count) {
            this.dtype = dtype;
            this.bigEndian = bigEndian;
            this.fortranOrder = fortranOrder;
            this.shape = shape;
            this.count = count;
        }
    }

    // ---------------------------------------------------------------- reading

    /**
     * Reads one .npy stream completely: header, data, and a check that nothing follows the data.
     *
     * @param declaredSize the uncompressed size the zip directory gives, or -1 if unknown; used to
     *     report truncation before allocating the array
     */
    static NamedArray read(String arrayName, InputStream in, long declaredSize) throws IOException, FormatException {
        byte[] pre = new byte[8];
        int got = readFully(in, pre, 0, 8);
        if (got < 6 || !startsWithMagic(pre)) {
            throw new FormatException("not an .npy file (bad magic; expected \\x93NUMPY)");
        }
        if (got < 8) {
            throw new FormatException("truncated header");
        }
        int major = pre[6] & 0xFF;
        int minor = pre[7] & 0xFF;
        int lenBytes;
        if (major == 1 && minor == 0) {
            lenBytes = 2;
        } else if ((major == 2 || major == 3) && minor == 0) {
            lenBytes = 4;
        } else {
            throw new FormatException("unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        byte[] lenBuf = new byte[lenBytes];
        if (readFully(in, lenBuf, 0, lenBytes) < lenBytes) {
            throw new FormatException("truncated header");
        }
        long headerLen = 0;
        for (int i = lenBytes - 1; i >= 0; i--) {
            headerLen = (headerLen << 8) | (lenBuf[i] & 0xFF);
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new FormatException("header of " + headerLen + " bytes is larger than the "
                    + MAX_HEADER_BYTES + "-byte limit");
        }
        byte[] headerBytes = new byte[(int) headerLen];
        if (readFully(in, headerBytes, 0, headerBytes.length) < headerBytes.length) {
            throw new FormatException("truncated header");
        }
        String text = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Header h = parseHeader(text);

        long dataBytes = (long) h.count * h.dtype.itemSize();
        long headerTotal = 8 + lenBytes + headerLen;
        if (declaredSize >= 0) {
            long available = declaredSize - headerTotal;
            if (available < dataBytes) {
                throw new FormatException("truncated data: shape " + NamedArray.shapeString(h.shape) + " of "
                        + h.dtype + " needs " + dataBytes + " bytes, the entry has " + Math.max(0, available));
            }
            if (available > dataBytes) {
                throw new FormatException((available - dataBytes) + " unexpected bytes after the data of shape "
                        + NamedArray.shapeString(h.shape));
            }
        }
        Object data = readData(in, h);
        if (in.read() != -1) {
            throw new FormatException("unexpected bytes after the data of shape " + NamedArray.shapeString(h.shape));
        }
        if (h.fortranOrder && h.shape.length > 1 && h.count > 0) {
            data = fortranToC(data, h.shape, h.count);
        }
        return NamedArray.wrap(arrayName, h.dtype, h.shape, data);
    }

    private static boolean startsWithMagic(byte[] b) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (b[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    static Header parseHeader(String text) throws FormatException {
        Object parsed;
        try {
            parsed = PyLiteral.parse(text);
        } catch (PyLiteral.ParseException e) {
            throw new FormatException("header does not parse (" + e.getMessage() + "): " + abbreviate(text));
        }
        if (!(parsed instanceof Map)) {
            throw new FormatException("header is not a dict: " + abbreviate(text));
        }
        Map<?, ?> dict = (Map<?, ?>) parsed;
        Set<String> keys = Set.of("descr", "fortran_order", "shape");
        if (!dict.keySet().equals(keys)) {
            throw new FormatException("header keys are " + dict.keySet()
                    + ", expected exactly [descr, fortran_order, shape]");
        }
        Object descr = dict.get("descr");
        if (!(descr instanceof String)) {
            throw new FormatException("structured (record) dtypes are not supported: descr " + abbreviate(PyLiteral.repr(descr)));
        }
        Object fortran = dict.get("fortran_order");
        if (!(fortran instanceof Boolean)) {
            throw new FormatException("fortran_order is not True or False");
        }
        Object shapeObj = dict.get("shape");
        List<?> dims;
        if (shapeObj instanceof PyLiteral.Tuple) {
            dims = ((PyLiteral.Tuple) shapeObj).items;
        } else {
            throw new FormatException("shape is not a tuple");
        }
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(dims.get(i) instanceof Long)) {
                throw new FormatException("shape has a non-integer dimension");
            }
            shape[i] = (Long) dims.get(i);
        }
        String d = (String) descr;
        boolean bigEndian = d.startsWith(">");
        NpyDtype dtype = parseDescr(d);
        long count;
        try {
            count = NamedArray.elementCount(shape);
        } catch (IllegalArgumentException e) {
            throw new FormatException(e.getMessage());
        }
        return new Header(dtype, bigEndian, (Boolean) fortran, shape, (int) count);
    }

    static NpyDtype parseDescr(String descr) throws FormatException {
        String body = descr;
        if (!body.isEmpty() && "<>=|".indexOf(body.charAt(0)) >= 0) {
            body = body.substring(1);
        }
        switch (body) {
            case "f2":
            case "e":
                return NpyDtype.FLOAT16;
            case "f4":
            case "f":
                return NpyDtype.FLOAT32;
            case "f8":
            case "d":
                return NpyDtype.FLOAT64;
            default:
                break;
        }
        String what;
        char kind = body.isEmpty() ? '?' : body.charAt(0);
        switch (kind) {
            case 'O':
                what = "object arrays (pickled Python objects) are not supported";
                break;
            case 'i':
            case 'u':
                what = "integer arrays are not supported";
                break;
            case 'c':
                what = "complex arrays are not supported";
                break;
            case 'b':
            case '?':
                what = "boolean arrays are not supported";
                break;
            case 'f':
                what = "this float width is not supported";
                break;
            default:
                what = "not a supported dtype";
                break;
        }
        throw new FormatException("dtype '" + descr + "': " + what + " (supported: float16, float32, float64)");
    }

    private static Object readData(InputStream in, Header h) throws IOException, FormatException {
        int n = h.count;
        int item = h.dtype.itemSize();
        ByteOrder order = h.bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        byte[] chunk = new byte[(int) Math.min(CHUNK, (long) n * item)];
        ByteBuffer bb = ByteBuffer.wrap(chunk).order(order);
        int perChunk = chunk.length / Math.max(1, item);
        Object data;
        switch (h.dtype) {
            case FLOAT16:
                data = new short[n];
                break;
            case FLOAT32:
                data = new float[n];
                break;
            default:
                data = new double[n];
                break;
        }
        int done = 0;
        while (done < n) {
            int k = Math.min(perChunk, n - done);
            int want = k * item;
            int got = readFully(in, chunk, 0, want);
            if (got < want) {
                long have = (long) done * item + got;
                throw new FormatException("truncated data: shape " + NamedArray.shapeString(h.shape) + " of "
                        + h.dtype + " needs " + ((long) n * item) + " bytes, the entry has " + have);
            }
            bb.clear();
            switch (h.dtype) {
                case FLOAT16:
                    bb.asShortBuffer().get((short[]) data, done, k);
                    break;
                case FLOAT32:
                    bb.asFloatBuffer().get((float[]) data, done, k);
                    break;
                default:
                    bb.asDoubleBuffer().get((double[]) data, done, k);
                    break;
            }
            done += k;
        }
        return data;
    }

    /** Reorders column-major data into row-major order for the same shape. */
    static Object fortranToC(Object src, long[] shape, int n) {
        int rank = shape.length;
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = (int) shape[i]; // n <= Integer.MAX_VALUE and no dimension is 0
        }
        long[] cStride = new long[rank];
        long s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            cStride[i] = s;
            s *= dims[i];
        }
        Object dst = java.lang.reflect.Array.newInstance(src.getClass().getComponentType(), n);
        int[] idx = new int[rank];
        int c = 0;
        for (int f = 0; f < n; f++) {
            // f walks the Fortran order (first index fastest); c is the same element's C offset
            if (src instanceof float[]) {
                ((float[]) dst)[c] = ((float[]) src)[f];
            } else if (src instanceof double[]) {
                ((double[]) dst)[c] = ((double[]) src)[f];
            } else {
                ((short[]) dst)[c] = ((short[]) src)[f];
            }
            for (int a = 0; a < rank; a++) {
                idx[a]++;
                c += (int) cStride[a];
                if (idx[a] < dims[a]) {
                    break;
                }
                c -= (int) (cStride[a] * dims[a]);
                idx[a] = 0;
            }
        }
        return dst;
    }

    /** Reads until {@code len} bytes or end of stream; returns the count read. */
    static int readFully(InputStream in, byte[] b, int off, int len) throws IOException {
        int total = 0;
        while (total < len) {
            int r;
            try {
                r = in.read(b, off + total, len - total);
            } catch (EOFException e) {
                // InflaterInputStream reports a cut-off deflate stream this way
                return total;
            }
            if (r < 0) {
                break;
            }
            total += r;
        }
        return total;
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() <= 200 ? t : t.substring(0, 200) + "...";
    }

    // ---------------------------------------------------------------- writing

    /** The full header (magic, version, length, dict, padding, newline) for a C-order little-endian array. */
    static byte[] header(NpyDtype dtype, long[] shape) {
        StringBuilder dict = new StringBuilder();
        dict.append("{'descr': '").append(dtype.littleEndianDescr()).append("', 'fortran_order': False, 'shape': ")
                .append(NamedArray.shapeString(shape)).append(", }");
        if (shape.length > 0) {
            int digits = Long.toString(shape[0]).length();
            dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - digits)));
        }
        byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        // version 1.0: 8 magic+version bytes, 2 length bytes; 2.0: 4 length bytes
        int major = 1;
        int prefix = 10;
        int hlen = text.length + 1;
        int pad = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
        if (hlen + pad > 0xFFFF) {
            major = 2;
            prefix = 12;
            pad = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
        }
        int total = hlen + pad;
        ByteBuffer out = ByteBuffer.allocate(prefix + total).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            out.putShort((short) total);
        } else {
            out.putInt(total);
        }
        out.put(text);
        for (int i = 0; i < pad; i++) {
            out.put((byte) ' ');
        }
        out.put((byte) '\n');
        return out.array();
    }

    /** Writes the whole .npy file for {@code a}: header and little-endian C-order data. */
    static void write(OutputStream os, NamedArray a) throws IOException {
        os.write(header(a.dtype(), a.shape()));
        Object data = a.rawData();
        int n = a.size();
        int item = a.dtype().itemSize();
        byte[] chunk = new byte[(int) Math.min(CHUNK, (long) n * item)];
        ByteBuffer bb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = chunk.length / item;
        for (int done = 0; done < n; ) {
            int k = Math.min(perChunk, n - done);
            bb.clear();
            if (data instanceof float[]) {
                bb.asFloatBuffer().put((float[]) data, done, k);
            } else if (data instanceof double[]) {
                bb.asDoubleBuffer().put((double[]) data, done, k);
            } else {
                bb.asShortBuffer().put((short[]) data, done, k);
            }
            os.write(chunk, 0, k * item);
            done += k;
        }
    }
}
