package dev.gradclip.policy;

/**
 * A rule that sets each step's global-norm threshold M_t (immutable configuration). The evolving part
 * lives in a {@link PolicyState} from {@link #newState()}, which a checkpoint saves with
 * {@link PolicyState#toJson()} and restores with {@link PolicyState#fromJson(String)}.
 *
 * <p>Step t counts from 0 and advances once per training step, whether or not the step was clipped,
 * skipped or non-finite. Adaptive policies (AutoClip, ZClip) learn only from <em>observed</em> steps:
 * those whose total norm is finite and which were not skipped (see {@link PolicyState#observe} and
 * {@link PolicyState#pass}).
 */
public sealed interface ThresholdPolicy extends ClipPolicy
        permits FixedThreshold, LinearSchedule, CosineSchedule, StepDecaySchedule, AutoClip, ZClip {

    /** {@return a fresh state at step 0, with nothing learned} Each call returns a new, independent state. */
    PolicyState newState();
}
