package dev.gradclip.policy;

/**
 * Adaptive gradient clipping, AGC (Brock, De, Smith, Simonyan, "High-Performance Large-Scale Image
 * Recognition Without Normalization", ICML 2021; Optax {@code adaptive_grad_clip}; {@code agc:LAMBDA[:EPS]}).
 * Per unit u of each tensor, with the unit's gradient g_u and parameters w_u:
 * <pre>
 *   max_u = λ · max(‖w_u‖₂, eps)
 *   g_u  ← g_u · max_u / max(‖g_u‖₂, 1e-6)     where ‖g_u‖₂ &gt; max_u   (else g_u unchanged)
 * </pre>
 * A unit is a row (index 0) of a tensor with at least two dimensions larger than 1 in
 * {@link UnitLayout#PYTORCH} layout (the output dimension in {@link UnitLayout#DL4J_INPUT_MAJOR}), the
 * whole tensor otherwise. The unit norms are the backends' canonical L2 norms of unit views (fp64 sums
 * in the order of docs/canonical-reduction.md, bitwise equal on every backend); max_u and the factor are
 * computed in fp64 and applied by the scale pass as one multiply per element (the factor rounded once to
 * fp32 for fp32/fp16/bf16 storage, the fp32 product rounded to nearest even into fp16/bf16; the fp64
 * product when the rounded factor is not a normal float).
 *
 * <p>Reference: Optax's formula evaluated in fp64 on unit norms summed in the canonical order, applied by
 * that rule ({@code scripts/fixtures/agc.py}, with its own implementation of the order); the library
 * matches it within 1 ulp on every dtype (bitwise on the fixtures). Norms evaluated exactly are not the
 * reference: for fp64 data the fp64 sum of fp64 squares rounds in any order, so no fp64 implementation,
 * Optax's included, is within 1 ulp of the exact-norm formula; what makes the result reproducible is the
 * fixed order. Against exact norms the result is within 1 ulp for fp32/fp16/bf16 storage and within
 * 4 ulp for fp64 on the fixtures.
 *
 * <p>Differences from Optax: Optax evaluates the formula in the array's dtype (norms summed by XLA in
 * its order, the divide and the multiply in fp32, fp16 or bf16), we in fp64 and round only the factor
 * and the product, as above; Optax keeps g_u when {@code ‖g_u‖ < max_u} and clips on equality, we keep
 * it when {@code ‖g_u‖ ≤ max_u} (identical unless max_u &lt; 1e-6, since otherwise the factor is exactly
 * 1 on equality); Optax's 3-D "multi-head" units are not modelled.
 *
 * @param lambda λ, the clipping ratio, finite and &gt; 0 (NFNets use 0.01–0.16)
 * @param eps the floor of the parameter norm, finite and ≥ 0 (default 1e-3)
 * @param layout where the units of a weight tensor are
 */
public record AdaptiveGradClip(double lambda, double eps, UnitLayout layout) implements ClipPolicy {
    /** Optax's default eps. */
    public static final double DEFAULT_EPS = 1e-3;
    /** The floor of the gradient norm in the factor's denominator. */
    public static final double GRAD_NORM_FLOOR = 1e-6;

    /**
     * Checks the parameters.
     *
     * @param lambda λ, finite and &gt; 0
     * @param eps the floor of the parameter norm, finite and ≥ 0
     * @param layout where the units of a weight tensor are
     * @throws IllegalArgumentException if λ or eps is outside its range (NaN included)
     * @throws NullPointerException if {@code layout} is null
     */
    public AdaptiveGradClip {
        if (!(lambda > 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("AGC LAMBDA must be finite and > 0, got " + lambda);
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("AGC EPS must be finite and >= 0, got " + eps);
        if (layout == null) throw new NullPointerException("AGC layout is null");
    }

    /**
     * {@return AGC with λ, eps = 1e-3 and the PyTorch layout ({@code agc:LAMBDA})}
     *
     * @param lambda λ, finite and &gt; 0
     * @throws IllegalArgumentException if λ is not finite and &gt; 0
     */
    public static AdaptiveGradClip of(double lambda) {
        return new AdaptiveGradClip(lambda, DEFAULT_EPS, UnitLayout.PYTORCH);
    }

    /**
     * {@return a copy of this policy with another unit layout} (The layout is not part of {@link #spec()}.)
     *
     * @param l where the units of a weight tensor are
     */
    public AdaptiveGradClip withLayout(UnitLayout l) {
        return new AdaptiveGradClip(lambda, eps, l);
    }

    @Override
    public String spec() {
        return "agc:" + PolicyArgs.fmt(lambda) + ":" + PolicyArgs.fmt(eps);
    }

    /**
     * {@return {@code max_u = λ·max(‖w_u‖, eps)} in fp64} A NaN parameter norm gives NaN.
     *
     * @param paramNorm {@code ‖w_u‖₂}, the unit's parameter norm
     */
    public double maxNorm(double paramNorm) {
        return lambda * (Double.isNaN(paramNorm) ? paramNorm : Math.max(paramNorm, eps));
    }

    /**
     * The factor for one unit: {@code max_u / max(‖g_u‖, 1e-6)} when {@code ‖g_u‖ > max_u}, else exactly 1.
     * A NaN gradient or parameter norm gives 1 here (nothing compares greater than NaN): the caller
     * applies its non-finite policy to such steps first.
     *
     * @param gradNorm {@code ‖g_u‖₂}, the unit's gradient norm (of the unscaled gradient)
     * @param paramNorm {@code ‖w_u‖₂}, the unit's parameter norm
     * @return the fp64 factor the unit's gradient is multiplied by
     */
    public double factor(double gradNorm, double paramNorm) {
        double max = maxNorm(paramNorm);
        return gradNorm > max ? max / Math.max(gradNorm, GRAD_NORM_FLOOR) : 1.0;
    }
}
