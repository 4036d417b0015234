package dev.gradclip.monitor;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Watches a training run's gradients step by step: keeps every {@link StepObservation} with its
 * rolling statistics, raises {@link Alert}s (exploding, vanishing, non-finite; rules in
 * {@link MonitorConfig}), tells its {@link MonitorListener}s and writes each step to its
 * {@link StepSink}s (JSON lines, CSV, TensorBoard).
 *
 * <pre>{@code
 * try (GradientMonitor monitor = new GradientMonitor(names, MonitorConfig.defaults())
 *         .addSink(JsonLinesWriter.create(dir.resolve("log.jsonl")))
 *         .addSink(TensorBoardWriter.create(dir.resolve("tb")))
 *         .addListener(alert -> System.err.println(alert.message()))) {
 *     for (long step = 0; ...; step++) {
 *         ClipReport r = clipper.clipByGlobalNorm(grads, NormClip.of(1.0));
 *         monitor.observe(StepObservation.fromReport(step, r, 1.0));
 *     }
 * }
 * MonitorPlots.writeAll(monitor, dir, "run");
 * }</pre>
 *
 * <p>Every step stays in memory ({@link #steps()}: about 16 bytes per tensor per step, plus a small
 * constant) for the plots. Not thread-safe: observe from one thread.
 */
public final class GradientMonitor implements Closeable {
    private final List<String> tensorNames;
    private final MonitorConfig config;
    private final List<MonitorListener> listeners = new ArrayList<>();
    private final List<StepSink> sinks = new ArrayList<>();
    private final List<MonitoredStep> steps = new ArrayList<>();
    private final List<Alert> alerts = new ArrayList<>();
    private final double[] ring;
    private int ringStart;
    private int ringCount;
    private final int[] belowEpsilon;
    private int totalBelowEpsilon;
    private RollingStats rolling;
    private boolean closed;

    /**
     * A monitor for gradients of the named tensors.
     *
     * @param tensorNames the tensors' names in the order of the observations' per-tensor norms: unique,
     *     not blank; empty when only total norms are observed (copied)
     * @param config the alert rules
     * @throws IllegalArgumentException if a name is null, blank or repeated
     */
    public GradientMonitor(List<String> tensorNames, MonitorConfig config) {
        Objects.requireNonNull(tensorNames, "tensorNames");
        this.config = Objects.requireNonNull(config, "config");
        HashSet<String> seen = new HashSet<>();
        for (int i = 0; i < tensorNames.size(); i++) {
            String n = tensorNames.get(i);
            if (n == null || n.isBlank()) throw new IllegalArgumentException("tensor name " + i + " is null or blank");
            if (!seen.add(n)) throw new IllegalArgumentException("tensor name '" + n + "' appears twice");
        }
        this.tensorNames = List.copyOf(tensorNames);
        this.ring = new double[config.window()];
        this.belowEpsilon = new int[tensorNames.size()];
        this.rolling = RollingStats.of(config.window(), ring, 0);
    }

    /**
     * {@return a monitor with {@link MonitorConfig#defaults()}}
     *
     * @param tensorNames the tensors' names, as for the constructor
     * @throws IllegalArgumentException if a name is null, blank or repeated
     */
    public static GradientMonitor create(List<String> tensorNames) {
        return new GradientMonitor(tensorNames, MonitorConfig.defaults());
    }

    /**
     * Adds a listener, called after the sinks for every later step (listeners in the order added).
     *
     * @param listener the listener
     * @return this monitor
     */
    public GradientMonitor addListener(MonitorListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Adds a sink, written for every later step (sinks in the order added); the monitor closes it in
     * {@link #close()}.
     *
     * @param sink the sink, now owned by this monitor
     * @return this monitor
     * @throws IllegalStateException if the monitor is closed
     */
    public GradientMonitor addSink(StepSink sink) {
        checkOpen();
        sinks.add(Objects.requireNonNull(sink, "sink"));
        return this;
    }

    /** {@return the tensor names, in order (unmodifiable)} */
    public List<String> tensorNames() { return tensorNames; }

    /** {@return the alert rules} */
    public MonitorConfig config() { return config; }

    /** {@return every step observed so far, in order (an unmodifiable snapshot)} */
    public List<MonitoredStep> steps() { return Collections.unmodifiableList(new ArrayList<>(steps)); }

    /** {@return every alert raised so far, in order (an unmodifiable snapshot)} */
    public List<Alert> alerts() { return Collections.unmodifiableList(new ArrayList<>(alerts)); }

    /** {@return the rolling statistics after the last step (count 0, all NaN, before the first finite norm)} */
    public RollingStats rolling() { return rolling; }

    /**
     * Records one step: alerts, rolling statistics, sinks, listeners (in that order).
     *
     * @param obs the step's observation
     * @return the step as recorded, with its rolling statistics and alerts
     * @throws IllegalArgumentException if the observation has per-tensor norms for a different number of
     *     tensors than the monitor's names (it may have none)
     * @throws UncheckedIOException if a sink fails to write
     * @throws IllegalStateException after {@link #close()}
     */
    public MonitoredStep observe(StepObservation obs) {
        Objects.requireNonNull(obs, "observation");
        checkOpen();
        if (obs.tensorCount() != 0 && obs.tensorCount() != tensorNames.size()) {
            throw new IllegalArgumentException("step " + obs.step() + " has norms of " + obs.tensorCount()
                    + " tensors; the monitor watches " + tensorNames.size());
        }
        List<Alert> raised = new ArrayList<>();
        long step = obs.step();
        double total = obs.totalNorm();

        if (obs.foundInf() || obs.nonFiniteElements() > 0 || !Double.isFinite(total)) {
            double value = obs.nonFiniteElements() > 0 ? obs.nonFiniteElements() : total;
            raised.add(new Alert(Alert.Kind.NON_FINITE, step, -1, "total", value, 0, String.format(Locale.ROOT,
                    "step %d: non-finite gradients (%s non-finite elements, total norm %s)", step,
                    obs.nonFiniteElements() < 0 ? "uncounted" : Long.toString(obs.nonFiniteElements()), total)));
        }

        boolean exploding = false;
        if (Double.isFinite(total) && ringCount >= config.minHistory()) {
            double limit = config.explodeFactor() * rolling.median();
            if (total > limit) {
                exploding = true;
                raised.add(new Alert(Alert.Kind.EXPLODING, step, -1, "total", total, limit, String.format(Locale.ROOT,
                        "step %d: exploding gradients: total norm %.6g > %s x rolling median %.6g (last %d steps)",
                        step, total, num(config.explodeFactor()), rolling.median(), ringCount)));
            }
        }
        if (Double.isFinite(total)) {
            int at = (ringStart + ringCount) % ring.length;
            if (ringCount == ring.length) {
                ring[ringStart] = total;
                ringStart = (ringStart + 1) % ring.length;
            } else {
                ring[at] = total;
                ringCount++;
            }
            double[] window = new double[ringCount];
            for (int i = 0; i < ringCount; i++) window[i] = ring[(ringStart + i) % ring.length];
            rolling = RollingStats.of(ring.length, window, ringCount);
        }

        if (obs.tensorCount() > 0) {
            for (int t = 0; t < belowEpsilon.length; t++) {
                double n = obs.tensorNorm(t);
                belowEpsilon[t] = n < config.vanishEpsilon() ? belowEpsilon[t] + 1 : 0;
                if (belowEpsilon[t] == config.vanishSteps()) raised.add(vanishing(step, t, tensorNames.get(t), n));
            }
        } else {
            totalBelowEpsilon = total < config.vanishEpsilon() ? totalBelowEpsilon + 1 : 0;
            if (totalBelowEpsilon == config.vanishSteps()) raised.add(vanishing(step, -1, "total", total));
        }

        MonitoredStep recorded = new MonitoredStep(obs, rolling, raised);
        steps.add(recorded);
        alerts.addAll(raised);
        for (StepSink sink : sinks) {
            try {
                sink.write(recorded, tensorNames);
            } catch (IOException e) {
                throw new UncheckedIOException("monitor sink " + sink + " failed at step " + step, e);
            }
        }
        for (MonitorListener l : listeners) l.onStep(recorded);
        for (Alert a : raised) {
            for (MonitorListener l : listeners) l.onAlert(a);
        }
        return recorded;
    }

    private Alert vanishing(long step, int tensor, String name, double norm) {
        return new Alert(Alert.Kind.VANISHING, step, tensor, name, norm, config.vanishEpsilon(), String.format(Locale.ROOT,
                "step %d: vanishing gradient: %s norm below %s for %d consecutive steps (now %.6g)", step,
                tensor < 0 ? "the total" : "tensor '" + name + "'", num(config.vanishEpsilon()), config.vanishSteps(),
                norm));
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * Flushes every sink.
     *
     * @throws IOException if a sink fails (the later sinks are not flushed)
     */
    public void flush() throws IOException {
        for (StepSink s : sinks) s.flush();
    }

    /**
     * Closes every sink (all of them, even when one fails); idempotent. The recorded steps stay readable.
     *
     * @throws IOException the first sink's failure, with the later ones suppressed
     */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        IOException first = null;
        for (StepSink s : sinks) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e; else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the monitor is closed");
    }
}
