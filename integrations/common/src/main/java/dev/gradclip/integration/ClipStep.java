package dev.gradclip.integration;

import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.ValueClip;
import java.util.Objects;

/**
 * What to do with one training step's gradients: the seam between a trainer integration (gradclip-djl,
 * gradclip-torch: the plumbing that finds a model's gradients and exposes them in place as
 * {@link ParameterGradients}) and gradclip (which decides and clips). A fixed operation is one of the
 * factories below; a stateful policy (a schedule, AutoClip, ZClip, ...) is any implementation that decides per
 * call, for example
 * {@code (clipper, grads) -> clipper.clipByGlobalNorm(grads.gradients(), NormClip.of(schedule.next()))}.
 *
 * <p>Contract of {@link #clip}: the integration calls it once per training step, on the training thread,
 * after the backward pass and before the optimizer step. It clips (or only measures) the gradients in place
 * and returns the {@link ClipReport} of what it did, never null. It must not keep the {@link ParameterGradients}
 * beyond the call: the views are valid only until the trainer next writes its gradients (the optimizer step,
 * the next backward pass). An exception thrown by it reaches the training loop; the integration records no
 * report for that step.
 */
@FunctionalInterface
public interface ClipStep {

    /**
     * Clips (or measures) {@code gradients.gradients()} in place with {@code clipper} and reports what was done.
     *
     * @return the report of this step, not null
     */
    ClipReport clip(Clipper clipper, ParameterGradients gradients);

    /**
     * Runs {@code operation} (any of the core's vocabulary: by value, by norm per tensor, by global norm,
     * renormalize, norms only) through {@link Clipper#apply}: the step's gradients {@code g} become what that
     * operation's formula gives ({@link ClipOperation}), the same every step. {@code toString()} is the
     * operation's command-line name followed by the operation.
     *
     * @throws NullPointerException if {@code operation} is null
     */
    static ClipStep of(ClipOperation operation) {
        Objects.requireNonNull(operation, "operation is null");
        return named(operation.cliName() + " " + operation, (c, g) -> c.apply(g.gradients(), operation));
    }

    /**
     * Clip by global norm, {@code torch.nn.utils.clip_grad_norm_} with the default (PyTorch) semantics:
     * {@code N = ‖(g_0, …, g_n)‖_p}, {@code g_t ← g_t · scale(N, M)} with TORCH {@code scale = min(M/(N+1e-6), 1)}
     * or TF {@code scale = M/max(N, M)} ({@link NormClip}).
     */
    static ClipStep globalNorm(NormClip clip) {
        return of(new ClipOperation.ByGlobalNorm(clip));
    }

    /**
     * Clip by norm, each parameter's gradient on its own (Keras {@code clipnorm}, {@code tf.clip_by_norm}):
     * {@code g_t ← g_t · scale(‖g_t‖_p, M)} ({@link NormClip}).
     */
    static ClipStep perTensorNorm(NormClip clip) {
        return of(new ClipOperation.ByNorm(clip));
    }

    /**
     * Clip by value ({@code clip_grad_value_}, Keras {@code clipvalue}, DJL's own {@code optClipGrad}):
     * {@code g_i ← min(max(g_i, min), max)}, NaN kept ({@link ValueClip}).
     */
    static ClipStep byValue(ValueClip clip) {
        return of(new ClipOperation.ByValue(clip));
    }

    /**
     * Measures the norms {@code ‖g_t‖_p} and the total {@code ‖(g_0, …, g_n)‖_p} and writes nothing
     * (monitoring only; a non-finite norm is reported, never thrown: {@link NonFinitePolicy#PROPAGATE}).
     */
    static ClipStep normsOnly(NormType normType) {
        return of(new ClipOperation.Norms(normType, NonFinitePolicy.PROPAGATE));
    }

    private static ClipStep named(String name, ClipStep step) {
        return new ClipStep() {
            @Override
            public ClipReport clip(Clipper clipper, ParameterGradients gradients) {
                return step.clip(clipper, gradients);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }
}
