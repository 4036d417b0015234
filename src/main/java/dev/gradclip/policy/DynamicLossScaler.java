package dev.gradclip.policy;

import java.util.LinkedHashMap;
import java.util.Map;

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

    /** GradScaler's defaults: 2^16, ×2 every 2,000 clean steps, ×0.5 on inf. */
    public static DynamicLossScaler defaults() {
        return new DynamicLossScaler(65536.0, 2.0, 0.5, 2000);
    }

    public State newState() {
        return new State(this, initialScale, 0);
    }

    /** The current scale and the count of clean steps since the last change. Mutable, one per training loop. */
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

        public DynamicLossScaler config() {
            return config;
        }

        /** The loss scale S to multiply the next loss by. */
        public double scale() {
            return scale;
        }

        /** Clean steps since the last change of the scale. */
        public int growthTracker() {
            return growthTracker;
        }

        /** GradScaler's update after a step. */
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

        /** {@code {"format":"gradclip-loss-scale-state","version":1,"initial_scale":…,"growth_factor":…,
         * "backoff_factor":…,"growth_interval":…,"scale":S,"growth_tracker":n}}. */
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

        public static State fromJson(String json) {
            Map<String, Object> m = StateJson.parseObject(json);
            if (!FORMAT.equals(StateJson.getString(m, "format"))) throw new IllegalArgumentException("not a loss-scale state");
            long v = StateJson.getLong(m, "version");
            if (v != 1) throw new IllegalArgumentException("loss-scale state version " + v + " is not supported");
            DynamicLossScaler c = new DynamicLossScaler(StateJson.getDouble(m, "initial_scale"),
                    StateJson.getDouble(m, "growth_factor"), StateJson.getDouble(m, "backoff_factor"),
                    Math.toIntExact(StateJson.getLong(m, "growth_interval")));
            return new State(c, StateJson.getDouble(m, "scale"), Math.toIntExact(StateJson.getLong(m, "growth_tracker")));
        }
    }
}
