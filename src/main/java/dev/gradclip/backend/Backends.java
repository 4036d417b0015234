package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;

/** Finds and opens backends; the one place that knows which exist and how to probe them. */
public final class Backends {
    private Backends() {
    }

    /** An opened backend and why it was chosen. */
    public record Selection(ClipBackend backend, String reason) {
    }

    /** The status of every backend, in the order CPU, CUDA, EMULATED. */
    public static List<BackendStatus> statuses() {
        List<BackendStatus> list = new ArrayList<>();
        list.add(new BackendStatus(Backend.CPU, true, "pure Java, " + Runtime.getRuntime().availableProcessors() + " threads"));
        list.add(NativeBackends.status(Backend.CUDA));
        list.add(NativeBackends.status(Backend.EMULATED));
        return list;
    }

    public static Selection open(Backend requested) {
        switch (requested) {
            case CPU:
                return new Selection(new CpuBackend(), "requested");
            case AUTO: {
                BackendStatus cuda = NativeBackends.status(Backend.CUDA);
                if (cuda.available()) {
                    return new Selection(NativeBackends.open(Backend.CUDA), "AUTO: CUDA available (" + cuda.detail() + ")");
                }
                return new Selection(new CpuBackend(), "AUTO: CUDA unavailable (" + cuda.detail() + "), using the CPU");
            }
            default: {
                BackendStatus s = NativeBackends.status(requested);
                if (!s.available()) {
                    throw new IllegalStateException("backend " + requested.cliName() + " is not available: " + s.detail());
                }
                return new Selection(NativeBackends.open(requested), "requested");
            }
        }
    }
}
