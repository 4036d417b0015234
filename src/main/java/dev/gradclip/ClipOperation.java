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
 *   <li>{@link Renormalize}: {@code g_t ← g_t / ‖g_t‖_p} ({@link Clipper#renormalize});
 *   <li>{@link Norms}: measure only ({@link Clipper#norms(GradientSet, NormType, NonFinitePolicy)}).
 * </ul>
 */
public sealed interface ClipOperation
        permits ClipOperation.ByValue, ClipOperation.ByNorm, ClipOperation.ByGlobalNorm, ClipOperation.Renormalize,
        ClipOperation.Norms {

    /** The name the command line uses ({@code --op}): "value", "norm", "global-norm", "renormalize", "norms". */
    String cliName();

    /** The kind of operation, as {@link ClipReport#operation()} names it. */
    Operation kind();

    /** Clip by value: {@code g_i ← min(max(g_i, min), max)}, NaN kept (torch.clamp rule). */
    record ByValue(ValueClip clip) implements ClipOperation {
        public ByValue {
            Objects.requireNonNull(clip, "value clip is null");
        }

        @Override public String cliName() { return "value"; }

        @Override public Operation kind() { return Operation.CLIP_VALUE; }
    }

    /** Clip by norm per tensor: {@code g_t ← g_t · scale(‖g_t‖_p, M)}. */
    record ByNorm(NormClip clip) implements ClipOperation {
        public ByNorm {
            Objects.requireNonNull(clip, "norm clip is null");
        }

        @Override public String cliName() { return "norm"; }

        @Override public Operation kind() { return Operation.CLIP_NORM; }
    }

    /** Clip by global norm: {@code N = ‖(g_0, …, g_n)‖_p}, {@code g_t ← g_t · scale(N, M)}. */
    record ByGlobalNorm(NormClip clip) implements ClipOperation {
        public ByGlobalNorm {
            Objects.requireNonNull(clip, "norm clip is null");
        }

        @Override public String cliName() { return "global-norm"; }

        @Override public Operation kind() { return Operation.CLIP_GLOBAL_NORM; }
    }

    /** DL4J renormalize per tensor: {@code g_t ← g_t / (‖g_t‖_p == 0 ? 1e-5 : ‖g_t‖_p)}. */
    record Renormalize(NormType normType, NonFinitePolicy nonFinite) implements ClipOperation {
        public Renormalize {
            Objects.requireNonNull(normType, "norm type is null");
            Objects.requireNonNull(nonFinite, "nonFinite policy is null");
        }

        @Override public String cliName() { return "renormalize"; }

        @Override public Operation kind() { return Operation.RENORMALIZE; }
    }

    /** Norms only: {@code ‖g_t‖_p} per tensor and {@code ‖(g_0, …, g_n)‖_p}; nothing is written. */
    record Norms(NormType normType, NonFinitePolicy nonFinite) implements ClipOperation {
        public Norms {
            Objects.requireNonNull(normType, "norm type is null");
            Objects.requireNonNull(nonFinite, "nonFinite policy is null");
        }

        @Override public String cliName() { return "norms"; }

        @Override public Operation kind() { return Operation.NORMS; }
    }
}
