package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.backend.nativeapi.NativeApi;
import dev.gradclip.backend.nativeapi.NativeBackend;
import java.util.EnumMap;
import java.util.Map;

/**
 * The native backends (CUDA and EMULATED), bound through JavaCPP to libgradclip and libgradclip-emu.
 * Probing loads the library from the jar once; a library that was not built, or a machine without a
 * CUDA driver or device, makes the backend unavailable with that reason.
 */
public final class NativeBackends {
    private static final Map<Backend, Object> PROBED = new EnumMap<>(Backend.class);

    private NativeBackends() {
    }

    /** The loaded API of a native backend, or throws IllegalStateException with the reason it is unavailable. */
    public static synchronized NativeApi api(Backend kind) {
        Object o = PROBED.computeIfAbsent(kind, NativeBackends::probe);
        if (o instanceof NativeApi api) return api;
        throw new IllegalStateException("backend " + kind.cliName() + " is not available: " + o);
    }

    static BackendStatus status(Backend kind) {
        try {
            NativeApi api = api(kind);
            int[] count = new int[1];
            int[] err = new int[1];
            api.probe(count, err);
            return new BackendStatus(kind, true, kind == Backend.CUDA ? count[0] + " CUDA device(s)" : "kernels on the CPU via " + api.backendName());
        } catch (IllegalStateException e) {
            String m = e.getMessage();
            return new BackendStatus(kind, false, m.substring(m.indexOf(": ") + 2));
        }
    }

    static ClipBackend open(Backend kind) {
        return new NativeBackend(api(kind));
    }

    private static Object probe(Backend kind) {
        String lib = kind == Backend.CUDA ? "libgradclip" : "libgradclip-emu";
        String missing = NativeArtifacts.missing(NativeBackends.class.getClassLoader(), "dev.gradclip.backend.nativeapi.EmulatedLibrary");
        if (missing != null) {
            return lib + " cannot be loaded: " + missing;
        }
        NativeApi api;
        try {
            api = NativeApi.load(kind);
        } catch (Throwable t) {
            Throwable root = t;
            while (root.getCause() != null) root = root.getCause();
            return lib + " could not be loaded (" + (kind == Backend.CUDA ? "not built: nvcc was absent at build time, or " : "")
                    + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        int[] count = new int[1];
        int[] err = new int[1];
        int rc = api.probe(count, err);
        if (rc != NativeApi.GC_OK) {
            return api.lastError() + (err[0] != 0 ? " (CUDA error " + err[0] + ")" : "");
        }
        return api;
    }
}
