package dev.gradclip.integration.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RegressionDataTest {

    /** A digest of every value's bits, in order. */
    private static long digest(RegressionData r) {
        long h = 1125899906842597L;
        for (float v : r.x()) h = 31 * h + Float.floatToRawIntBits(v);
        for (float v : r.y()) h = 31 * h + Float.floatToRawIntBits(v);
        return h;
    }

    /**
     * The values the demos' results were measured with: these digests were computed with the generator as it stood
     * in the DL4J demo ({@code Datasets.makeRegression} with target scale 1) and in the DJL and libtorch modules
     * before the three copies became this class.
     */
    @Test
    void sameValuesAsTheGeneratorTheDemosWereMeasuredWith() {
        assertEquals(DIGEST_50, digest(RegressionData.make(50, 30, 10, 0.1, 1)));
        assertEquals(DIGEST_1200, digest(RegressionData.make(1200, 30, 10, 0.1, 1)));
    }

    private static final long DIGEST_50 = 9119884593376096379L;
    private static final long DIGEST_1200 = 6340540423706591354L;

    @Test
    void deterministicPerSeed() {
        RegressionData a = RegressionData.make(200, 30, 10, 0.1, 1);
        RegressionData b = RegressionData.make(200, 30, 10, 0.1, 1);
        RegressionData c = RegressionData.make(200, 30, 10, 0.1, 2);
        assertArrayEquals(a.x(), b.x());
        assertArrayEquals(a.y(), b.y());
        assertFalse(Arrays.equals(a.y(), c.y()));
        assertEquals(200, a.n());
        assertEquals(30, a.d());
        assertEquals(200 * 30, a.x().length);
    }

    @Test
    void targetsAreAtTheirNaturalScale() {
        RegressionData r = RegressionData.make(5000, 30, 10, 0.1, 1);
        double mean = 0;
        for (float v : r.y()) mean += v;
        mean /= r.n();
        double var = 0;
        for (float v : r.y()) var += (v - mean) * (v - mean);
        double sd = Math.sqrt(var / r.n());
        // 10 coefficients 100·U(0,1): E[Σ c²] = 10 · 10^4 / 3, sd ≈ 183
        assertTrue(sd > 100 && sd < 300, "target sd " + sd);
        RegressionData none = RegressionData.make(100, 30, 0, 0.0, 1);
        for (float v : none.y()) assertEquals(0f, v, "no informative feature, no noise: y = 0");
    }

    @Test
    void rowRangesAreCopies() {
        RegressionData r = RegressionData.make(10, 3, 2, 0.1, 5);
        float[] x = r.features(8, 10);
        float[] y = r.targets(8, 10);
        assertArrayEquals(Arrays.copyOfRange(r.x(), 24, 30), x);
        assertArrayEquals(Arrays.copyOfRange(r.y(), 8, 10), y);
        x[0] = 12345f;
        assertFalse(r.x()[24] == 12345f);
        assertEquals(0, r.features(4, 4).length);
        assertThrows(IndexOutOfBoundsException.class, () -> r.features(9, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> r.targets(-1, 2));
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(-1, 30, 10, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(10, 0, 0, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(10, 3, 4, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(10, 3, 2, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(10, 3, 2, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> RegressionData.make(Integer.MAX_VALUE, 30, 10, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RegressionData(new float[5], new float[2], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new RegressionData(new float[6], new float[3], 2, 3));
        assertThrows(NullPointerException.class, () -> new RegressionData(null, new float[2], 2, 3));
    }
}
