package dev.gradclip.policy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A dynamic loss scale with {@code torch.cuda.amp.GradScaler}'s update rule ({@code _amp_update_scale_}):
 * after each step, if any gradient element was non-finite ("found inf") then
 * {@code S ← S·backoff} and the count of clean steps restarts at 0; otherwise the count grows by one
 * and when it reaches the growth interval {@code S ← S·growth} (kept only if finite) and the count
 * restarts. Defaults as GradScaler: S₀ = 2^16, growth 2, backoff 0.5, interval 2,000.
 *
 * @param initialScale S₀, finite and &gt; 0
 * @param growthFactor &gt; 1
 * @param backoffFactor in (0, 1)
 * @param growthInterval ≥ 1
 */
public record DynamicLossScaler(double initialScale, double growthFactor, double backoffFactor, int growthInterval) {
    /**
     * Checks the parameters.
     *
     * @param initialScale S₀, finite and &gt; 0
     * @param growthFactor finite and &gt; 1
     * @param backoffFactor in (0, 1)
     * @param growthInterval ≥ 1
     * @throws IllegalArgumentException if a value is outside its range (NaN included)
     */
    public DynamicLossScaler {
        if (!(initialScale > 0) || Double.isInfinite(initialScale)) {
            throw new IllegalArgumentException("initial loss scale must be finite and > 0, got " + initialScale);
        }
        if (!(growthFactor > 1) || Double.isInfinite(growthFactor)) {
            throw new IllegalArgumentException("growth factor must be finite and > 1, got " + growthFactor);
        }
        if (!(backoffFactor > 0 && backoffFactor < 1)) {
            throw new IllegalArgumentException("backoff factor must be in (0, 1), got " + backoffFactor);
        }
        if (growthInterval < 1) throw new IllegalArgumentException("growth interval must be >= 1, got " + growthInterval);
    }

    /** {@return a scaler with GradScaler's defaults: S₀ = 2^16, ×2 every 2,000 clean steps, ×0.5 on inf} */
    public static DynamicLossScaler defaults() {
        return new DynamicLossScaler(65536.0, 2.0, 0.5, 2000);
    }

    /** {@return a fresh state: scale S₀, no clean steps} Each call returns a new, independent state. */
    public State newState() {
        return new State(this, initialScale, 0);
    }

    /**
     * The current scale and the count of clean steps since the last change. Mutable and not thread-safe:
     * one per training loop. Its checkpoint form ({@link #toJson()}) reads back bit for bit.
     */
    public static final class State {
        /** The {@code "format"} value of the checkpoint form. */
        public static final String FORMAT = "gradclip-loss-scale-state";
        private final DynamicLossScaler config;
        private double scale;
        private int growthTracker;

        State(DynamicLossScaler config, double scale, int growthTracker) {
            if (!(scale > 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("loss scale must be finite and > 0, got " + scale);
            if (growthTracker < 0 || growthTracker >= config.growthInterval()) {
                throw new IllegalArgumentException("growth tracker " + growthTracker + " outside [0, " + config.growthInterval() + ")");
            }
            this.config = config;
            this.scale = scale;
            this.growthTracker = growthTracker;
        }

        /** {@return the configuration this state belongs to} */
        public DynamicLossScaler config() {
            return config;
        }

        /** {@return the loss scale S to multiply the next loss by (finite and &gt; 0)} */
        public double scale() {
            return scale;
        }

        /** {@return the clean steps since the last change of the scale, in [0, growthInterval)} */
        public int growthTracker() {
            return growthTracker;
        }

        /**
         * GradScaler's update after a step: found inf gives {@code S ← S·backoff} and restarts the count;
         * otherwise the count grows, and on reaching the growth interval {@code S ← S·growth} (kept only if
         * finite) and the count restarts.
         *
         * @param foundInf whether any gradient element of the step was NaN or infinite
         */
        public void update(boolean foundInf) {
            if (foundInf) {
                scale = scale * config.backoffFactor();
                growthTracker = 0;
                return;
            }
            int successful = growthTracker + 1;
            if (successful == config.growthInterval()) {
                double grown = scale * config.growthFactor();
                if (Double.isFinite(grown)) scale = grown;
                growthTracker = 0;
            } else {
                growthTracker = successful;
            }
        }

        /**
         * {@return the checkpoint form}
         * {@code {"format":"gradclip-loss-scale-state","version":1,"initial_scale":…,"growth_factor":…,
         * "backoff_factor":…,"growth_interval":…,"scale":S,"growth_tracker":n}}, numbers written so that they
         * read back to the same bits.
         */
        public String toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("format", FORMAT);
            m.put("version", 1L);
            m.put("initial_scale", config.initialScale());
            m.put("growth_factor", config.growthFactor());
            m.put("backoff_factor", config.backoffFactor());
            m.put("growth_interval", (long) config.growthInterval());
            m.put("scale", scale);
            m.put("growth_tracker", (long) growthTracker);
            return StateJson.write(m);
        }

        /**
         * Reads the checkpoint form of {@link #toJson()}.
         *
         * @param json the checkpoint text
         * @return a new state with that configuration, scale and count
         * @throws IllegalArgumentException if the text is not a version-1 loss-scale state, or a value is out
         *     of range, such as a {@code growth_interval} or {@code growth_tracker} that does not fit an
         *     {@code int} (naming the field and the value)
         */
        public static State fromJson(String json) {
            Map<String, @Nullable Object> m = StateJson.parseObject(json);
            if (!FORMAT.equals(StateJson.getString(m, "format"))) throw new IllegalArgumentException("not a loss-scale state");
            long v = StateJson.getLong(m, "version");
            if (v != 1) throw new IllegalArgumentException("loss-scale state version " + v + " is not supported");
            DynamicLossScaler c = new DynamicLossScaler(StateJson.getDouble(m, "initial_scale"),
                    StateJson.getDouble(m, "growth_factor"), StateJson.getDouble(m, "backoff_factor"),
                    StateJson.getInt(m, "growth_interval"));
            return new State(c, StateJson.getDouble(m, "scale"), StateJson.getInt(m, "growth_tracker"));
        }
    }
}
