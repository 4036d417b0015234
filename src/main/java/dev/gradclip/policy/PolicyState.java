package dev.gradclip.policy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The evolving part of a {@link ThresholdPolicy}: the step counter and, for the adaptive policies, what
 * they learned. Mutable and not thread-safe (one per training loop); {@link #copy()} snapshots it.
 *
 * <p>Each training step calls exactly one of
 * <ul>
 *   <li>{@link #observe(double)} with the step's finite total norm: returns M_t and learns from the norm;</li>
 *   <li>{@link #pass()} for a step the policy must not learn from (non-finite norm, or skipped as a
 *       spike): returns M_t as the state stands and learns nothing.</li>
 * </ul>
 * Both advance the step counter. A threshold of NaN means "none: do not clip".
 *
 * <h2>Checkpoint form (version 1)</h2>
 * {@link #toJson()} writes one JSON object, which {@link #fromJson(String)} reads back to a state that
 * behaves bit for bit like this one:
 * <pre>
 * {"format":"gradclip-policy-state","version":1,"policy":SPEC,"step":T, ...}
 * </pre>
 * SPEC is the policy's {@link ClipPolicy#spec()}; T the number of steps taken. AutoClip adds
 * {@code "history":[…]} (the observed norms, oldest first, at most W); ZClip adds
 * {@code "initialized":bool, "warmup":[…]} (norms collected so far while not initialised),
 * {@code "mean":μ, "variance":σ²}. Numbers are written so that they read back to the same bits
 * (shortest round-trip decimal; non-finite values as the strings "NaN", "Infinity", "-Infinity").
 * Readers reject another format name, a newer version, a missing or mistyped field and extra history.
 */
public abstract sealed class PolicyState permits PolicyState.Scheduled, PolicyState.AutoClipState, PolicyState.ZClipState {
    /** The {@code "format"} value of the checkpoint form. */
    public static final String FORMAT = "gradclip-policy-state";
    /** The version this library writes and the newest it reads. */
    public static final int VERSION = 1;

    long step;

    PolicyState(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        this.step = step;
    }

    /** {@return the policy this state belongs to} */
    public abstract ThresholdPolicy policy();

    /** {@return the number of steps taken so far, i.e. the t of the next step} */
    public final long step() {
        return step;
    }

    /**
     * Takes one step whose total norm {@code norm} is finite and accepted: returns this step's threshold
     * (NaN for none) and updates what the policy has learned.
     *
     * @param norm the step's total norm before clipping, finite and ≥ 0
     * @return M_t, or NaN when the policy sets no threshold this step
     * @throws IllegalArgumentException if {@code norm} is not finite or is negative (call {@link #pass()}
     *     instead); the state is unchanged
     */
    public final double observe(double norm) {
        if (!Double.isFinite(norm) || norm < 0) {
            throw new IllegalArgumentException("observed norm must be finite and >= 0, got " + norm + " (use pass())");
        }
        double m = observeImpl(norm);
        step++;
        return m;
    }

    /** {@return {@link #currentThreshold()}, after which the step counter advances} Learns nothing. */
    public final double pass() {
        double m = currentThreshold();
        step++;
        return m;
    }

    /**
     * {@return the threshold of the next step as the state stands, before it observes that step's norm}
     * NaN for none. Changes nothing.
     */
    public abstract double currentThreshold();

    abstract double observeImpl(double norm);

    abstract void writeFields(Map<String, Object> m);

    /** {@return an independent copy with the same policy, step and learned values (bit for bit)} */
    public final PolicyState copy() {
        return fromJson(toJson());
    }

    /** {@return the checkpoint form described above, one JSON object} */
    public final String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("version", (long) VERSION);
        m.put("policy", policy().spec());
        m.put("step", step);
        writeFields(m);
        return StateJson.write(m);
    }

    /**
     * Reads the checkpoint form.
     *
     * @param json the checkpoint text
     * @return a new state of the policy the text names, at its step, with its learned values
     * @throws IllegalArgumentException if the text is not a version-1 (or older) policy state, naming the problem
     */
    public static PolicyState fromJson(String json) {
        Map<String, @Nullable Object> m = StateJson.parseObject(json);
        String format = StateJson.getString(m, "format");
        if (!FORMAT.equals(format)) throw new IllegalArgumentException("not a policy state: format '" + format + "'");
        long version = StateJson.getLong(m, "version");
        if (version < 1 || version > VERSION) {
            throw new IllegalArgumentException("policy state version " + version + " is not supported (this library reads 1.."
                    + VERSION + ")");
        }
        ClipPolicy p = ClipPolicy.parse(StateJson.getString(m, "policy"));
        if (!(p instanceof ThresholdPolicy)) {
            throw new IllegalArgumentException("policy '" + p.spec() + "' keeps no state");
        }
        long step = StateJson.getLong(m, "step");
        if (p instanceof AutoClip) {
            AutoClip a = (AutoClip) p;
            double[] h = StateJson.getDoubles(m, "history");
            if (a.window() > 0 && h.length > a.window()) {
                throw new IllegalArgumentException("AutoClip history holds " + h.length + " norms, more than W = " + a.window());
            }
            checkNorms("history", h);
            return new AutoClipState(a, step, h);
        }
        if (p instanceof ZClip) {
            ZClip z = (ZClip) p;
            boolean init = StateJson.getBoolean(m, "initialized");
            double[] w = StateJson.getDoubles(m, "warmup");
            if (w.length >= z.warmup() || (init && w.length != 0)) {
                throw new IllegalArgumentException("ZClip warm-up buffer of " + w.length + " norms does not fit WARMUP = "
                        + z.warmup() + (init ? " after initialisation" : ""));
            }
            checkNorms("warmup", w);
            return new ZClipState(z, step, w, init, StateJson.getDouble(m, "mean"), StateJson.getDouble(m, "variance"));
        }
        return new Scheduled((ThresholdPolicy) p, step);
    }

    private static void checkNorms(String key, double[] a) {
        for (double d : a) {
            if (!Double.isFinite(d) || d < 0) throw new IllegalArgumentException(key + " holds " + d + ", not a finite norm");
        }
    }

    @Override
    public String toString() {
        return toJson();
    }

    // ------------------------------------------------------------------ schedules (fixed, linear, cosine, step decay)

    /** The state of a policy whose threshold depends on the step alone. */
    static final class Scheduled extends PolicyState {
        private final ThresholdPolicy policy;

        Scheduled(ThresholdPolicy policy, long step) {
            super(step);
            this.policy = policy;
        }

        @Override
        public ThresholdPolicy policy() {
            return policy;
        }

        @Override
        public double currentThreshold() {
            if (policy instanceof FixedThreshold) return ((FixedThreshold) policy).threshold(step);
            if (policy instanceof LinearSchedule) return ((LinearSchedule) policy).threshold(step);
            if (policy instanceof CosineSchedule) return ((CosineSchedule) policy).threshold(step);
            return ((StepDecaySchedule) policy).threshold(step);
        }

        @Override
        double observeImpl(double norm) {
            return currentThreshold();
        }

        @Override
        void writeFields(Map<String, Object> m) {
        }
    }

    // ------------------------------------------------------------------ AutoClip

    /** AutoClip's history: a ring of the last W observed norms (or all of them), plus a sorted copy. */
    static final class AutoClipState extends PolicyState {
        private final AutoClip policy;
        private double[] ring;   // chronological order starting at head
        private int head;
        private int size;
        private double[] sorted; // ascending copy of the history, maintained incrementally

        AutoClipState(AutoClip policy, long step, double[] history) {
            super(step);
            this.policy = policy;
            int cap = policy.window() > 0 ? policy.window() : Math.max(16, history.length);
            ring = new double[cap];
            sorted = new double[cap];
            for (double h : history) add(h);
        }

        @Override
        public AutoClip policy() {
            return policy;
        }

        /** The history, oldest first. */
        double[] history() {
            double[] h = new double[size];
            for (int i = 0; i < size; i++) h[i] = ring[(head + i) % ring.length];
            return h;
        }

        private void add(double x) {
            if (policy.window() > 0 && size == policy.window()) {
                double old = ring[head];
                ring[head] = x;
                head = (head + 1) % ring.length;
                removeSorted(old);
                insertSorted(x);
                return;
            }
            if (size == ring.length) { // unbounded history: grow (head is 0 then)
                ring = Arrays.copyOf(ring, ring.length * 2);
                sorted = Arrays.copyOf(sorted, ring.length);
            }
            ring[(head + size) % ring.length] = x;
            insertSorted(x);
            size++;
        }

        private void insertSorted(double x) {
            int n = policy.window() > 0 && size == policy.window() ? size - 1 : size;
            int pos = Arrays.binarySearch(sorted, 0, n, x);
            if (pos < 0) pos = -pos - 1;
            System.arraycopy(sorted, pos, sorted, pos + 1, n - pos);
            sorted[pos] = x;
        }

        private void removeSorted(double x) {
            int pos = Arrays.binarySearch(sorted, 0, size, x);
            if (pos < 0) throw new IllegalStateException("AutoClip history out of sync");
            System.arraycopy(sorted, pos + 1, sorted, pos, size - pos - 1);
        }

        @Override
        public double currentThreshold() {
            return size == 0 ? Double.NaN : AutoClip.percentileOfSorted(sorted, size, policy.percentile());
        }

        @Override
        double observeImpl(double norm) {
            add(norm);
            return AutoClip.percentileOfSorted(sorted, size, policy.percentile());
        }

        @Override
        void writeFields(Map<String, Object> m) {
            m.put("history", history());
        }
    }

    // ------------------------------------------------------------------ ZClip

    /** ZClip's warm-up buffer and EMA of the norm's mean and variance. */
    static final class ZClipState extends PolicyState {
        private final ZClip policy;
        private double[] buffer;
        private int buffered;
        private boolean initialized;
        private double mean;
        private double variance;

        ZClipState(ZClip policy, long step, double[] warmup, boolean initialized, double mean, double variance) {
            super(step);
            this.policy = policy;
            this.buffer = Arrays.copyOf(warmup, policy.warmup());
            this.buffered = warmup.length;
            this.initialized = initialized;
            this.mean = mean;
            this.variance = variance;
        }

        @Override
        public ZClip policy() {
            return policy;
        }

        /** Whether the warm-up is over and the EMA runs. */
        boolean initialized() {
            return initialized;
        }

        double mean() {
            return mean;
        }

        double variance() {
            return variance;
        }

        @Override
        public double currentThreshold() {
            return initialized ? mean : Double.NaN;
        }

        @Override
        double observeImpl(double g) {
            if (!initialized) {
                buffer[buffered++] = g;
                if (buffered >= policy.warmup()) {
                    double sum = 0.0;
                    for (int i = 0; i < buffered; i++) sum += buffer[i];
                    mean = sum / buffered;
                    double sq = 0.0;
                    for (int i = 0; i < buffered; i++) {
                        double d = buffer[i] - mean;
                        sq += d * d;
                    }
                    variance = sq / buffered;
                    initialized = true;
                    buffered = 0;
                }
                return Double.NaN;
            }
            double zt = policy.zThreshold();
            double std = Math.sqrt(variance);
            double z = (g - mean) / (std + ZClip.EPS);
            double threshold = Double.NaN;
            double x = g;
            if (z > zt) {
                double eta = z / zt;
                threshold = mean + (zt * std) / eta;
                x = threshold;
            }
            double a = policy.alpha();
            mean = a * mean + (1.0 - a) * x;
            double d = x - mean;
            variance = a * variance + (1.0 - a) * (d * d);
            return threshold;
        }

        @Override
        void writeFields(Map<String, Object> m) {
            m.put("initialized", initialized);
            m.put("warmup", Arrays.copyOf(buffer, buffered));
            m.put("mean", mean);
            m.put("variance", variance);
        }
    }
}
