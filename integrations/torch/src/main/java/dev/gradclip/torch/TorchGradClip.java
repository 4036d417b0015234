package dev.gradclip.torch;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.integration.ClipStep;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * gradclip for libtorch training loops (JavaCPP PyTorch presets): between {@code loss.backward()} and
 * {@code optimizer.step()}, {@link #clip(Module)} clips the module's gradients in place and records the report.
 *
 * <pre>{@code
 * TorchGradClip clip = new TorchGradClip(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
 * optimizer.zero_grad();
 * loss.backward();
 * clip.clip(model);            // torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0), by gradclip
 * optimizer.step();
 * }</pre>
 *
 * CUDA gradients need a CUDA clipper, all on one device; the clipper is put on libtorch's current stream of that
 * device first, so the clip is ordered after backward and before the optimizer without a host synchronisation
 * (except the report, which reads the norm). A mix of CPU and CUDA gradients, or gradients on two GPUs, is refused.
 */
public final class TorchGradClip {
    private final Clipper clipper;
    private final ClipStep step;
    private final List<ClipReport> reports = new ArrayList<>();

    public TorchGradClip(Clipper clipper, ClipStep step) {
        this.clipper = Objects.requireNonNull(clipper, "clipper is null");
        this.step = Objects.requireNonNull(step, "clip step is null");
    }

    /** Clips {@code module}'s current gradients in place (parameters without a gradient are left out). */
    public ClipReport clip(Module module) {
        return clip(TorchGradients.of(module));
    }

    /** Clips gradients already wrapped by {@link TorchGradients}. */
    public ClipReport clip(NamedGradients grads) {
        Objects.requireNonNull(grads, "gradients are null");
        if (grads.onCuda()) {
            Tensor first = null;
            for (int i = 0; i < grads.tensors().size(); i++) {
                Tensor t = grads.tensors().get(i);
                if (!t.is_cuda()) {
                    throw new IllegalArgumentException(grads.names().get(i) + ".grad is on the CPU but other gradients are on "
                            + "CUDA: clip each device's gradients with its own clipper");
                }
                if (first == null) {
                    first = t;
                } else if (t.device().index() != first.device().index()) {
                    throw new IllegalArgumentException(grads.names().get(i) + ".grad is on cuda:" + t.device().index()
                            + ", others on cuda:" + first.device().index() + ": a global norm over several GPUs needs their "
                            + "partial norms combined (NormPartials), not one clipper over both");
                }
            }
            if (clipper.backend() != Backend.CUDA && clipper.backend() != Backend.AUTO) {  // AUTO (with CUDA) runs device sets on CUDA
                throw new IllegalArgumentException("the gradients are in CUDA memory but the clipper runs on "
                        + clipper.backend().cliName() + "; use Clipper.create(Backend.CUDA)");
            }
            clipper.onStream(TorchGradients.currentCudaStream(first));
        }
        ClipReport r;
        try {
            r = step.clip(clipper, grads.parameters());
        } finally {
            Reference.reachabilityFence(grads); // the tensors the views point into stay alive during the step
        }
        Objects.requireNonNull(r, "the clip step returned no report");
        reports.add(r);
        return r;
    }

    /** One report per call, oldest first. */
    public List<ClipReport> reports() {
        return Collections.unmodifiableList(reports);
    }
}
