package dev.gradclip.policy;

/**
 * What the policy records share for their constructors and {@link ClipPolicy#spec()}: the threshold check
 * and the number format of the command-line grammar. Package-private: not API.
 */
final class PolicyArgs {
    private PolicyArgs() {
    }

    /**
     * Formats a number for {@link ClipPolicy#spec()}: an integer below 10^15 in magnitude without a
     * fraction ("2"), others as {@link Double#toString(double)}; {@link ClipPolicy#parse} reads either back
     * to the same double.
     */
    static String fmt(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
        return Double.toString(d);
    }

    /**
     * Checks a threshold for the policies' constructors: {@code v} itself when finite and ≥ 0, else
     * {@link IllegalArgumentException} naming {@code what} and the value.
     */
    static double requireThreshold(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(what + " must be finite and >= 0, got " + v);
        }
        return v;
    }
}
