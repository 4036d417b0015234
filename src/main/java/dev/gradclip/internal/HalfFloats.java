package dev.gradclip.internal;

/**
 * Exact conversions between fp32 and the 16-bit formats, round-to-nearest-even on narrowing
 * (the same rule as CUDA's {@code __float2half_rn} / {@code __float2bfloat16_rn}).
 * A NaN narrows to a quiet NaN keeping its sign and top payload bits.
 */
public final class HalfFloats {
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < (1 << 16); h++) {
            HALF_TO_FLOAT[h] = halfToFloatSlow((short) h);
        }
    }

    private HalfFloats() {
    }

    /** fp16 bits → fp32, exact (table lookup). */
    public static float halfToFloat(short h) {
        return HALF_TO_FLOAT[h & 0xffff];
    }

    private static float halfToFloatSlow(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0) {
            float v = m * 0x1p-24f; // exact: m < 2^10
            return (sign != 0) ? -v : v;
        }
        if (e == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }

    /** fp32 → fp16 bits, round to nearest, ties to even; overflow to ±∞. */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            if (abs == 0x7f800000) return (short) (sign | 0x7c00);
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        }
        if (abs >= 0x477ff000) { // >= 65520 rounds to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) { // normal fp16 range, >= 2^-14
            int h = ((((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff));
            int rem = abs & 0x1fff;
            if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
            return (short) (sign | h);
        }
        if (abs <= 0x33000000) { // <= 2^-25: rounds to zero (2^-25 is a tie, to even)
            return (short) sign;
        }
        int e = abs >>> 23;
        int m = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - e; // 14..24
        int h = m >>> shift;
        int rem = m & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (h & 1) != 0)) h++;
        return (short) (sign | h);
    }

    /** bf16 bits → fp32, exact. */
    public static float bfloat16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** fp32 → bf16 bits, round to nearest, ties to even. */
    public static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) { // NaN: keep it quiet
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** Rounds an fp64 bound to the value the storage type can hold (fp16/bf16 via fp32, RNE). */
    public static float roundToHalf(double v) {
        return halfToFloat(floatToHalf((float) v));
    }

    public static float roundToBfloat16(double v) {
        return bfloat16ToFloat(floatToBfloat16((float) v));
    }
}
