package dev.gradclip.policy;

import dev.gradclip.DType;
import dev.gradclip.Tensor;
import dev.gradclip.internal.HalfFloats;
import java.util.Random;

/** Test helper: buffers of one dtype, read and written as doubles, compared as raw bits. */
final class Dtypes {
    private Dtypes() {
    }

    /** An array of {@code dtype} holding {@code v} rounded to it. */
    static Object of(DType dtype, double[] v) {
        switch (dtype) {
            case FLOAT32: {
                float[] a = new float[v.length];
                for (int i = 0; i < v.length; i++) a[i] = (float) v[i];
                return a;
            }
            case FLOAT64:
                return v.clone();
            case FLOAT16: {
                short[] a = new short[v.length];
                for (int i = 0; i < v.length; i++) a[i] = HalfFloats.floatToHalf(HalfFloats.roundToHalf(v[i]));
                return a;
            }
            default: {
                short[] a = new short[v.length];
                for (int i = 0; i < v.length; i++) a[i] = HalfFloats.floatToBfloat16(HalfFloats.roundToBfloat16(v[i]));
                return a;
            }
        }
    }

    /** An array of {@code dtype} holding the raw bit patterns {@code hex} (16, 8 or 4 hex digits per element). */
    static Object ofBits(DType dtype, java.util.List<Object> hex) {
        int n = hex.size();
        switch (dtype) {
            case FLOAT32: {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = Float.intBitsToFloat(Integer.parseUnsignedInt((String) hex.get(i), 16));
                return a;
            }
            case FLOAT64: {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = Double.longBitsToDouble(Long.parseUnsignedLong((String) hex.get(i), 16));
                return a;
            }
            default: {
                short[] a = new short[n];
                for (int i = 0; i < n; i++) a[i] = (short) Integer.parseInt((String) hex.get(i), 16);
                return a;
            }
        }
    }

    /** The raw bytes of an array of {@code dtype}, little-endian (what a fixture script hashes). */
    static byte[] littleEndianBytes(DType dtype, Object a) {
        int n = length(a);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(n * dtype.byteSize()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (dtype) {
                case FLOAT32: b.putInt((int) bits(dtype, a, i)); break;
                case FLOAT64: b.putLong(bits(dtype, a, i)); break;
                default: b.putShort((short) bits(dtype, a, i)); break;
            }
        }
        return b.array();
    }

    static Tensor tensor(DType dtype, Object a) {
        if (a instanceof float[]) return Tensor.of((float[]) a);
        if (a instanceof double[]) return Tensor.of((double[]) a);
        return Tensor.of((short[]) a, dtype);
    }

    static double get(DType dtype, Object a, int i) {
        switch (dtype) {
            case FLOAT32: return ((float[]) a)[i];
            case FLOAT64: return ((double[]) a)[i];
            case FLOAT16: return HalfFloats.halfToFloat(((short[]) a)[i]);
            default: return HalfFloats.bfloat16ToFloat(((short[]) a)[i]);
        }
    }

    static long bits(DType dtype, Object a, int i) {
        switch (dtype) {
            case FLOAT32: return Float.floatToRawIntBits(((float[]) a)[i]);
            case FLOAT64: return Double.doubleToRawLongBits(((double[]) a)[i]);
            default: return ((short[]) a)[i] & 0xffff;
        }
    }

    static int length(Object a) {
        if (a instanceof float[]) return ((float[]) a).length;
        if (a instanceof double[]) return ((double[]) a).length;
        return ((short[]) a).length;
    }

    static Object copy(Object a) {
        if (a instanceof float[]) return ((float[]) a).clone();
        if (a instanceof double[]) return ((double[]) a).clone();
        return ((short[]) a).clone();
    }

    /**
     * The distance in ulps (of the storage type) between a stored value {@code x} and {@code expected}
     * rounded to the storage type: 0 when equal, 1 for neighbours.
     */
    static long ulps(DType dtype, double x, double expected) {
        Object e = of(dtype, new double[] {expected});
        Object v = of(dtype, new double[] {x});
        return Math.abs(ordered(dtype, bits(dtype, v, 0)) - ordered(dtype, bits(dtype, e, 0)));
    }

    /** The distance in ulps of the storage type between two raw bit patterns of it (0: the same value or ±0). */
    static long ulpsBetweenBits(DType dtype, long a, long b) {
        return Math.abs(ordered(dtype, a) - ordered(dtype, b));
    }

    /** Maps raw bits to integers ordered like the values (sign-magnitude to two's complement). */
    private static long ordered(DType dtype, long bits) {
        long sign;
        long mag;
        switch (dtype) {
            case FLOAT64: sign = bits >>> 63; mag = bits & Long.MAX_VALUE; break;
            case FLOAT32: sign = (bits >>> 31) & 1; mag = bits & 0x7fffffffL; break;
            default: sign = (bits >>> 15) & 1; mag = bits & 0x7fffL; break;
        }
        return sign == 1 ? -mag : mag;
    }

    static void assertSameBits(DType dtype, Object want, Object got, String where) {
        int n = length(want);
        for (int i = 0; i < n; i++) {
            if (bits(dtype, want, i) != bits(dtype, got, i)) {
                throw new AssertionError(where + ": element " + i + " differs: " + Long.toHexString(bits(dtype, want, i)) + " vs "
                        + Long.toHexString(bits(dtype, got, i)) + " (" + get(dtype, want, i) + " vs " + get(dtype, got, i) + ")");
            }
        }
    }

    static double[] gaussian(Random r, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian() * scale;
        return v;
    }
}
