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
 * <p>Dependencies: the JDK only. The plots use {@code java.awt} and {@code javax.imageio} (module
 * {@code java.desktop}), headless; a module descriptor for the core jar must {@code requires java.desktop} and
 * {@code exports dev.gradclip.monitor}.
 */
package dev.gradclip.monitor;
