package dev.gradclip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    /** Every fp16 value widens exactly and narrows back to itself (NaNs stay NaN). */
    @Test
    void everyHalfRoundTrips() {
        for (int h = 0; h < 65536; h++) {
            float f = HalfFloats.halfToFloat((short) h);
            short back = HalfFloats.floatToHalf(f);
            if (Float.isNaN(f)) {
                assertTrue((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0, "NaN stays NaN: " + Integer.toHexString(h));
            } else {
                assertEquals((short) h, back, "fp16 0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void everyBfloat16RoundTrips() {
        for (int h = 0; h < 65536; h++) {
            float f = HalfFloats.bfloat16ToFloat((short) h);
            short back = HalfFloats.floatToBfloat16(f);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(HalfFloats.bfloat16ToFloat(back)));
            } else {
                assertEquals((short) h, back, "bf16 0x" + Integer.toHexString(h));
            }
        }
    }

    /** Narrowing is round-to-nearest-even against an exact BigDecimal reference, over random and edge floats. */
    @Test
    void narrowingIsRoundToNearestEven() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f)) continue;
            checkHalf(f);
            checkBfloat(f);
        }
        // ties and boundaries: midpoints between adjacent halves, the overflow threshold, subnormals
        for (int h = 0; h < 0x7c00; h++) {
            float a = HalfFloats.halfToFloat((short) h);
            float b = HalfFloats.halfToFloat((short) (h + 1));
            float mid = (float) (((double) a + (double) b) / 2);
            checkHalf(mid);
            checkHalf(-mid);
            checkHalf(Math.nextUp(mid));
            checkHalf(Math.nextDown(mid));
        }
        checkHalf(65504f);
        checkHalf(65519.99f);
        checkHalf(65520f);
        checkHalf(0x1p-25f);
        checkHalf(Math.nextUp(0x1p-25f));
        checkHalf(0x1p-24f * 1.5f);
    }

    private static void checkHalf(float f) {
        short got = HalfFloats.floatToHalf(f);
        assertEquals(nearestEven(f, true), got, () -> "fp16 of " + f);
    }

    private static void checkBfloat(float f) {
        short got = HalfFloats.floatToBfloat16(f);
        assertEquals(nearestEven(f, false), got, () -> "bf16 of " + f);
    }

    /** Exhaustive nearest-even search over the 16-bit format's finite values (slow, exact). */
    private static short nearestEven(float f, boolean half) {
        if (Float.isInfinite(f)) return (short) (f > 0 ? (half ? 0x7c00 : 0x7f80) : (half ? 0xfc00 : 0xff80));
        BigDecimal x = new BigDecimal(Math.abs(f));
        int sign = (Float.floatToRawIntBits(f) < 0) ? 0x8000 : 0;
        int maxFinite = half ? 0x7bff : 0x7f7f;
        // binary search for the largest magnitude code <= x
        int lo = 0, hi = maxFinite;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (value(mid, half).compareTo(x) <= 0) lo = mid;
            else hi = mid - 1;
        }
        int below = lo;
        BigDecimal vb = value(below, half);
        if (vb.compareTo(x) == 0) return (short) (sign | below);
        BigDecimal va = below == maxFinite ? value(maxFinite, half).add(ulp(maxFinite, half)) : value(below + 1, half);
        int cmp = x.subtract(vb).compareTo(va.subtract(x));
        int code;
        if (cmp < 0) code = below;
        else if (cmp > 0) code = below + 1;
        else code = (below & 1) == 0 ? below : below + 1;
        if (code > maxFinite) code = half ? 0x7c00 : 0x7f80;
        return (short) (sign | code);
    }

    private static BigDecimal value(int code, boolean half) {
        float f = half ? HalfFloats.halfToFloat((short) code) : HalfFloats.bfloat16ToFloat((short) code);
        return new BigDecimal(f);
    }

    private static BigDecimal ulp(int code, boolean half) {
        return value(code, half).subtract(value(code - 1, half));
    }
}
