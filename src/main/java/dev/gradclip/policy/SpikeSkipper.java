package dev.gradclip.policy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Spike skipping (as Megatron-LM, torchtitan and OLMo skip steps on loss or gradient spikes): a step
 * whose total norm g satisfies
 * <pre>  g &gt; K · median(last W accepted norms)      (once at least A norms were accepted)</pre>
 * is reported as skipped and its gradients are left untouched; the caller skips the optimizer step.
 * The median is NumPy's ({@code np.median}: the middle value, or {@code (a + b)/2} of the two middle
 * values of an even count). Accepted norms are those of steps that were neither skipped nor
 * non-finite, before clipping. Defaults: W = 100, A = 10.
 *
 * @param factor K, finite and &gt; 0
 * @param window W ≥ 1
 * @param minAccepted A ≥ 1 (at most W)
 */
public record SpikeSkipper(double factor, int window, int minAccepted) {
    /** The default window W, 100 accepted norms. */
    public static final int DEFAULT_WINDOW = 100;
    /** The default A, 10: no step is a spike before 10 norms were accepted. */
    public static final int DEFAULT_MIN_ACCEPTED = 10;

    /**
     * Checks the parameters.
     *
     * @param factor K, finite and &gt; 0
     * @param window W ≥ 1
     * @param minAccepted A in [1, W]
     * @throws IllegalArgumentException if a value is outside its range (NaN included)
     */
    public SpikeSkipper {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("spike factor K must be finite and > 0, got " + factor);
        }
        if (window < 1) throw new IllegalArgumentException("spike window must be >= 1, got " + window);
        if (minAccepted < 1 || minAccepted > window) {
            throw new IllegalArgumentException("spike min accepted must be in [1, window], got " + minAccepted);
        }
    }

    /**
     * {@return a spike skipper with factor K and the defaults W = 100, A = 10}
     *
     * @param factor K, finite and &gt; 0
     * @throws IllegalArgumentException if K is not finite and &gt; 0
     */
    public static SpikeSkipper of(double factor) {
        return new SpikeSkipper(factor, DEFAULT_WINDOW, DEFAULT_MIN_ACCEPTED);
    }

    /** {@return a fresh state that has accepted no norm} Each call returns a new, independent state. */
    public State newState() {
        return new State(this, new double[0]);
    }

    /**
     * The last W accepted norms. Mutable and not thread-safe: one per training loop. Its checkpoint form
     * ({@link #toJson()}) reads back bit for bit, like {@link PolicyState}'s.
     */
    public static final class State {
        /** The {@code "format"} value of the checkpoint form. */
        public static final String FORMAT = "gradclip-spike-state";
        private final SpikeSkipper config;
        private final double[] ring;
        private int head;
        private int size;

        State(SpikeSkipper config, double[] accepted) {
            this.config = config;
            this.ring = new double[config.window()];
            if (accepted.length > config.window()) {
                throw new IllegalArgumentException(accepted.length + " accepted norms exceed the window " + config.window());
            }
            for (double a : accepted) {
                if (!Double.isFinite(a) || a < 0) throw new IllegalArgumentException("accepted norm " + a + " is not a finite norm");
                accept(a);
            }
        }

        /** {@return the configuration this state belongs to} */
        public SpikeSkipper config() {
            return config;
        }

        /** {@return the number of accepted norms held (at most W)} */
        public int accepted() {
            return size;
        }

        /** {@return the median of the held norms ({@code np.median}), or NaN while none is held} */
        public double median() {
            if (size == 0) return Double.NaN;
            double[] s = Arrays.copyOf(history(), size);
            Arrays.sort(s);
            int mid = size / 2;
            return size % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2.0;
        }

        /**
         * {@return whether a step with total norm {@code norm} is a spike} It is when {@code norm > K·median} once at
         * least A norms are held; never before. Changes nothing (call {@link #accept} for accepted steps).
         *
         * @param norm the step's total norm, finite
         */
        public boolean isSpike(double norm) {
            return size >= config.minAccepted() && norm > config.factor() * median();
        }

        /**
         * Records the norm of an accepted step, dropping the oldest when W are held.
         *
         * @param norm the step's total norm before clipping, finite and ≥ 0
         * @throws IllegalArgumentException if {@code norm} is NaN, infinite or negative (nothing recorded)
         */
        public void accept(double norm) {
            if (!Double.isFinite(norm) || norm < 0) throw new IllegalArgumentException("accepted norm must be finite, got " + norm);
            if (size == ring.length) {
                ring[head] = norm;
                head = (head + 1) % ring.length;
            } else {
                ring[(head + size) % ring.length] = norm;
                size++;
            }
        }

        /** {@return a copy of the held norms, oldest first} */
        public double[] history() {
            double[] h = new double[size];
            for (int i = 0; i < size; i++) h[i] = ring[(head + i) % ring.length];
            return h;
        }

        /**
         * {@return the checkpoint form}
         * {@code {"format":"gradclip-spike-state","version":1,"factor":K,"window":W,"min_accepted":A,"accepted":[…]}},
         * numbers written so that they read back to the same bits.
         */
        public String toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("format", FORMAT);
            m.put("version", 1L);
            m.put("factor", config.factor());
            m.put("window", (long) config.window());
            m.put("min_accepted", (long) config.minAccepted());
            m.put("accepted", history());
            return StateJson.write(m);
        }

        /**
         * Reads the checkpoint form of {@link #toJson()}.
         *
         * @param json the checkpoint text
         * @return a new state with that configuration and those accepted norms
         * @throws IllegalArgumentException if the text is not a version-1 spike-skipper state, or a value is
         *     out of range, such as a {@code window} or {@code min_accepted} that does not fit an {@code int}
         *     (naming the field and the value)
         */
        public static State fromJson(String json) {
            Map<String, @Nullable Object> m = StateJson.parseObject(json);
            if (!FORMAT.equals(StateJson.getString(m, "format"))) throw new IllegalArgumentException("not a spike-skipper state");
            long v = StateJson.getLong(m, "version");
            if (v != 1) throw new IllegalArgumentException("spike-skipper state version " + v + " is not supported");
            SpikeSkipper c = new SpikeSkipper(StateJson.getDouble(m, "factor"), StateJson.getInt(m, "window"),
                    StateJson.getInt(m, "min_accepted"));
            return new State(c, StateJson.getDoubles(m, "accepted"));
        }
    }
}
