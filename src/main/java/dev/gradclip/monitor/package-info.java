/**
 * Gradient monitoring: what clipping measured and did at every training step, alerts when gradients explode,
 * vanish or turn non-finite, and exports people can look at.
 *
 * <ul>
 *   <li>{@link dev.gradclip.monitor.StepObservation}: one step's plain values (norms before and after, per tensor
 *       and total, threshold, scale, clipped fraction, skipped, non-finite count, found-inf);</li>
 *   <li>{@link dev.gradclip.monitor.GradientMonitor}: rolling statistics, {@link dev.gradclip.monitor.Alert}s
 *       ({@link dev.gradclip.monitor.MonitorConfig} has the rules), {@link dev.gradclip.monitor.MonitorListener}
 *       callbacks, {@link dev.gradclip.monitor.StepSink}s;</li>
 *   <li>sinks: {@link dev.gradclip.monitor.JsonLinesWriter} ({@code log.jsonl}, a superset of what
 *       {@code gradclip replay} writes), {@link dev.gradclip.monitor.CsvWriter},
 *       {@link dev.gradclip.monitor.TensorBoardWriter} (TensorBoard event files, hand-encoded);</li>
 *   <li>{@link dev.gradclip.monitor.MonitorLog} reads a log back; {@link dev.gradclip.monitor.MonitorPlots} draws
 *       PNG plots; {@link dev.gradclip.monitor.ThresholdSuggestion} suggests a threshold from a warm-up log.</li>
 * </ul>
 *
 * <p><b>Contracts.</b> Values ({@link dev.gradclip.monitor.StepObservation}, {@link dev.gradclip.monitor.MonitoredStep},
 * {@link dev.gradclip.monitor.RollingStats}, {@link dev.gradclip.monitor.Alert},
 * {@link dev.gradclip.monitor.MonitorConfig}, {@link dev.gradclip.monitor.ThresholdSuggestion},
 * {@link dev.gradclip.monitor.MonitorLog}) are immutable and thread-safe; arrays they return are copies.
 * {@link dev.gradclip.monitor.GradientMonitor} and the sinks are not thread-safe: a monitor is fed from one
 * thread, and calls its sinks and listeners on that thread. A monitor owns the sinks added to it and closes
 * them. Nullness: nothing is null unless annotated {@code @Nullable} (JSpecify {@code @NullMarked}): a
 * step's source {@code file}, the phase-two report of {@link dev.gradclip.monitor.StepObservation#fromTwoPhase}.
 * Numbers that are not known are NaN, never null.
 *
 * <p>Dependencies: the JDK only. The plots use {@code java.awt} and {@code javax.imageio} (module
 * {@code java.desktop}), headless; a module descriptor for the core jar must {@code requires java.desktop} and
 * {@code exports dev.gradclip.monitor}.
 */
@NullMarked
package dev.gradclip.monitor;

import org.jspecify.annotations.NullMarked;
