package dev.gradclip.monitor;

import java.util.List;
import java.util.Objects;

/**
 * One step as the monitor recorded it: the observation, the rolling statistics after it, and the
 * alerts it raised. Immutable.
 */
public record MonitoredStep(StepObservation observation, RollingStats rolling, List<Alert> alerts) {
    public MonitoredStep {
        Objects.requireNonNull(observation, "observation");
        Objects.requireNonNull(rolling, "rolling");
        alerts = List.copyOf(alerts);
    }

    public long step() { return observation.step(); }

    /** Whether an alert of {@code kind} was raised at this step. */
    public boolean has(Alert.Kind kind) {
        for (Alert a : alerts) {
            if (a.kind() == kind) return true;
        }
        return false;
    }
}
