package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and opens backends; the one place that knows which exist and how to probe them. Logs each
 * choice to the {@link System.Logger} named "dev.gradclip" at DEBUG (a library says nothing at INFO in
 * normal operation; the CLI and trainers show {@code Clipper.selectionReason()} when they want to): the
 * backend opened and why, including AUTO's fallback to the CPU with the reason CUDA is unavailable, and a
 * requested backend that is unavailable, before the exception.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger("dev.gradclip");

    private Backends() {
    }

    /** An opened backend and why it was chosen. */
    public record Selection(ClipBackend backend, String reason) {
    }

    /** The status of every backend, in the order CPU, CUDA, EMULATED. */
    public static List<BackendStatus> statuses() {
        List<BackendStatus> list = new ArrayList<>();
        String why = CpuBackend.nativeUnavailableReason();
        String kernels = why == null ? "native " + CpuBackend.nativeIsa() + " kernels" : "pure-Java kernels (" + why + ")";
        list.add(new BackendStatus(Backend.CPU, true, kernels + ", " + Runtime.getRuntime().availableProcessors() + " threads"));
        list.add(NativeBackends.status(Backend.CUDA));
        list.add(NativeBackends.status(Backend.EMULATED));
        return list;
    }

    /**
     * Opens {@code requested} (logged). AUTO: with CUDA available, an {@link AutoBackend} that runs each set where
     * its tensors live (device tensors on CUDA, host tensors on the CPU); without CUDA, the CPU.
     */
    public static Selection open(Backend requested) {
        Selection s = select(requested);
        LOG.log(System.Logger.Level.DEBUG, "gradclip backend " + s.backend().kind().cliName() + " (" + s.reason() + ")");
        return s;
    }

    private static Selection select(Backend requested) {
        switch (requested) {
            case CPU:
                return new Selection(new CpuBackend(), "requested");
            case AUTO: {
                BackendStatus cuda = NativeBackends.status(Backend.CUDA);
                if (cuda.available()) {
                    return new Selection(new AutoBackend(new CpuBackend(), NativeBackends.open(Backend.CUDA)), "AUTO: CUDA available ("
                            + cuda.detail() + "): sets with a tensor in device memory run on CUDA, sets of host tensors on the CPU");
                }
                return new Selection(new CpuBackend(), "AUTO: CUDA unavailable (" + cuda.detail() + "), using the CPU");
            }
            default: {
                BackendStatus s = NativeBackends.status(requested);
                if (!s.available()) {
                    LOG.log(System.Logger.Level.DEBUG, "gradclip backend " + requested.cliName() + " unavailable: " + s.detail());
                    throw new IllegalStateException("backend " + requested.cliName() + " is not available: " + s.detail());
                }
                return new Selection(NativeBackends.open(requested), "requested");
            }
        }
    }
}
