package dev.gradclip.djl;

import dev.gradclip.GradientSet;
import java.util.List;
import java.util.Objects;

/**
 * One step's gradients as gradclip views of DJL's own gradient memory: {@code names.get(i)} is the DJL
 * parameter name of {@code gradients.get(i)}. Valid until the gradients are next written by DJL
 * ({@code trainer.step()} or the next backward pass).
 */
public record ParameterGradients(List<String> names, GradientSet gradients) {
    public ParameterGradients {
        names = List.copyOf(Objects.requireNonNull(names, "names"));
        Objects.requireNonNull(gradients, "gradients");
        if (names.size() != gradients.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + gradients.size() + " gradients");
        }
    }
}
