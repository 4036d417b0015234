package dev.gradclip.monitor;

/**
 * Receives what a {@link GradientMonitor} sees. Called on the thread that called
 * {@link GradientMonitor#observe}, after the step has been written to every sink: first
 * {@link #onStep}, then {@link #onAlert} once per alert of the step. An exception thrown here
 * propagates out of {@code observe} (the step stays recorded).
 */
@FunctionalInterface
public interface MonitorListener {
    /** An alert was raised. */
    void onAlert(Alert alert);

    /** Every step, with its rolling statistics and alerts (default: nothing). */
    default void onStep(MonitoredStep step) { }
}
