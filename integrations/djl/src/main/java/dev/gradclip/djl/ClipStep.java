package dev.gradclip.djl;

import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.ValueClip;
import java.util.Objects;

/**
 * What to do with one step's gradients: the seam between the DJL plumbing (which finds the gradients and
 * exposes them in place) and gradclip (which decides and clips). A fixed operation is one of the factories
 * below; a stateful policy (a schedule, AutoClip, ZClip, ...) is any implementation that decides per call,
 * for example {@code (clipper, grads) -> clipper.clipByGlobalNorm(grads.gradients(), NormClip.of(policy.next()))}.
 * Implementations are called once per training step, from the training thread, and must not keep the
 * {@link ParameterGradients} beyond the call (the views are only valid until {@code trainer.step()}).
 */
@FunctionalInterface
public interface ClipStep {

    /** Clips (or measures) {@code gradients} in place and reports what was done. */
    ClipReport clip(Clipper clipper, ParameterGradients gradients);

    /**
     * Any gradclip operation ({@link ClipOperation}: by value, by norm per tensor, by global norm, renormalize,
     * norms only), run by {@link Clipper#apply}.
     */
    static ClipStep of(ClipOperation operation) {
        Objects.requireNonNull(operation, "operation is null");
        return named(operation.cliName() + " " + operation, (c, g) -> c.apply(g.gradients(), operation));
    }

    /** Clip by global norm ({@code torch.nn.utils.clip_grad_norm_} with PyTorch semantics by default). */
    static ClipStep globalNorm(NormClip clip) {
        return of(new ClipOperation.ByGlobalNorm(clip));
    }

    /** Clip by norm, each parameter's gradient on its own (Keras {@code clipnorm}, {@code tf.clip_by_norm}). */
    static ClipStep perTensorNorm(NormClip clip) {
        return of(new ClipOperation.ByNorm(clip));
    }

    /** Clip by value (DJL's own {@code optClipGrad}, {@code clip_grad_value_}, Keras {@code clipvalue}). */
    static ClipStep byValue(ValueClip clip) {
        return of(new ClipOperation.ByValue(clip));
    }

    /** Measures the norms and writes nothing (monitoring only). */
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
