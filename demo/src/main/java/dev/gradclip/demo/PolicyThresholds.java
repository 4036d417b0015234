package dev.gradclip.demo;

import dev.gradclip.policy.ClipPolicy;
import dev.gradclip.policy.PolicyState;
import dev.gradclip.policy.ThresholdPolicy;
import java.util.Objects;

/**
 * The seam between the listener and the library's threshold policies ({@code dev.gradclip.policy}): one
 * policy's state over a run, asked once per step for that step's global-norm threshold. The only demo class that
 * touches the policy package.
 *
 * <p>Per step: a finite total norm is {@link PolicyState#observe observed} (the policy learns from it and returns
 * M_t); a non-finite one is {@link PolicyState#pass passed} (M_t as the state stands, nothing learned). NaN means
 * "no threshold this step" (ZClip's warm-up and its unclipped steps, AutoClip before its first norm).
 */
final class PolicyThresholds {
    private final ThresholdPolicy policy;
    private final PolicyState state;

    private PolicyThresholds(ThresholdPolicy policy) {
        this.policy = policy;
        this.state = policy.newState();
    }

    /**
     * A fresh state of the policy spelled {@code spec} ({@code fixed:M}, {@code linear:M0:M1:N},
     * {@code cosine:M0:M1:N}, {@code autoclip:P[:W]}, {@code zclip:Z[:ALPHA[:WARMUP]]}).
     *
     * @throws IllegalArgumentException if the spec is malformed or names a policy without one global threshold
     *     (agc)
     */
    static PolicyThresholds of(String spec) {
        Objects.requireNonNull(spec, "spec");
        ClipPolicy p = ClipPolicy.parse(spec);
        if (!(p instanceof ThresholdPolicy tp)) {
            throw new IllegalArgumentException("policy '" + spec + "' sets no global threshold per step (the demo runs "
                    + "fixed, linear, cosine, autoclip and zclip)");
        }
        return new PolicyThresholds(tp);
    }

    /** The canonical spelling of the policy. */
    String spec() { return policy.spec(); }

    /** This step's threshold for a step whose total norm is {@code totalNorm}; NaN for none. */
    double next(double totalNorm) {
        return Double.isFinite(totalNorm) ? state.observe(totalNorm) : state.pass();
    }
}
