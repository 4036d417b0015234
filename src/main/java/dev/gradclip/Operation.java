package dev.gradclip;

/** The operations gradclip performs; the report names which one ran. */
public enum Operation {
    CLIP_VALUE("value"),
    NORMS("norms"),
    CLIP_NORM("norm"),
    CLIP_GLOBAL_NORM("global-norm"),
    RENORMALIZE("renormalize"),
    /** {@link Clipper#scaleEach}: {@code g_t ← g_t · f_t} with caller-given factors. */
    SCALE("scale");

    private final String cliName;

    Operation(String cliName) {
        this.cliName = cliName;
    }

    /** The name the command line uses ({@code --op}). */
    public String cliName() {
        return cliName;
    }
}
