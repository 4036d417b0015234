package dev.gradclip.integration;

import dev.gradclip.GradientSet;
import java.util.List;
import java.util.Objects;

/**
 * One step's gradients as gradclip views of the trainer's own gradient memory, with their parameter names:
 * {@code names.get(i)} is the trainer's name of the parameter whose gradient {@code gradients.get(i)} views.
 * Valid until the trainer next writes its gradients (the optimizer step or the next backward pass). Immutable
 * (the names are copied; the views are the trainer's memory).
 *
 * @param names the parameter names, one per gradient
 * @param gradients the views, in the same order
 */
public record ParameterGradients(List<String> names, GradientSet gradients) {

    /**
     * @throws NullPointerException if an argument or a name is null
     * @throws IllegalArgumentException if there are not as many names as gradients
     */
    public ParameterGradients {
        names = List.copyOf(Objects.requireNonNull(names, "names"));
        Objects.requireNonNull(gradients, "gradients");
        if (names.size() != gradients.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + gradients.size() + " gradients");
        }
    }
}
