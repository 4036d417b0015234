package dev.gradclip;

import java.util.Objects;

/**
 * One operation of gradclip as a value: what {@link Clipper#apply(GradientSet, ClipOperation)} runs, what
 * a command line, a trainer listener or a policy decides per step. Records, immutable.
 *
 * <ul>
 *   <li>{@link ByValue}: {@code g ← clamp(g, min, max)} ({@link Clipper#clipByValue});
 *   <li>{@link ByNorm}: per tensor {@code g_t ← g_t · scale(‖g_t‖_p, M)} ({@link Clipper#clipByNorm});
 *   <li>{@link ByGlobalNorm}: {@code g ← g · scale(‖g‖_p, M)} ({@link Clipper#clipByGlobalNorm});
 *   <li>{@link Renormalize}: {@code g_t ← g_t · 1/‖g_t‖_p} ({@link Clipper#renormalize});
 *   <li>{@link Norms}: measure only ({@link Clipper#norms(GradientSet, NormType, NonFinitePolicy)}).
 * </ul>
 */
public sealed interface ClipOperation
        permits ClipOperation.ByValue, ClipOperation.ByNorm, ClipOperation.ByGlobalNorm, ClipOperation.Renormalize,
        ClipOperation.Norms {

    /** {@return the name the command line uses ({@code --op}): "value", "norm", "global-norm", "renormalize" or "norms"} */
    String cliName();

    /** {@return the kind of operation, as {@link ClipReport#operation()} names it} */
    Operation kind();

    /**
     * Clip by value ({@link Clipper#clipByValue}) by the {@code torch.clamp} rule of {@link ValueClip}:
     * {@code g_i ← g_i < min ? min : (max < g_i ? max : g_i)}, so a NaN keeps its bits and a value equal to a
     * bound (−0.0 against +0.0 included) is kept.
     *
     * @param clip the bounds and the non-finite policy
     */
    record ByValue(ValueClip clip) implements ClipOperation {
        /**
         * Checks the clip.
         *
         * @param clip the bounds and the non-finite policy
         * @throws NullPointerException if {@code clip} is null
         */
        public ByValue {
            Objects.requireNonNull(clip, "value clip is null");
        }

        @Override public String cliName() { return "value"; }

        @Override public Operation kind() { return Operation.CLIP_VALUE; }
    }

    /**
     * Clip by norm per tensor ({@link Clipper#clipByNorm}): {@code g_t ← g_t · scale(‖g_t‖_p, M)}, with
     * {@code scale} of the clip's {@link Semantics}.
     *
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     */
    record ByNorm(NormClip clip) implements ClipOperation {
        /**
         * Checks the clip.
         *
         * @param clip the threshold M, the norm type, the semantics and the non-finite policy
         * @throws NullPointerException if {@code clip} is null
         */
        public ByNorm {
            Objects.requireNonNull(clip, "norm clip is null");
        }

        @Override public String cliName() { return "norm"; }

        @Override public Operation kind() { return Operation.CLIP_NORM; }
    }

    /**
     * Clip by global norm ({@link Clipper#clipByGlobalNorm}): {@code N = ‖(g_0, …, g_{n-1})‖_p},
     * {@code g_t ← g_t · scale(N, M)} for every t, with {@code scale} of the clip's {@link Semantics}.
     *
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     */
    record ByGlobalNorm(NormClip clip) implements ClipOperation {
        /**
         * Checks the clip.
         *
         * @param clip the threshold M, the norm type, the semantics and the non-finite policy
         * @throws NullPointerException if {@code clip} is null
         */
        public ByGlobalNorm {
            Objects.requireNonNull(clip, "norm clip is null");
        }

        @Override public String cliName() { return "global-norm"; }

        @Override public Operation kind() { return Operation.CLIP_GLOBAL_NORM; }
    }

    /**
     * DL4J renormalize per tensor ({@link Clipper#renormalize}): {@code g_t ← g_t · s_t} with the fp64
     * factor {@code s_t = 1 / (‖g_t‖_p == 0 ? 1e-5 : ‖g_t‖_p)} ({@link Semantics#renormalizeScale}).
     *
     * @param normType the p of the norm
     * @param nonFinite what to do when a tensor norm is NaN or infinite
     */
    record Renormalize(NormType normType, NonFinitePolicy nonFinite) implements ClipOperation {
        /**
         * Checks the arguments.
         *
         * @param normType the p of the norm
         * @param nonFinite what to do when a tensor norm is NaN or infinite
         * @throws NullPointerException if an argument is null
         */
        public Renormalize {
            Objects.requireNonNull(normType, "norm type is null");
            Objects.requireNonNull(nonFinite, "nonFinite policy is null");
        }

        @Override public String cliName() { return "renormalize"; }

        @Override public Operation kind() { return Operation.RENORMALIZE; }
    }

    /**
     * Norms only ({@link Clipper#norms(GradientSet, NormType, NonFinitePolicy)}): {@code ‖g_t‖_p} per tensor
     * and {@code ‖(g_0, …, g_{n-1})‖_p}; nothing is written.
     *
     * @param normType the p of the norm
     * @param nonFinite ERROR throws when the total norm is NaN or infinite; PROPAGATE and SKIP report it
     */
    record Norms(NormType normType, NonFinitePolicy nonFinite) implements ClipOperation {
        /**
         * Checks the arguments.
         *
         * @param normType the p of the norm
         * @param nonFinite ERROR throws when the total norm is NaN or infinite; PROPAGATE and SKIP report it
         * @throws NullPointerException if an argument is null
         */
        public Norms {
            Objects.requireNonNull(normType, "norm type is null");
            Objects.requireNonNull(nonFinite, "nonFinite policy is null");
        }

        @Override public String cliName() { return "norms"; }

        @Override public Operation kind() { return Operation.NORMS; }
    }
}
