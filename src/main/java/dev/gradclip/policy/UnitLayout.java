package dev.gradclip.policy;

/**
 * Where the units (output neurons, filters) of a weight tensor are, for {@link AdaptiveGradClip}.
 * In both layouts a unit is a contiguous block of the tensor's memory, so units are plain tensor views
 * and every backend measures and scales them with its own (bitwise) passes.
 */
public enum UnitLayout {
    /**
     * PyTorch: shape {@code [out, …]} in row-major (C) order; unit u is the row u along dimension 0, the
     * elements {@code [u·n/out, (u+1)·n/out)} ({@code Linear} {@code [out, in]}, {@code Conv2d}
     * {@code [out, in, kh, kw]}).
     */
    PYTORCH,
    /**
     * Deeplearning4j dense weights: shape {@code […, out]} with the output dimension last ("input-major",
     * {@code [nIn, nOut]}), stored in column-major ('f') order, so unit u is again the block
     * {@code [u·n/out, (u+1)·n/out)}. (A row-major input-major tensor, JAX/Optax's IO or HWIO, has strided
     * units: transpose it to one of these layouts first.)
     */
    DL4J_INPUT_MAJOR;

    /**
     * The number of units of a tensor of {@code shape}: 1 (the whole tensor) when fewer than two
     * dimensions are larger than 1 (scalars, vectors, {@code [1, n]} biases: Optax squeezes the same way),
     * else the size of the unit dimension (first for PYTORCH, last for DL4J_INPUT_MAJOR).
     *
     * @param shape the tensor's dimensions in this layout (empty for a scalar)
     * @return the number of units (0 only when the unit dimension is 0)
     * @throws IllegalArgumentException if a dimension is negative
     */
    public long units(long[] shape) {
        int big = 0;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape");
            if (d > 1) big++;
        }
        if (big < 2) return 1;
        return this == PYTORCH ? shape[0] : shape[shape.length - 1];
    }
}
