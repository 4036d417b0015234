package dev.gradclip.policy;

import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One training loop's clipping: a {@link ClipPolicy} composed with optional loss-scale unscaling and
 * spike skipping, holding their state. Each {@link #step} reads the gradients once (the backend's norm
 * pass) and writes them at most once (its scale pass, with one combined factor per tensor or unit).
 *
 * <p>Per step, with the gradients G as the backward pass left them (multiplied by the loss scale S;
 * S = 1 without mixed precision), for a {@link ThresholdPolicy}:
 * <ol>
 *   <li>N = ‖G‖_p / S from the canonical partials (the norm of g = G/S; exact for a power-of-two S
 *       unless G/S would leave the normal range); found-inf = some element of G is NaN or ±∞;</li>
 *   <li>if N is not finite the policy does not learn from the step ({@link PolicyState#pass()}) and the
 *       non-finite policy decides: SKIP leaves G untouched and reports the step skipped (as
 *       GradScaler skips the optimizer step), ERROR throws {@link NonFiniteGradientException} having
 *       modified nothing and advanced no state, PROPAGATE applies the scale formula as the peers do
 *       (NaN propagates);</li>
 *   <li>else, with a spike skipper, a spike (N &gt; K·median of accepted norms) is skipped: G untouched;</li>
 *   <li>else M_t = policy threshold ({@link PolicyState#observe}), c = semantics.scale(N, M_t) (1 when
 *       the policy sets no threshold), and one write pass applies {@code G ← G · (c/S)}; nothing is
 *       written when the applied factor is exactly 1;</li>
 *   <li>a dynamic loss scale then updates on found-inf (GradScaler's rule).</li>
 * </ol>
 * For {@link AdaptiveGradClip} the same happens per unit: unit norms ‖G_u‖/S and parameter norms ‖w_u‖
 * come from one norm pass each over unit views, and each unit gets the factor c_u/S.
 *
 * <p><b>Unscale+clip vs unscale-then-clip.</b> The fused factor c/S is computed in fp64 and rounded
 * once to fp32, so each element is at most 1 ulp (of its storage type) from the exact
 * {@code (G/S)·c}, i.e. from unscale-then-clip evaluated exactly. Against two separate passes
 * ({@code G·(1/S)} then {@code ·c}) it is bitwise equal when S is a power of two and neither G/S nor the
 * result is subnormal; for other S the two-pass result has more roundings and may differ by 1 ulp.
 *
 * <p>Every backend runs the same passes on the same views, so results are bitwise equal across backends.
 * Not thread-safe; one per training loop. The state (policy, spike history, loss scale) is saved by
 * {@link #stateJson()} and restored by {@link #restoreState(String)}.
 */
public final class TrainingClipper {
    private final ClipPolicy policy;
    private final NormType normType;
    private final Semantics semantics;
    private final NonFinitePolicy nonFinite;
    private final double staticLossScale;
    private @Nullable PolicyState policyState;
    private SpikeSkipper.@Nullable State spike;
    private DynamicLossScaler.@Nullable State scaler;
    private long step;

    private TrainingClipper(Builder b) {
        this.policy = b.policy;
        this.normType = b.normType;
        this.semantics = b.semantics;
        this.nonFinite = b.nonFinite;
        this.staticLossScale = b.lossScale;
        this.policyState = policy instanceof ThresholdPolicy ? ((ThresholdPolicy) policy).newState() : null;
        this.spike = b.spike == null ? null : b.spike.newState();
        this.scaler = b.scaler == null ? null : b.scaler.newState();
    }

    /**
     * {@return a builder for {@code policy} with L2 norms, TORCH semantics, PROPAGATE, no loss scale and no
     * spike skipping}
     *
     * @param policy the clipping policy
     * @throws NullPointerException if {@code policy} is null
     */
    public static Builder builder(ClipPolicy policy) {
        return new Builder(policy);
    }

    /**
     * Options of a {@link TrainingClipper}. Not thread-safe; each {@link #build()} makes a clipper with
     * fresh state.
     */
    public static final class Builder {
        private final ClipPolicy policy;
        private NormType normType = NormType.L2;
        private Semantics semantics = Semantics.TORCH;
        private NonFinitePolicy nonFinite = NonFinitePolicy.PROPAGATE;
        private double lossScale = 1.0;
        private @Nullable SpikeSkipper spike;
        private @Nullable DynamicLossScaler scaler;

        private Builder(ClipPolicy policy) {
            this.policy = Objects.requireNonNull(policy, "policy is null");
        }

        /**
         * Sets the p of the total norm (threshold policies; AGC's unit norms are always L2).
         *
         * @param p the p of the norm
         * @return this builder
         */
        public Builder normType(NormType p) {
            this.normType = Objects.requireNonNull(p, "norm type is null");
            return this;
        }

        /**
         * Sets how N and M_t give the scale (threshold policies).
         *
         * @param s TORCH ({@code min(M_t/(N+1e-6), 1)}) or TF ({@code M_t/max(N, M_t)})
         * @return this builder
         */
        public Builder semantics(Semantics s) {
            this.semantics = Objects.requireNonNull(s, "semantics is null");
            return this;
        }

        /**
         * Sets what a step whose total norm is NaN or infinite does: PROPAGATE (the peers' formula), SKIP
         * (gradients untouched, step reported skipped) or ERROR (throws, nothing modified).
         *
         * @param p the non-finite policy
         * @return this builder
         */
        public Builder nonFinite(NonFinitePolicy p) {
            this.nonFinite = Objects.requireNonNull(p, "nonFinite policy is null");
            return this;
        }

        /**
         * Sets a constant loss scale S: the gradients are G = S·g.
         *
         * @param s S, finite and ≥ 2^-1022
         * @return this builder
         * @throws IllegalArgumentException if {@code s} is out of range
         * @throws IllegalStateException if a dynamic loss scale is already set
         */
        public Builder lossScale(double s) {
            if (!(s >= Double.MIN_NORMAL) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("loss scale must be finite and >= 2^-1022, got " + s);
            }
            if (scaler != null) throw new IllegalStateException("a dynamic loss scale is already set");
            this.lossScale = s;
            return this;
        }

        /**
         * Sets a dynamic loss scale (GradScaler's rule); the current S is {@link TrainingClipper#lossScale()}.
         *
         * @param d the scaler's configuration; each built clipper starts from its S₀
         * @return this builder
         * @throws IllegalStateException if a constant loss scale other than 1 is already set
         */
        public Builder dynamicLossScale(DynamicLossScaler d) {
            if (lossScale != 1.0) throw new IllegalStateException("a constant loss scale is already set");
            this.scaler = Objects.requireNonNull(d, "dynamic loss scaler is null");
            return this;
        }

        /**
         * Skips steps whose total norm exceeds K × the median of the last accepted norms.
         *
         * @param s the spike skipper's configuration; each built clipper starts with no accepted norm
         * @return this builder
         */
        public Builder skipAbove(SpikeSkipper s) {
            this.spike = Objects.requireNonNull(s, "spike skipper is null");
            return this;
        }

        /** {@return a new clipper with these options and fresh state (step 0)} */
        public TrainingClipper build() {
            return new TrainingClipper(this);
        }
    }

    /** {@return the clipping policy} */
    public ClipPolicy policy() {
        return policy;
    }

    /** {@return the loss scale S the next step divides by (constant, or the dynamic scaler's current value)} */
    public double lossScale() {
        return scaler != null ? scaler.scale() : staticLossScale;
    }

    /** {@return the t of the next step (the number of steps taken)} */
    public long nextStep() {
        return step;
    }

    /**
     * {@return the live policy state, or null for AGC, which keeps none} Not a copy: calling
     * {@link PolicyState#observe} or {@link PolicyState#pass} on it advances this clipper's policy; use
     * {@link PolicyState#copy()} for a snapshot.
     */
    public @Nullable PolicyState policyState() {
        return policyState;
    }

    // ------------------------------------------------------------------ threshold policies

    /**
     * One step of a {@link ThresholdPolicy} on {@code grads}, in place.
     *
     * @param clipper the clipper that measures and scales
     * @param grads the gradients G, unscaled and clipped in place
     * @return what the step measured and did
     * @throws IllegalStateException if the policy is AGC (use {@link #step(Clipper, GradientSet, GradientSet, long[][])}),
     *     or the clipper is closed or a tensor's memory was closed or freed (nothing modified)
     * @throws IllegalArgumentException if the clipper cannot reach a tensor (nothing modified)
     * @throws NonFiniteGradientException under ERROR when N is not finite (nothing modified, no state advanced)
     */
    public StepRecord step(Clipper clipper, GradientSet grads) {
        Objects.requireNonNull(clipper, "clipper is null");
        Objects.requireNonNull(grads, "gradient set is null");
        if (!(policy instanceof ThresholdPolicy)) {
            throw new IllegalStateException("AGC needs the parameters: call step(clipper, grads, params, shapes)");
        }
        double s = lossScale();
        NormPartials p = clipper.partials(grads, normType);
        double n = p.totalNorm() / s;
        long nonFiniteElements = p.nonFiniteElements();
        boolean foundInf = nonFiniteElements > 0;
        double[] tensorNorms = new double[grads.size()];
        for (int t = 0; t < tensorNorms.length; t++) tensorNorms[t] = p.tensorNorm(t) / s;

        double threshold;
        boolean skipped = false;
        double c = 1.0;
        if (!Double.isFinite(n)) {
            if (nonFinite == NonFinitePolicy.ERROR) {
                double m = policyState.currentThreshold();
                throw nonFiniteError(clipper, grads, n, Double.isNaN(m) ? 0.0 : m);
            }
            threshold = policyState.pass();
            if (nonFinite == NonFinitePolicy.SKIP) {
                skipped = true;
            } else if (!Double.isNaN(threshold)) {
                c = semantics.scale(n, threshold);
            }
        } else if (spike != null && spike.isSpike(n)) {
            threshold = policyState.pass();
            skipped = true;
        } else {
            threshold = policyState.observe(n);
            if (spike != null) spike.accept(n);
            if (!Double.isNaN(threshold)) c = semantics.scale(n, threshold);
        }
        boolean clipped = false;
        if (!skipped) {
            double factor = c / s;
            if (Double.isNaN(factor)) {
                // PROPAGATE of a NaN scale: the peers' NaN everywhere (the NaN rule of the scale pass)
                clipper.clipWithTotalNorm(grads, new NormClip(threshold, normType, semantics, NonFinitePolicy.PROPAGATE), n);
            } else if (!appliesAsOne(factor, grads)) {
                double[] f = new double[grads.size()];
                Arrays.fill(f, factor);
                clipper.scaleEach(grads, f);
            }
            clipped = !(c == 1.0);
        }
        StepRecord r = new StepRecord(step, n, threshold, skipped ? 1.0 : c, clipped, skipped, foundInf, nonFiniteElements, s,
                tensorNorms);
        finish(foundInf);
        return r;
    }

    // ------------------------------------------------------------------ AGC

    /**
     * One AGC step: {@code grads} and {@code params} list the same tensors in the same order (sizes
     * equal), {@code shapes[t]} is tensor t's shape in the policy's {@link UnitLayout}. Unit norms and the
     * scale are computed by the backend on unit views.
     *
     * @param clipper the clipper that measures and scales
     * @param grads the gradients G, unscaled and clipped in place
     * @param params the parameters w, read only, one tensor per gradient tensor
     * @param shapes each tensor's shape in the policy's layout
     * @return what the step measured and did ({@link StepRecord#threshold()} is NaN: thresholds are per unit)
     * @throws IllegalArgumentException on a count, size or shape mismatch, or a tensor the clipper cannot
     *     reach (nothing modified)
     * @throws IllegalStateException if the policy is not AGC, or the clipper is closed or a tensor's memory
     *     was closed or freed (nothing modified)
     * @throws NonFiniteGradientException under ERROR when the total gradient norm is not finite (nothing
     *     modified, no state advanced)
     */
    public StepRecord step(Clipper clipper, GradientSet grads, GradientSet params, long[][] shapes) {
        Objects.requireNonNull(clipper, "clipper is null");
        Objects.requireNonNull(grads, "gradient set is null");
        Objects.requireNonNull(params, "parameter set is null");
        Objects.requireNonNull(shapes, "shapes are null");
        if (!(policy instanceof AdaptiveGradClip)) {
            throw new IllegalStateException("only AGC takes parameters; call step(clipper, grads)");
        }
        AdaptiveGradClip agc = (AdaptiveGradClip) policy;
        if (params.size() != grads.size() || shapes.length != grads.size()) {
            throw new IllegalArgumentException("AGC needs one parameter tensor and one shape per gradient tensor: "
                    + grads.size() + " gradients, " + params.size() + " parameters, " + shapes.length + " shapes");
        }
        grads.checkAccessible();
        params.checkAccessible();
        List<Tensor> gUnits = new ArrayList<>();
        List<Tensor> wUnits = new ArrayList<>();
        int[] firstUnit = new int[grads.size() + 1];
        for (int t = 0; t < grads.size(); t++) {
            long[] shape = Objects.requireNonNull(shapes[t], "shape " + t + " is null");
            long count = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("tensor " + t + ": negative dimension in shape " + Arrays.toString(shape));
                count = Math.multiplyExact(count, d);
            }
            Tensor g = grads.get(t);
            Tensor w = params.get(t);
            if (g.size() != count || w.size() != count) {
                throw new IllegalArgumentException("tensor " + t + ": shape " + Arrays.toString(shape) + " has " + count
                        + " elements, the gradient " + g.size() + ", the parameter " + w.size());
            }
            long units = agc.layout().units(shape);
            firstUnit[t] = gUnits.size();
            gUnits.addAll(Units.split(g, units));
            wUnits.addAll(Units.split(w, units));
            firstUnit[t + 1] = gUnits.size();
        }
        GradientSet gSet = GradientSet.of(gUnits);
        GradientSet wSet = GradientSet.of(wUnits);
        double s = lossScale();
        NormPartials pg = clipper.partials(gSet, NormType.L2);
        NormPartials pw = clipper.partials(wSet, NormType.L2);
        double n = pg.totalNorm() / s;
        long nonFiniteElements = pg.nonFiniteElements();
        boolean foundInf = nonFiniteElements > 0;
        double[] tensorNorms = new double[grads.size()];
        for (int t = 0; t < grads.size(); t++) {
            double sum = 0.0;   // the tensor's norm from its units' norms (report only)
            for (int u = firstUnit[t]; u < firstUnit[t + 1]; u++) {
                double un = pg.tensorNorm(u);
                sum += un * un;
            }
            tensorNorms[t] = Math.sqrt(sum) / s;
        }
        boolean skipped = false;
        double minFactor = 1.0;
        boolean clipped = false;
        if (!Double.isFinite(n) && nonFinite == NonFinitePolicy.ERROR) {
            throw nonFiniteError(clipper, grads, n, 0.0);
        }
        if (!Double.isFinite(n) && nonFinite == NonFinitePolicy.SKIP) {
            skipped = true;
        } else if (Double.isFinite(n) && spike != null && spike.isSpike(n)) {
            skipped = true;
        } else {
            if (Double.isFinite(n) && spike != null) spike.accept(n);
            double[] f = new double[gUnits.size()];
            boolean any = false;
            for (int u = 0; u < f.length; u++) {
                double c = agc.factor(pg.tensorNorm(u) / s, pw.tensorNorm(u));
                if (c != 1.0) {
                    clipped = true;
                    minFactor = Math.min(minFactor, c);
                }
                f[u] = c / s;
                if (!appliesAsOne(f[u], gUnits.get(u).dtype())) any = true;
            }
            if (any) clipper.scaleEach(gSet, f);
        }
        StepRecord r = new StepRecord(step, n, Double.NaN, minFactor, clipped, skipped, foundInf, nonFiniteElements, s,
                tensorNorms);
        finish(foundInf);
        return r;
    }

    // ------------------------------------------------------------------ helpers

    private void finish(boolean foundInf) {
        if (scaler != null) scaler.update(foundInf);
        step++;
    }

    /** Whether multiplying by {@code f} leaves every tensor of the set as it is (the scale pass skips it). */
    private static boolean appliesAsOne(double f, GradientSet set) {
        for (Tensor t : set.tensors()) {
            if (!appliesAsOne(f, t.dtype())) return false;
        }
        return true;
    }

    private static boolean appliesAsOne(double f, DType dtype) {
        return dtype == DType.FLOAT64 ? f == 1.0 : (float) f == 1.0f;
    }

    /**
     * Under ERROR: lets the clipper itself refuse the non-finite norm (it throws
     * {@link NonFiniteGradientException} with its report and writes nothing).
     */
    private NonFiniteGradientException nonFiniteError(Clipper clipper, GradientSet grads, double n, double threshold) {
        try {
            clipper.clipWithTotalNorm(grads, new NormClip(threshold, normType, semantics, NonFinitePolicy.ERROR), n);
        } catch (NonFiniteGradientException e) {
            return e;
        }
        throw new IllegalStateException("the clipper accepted the non-finite norm " + n + " under ERROR");
    }

    // ------------------------------------------------------------------ checkpoint

    /**
     * The whole state as one JSON object (version 1):
     * {@code {"format":"gradclip-training-clipper","version":1,"step":t,"policy":POLICY_STATE|null,
     * "spike":SPIKE_STATE|null,"loss_scale":LOSS_SCALE_STATE|null}}, the parts in the forms of
     * {@link PolicyState#toJson()}, {@link SpikeSkipper.State#toJson()} and
     * {@link DynamicLossScaler.State#toJson()}, as nested JSON strings.
     *
     * @return the checkpoint text
     */
    public String stateJson() {
        Map<String, @Nullable Object> m = new LinkedHashMap<>();
        m.put("format", "gradclip-training-clipper");
        m.put("version", 1L);
        m.put("policy_spec", policy.spec());
        m.put("step", step);
        m.put("policy", policyState == null ? null : policyState.toJson());
        m.put("spike", spike == null ? null : spike.toJson());
        m.put("loss_scale", scaler == null ? null : scaler.toJson());
        return StateJson.write(m);
    }

    /**
     * Restores a state written by {@link #stateJson()} of a clipper built with the same policy and options.
     *
     * @param json text written by {@link #stateJson()}
     * @throws IllegalArgumentException if the text does not fit this clipper: another format, version,
     *     policy or option, a negative step, a part that does not read (nothing restored then: every part is
     *     read and checked before any is copied in)
     */
    public void restoreState(String json) {
        Map<String, @Nullable Object> m = StateJson.parseObject(json);
        if (!"gradclip-training-clipper".equals(StateJson.getString(m, "format"))) {
            throw new IllegalArgumentException("not a training-clipper state");
        }
        long v = StateJson.getLong(m, "version");
        if (v != 1) throw new IllegalArgumentException("training-clipper state version " + v + " is not supported");
        if (!policy.spec().equals(StateJson.getString(m, "policy_spec"))) {
            throw new IllegalArgumentException("state is for policy " + StateJson.getString(m, "policy_spec") + ", this clipper runs "
                    + policy.spec());
        }
        long t = StateJson.getLong(m, "step");
        if (t < 0) throw new IllegalArgumentException("training-clipper state has step " + t + ", not >= 0");
        PolicyState ps = null;
        if (policyState != null) {
            ps = PolicyState.fromJson(StateJson.getString(m, "policy"));
            if (!ps.policy().equals(policyState.policy())) throw new IllegalArgumentException("policy state is for " + ps.policy());
        } else if (StateJson.field(m, "policy") != null) {
            throw new IllegalArgumentException("state has a policy state, this clipper (AGC) keeps none");
        }
        SpikeSkipper.State sp = null;
        if (spike != null) {
            sp = SpikeSkipper.State.fromJson(StateJson.getString(m, "spike"));
            if (!sp.config().equals(spike.config())) throw new IllegalArgumentException("state has another spike skipper: " + sp.config());
        } else if (StateJson.field(m, "spike") != null) {
            throw new IllegalArgumentException("state has a spike skipper, this clipper none");
        }
        DynamicLossScaler.State sc = null;
        if (scaler != null) {
            sc = DynamicLossScaler.State.fromJson(StateJson.getString(m, "loss_scale"));
            if (!sc.config().equals(scaler.config())) throw new IllegalArgumentException("state has another loss scaler: " + sc.config());
        } else if (StateJson.field(m, "loss_scale") != null) {
            throw new IllegalArgumentException("state has a dynamic loss scale, this clipper none");
        }
        // everything read and checked: now copy in
        step = t;
        if (ps != null) policyState = ps;
        if (sp != null) spike = sp;
        if (sc != null) scaler = sc;
    }
}
