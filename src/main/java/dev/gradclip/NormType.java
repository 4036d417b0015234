package dev.gradclip;

import java.util.Locale;

/**
 * The p of a p-norm: {@code ‖x‖_p = (Σ|x_i|^p)^(1/p)}, with {@code ‖x‖_∞ = max|x_i|}.
 *
 * @param p a real number > 0, or {@link Double#POSITIVE_INFINITY}
 */
public record NormType(double p) {
    public static final NormType L1 = new NormType(1.0);
    public static final NormType L2 = new NormType(2.0);
    public static final NormType INF = new NormType(Double.POSITIVE_INFINITY);

    public NormType {
        if (Double.isNaN(p) || p <= 0.0) {
            throw new IllegalArgumentException("norm type p must be > 0 (or infinity), got " + p);
        }
    }

    /** The norm type for p; 1, 2 and ∞ return the shared constants. */
    public static NormType of(double p) {
        if (p == 1.0) return L1;
        if (p == 2.0) return L2;
        if (p == Double.POSITIVE_INFINITY) return INF;
        return new NormType(p);
    }

    /** Parses "1", "2", "inf" (or "infinity"), or any real number > 0. */
    public static NormType parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity") || t.equals("+inf")) {
            return INF;
        }
        double p;
        try {
            p = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("norm type must be 1, 2, inf or a real number > 0, got '" + text + "'");
        }
        return of(p);
    }

    public boolean isInfinity() {
        return p == Double.POSITIVE_INFINITY;
    }

    /** The norm from the canonical sum S: S for p = 1 and ∞, sqrt(S) for p = 2, S^(1/p) otherwise. */
    public double normFromSum(double sum) {
        if (p == 1.0 || isInfinity()) return sum;
        if (p == 2.0) return Math.sqrt(sum);
        return Math.pow(sum, 1.0 / p);
    }

    @Override
    public String toString() {
        if (isInfinity()) return "inf";
        // integral p below 2^53 prints as an integer ("2", "3"); larger ones (where a long would saturate
        // at 9223372036854775807 from 2^63 on) print as the double they are ("1.0E308")
        return p == Math.rint(p) && p < 0x1p53 ? Long.toString((long) p) : Double.toString(p);
    }
}
