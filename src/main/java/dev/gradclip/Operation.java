package dev.gradclip;

/**
 * The kinds of operation gradclip performs; {@link ClipReport#operation()} names the one that ran and
 * {@link ClipOperation#kind()} the one an operation value describes.
 */
public enum Operation {
    /** {@link Clipper#clipByValue}: {@code g_i ← clamp(g_i, min, max)} by the {@code torch.clamp} rule of {@link ValueClip}. */
    CLIP_VALUE("value"),
    /** {@link Clipper#norms(GradientSet, NormType, NonFinitePolicy)}: {@code ‖g_t‖_p} and {@code ‖g‖_p} measured, nothing written. */
    NORMS("norms"),
    /** {@link Clipper#clipByNorm}: per tensor {@code g_t ← g_t · scale(‖g_t‖_p, M)}. */
    CLIP_NORM("norm"),
    /**
     * {@link Clipper#clipByGlobalNorm}, {@link Clipper#clipByGlobalNormAsync} and
     * {@link Clipper#clipWithTotalNorm}: {@code g_t ← g_t · scale(N, M)} with {@code N = ‖(g_0, …, g_{n-1})‖_p}.
     */
    CLIP_GLOBAL_NORM("global-norm"),
    /** {@link Clipper#renormalize}: per tensor {@code g_t ← g_t · 1/(‖g_t‖_p == 0 ? 1e-5 : ‖g_t‖_p)}. */
    RENORMALIZE("renormalize"),
    /** {@link Clipper#scaleEach}: {@code g_t ← g_t · f_t} with caller-given factors. */
    SCALE("scale");

    private final String cliName;

    Operation(String cliName) {
        this.cliName = cliName;
    }

    /**
     * {@return the name the command line uses ({@code --op})} One of "value", "norms", "norm", "global-norm",
     * "renormalize" or "scale".
     */
    public String cliName() {
        return cliName;
    }
}
