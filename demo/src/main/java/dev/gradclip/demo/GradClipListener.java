package dev.gradclip.demo;

import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.monitor.CsvWriter;
import dev.gradclip.monitor.GradientMonitor;
import dev.gradclip.monitor.JsonLinesWriter;
import dev.gradclip.monitor.MonitorConfig;
import dev.gradclip.monitor.MonitorListener;
import dev.gradclip.monitor.StepObservation;
import dev.gradclip.monitor.TensorBoardWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Clips a Deeplearning4j network's real gradients in place through gradclip, after backprop and before the
 * updater, and records what it did at every step.
 *
 * <h2>Where it runs</h2>
 * DL4J calls {@link #onGradientCalculation(Model)} after {@code computeGradientAndScore} and before
 * {@code BaseMultiLayerUpdater.update}. The per-parameter arrays of {@code model.gradient()} are views of one
 * flattened fp32 buffer; each becomes a {@link Tensor#ofAddress} view at
 * {@code data().addressPointer().address() + offset() * 4} (checked dense), so gradclip writes DL4J's memory
 * directly: no copy in, no copy out.
 *
 * <h2>Summed gradient vs thresholds</h2>
 * At this point DL4J holds the <b>sum</b> over the minibatch of the per-example gradients: the updater divides
 * by the minibatch size afterwards ({@code divideByMinibatch}), and only then applies its own
 * {@code GradientNormalization}. Thresholds here are meant, like Keras', PyTorch's and DL4J's own, for the
 * batch-mean gradient, so in {@link Units#BATCH_MEAN} (the default) the listener clips the sum at
 * {@code threshold × B} (B = the step's minibatch size). This is exact for every operation used here, since
 * clip by value and clip by norm commute with a positive scale (up to PyTorch's 1e-6 epsilon, which becomes
 * 1e-6·B relative to the sum). Recorded norms are divided by B. {@link Units#RAW} clips what DL4J holds as is.
 * Parameters DL4J does not divide by the minibatch ({@code updaterDivideByMinibatch == false}, e.g. batch-norm
 * running statistics) are not gradients in that sense and are left out of every set.
 *
 * <h2>Per layer vs per tensor</h2>
 * {@code norm:M} clips each parameter tensor on its own (Keras {@code clipnorm}, {@code tf.clip_by_norm});
 * {@code layer-norm:M} clips each <em>layer</em> (W, b, RW... together), which is what DL4J's
 * {@code ClipL2PerLayer} does: each layer's tensors form one gradient set clipped by its global L2 norm with TF
 * semantics ({@code g·M/max(‖g‖, M)}).
 *
 * <p>DL4J's own {@code GradientNormalization} must be off on every layer: both would clip, in different orders.
 * {@link #attach} and the first step check it and fail with the offending layers named.
 *
 * <h2>Policies and monitoring</h2>
 * A {@link ClipSpec.Kind#POLICY} run asks the library's threshold policy (AutoClip, ZClip, schedules) for each
 * step's threshold, given the step's total norm (batch-mean units), and clips by global norm to it (PyTorch
 * semantics); no threshold (ZClip's warm-up) means no clipping. Every step goes to a
 * {@link dev.gradclip.monitor.GradientMonitor}: total and per-tensor norms before and after (measured again when
 * something was clipped), threshold, scale, clipped fraction, non-finite count, rolling statistics and alerts
 * (exploding, vanishing, non-finite); {@link #writeMonitorTo} also writes them as JSON lines, CSV and TensorBoard
 * events.
 */
public final class GradClipListener extends BaseTrainingListener implements AutoCloseable {

    /** In which units thresholds are given. */
    public enum Units {
        /** Thresholds for the batch-mean gradient (scaled by the minibatch size, see the class comment). */
        BATCH_MEAN,
        /** Thresholds applied to the gradient exactly as DL4J holds it when the listener runs (the sum). */
        RAW
    }

    private final Clipper clipper;
    private final ClipSpec spec;
    private final Units units;
    private final PolicyThresholds thresholds;
    private final List<StepRecord> records = new ArrayList<>();
    private Path monitorDir;
    private MonitorConfig monitorConfig = MonitorConfig.defaults();
    private final List<MonitorListener> monitorListeners = new ArrayList<>();
    private GradientMonitor monitor;
    private boolean checked;
    private ClipReport lastReport;

    public GradClipListener(Clipper clipper, ClipSpec spec, Units units) {
        this.clipper = Objects.requireNonNull(clipper, "clipper");
        this.spec = Objects.requireNonNull(spec, "spec");
        this.units = Objects.requireNonNull(units, "units");
        this.thresholds = spec.kind() == ClipSpec.Kind.POLICY ? PolicyThresholds.of(spec.policy()) : null;
    }

    public GradClipListener(Clipper clipper, ClipSpec spec) {
        this(clipper, spec, Units.BATCH_MEAN);
    }

    /** Checks that DL4J's own gradient normalization is off, then adds the listener to the model. */
    public static GradClipListener attach(Model model, Clipper clipper, ClipSpec spec, Units units) {
        GradClipListener l = new GradClipListener(clipper, spec, units);
        checkNoDl4jNormalization(model, spec);
        l.checked = true;
        model.addListeners(l);
        return l;
    }

    public static GradClipListener attach(Model model, Clipper clipper, ClipSpec spec) {
        return attach(model, clipper, spec, Units.BATCH_MEAN);
    }

    /**
     * Also writes what the gradient monitor records to {@code dir} (created at the first step): {@code log.jsonl}
     * (JSON lines), {@code log.csv} and a TensorBoard event file ({@code tensorboard --logdir} on {@code dir} or a
     * folder above it). Call before the first step; {@link #close()} closes the files.
     */
    public GradClipListener writeMonitorTo(Path dir) {
        if (monitor != null) throw new IllegalStateException("the monitor has started; call writeMonitorTo before the first step");
        this.monitorDir = Objects.requireNonNull(dir, "dir");
        return this;
    }

    /** The monitor's alert rules (default {@link MonitorConfig#defaults()}); call before the first step. */
    public GradClipListener monitorConfig(MonitorConfig config) {
        if (monitor != null) throw new IllegalStateException("the monitor has started");
        this.monitorConfig = Objects.requireNonNull(config, "config");
        return this;
    }

    /** Tells {@code l} about every monitored step and alert (exploding, vanishing, non-finite gradients). */
    public GradClipListener addMonitorListener(MonitorListener l) {
        monitorListeners.add(Objects.requireNonNull(l, "listener"));
        if (monitor != null) monitor.addListener(l);
        return this;
    }

    public ClipSpec spec() { return spec; }

    /** Every step so far, in order. */
    public List<StepRecord> records() { return Collections.unmodifiableList(records); }

    /** The gradient monitor (per-tensor norms before and after, thresholds, alerts), or null before the first step. */
    public GradientMonitor monitor() { return monitor; }

    /** The gradclip report of the last clipping operation (the last layer's for layer-norm), or null when the last step
     * clipped nothing (none, or a policy without a threshold). */
    public ClipReport lastReport() { return lastReport; }

    /** Closes the monitor's files (if any). */
    @Override
    public void close() throws IOException {
        if (monitor != null) monitor.close();
    }

    /**
     * Fails with {@link IllegalStateException} when any layer has DL4J's {@code GradientNormalization} set while
     * gradclip clips ({@code spec} other than none).
     */
    public static void checkNoDl4jNormalization(Model model, ClipSpec spec) {
        if (spec.kind() == ClipSpec.Kind.NONE) return;
        List<String> bad = new ArrayList<>();
        for (Layer layer : layersOf(model)) {
            GradientNormalization gn = layer.getConfig().getGradientNormalization();
            if (gn != null && gn != GradientNormalization.None) {
                bad.add("layer " + layer.getIndex() + " (" + layer.getConfig().getLayerName() + "): " + gn
                        + " threshold " + layer.getConfig().getGradientNormalizationThreshold());
            }
        }
        if (!bad.isEmpty()) {
            throw new IllegalStateException("gradclip " + spec.label() + " is on but Deeplearning4j's own "
                    + "GradientNormalization is also set on " + bad + ": DL4J would clip again after gradclip. Turn "
                    + "one off (remove .gradientNormalization(...) from the configuration, or use clipping 'none').");
        }
    }

    private static Layer[] layersOf(Model model) {
        if (model instanceof MultiLayerNetwork net) return net.getLayers();
        if (model instanceof ComputationGraph graph) return graph.getLayers();
        if (model instanceof Layer layer) return new Layer[]{layer};
        throw new IllegalArgumentException("unsupported DL4J model " + model.getClass().getName());
    }

    /**
     * One step: measure every tensor's norm (one read pass), decide the threshold (fixed, or the policy's for this
     * step's norm), clip, measure again when something changed, record the step in the monitor.
     */
    @Override
    public void onGradientCalculation(Model model) {
        if (!checked) {
            checkNoDl4jNormalization(model, spec);
            checked = true;
        }
        int batch = (int) model.batchSize();
        boolean miniBatch = layersOf(model).length == 0 || layersOf(model)[0].conf().isMiniBatch();
        double factor = (units == Units.BATCH_MEAN && miniBatch) ? Math.max(batch, 1) : 1.0;

        Views views = views(model);
        List<Tensor> all = new ArrayList<>();
        views.byLayer().values().forEach(all::addAll);
        GradientSet set = GradientSet.of(all);
        long n = set.totalElements();
        if (monitor == null) startMonitor(views.names());

        NormPartials before = clipper.partials(set, NormType.L2);
        double totalRaw = before.totalNorm();
        long nonFinite = before.nonFiniteElements();
        double threshold = spec.adaptive() ? thresholds.next(totalRaw / factor) : spec.threshold();
        ClipOperation op = spec.operation(threshold, factor);
        double scale = 1.0;
        long clipped = 0;
        lastReport = null;
        if (spec.kind() == ClipSpec.Kind.LAYER_NORM) {
            for (List<Tensor> layer : views.byLayer().values()) {
                ClipReport r = clipper.apply(GradientSet.of(layer), op);
                scale = Math.min(scale, r.scale());
                clipped += r.clippedElements();
                lastReport = r;
            }
        } else if (op instanceof ClipOperation.ByGlobalNorm g) {
            // two-phase: the norm measured above decides the scale, the gradients are not read again
            ClipReport r = clipper.clipWithTotalNorm(set, g.clip(), totalRaw);
            scale = r.scale();
            clipped = r.clippedElements();
            lastReport = r;
        } else if (!(op instanceof ClipOperation.Norms)) {
            ClipReport r = clipper.apply(set, op);
            if (r.hasNorms()) scale = r.scale();
            clipped = r.clippedElements();
            lastReport = r;
        }
        NormPartials after = clipped > 0 ? clipper.partials(set, NormType.L2) : before;
        double frac = n == 0 ? 0.0 : (double) clipped / n;
        long step = records.size();
        monitor.observe(StepObservation.builder(step, totalRaw / factor)
                .tensorNorms(divide(before.tensorNorms(), factor))
                .after(after.totalNorm() / factor, divide(after.tensorNorms(), factor))
                .threshold(threshold)
                .scale(scale)
                .clipped(clipped > 0)
                .clippedFraction(frac)
                .nonFiniteElements(nonFinite)
                .build());
        records.add(new StepRecord(iterationOf(model), epochOf(model), batch, totalRaw / factor, threshold, scale, frac,
                nonFinite));
    }

    private void startMonitor(List<String> names) {
        GradientMonitor m = new GradientMonitor(names, monitorConfig);
        try {
            if (monitorDir != null) {
                m.addSink(JsonLinesWriter.create(monitorDir.resolve("log.jsonl")));
                m.addSink(CsvWriter.create(monitorDir.resolve("log.csv")));
                m.addSink(TensorBoardWriter.create(monitorDir));
            }
        } catch (IOException e) {
            try {
                m.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot write the gradient monitor's files to " + monitorDir, e);
        }
        monitorListeners.forEach(m::addListener);
        monitor = m;
    }

    private static double[] divide(double[] a, double f) {
        double[] out = a.clone();
        for (int i = 0; i < out.length; i++) out[i] /= f;
        return out;
    }

    /** The gradient views grouped by layer, and each view's name ({@code 0_W}, {@code 1_RW}, ...) in set order. */
    record Views(Map<String, List<Tensor>> byLayer, List<String> names) { }

    /** As {@link #gradientViews}, with the names of the tensors in the same order. */
    static Views views(Model model) {
        List<String> names = new ArrayList<>();
        Map<String, List<Tensor>> byLayer = gradientViews(model, names);
        return new Views(byLayer, names);
    }

    /**
     * The model's gradient as gradclip views by native address, grouped by layer, each group and the whole in
     * memory order (the gradient map itself is not in memory order). Fails if a view is not dense fp32.
     */
    public static Map<String, List<Tensor>> gradientViews(Model model) {
        return gradientViews(model, new ArrayList<>());
    }

    private static Map<String, List<Tensor>> gradientViews(Model model, List<String> namesOut) {
        Gradient g = model.gradient();
        if (g == null) throw new IllegalStateException("the model has no gradient yet");
        record View(String layer, String key, long address, long length) { }
        List<View> views = new ArrayList<>();
        Map<String, Layer> layerByKey = new LinkedHashMap<>();
        for (Layer l : layersOf(model)) {
            String name = model instanceof ComputationGraph ? l.getConfig().getLayerName() : Integer.toString(l.getIndex());
            layerByKey.put(name, l);
        }
        INDArray flat = g.gradient();
        if (flat == null || flat.dataType() != DataType.FLOAT || !isDense(flat)) {
            throw new IllegalStateException("the model's flattened gradient is missing or not dense FLOAT");
        }
        long flatStart = flat.data().addressPointer().address() + (flat.offset() - flat.data().offset()) * 4L;
        long flatEnd = flatStart + flat.length() * 4L;
        for (Map.Entry<String, INDArray> e : g.gradientForVariable().entrySet()) {
            String key = e.getKey();
            int cut = key.lastIndexOf('_');
            String layerKey = cut < 0 ? "" : key.substring(0, cut);
            String param = cut < 0 ? key : key.substring(cut + 1);
            Layer layer = layerByKey.get(layerKey);
            if (layer != null && !layer.updaterDivideByMinibatch(param)) continue;
            INDArray a = e.getValue();
            if (a.dataType() != DataType.FLOAT) {
                throw new IllegalStateException("gradient " + key + " is " + a.dataType() + "; the demo clips FLOAT");
            }
            if (!isDense(a)) {
                throw new IllegalStateException("gradient " + key + " is not a dense view (shape "
                        + java.util.Arrays.toString(a.shape()) + ", strides " + java.util.Arrays.toString(a.stride()) + ")");
            }
            // A view's own buffer may already start at the view (then data().offset() == offset()), or be the
            // shared buffer (data().offset() == 0): either way this is the address of the view's first element.
            long address = a.data().addressPointer().address() + (a.offset() - a.data().offset()) * 4L;
            if (address < flatStart || address + a.length() * 4L > flatEnd) {
                throw new IllegalStateException("gradient " + key + " at 0x" + Long.toHexString(address) + " x"
                        + a.length() + " lies outside the flattened gradient buffer; refusing to write there");
            }
            views.add(new View(layerKey, key, address, a.length()));
        }
        views.sort(Comparator.comparingLong(View::address));
        Map<String, List<Tensor>> out = new LinkedHashMap<>();
        for (View v : views) {
            out.computeIfAbsent(v.layer(), k -> new ArrayList<>()).add(Tensor.ofAddress(v.address(), v.length(), DType.FLOAT32));
        }
        // the names in set order: layer by layer (first appearance in memory), memory order within a layer
        for (Map.Entry<String, List<Tensor>> e : out.entrySet()) {
            for (View v : views) {
                if (v.layer().equals(e.getKey())) namesOut.add(v.key());
            }
        }
        return out;
    }

    /** Whether the array's elements occupy exactly {@code length} consecutive slots from its offset. */
    static boolean isDense(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        if (a.length() <= 1) return true;
        long expect = 1;
        boolean c = true;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) { c = false; break; }
            expect *= shape[i];
        }
        if (c) return true;
        expect = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != 1 && stride[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }

    private static int iterationOf(Model model) {
        if (model instanceof MultiLayerNetwork net) return net.getIterationCount();
        if (model instanceof ComputationGraph graph) return graph.getIterationCount();
        return -1;
    }

    private static int epochOf(Model model) {
        if (model instanceof MultiLayerNetwork net) return net.getEpochCount();
        if (model instanceof ComputationGraph graph) return graph.getEpochCount();
        return -1;
    }
}
