package dev.gradclip.monitor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A fixed clipping threshold suggested from a warm-up log, with its rationale. Immutable.
 *
 * <h2>Rule</h2>
 * Take the pre-clip total norms N_0…N_{n−1} of the first {@code warmupSteps} steps of the log (all
 * steps when 0), drop the non-finite ones, sort them, and suggest the P-th percentile with linear
 * interpolation (NumPy's default, the same rule AutoClip applies at every step; see
 * {@link Percentiles#linear}): threshold = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋), h = (n−1)·P/100.
 * Clipping by global norm at that threshold would have rescaled the steps whose norm exceeds it:
 * about (100 − P)% of the warm-up steps, the largest ones, each to the threshold. The default P = 90
 * leaves typical steps untouched and caps the top 10% (spikes); a lower P clips more steps (AutoClip
 * recommends P = 10 as an <em>adaptive</em> threshold, {@code --policy autoclip:10}).
 *
 * <p>Norms are in whatever units the log records (the monitor's DL4J listener records the batch-mean
 * gradient's norm).
 *
 * @param threshold the suggested threshold
 * @param percentile P
 * @param stepsRead steps considered (after the warm-up cut)
 * @param stepsUsed finite norms among them
 * @param median median of the finite norms
 * @param min smallest finite norm
 * @param max largest finite norm
 * @param wouldClip finite norms above the threshold
 * @param rationale the reasoning, one sentence per entry
 */
public record ThresholdSuggestion(double threshold, double percentile, int stepsRead, int stepsUsed, double median,
                                  double min, double max, int wouldClip, List<String> rationale) {

    /** The default percentile. */
    public static final double DEFAULT_PERCENTILE = 90;

    /**
     * Copies the rationale.
     *
     * @param threshold the suggested threshold
     * @param percentile P
     * @param stepsRead steps considered
     * @param stepsUsed finite norms among them
     * @param median median of the finite norms
     * @param min smallest finite norm
     * @param max largest finite norm
     * @param wouldClip finite norms above the threshold
     * @param rationale the reasoning (copied)
     * @throws NullPointerException if {@code rationale} or one of its entries is null
     */
    public ThresholdSuggestion {
        rationale = List.copyOf(rationale);
    }

    /**
     * The suggestion for {@code steps}, by the rule of the class comment.
     *
     * @param steps the log's steps, in order
     * @param percentile P in [0, 100]
     * @param warmupSteps use only the first this many steps (0: all)
     * @throws IllegalArgumentException if P is outside [0, 100], {@code warmupSteps} negative, or no
     *     step among those considered has a finite total norm
     * @return the suggestion with its rationale
     */
    public static ThresholdSuggestion of(List<StepObservation> steps, double percentile, int warmupSteps) {
        Objects.requireNonNull(steps, "steps");
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + percentile);
        }
        if (warmupSteps < 0) throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        int read = warmupSteps == 0 ? steps.size() : Math.min(warmupSteps, steps.size());
        double[] finite = new double[read];
        int used = 0;
        for (int i = 0; i < read; i++) {
            double v = steps.get(i).totalNorm();
            if (Double.isFinite(v)) finite[used++] = v;
        }
        if (used == 0) {
            throw new IllegalArgumentException("none of the " + read + " steps considered has a finite total norm: "
                    + "nothing to suggest a threshold from");
        }
        double[] sorted = Arrays.copyOf(finite, used);
        Arrays.sort(sorted);
        double t = Percentiles.linear(sorted, percentile);
        double median = Percentiles.linear(sorted, 50);
        int above = 0;
        for (double v : sorted) if (v > t) above++;
        List<String> why = new ArrayList<>();
        why.add(String.format(Locale.ROOT, "%s of %d steps%s have a finite pre-clip total norm%s.", used == read ? "All"
                : Integer.toString(used), read, warmupSteps == 0 ? "" : " (the warm-up: the first " + read + ")",
                used == read ? "" : "; the " + (read - used) + " non-finite ones are left out"));
        why.add(String.format(Locale.ROOT, "Observed norms: min %s, median %s, max %s (max/median %s).", g(sorted[0]),
                g(median), g(sorted[used - 1]), median > 0 ? g(sorted[used - 1] / median) + "x" : "n/a"));
        why.add(String.format(Locale.ROOT, "Suggested threshold %s = the %s percentile of those norms (linear "
                + "interpolation, NumPy's default).", g(t), ordinal(percentile)));
        why.add(String.format(Locale.ROOT, "Clipping by global norm at %s would have rescaled %d of the %d steps "
                + "(%.1f%%), the largest, each down to %s; the other steps pass unchanged.", g(t), above, used,
                100.0 * above / used, g(t)));
        if (sorted[used - 1] > 10 * median) {
            why.add(String.format(Locale.ROOT, "The largest norm is %sx the median: spikes are present, which a "
                    + "threshold near the median or AutoClip (--policy autoclip:%s) tames.", g(sorted[used - 1] / median),
                    g(Math.min(percentile, 10))));
        }
        why.add("Norms usually shrink as training proceeds, so a threshold from early steps clips less later; "
                + "an adaptive policy (autoclip, zclip) follows them.");
        return new ThresholdSuggestion(t, percentile, read, used, median, sorted[0], sorted[used - 1], above, why);
    }

    /**
     * {@return {@code fixed:THRESHOLD}, the policy spelling of {@code --policy} and {@link dev.gradclip.policy.ClipPolicy#parse}}
     * The threshold is written with six significant digits.
     */
    public String policy() {
        return "fixed:" + g(threshold);
    }

    /** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..., 37.5th. */
    static String ordinal(double p) {
        String n = g(p);
        if (p != Math.rint(p)) return n + "th";
        long v = (long) p;
        if (v % 100 >= 11 && v % 100 <= 13) return n + "th";
        return n + switch ((int) (v % 10)) {
            case 1 -> "st";
            case 2 -> "nd";
            case 3 -> "rd";
            default -> "th";
        };
    }

    /** Six significant digits, no trailing zeros. */
    static String g(double v) {
        if (v == 0) return "0";
        String s = String.format(Locale.ROOT, "%.6g", v);
        if (s.contains("e")) {
            String[] parts = s.split("e");
            String m = parts[0].contains(".") ? parts[0].replaceAll("0+$", "").replaceAll("\\.$", "") : parts[0];
            return m + "e" + Integer.parseInt(parts[1]);
        }
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }
}
