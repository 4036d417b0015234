package dev.gradclip;

import dev.gradclip.backend.ClipBackend;

/** Tests outside this package wrap a configured backend (e.g. a CpuBackend with N threads) in a Clipper. */
public final class TestClippers {
    private TestClippers() {
    }

    /** {@code Clipper.using(backend)}, which is package-private (the backend SPI is not API). */
    public static Clipper using(ClipBackend backend) {
        return Clipper.using(backend);
    }
}
