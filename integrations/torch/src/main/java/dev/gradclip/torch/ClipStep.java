package dev.gradclip.torch;

import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.ValueClip;
import java.util.Objects;

/**
 * What to do with one step's gradients: the seam between the libtorch plumbing (which finds the gradients and
 * exposes them in place) and gradclip (which decides and clips). A fixed operation is one of the factories
 * below; a stateful policy (a schedule, AutoClip, ZClip, ...) is any implementation that decides per call,
 * for example {@code (clipper, grads) -> clipper.clipByGlobalNorm(grads.gradients(), NormClip.of(policy.next()))}.
 * Implementations are called once per training step, from the training thread, and must not keep the
 * {@link NamedGradients} beyond the call (the views are only valid until the optimizer step).
 */
@FunctionalInterface
public interface ClipStep {

    /** Clips (or measures) {@code gradients} in place and reports what was done. */
    ClipReport clip(Clipper clipper, NamedGradients gradients);

    /** Clip by global norm ({@code torch.nn.utils.clip_grad_norm_} with PyTorch semantics by default). */
    static ClipStep globalNorm(NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        return named("global-norm " + clip, (c, g) -> c.clipByGlobalNorm(g.gradients(), clip));
    }

    /** Clip by norm, each parameter's gradient on its own (Keras {@code clipnorm}, {@code tf.clip_by_norm}). */
    static ClipStep perTensorNorm(NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        return named("norm " + clip, (c, g) -> c.clipByNorm(g.gradients(), clip));
    }

    /** Clip by value ({@code clip_grad_value_}, Keras {@code clipvalue}). */
    static ClipStep byValue(ValueClip clip) {
        Objects.requireNonNull(clip, "value clip is null");
        return named("value " + clip, (c, g) -> c.clipByValue(g.gradients(), clip));
    }

    /** Measures the norms and writes nothing (monitoring only). */
    static ClipStep normsOnly(NormType normType) {
        Objects.requireNonNull(normType, "norm type is null");
        return named("norms " + normType, (c, g) -> c.norms(g.gradients(), normType, NonFinitePolicy.PROPAGATE));
    }

    private static ClipStep named(String name, ClipStep step) {
        return new ClipStep() {
            @Override
            public ClipReport clip(Clipper clipper, NamedGradients gradients) {
                return step.clip(clipper, gradients);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }
}
