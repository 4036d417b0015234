package dev.gradclip;

/** Which implementation runs the operations. */
public enum Backend {
    /** CUDA when a GPU and driver are present, else CPU. */
    AUTO,
    /** Pure Java, multi-threaded; the reference implementation. */
    CPU,
    /** CUDA kernels on the GPU, through JavaCPP ({@code libgradclip}). */
    CUDA,
    /** The same CUDA kernels compiled for the host and run on the CPU ({@code libgradclip-emu}); for parity testing. */
    EMULATED;

    /** Lower-case name as the command line spells it. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses auto|cpu|cuda|emulated (case-insensitive). */
    public static Backend parse(String text) {
        for (Backend b : values()) {
            if (b.cliName().equalsIgnoreCase(text.trim())) return b;
        }
        throw new IllegalArgumentException("unknown backend '" + text + "' (expected auto, cpu, cuda or emulated)");
    }
}
