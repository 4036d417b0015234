package dev.gradclip.torch;

import dev.gradclip.GradientSet;
import dev.gradclip.integration.ParameterGradients;
import java.util.List;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * Gradients as gradclip views, with their parameter names and the libtorch tensors they view ({@code torch}
 * keeps the tensors referenced, so their memory stays alive as long as this object is reachable).
 */
public record NamedGradients(List<String> names, GradientSet gradients, List<Tensor> tensors) {
    public NamedGradients {
        names = List.copyOf(Objects.requireNonNull(names, "names"));
        Objects.requireNonNull(gradients, "gradients");
        tensors = List.copyOf(Objects.requireNonNull(tensors, "tensors"));
        if (names.size() != gradients.size() || tensors.size() != gradients.size()) {
            throw new IllegalArgumentException("names, views and tensors differ in length");
        }
    }

    /**
     * The names and views alone, as a {@link dev.gradclip.integration.ClipStep} takes them. The views stay valid
     * only while this object (which holds the tensors) is reachable: keep it reachable until the step returns.
     */
    public ParameterGradients parameters() {
        return new ParameterGradients(names, gradients);
    }

    /** Whether any gradient lives in CUDA memory. */
    public boolean onCuda() {
        for (Tensor t : tensors) if (t.is_cuda()) return true;
        return false;
    }
}
