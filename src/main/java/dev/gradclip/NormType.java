package dev.gradclip;

import java.util.Locale;
import java.util.Objects;

/**
 * The p of a p-norm: {@code ‖x‖_p = (Σ|x_i|^p)^(1/p)}, with {@code ‖x‖_∞ = max|x_i|}.
 *
 * @param p a real number > 0, or {@link Double#POSITIVE_INFINITY}
 */
public record NormType(double p) {
    /** p = 1: {@code ‖x‖_1 = Σ|x_i|}. */
    public static final NormType L1 = new NormType(1.0);
    /** p = 2, the Euclidean norm: {@code ‖x‖_2 = √(Σ x_i²)}; the default of every clip by norm. */
    public static final NormType L2 = new NormType(2.0);
    /** p = ∞: {@code ‖x‖_∞ = max|x_i|} (NaN if any element is NaN). */
    public static final NormType INF = new NormType(Double.POSITIVE_INFINITY);

    /**
     * Checks p.
     *
     * @param p a real number &gt; 0, or {@link Double#POSITIVE_INFINITY}
     * @throws IllegalArgumentException if {@code p} is NaN, zero or negative
     */
    public NormType {
        if (Double.isNaN(p) || p <= 0.0) {
            throw new IllegalArgumentException("norm type p must be > 0 (or infinity), got " + p);
        }
    }

    /**
     * The norm type for p; 1, 2 and ∞ return the shared constants {@link #L1}, {@link #L2}, {@link #INF}.
     *
     * @param p a real number &gt; 0, or {@link Double#POSITIVE_INFINITY}
     * @return the norm type of p
     * @throws IllegalArgumentException if {@code p} is NaN, zero or negative
     */
    public static NormType of(double p) {
        if (p == 1.0) return L1;
        if (p == 2.0) return L2;
        if (p == Double.POSITIVE_INFINITY) return INF;
        return new NormType(p);
    }

    /**
     * Parses the spelling of the command line and of {@link #toString()}: "inf", "infinity" or "+inf" (any
     * case), or a decimal number &gt; 0 as {@link Double#parseDouble} reads it; surrounding white space is ignored.
     *
     * @param text the p to parse, for example "1", "2", "inf" or "3.5"
     * @return the norm type of that p (a shared constant for 1, 2 and ∞)
     * @throws IllegalArgumentException if {@code text} is not a number, or is NaN, zero or negative
     * @throws NullPointerException if {@code text} is null
     */
    public static NormType parse(String text) {
        Objects.requireNonNull(text, "text is null");
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

    /** {@return whether p is +∞ (the max norm)} */
    public boolean isInfinity() {
        return p == Double.POSITIVE_INFINITY;
    }

    /**
     * The norm from a canonical sum (docs/canonical-reduction.md), in fp64.
     *
     * @param sum S: the sum of {@code |x|} (p = 1), of {@code x²} (p = 2) or of {@code |x|^p}, or the
     *     maximum of {@code |x|} (p = ∞)
     * @return S for p = 1 and ∞, {@code Math.sqrt(S)} for p = 2, {@code Math.pow(S, 1/p)} otherwise
     */
    public double normFromSum(double sum) {
        if (p == 1.0 || isInfinity()) return sum;
        if (p == 2.0) return Math.sqrt(sum);
        return Math.pow(sum, 1.0 / p);
    }

    /**
     * {@return p as {@link #parse} reads it back} It is "inf" for ∞, an integer without a fraction for an integral
     * p below 2^53 ("2"), otherwise {@link Double#toString(double)} ("1.5", "1.0E308").
     */
    @Override
    public String toString() {
        if (isInfinity()) return "inf";
        // integral p below 2^53 prints as an integer ("2", "3"); larger ones (where a long would saturate
        // at 9223372036854775807 from 2^63 on) print as the double they are ("1.0E308")
        return p == Math.rint(p) && p < 0x1p53 ? Long.toString((long) p) : Double.toString(p);
    }
}
