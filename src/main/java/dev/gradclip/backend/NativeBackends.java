package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;

/**
 * The native backends (CUDA and EMULATED), bound through JavaCPP to libgradclip and libgradclip-emu.
 * Until those libraries are built into this jar, both report themselves unavailable with that reason.
 */
final class NativeBackends {
    private NativeBackends() {
    }

    static BackendStatus status(Backend kind) {
        return new BackendStatus(kind, false, "native library lib" + libraryName(kind) + " is not part of this build");
    }

    static ClipBackend open(Backend kind) {
        throw new IllegalStateException("backend " + kind.cliName() + " is not available: " + status(kind).detail());
    }

    private static String libraryName(Backend kind) {
        return kind == Backend.CUDA ? "gradclip" : "gradclip-emu";
    }
}
