package dev.gradclip;

import java.math.BigDecimal;
import java.math.MathContext;

/** Float64-or-better truth for tests: exact sums in BigDecimal, one rounding at the end. */
public final class Truth {
    public static final MathContext MC = new MathContext(50);

    private Truth() {
    }

    /** Exact Σx² of the given values, as BigDecimal. */
    public static BigDecimal sumSquares(double[]... tensors) {
        BigDecimal s = BigDecimal.ZERO;
        for (double[] t : tensors) {
            for (double x : t) {
                BigDecimal b = new BigDecimal(x);
                s = s.add(b.multiply(b));
            }
        }
        return s;
    }

    /** The L2 norm of the concatenated values, correctly rounded to fp64 (finite inputs only). */
    public static double l2(double[]... tensors) {
        return sumSquares(tensors).sqrt(MC).doubleValue();
    }

    public static double l1(double[]... tensors) {
        BigDecimal s = BigDecimal.ZERO;
        for (double[] t : tensors) for (double x : t) s = s.add(new BigDecimal(Math.abs(x)));
        return s.doubleValue();
    }

    public static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /** {@code x · scale} rounded once to fp32, the float64-exact scaling an output is compared with. */
    public static float scaledExactly(float x, double scale) {
        return new BigDecimal(x).multiply(new BigDecimal(scale)).floatValue();
    }

    /** Distance in ulps between two floats of the same sign (NaN equal to NaN). */
    public static long ulpDistance(float a, float b) {
        if (Float.isNaN(a) && Float.isNaN(b)) return 0;
        int ia = Float.floatToRawIntBits(a);
        int ib = Float.floatToRawIntBits(b);
        if (ia < 0) ia = Integer.MIN_VALUE - ia;
        if (ib < 0) ib = Integer.MIN_VALUE - ib;
        return Math.abs((long) ia - (long) ib);
    }

    public static double relativeError(double got, double truth) {
        if (got == truth) return 0;
        return Math.abs(got - truth) / Math.abs(truth);
    }
}
