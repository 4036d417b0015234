package dev.gradclip;

/** Which implementation runs the operations. */
public enum Backend {
    /** CUDA when a GPU and driver are present, else CPU. */
    AUTO,
    /**
     * The host CPU, multi-threaded: the native SIMD kernels of {@code libgradclip-cpu} (from the natives jar)
     * where they load, else the pure-Java reference; both compute the same bits. Always available.
     */
    CPU,
    /** CUDA kernels on the GPU, through JavaCPP ({@code libgradclip}). */
    CUDA,
    /** The same CUDA kernels compiled for the host and run on the CPU ({@code libgradclip-emu}); for parity testing. */
    EMULATED;

    /** {@return the lower-case name as the command line spells it: "auto", "cpu", "cuda" or "emulated"} */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses a backend name as {@link #cliName()} spells it, ignoring case and surrounding white space.
     *
     * @param text "auto", "cpu", "cuda" or "emulated"
     * @return the backend of that name
     * @throws IllegalArgumentException if {@code text} names no backend
     * @throws NullPointerException if {@code text} is null
     */
    public static Backend parse(String text) {
        java.util.Objects.requireNonNull(text, "text is null");
        for (Backend b : values()) {
            if (b.cliName().equalsIgnoreCase(text.trim())) return b;
        }
        throw new IllegalArgumentException("unknown backend '" + text + "' (expected auto, cpu, cuda or emulated)");
    }
}
