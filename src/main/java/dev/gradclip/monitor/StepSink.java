package dev.gradclip.monitor;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * Where a {@link GradientMonitor} writes each step: {@link JsonLinesWriter}, {@link CsvWriter},
 * {@link TensorBoardWriter}, or your own. A sink added to a monitor is closed by it.
 */
public interface StepSink extends Closeable {
    /**
     * Writes one step. Called by the monitor's thread, once per observed step, in step order.
     *
     * @param step the step as recorded
     * @param tensorNames the monitor's tensor names, in the order of the observation's per-tensor norms
     * @throws IOException if the step cannot be written (the monitor rethrows it as an
     *     {@link java.io.UncheckedIOException})
     */
    void write(MonitoredStep step, List<String> tensorNames) throws IOException;

    /**
     * Pushes buffered steps to their destination (default: nothing to do).
     *
     * @throws IOException if they cannot be written
     */
    default void flush() throws IOException { }
}
