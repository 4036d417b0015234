package dev.gradclip.monitor;

import java.util.Locale;
import java.util.Objects;

/**
 * One alert the {@link GradientMonitor} raised at a step. Immutable.
 *
 * @param kind what was detected
 * @param step the step it was detected at
 * @param tensor the tensor's index in the monitor's order, or −1 for the whole gradient
 * @param tensorName the tensor's name, or {@code "total"} for the whole gradient
 * @param value the offending value: the total norm (exploding), the tensor's norm (vanishing), the
 *     number of non-finite elements, or the non-finite total norm when they were not counted
 * @param reference what it was compared with: K × the rolling median (exploding), ε (vanishing), 0
 *     (non-finite)
 * @param message a sentence for a log or a terminal
 */
public record Alert(Kind kind, long step, int tensor, String tensorName, double value, double reference,
                    String message) {

    /** The three conditions the monitor watches; the rules are {@link MonitorConfig}'s. */
    public enum Kind {
        /** The total norm exceeds K × the median of the rolling window (after enough history). */
        EXPLODING,
        /** A tensor's norm stayed below ε for N consecutive steps. */
        VANISHING,
        /** The gradients held NaN or infinite elements (or the total norm is not finite). */
        NON_FINITE;

        /** {@return the name in logs: {@code exploding}, {@code vanishing} or {@code non_finite}} */
        public String logName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * {@return the kind whose {@link #logName()} is {@code name}}
         *
         * @param name {@code exploding}, {@code vanishing} or {@code non_finite} (case-sensitive)
         * @throws IllegalArgumentException if no kind has that name
         */
        public static Kind ofLogName(String name) {
            for (Kind k : values()) {
                if (k.logName().equals(name)) return k;
            }
            throw new IllegalArgumentException("unknown alert kind '" + name + "' (exploding, vanishing, non_finite)");
        }
    }

    /**
     * Checks the parts.
     *
     * @param kind what was detected
     * @param step the step it was detected at
     * @param tensor the tensor's index, or −1 for the whole gradient
     * @param tensorName the tensor's name, or {@code "total"}
     * @param value the offending value
     * @param reference what it was compared with
     * @param message a sentence for a log or a terminal
     * @throws NullPointerException if {@code kind}, {@code tensorName} or {@code message} is null
     * @throws IllegalArgumentException if {@code tensor} is below −1
     */
    public Alert {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(tensorName, "tensorName");
        Objects.requireNonNull(message, "message");
        if (tensor < -1) throw new IllegalArgumentException("tensor index must be >= -1, got " + tensor);
    }
}
