package dev.gradclip.policy;

/**
 * ZClip (Kumar et al., "ZClip: Adaptive Spike Mitigation for LLM Pre-Training", 2025; the authors'
 * {@code zclip.py} in mode {@code "zscore"} with {@code clip_option="adaptive_scaling"}, clip factor 1
 * and no extra max norm; {@code zclip:Z[:ALPHA[:WARMUP]]}):
 * <ul>
 *   <li>warm-up: the first WARMUP observed norms are collected without clipping (no threshold); when
 *       the last arrives, {@code μ = (Σ x)/n} (a left-to-right fold) and the population variance
 *       {@code σ² = (Σ (x − μ)²)/n} initialise the EMA;</li>
 *   <li>afterwards, with {@code σ = sqrt(σ²)}: {@code z = (g − μ)/(σ + 1e-6)}; when {@code z > Z} the
 *       threshold is {@code μ + (Z·σ)/(z/Z)} and the step is clipped to it (by global norm), otherwise
 *       there is no threshold;</li>
 *   <li>then the EMA takes {@code x} = the threshold if clipped, else g: {@code μ ← α·μ + (1−α)·x},
 *       then {@code σ² ← α·σ² + (1−α)·(x − μ)²} with the new μ.</li>
 * </ul>
 * Every operation is fp64 in the order written. Decision where the authors' code is silent (it would
 * feed a NaN norm into the EMA and never clip again): a step whose norm is NaN or infinite, or which was
 * skipped as a spike, is not observed; its threshold is none during warm-up and μ afterwards (the limit
 * of the formula for g → ∞, which is what the authors' code gives an infinite norm).
 *
 * @param zThreshold Z &gt; 0 (default 2.5)
 * @param alpha α in [0, 1) (default 0.97)
 * @param warmup WARMUP ≥ 1 (default 25)
 */
public record ZClip(double zThreshold, double alpha, int warmup) implements ThresholdPolicy {
    /** The authors' default z-score threshold Z, 2.5. */
    public static final double DEFAULT_Z = 2.5;
    /** The authors' default EMA decay α, 0.97 (the value {@code zclip:Z} uses). */
    public static final double DEFAULT_ALPHA = 0.97;
    /** The authors' default warm-up length, 25 observed steps (the value {@code zclip:Z[:ALPHA]} uses). */
    public static final int DEFAULT_WARMUP = 25;
    /** The ε of the z-score's denominator. */
    public static final double EPS = 1e-6;

    /**
     * Checks the parameters.
     *
     * @param zThreshold Z, finite and &gt; 0
     * @param alpha α in [0, 1)
     * @param warmup WARMUP ≥ 1
     * @throws IllegalArgumentException if a value is outside its range (NaN included)
     */
    public ZClip {
        if (!(zThreshold > 0) || Double.isInfinite(zThreshold)) {
            throw new IllegalArgumentException("ZClip Z must be finite and > 0, got " + zThreshold);
        }
        if (!(alpha >= 0 && alpha < 1)) throw new IllegalArgumentException("ZClip ALPHA must be in [0, 1), got " + alpha);
        if (warmup < 1) throw new IllegalArgumentException("ZClip WARMUP must be >= 1, got " + warmup);
    }

    /** {@return ZClip with the authors' defaults: Z = 2.5, α = 0.97, warm-up 25} */
    public static ZClip defaults() {
        return new ZClip(DEFAULT_Z, DEFAULT_ALPHA, DEFAULT_WARMUP);
    }

    @Override
    public String spec() {
        return "zclip:" + PolicyArgs.fmt(zThreshold) + ":" + PolicyArgs.fmt(alpha) + ":" + warmup;
    }

    @Override
    public PolicyState newState() {
        return new PolicyState.ZClipState(this, 0, new double[0], false, 0.0, 0.0);
    }
}
