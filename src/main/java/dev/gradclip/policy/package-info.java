/**
 * Clipping inside the training loop: stateful threshold policies, adaptive gradient clipping, spike
 * skipping, loss-scale unscaling fused with clipping, and parameter groups (issue 14).
 *
 * <p>Each transformation is small, documented with its formula and reference, and composable:
 * <ul>
 *   <li>{@link dev.gradclip.policy.ClipPolicy}: immutable configurations in the command-line grammar
 *       ({@code fixed:M | linear:M0:M1:N | cosine:M0:M1:N | autoclip:P[:W] | zclip:Z[:ALPHA[:WARMUP]] |
 *       agc:LAMBDA[:EPS]}): {@link dev.gradclip.policy.FixedThreshold}, {@link dev.gradclip.policy.LinearSchedule},
 *       {@link dev.gradclip.policy.CosineSchedule}, {@link dev.gradclip.policy.StepDecaySchedule},
 *       {@link dev.gradclip.policy.AutoClip}, {@link dev.gradclip.policy.ZClip} (threshold policies, whose
 *       evolving part is a {@link dev.gradclip.policy.PolicyState}) and
 *       {@link dev.gradclip.policy.AdaptiveGradClip};</li>
 *   <li>{@link dev.gradclip.policy.SpikeSkipper} and {@link dev.gradclip.policy.DynamicLossScaler}, each
 *       with its own state;</li>
 *   <li>{@link dev.gradclip.policy.TrainingClipper} composes them for one training loop: one norm pass,
 *       at most one scale pass per step, one {@link dev.gradclip.policy.StepRecord} per step, one JSON
 *       checkpoint for all of its state;</li>
 *   <li>{@link dev.gradclip.policy.ParamGroups} clips several groups each by its own rule, and
 *       {@link dev.gradclip.policy.LossScaledClip} runs a stateless operation on loss-scaled gradients.</li>
 * </ul>
 * Everything runs on the backends' primitive passes ({@link dev.gradclip.Clipper#partials},
 * {@link dev.gradclip.Clipper#scaleEach}, {@link dev.gradclip.Clipper#clipWithTotalNorm}), so results are
 * bitwise equal on every backend. The package depends on nothing outside the core jar.
 *
 * <p><b>Contracts</b> (every class of this package):
 * <ul>
 *   <li>Configurations (the policy records, {@link dev.gradclip.policy.SpikeSkipper},
 *       {@link dev.gradclip.policy.DynamicLossScaler}, {@link dev.gradclip.policy.StepRecord}, the records of
 *       {@link dev.gradclip.policy.ParamGroups} and {@link dev.gradclip.policy.LossScaledClip}) are immutable
 *       and thread-safe; arrays they return are copies.</li>
 *   <li>States ({@link dev.gradclip.policy.PolicyState}, {@link dev.gradclip.policy.SpikeSkipper.State},
 *       {@link dev.gradclip.policy.DynamicLossScaler.State}) and {@link dev.gradclip.policy.TrainingClipper}
 *       are mutable and not thread-safe: one per training loop, used by one thread. Their checkpoint form is
 *       JSON text that reads back to a state behaving bit for bit the same.</li>
 *   <li>A bad argument throws ({@link java.lang.IllegalArgumentException} naming it, or
 *       {@link java.lang.NullPointerException}) before any gradient or state is modified; a non-finite
 *       norm under {@link dev.gradclip.NonFinitePolicy#ERROR} throws
 *       {@link dev.gradclip.NonFiniteGradientException} having modified nothing.</li>
 *   <li>Nullness: nothing is null unless annotated {@code @Nullable} (JSpecify {@code @NullMarked}), such
 *       as {@link dev.gradclip.policy.TrainingClipper#policyState()} for AGC, the report or record of a
 *       {@link dev.gradclip.policy.ParamGroups.Report} and the {@code file} of
 *       {@link dev.gradclip.policy.StepRecord#toJsonLine(String)}.</li>
 * </ul>
 */
@NullMarked
package dev.gradclip.policy;

import org.jspecify.annotations.NullMarked;
