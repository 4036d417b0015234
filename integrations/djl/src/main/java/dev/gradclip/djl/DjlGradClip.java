package dev.gradclip.djl;

import ai.djl.training.Trainer;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.integration.ClipStep;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * gradclip for DJL training loops: clips the gradients of every trainable parameter of a {@link Trainer}'s model
 * in place, between the backward pass and {@code trainer.step()}, and records one {@link ClipReport} per step.
 *
 * <pre>{@code
 * DjlGradClip clip = new DjlGradClip(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
 * try (GradientCollector gc = trainer.newGradientCollector()) {
 *     gc.backward(loss);
 * }
 * clip.clip(trainer);          // or clip.clipAndStep(trainer)
 * trainer.step();
 * }</pre>
 *
 * With {@code EasyTrain.fit} use {@link GradClipListener}, which calls {@link #clip(Trainer)} from
 * {@code onTrainingBatch}. The trainer must train on one CPU device (see {@link DjlGradients}: everything else is
 * refused before anything is written). Not thread-safe: one training loop per instance.
 */
public final class DjlGradClip {
    private final Clipper clipper;
    private final ClipStep step;
    private final DjlGradients gradients = new DjlGradients();
    private final List<ClipReport> reports = new ArrayList<>();
    private final int keep;
    private long steps;
    private Consumer<ClipReport> observer = r -> { };

    /** Clips with {@code step} on {@code clipper}, keeping every report. */
    public DjlGradClip(Clipper clipper, ClipStep step) {
        this(clipper, step, Integer.MAX_VALUE);
    }

    /** Keeps only the last {@code keep} reports in {@link #reports()} (long runs); {@link #steps()} counts all. */
    public DjlGradClip(Clipper clipper, ClipStep step, int keep) {
        this.clipper = Objects.requireNonNull(clipper, "clipper is null");
        this.step = Objects.requireNonNull(step, "clip step is null");
        if (keep < 0) throw new IllegalArgumentException("keep must be >= 0: " + keep);
        this.keep = keep;
    }

    /** Also hands every report to {@code observer} (a logger, a monitor), on the training thread. */
    public DjlGradClip onReport(Consumer<ClipReport> observer) {
        this.observer = Objects.requireNonNull(observer, "observer is null");
        return this;
    }

    /**
     * Clips the trainer's current gradients in place; call it after the backward pass and before
     * {@code trainer.step()}.
     *
     * @throws IllegalStateException if the gradients cannot be clipped in place (nothing is modified)
     */
    public ClipReport clip(Trainer trainer) {
        ClipReport r = gradients.withGradients(trainer, g -> step.clip(clipper, g));
        Objects.requireNonNull(r, "the clip step returned no report");
        steps++;
        if (keep > 0) {
            if (reports.size() == keep) reports.remove(0);
            reports.add(r);
        }
        observer.accept(r);
        return r;
    }

    /**
     * {@link #clip(Trainer)}, then {@code trainer.step()} unless the report says the operation was skipped
     * ({@link dev.gradclip.NonFinitePolicy#SKIP} met a non-finite norm): then the step is not taken and the
     * gradients stay as they are (the next backward pass overwrites them).
     */
    public ClipReport clipAndStep(Trainer trainer) {
        ClipReport r = clip(trainer);
        if (!r.skipped()) trainer.step();
        return r;
    }

    /** The reports of the last steps (all of them unless a limit was given), oldest first. */
    public List<ClipReport> reports() {
        return Collections.unmodifiableList(reports);
    }

    /** The last report, or null before the first step. */
    public ClipReport last() {
        return reports.isEmpty() ? null : reports.get(reports.size() - 1);
    }

    /** Steps clipped so far. */
    public long steps() {
        return steps;
    }

    public ClipStep step() {
        return step;
    }

    @Override
    public String toString() {
        return "DjlGradClip{" + step + " on " + clipper + "}";
    }
}
