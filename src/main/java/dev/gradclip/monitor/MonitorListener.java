package dev.gradclip.monitor;

/**
 * Receives what a {@link GradientMonitor} sees. Called on the thread that called
 * {@link GradientMonitor#observe}, after the step has been written to every sink: first
 * {@link #onStep}, then {@link #onAlert} once per alert of the step. An exception thrown here
 * propagates out of {@code observe} (the step stays recorded).
 */
@FunctionalInterface
public interface MonitorListener {
    /**
     * Called once per alert, after {@link #onStep} of its step.
     *
     * @param alert the alert raised
     */
    void onAlert(Alert alert);

    /**
     * Called for every step, with its rolling statistics and alerts (default: does nothing).
     *
     * @param step the step as recorded
     */
    default void onStep(MonitoredStep step) { }
}
