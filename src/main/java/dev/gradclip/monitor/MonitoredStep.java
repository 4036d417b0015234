package dev.gradclip.monitor;

import java.util.List;
import java.util.Objects;

/**
 * One step as the monitor recorded it: the observation, the rolling statistics after it, and the
 * alerts it raised. Immutable.
 *
 * @param observation what the step measured and did
 * @param rolling the rolling statistics after the step
 * @param alerts the alerts the step raised, in the order raised (non-finite, exploding, vanishing); an
 *     unmodifiable copy
 */
public record MonitoredStep(StepObservation observation, RollingStats rolling, List<Alert> alerts) {
    /**
     * Checks the parts and copies the alerts.
     *
     * @param observation what the step measured and did
     * @param rolling the rolling statistics after the step
     * @param alerts the alerts the step raised (copied)
     * @throws NullPointerException if an argument or an alert is null
     */
    public MonitoredStep {
        Objects.requireNonNull(observation, "observation");
        Objects.requireNonNull(rolling, "rolling");
        alerts = List.copyOf(alerts);
    }

    /** {@return the step number, {@code observation().step()}} */
    public long step() { return observation.step(); }

    /**
     * {@return whether an alert of {@code kind} was raised at this step}
     *
     * @param kind the kind of alert
     */
    public boolean has(Alert.Kind kind) {
        for (Alert a : alerts) {
            if (a.kind() == kind) return true;
        }
        return false;
    }
}
