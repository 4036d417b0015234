package dev.gradclip.djl;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.integration.ClipStep;
import java.util.List;
import java.util.Objects;

/**
 * A DJL {@link ai.djl.training.listener.TrainingListener} that clips the gradients in place in
 * {@code onTrainingBatch}: {@code EasyTrain.trainBatch} calls it after the backward pass of the whole batch and
 * before {@code EasyTrain.fit} calls {@code trainer.step()}.
 *
 * <pre>{@code
 * GradClipListener clip = new GradClipListener(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
 * DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss()).addTrainingListeners(clip);
 * EasyTrain.fit(trainer, epochs, trainingSet, validationSet);
 * clip.reports();              // one ClipReport per step
 * }</pre>
 *
 * A listener cannot cancel {@code trainer.step()}: a step whose operation was skipped
 * ({@link dev.gradclip.NonFinitePolicy#SKIP}) would then be taken with the unclipped, non-finite gradients. So
 * a skipped report makes the listener throw (nothing was modified); to skip steps, call
 * {@link DjlGradClip#clipAndStep} from your own loop. Every refusal of {@link DjlGradients} (several devices, GPU,
 * non-contiguous, over 2 GiB) is thrown from {@code onTrainingBatch}, before anything is written, and ends
 * {@code fit}.
 */
public final class GradClipListener extends TrainingListenerAdapter {
    private final DjlGradClip clip;

    public GradClipListener(Clipper clipper, ClipStep step) {
        this(new DjlGradClip(clipper, step));
    }

    public GradClipListener(DjlGradClip clip) {
        this.clip = Objects.requireNonNull(clip, "clip is null");
    }

    @Override
    public void onTrainingBegin(Trainer trainer) {
        if (trainer.getDevices().length != 1) {
            // fail at the start rather than after the first batch (the same check runs on every step)
            new DjlGradients().withGradients(trainer, g -> null);
        }
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        ClipReport r = clip.clip(trainer);
        if (r.skipped()) {
            throw new IllegalStateException("the clip step skipped this batch (non-finite norm under NonFinitePolicy.SKIP),"
                    + " but a listener cannot stop trainer.step(), which would apply the non-finite gradients; use"
                    + " DjlGradClip.clipAndStep in your own loop to skip steps: " + r);
        }
    }

    /** The helper this listener drives (its reports, its observer). */
    public DjlGradClip clipper() {
        return clip;
    }

    /** One report per training step, oldest first. */
    public List<ClipReport> reports() {
        return clip.reports();
    }
}
