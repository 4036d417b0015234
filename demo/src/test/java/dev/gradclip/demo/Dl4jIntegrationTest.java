package dev.gradclip.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * gradclip inside a real Deeplearning4j network: the listener writes DL4J's gradient memory, the summed-gradient
 * convention, equality with DL4J's own GradientNormalization, and the guard against both being on.
 */
class Dl4jIntegrationTest {
    static Clipper clipper;

    @BeforeAll
    static void open() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        clipper = Clipper.create(Backend.CPU);
    }

    @AfterAll
    static void close() {
        clipper.close();
    }

    /** A small MLP; {@code gn} null for no DL4J normalization. */
    static MultiLayerNetwork mlp(long seed, GradientNormalization gn, double gnThreshold) {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder()
                .seed(seed).dataType(DataType.FLOAT).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER);
        if (gn != null) b.gradientNormalization(gn).gradientNormalizationThreshold(gnThreshold);
        MultiLayerConfiguration conf = b.list()
                .layer(new DenseLayer.Builder().nIn(6).nOut(10).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(10).nOut(7).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(7).nOut(3)
                        .activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Embedding-free LSTM classifier (LSTM has W, RW and b per layer: three tensors in one DL4J "layer"). */
    static MultiLayerNetwork lstm(long seed, GradientNormalization gn, double gnThreshold) {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder()
                .seed(seed).dataType(DataType.FLOAT).updater(new Sgd(0.5)).weightInit(WeightInit.XAVIER);
        if (gn != null) b.gradientNormalization(gn).gradientNormalizationThreshold(gnThreshold);
        MultiLayerConfiguration conf = b.list()
                .layer(new LastTimeStep(new LSTM.Builder().nIn(4).nOut(8).build()))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nIn(8).nOut(1)
                        .activation(Activation.SIGMOID).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static DataSet regressionBatch(long seed, int n) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, 6).muli(3);
        INDArray y = Nd4j.randn(DataType.FLOAT, n, 3).muli(50);
        return new DataSet(x, y);
    }

    static DataSet sequenceBatch(long seed, int n) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, 4, 12).muli(2);
        INDArray y = Nd4j.rand(DataType.FLOAT, n, 1).gt(0.5).castTo(DataType.FLOAT);
        return new DataSet(x, y);
    }

    /** Copies the flattened gradient at the moment it runs. */
    static final class Snapshot extends BaseTrainingListener {
        final List<float[]> grads = new ArrayList<>();

        @Override
        public void onGradientCalculation(Model model) {
            grads.add(model.gradient().gradient().dup().toFloatVector());
        }
    }

    @Test
    void listenerSeesTheMinibatchSumOfGradients() {
        DataSet one = regressionBatch(1, 1);
        int b = 8;
        DataSet many = new DataSet(Nd4j.repeat(one.getFeatures(), b).reshape(b, 6),
                Nd4j.repeat(one.getLabels(), b).reshape(b, 3));
        float[] g1 = gradientSeenByListener(one);
        float[] gb = gradientSeenByListener(many);
        for (int i = 0; i < g1.length; i++) {
            assertEquals(b * g1[i], gb[i], 1e-4 * Math.max(1, Math.abs(gb[i])), "element " + i);
        }
    }

    private static float[] gradientSeenByListener(DataSet ds) {
        MultiLayerNetwork net = mlp(7, null, 0);
        Snapshot s = new Snapshot();
        net.addListeners(s);
        net.fit(ds);
        return s.grads.get(0);
    }

    @Test
    void clipsDl4jGradientMemoryInPlaceAndReportsIt() {
        MultiLayerNetwork net = mlp(3, null, 0);
        Snapshot before = new Snapshot();
        Snapshot after = new Snapshot();
        double v = 0.5;
        net.addListeners(before);
        GradClipListener ours = GradClipListener.attach(net, clipper, ClipSpec.value(v), GradClipListener.Units.RAW);
        net.addListeners(after);
        net.fit(regressionBatch(11, 32));

        float[] g0 = before.grads.get(0);
        float[] g1 = after.grads.get(0);
        long expectClipped = 0;
        for (int i = 0; i < g0.length; i++) {
            float want = Math.max(-(float) v, Math.min((float) v, g0[i]));
            if (Math.abs(g0[i]) > v) expectClipped++;
            assertEquals(want, g1[i], 0.0f, "element " + i);
        }
        assertTrue(expectClipped > g0.length / 4, "the threshold clips a good share: " + expectClipped);
        ClipReport r = ours.lastReport();
        assertEquals(expectClipped, r.clippedElements());
        assertEquals(g0.length, r.totalElements(), "all " + g0.length + " parameters are covered, once each");
        assertEquals(0, r.nonFiniteElements());
        StepRecord rec = ours.records().get(0);
        assertEquals((double) expectClipped / g0.length, rec.clippedFraction(), 1e-12);
    }

    /**
     * The gradient monitor sees every step with per-tensor names and norms (before and re-measured after), the policy
     * sets the threshold (AutoClip's first threshold is the first norm itself), and the files it writes read back.
     */
    @Test
    void monitorRecordsPerTensorNormsAndThePolicyThresholds(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        MultiLayerNetwork net = mlp(9, null, 0);
        Snapshot before = new Snapshot();
        net.addListeners(before);
        GradClipListener ours = GradClipListener.attach(net, clipper, ClipSpec.policy("autoclip:10"),
                GradClipListener.Units.RAW).writeMonitorTo(dir);
        List<dev.gradclip.monitor.Alert> alerts = new ArrayList<>();
        ours.addMonitorListener(alerts::add);
        for (int i = 0; i < 6; i++) net.fit(regressionBatch(12, 20 + i));
        ours.close();
        dev.gradclip.monitor.GradientMonitor m = ours.monitor();
        assertEquals(List.of("0_W", "0_b", "1_W", "1_b", "2_W", "2_b"), m.tensorNames());
        List<dev.gradclip.monitor.MonitoredStep> steps = m.steps();
        assertEquals(6, steps.size());
        dev.gradclip.monitor.StepObservation first = steps.get(0).observation();
        assertEquals(first.totalNorm(), first.threshold(), "AutoClip: the 10th percentile of one norm is that norm");
        assertEquals(1.0, first.scale(), 1e-6, "clipped to its own norm: scale norm/(norm + 1e-6)");
        double[] t = first.tensorNorms();
        double sq = 0;
        for (double v : t) sq += v * v;
        assertEquals(first.totalNorm(), Math.sqrt(sq), 1e-9 * first.totalNorm());
        float[] g0 = before.grads.get(0);
        double w0 = 0;
        for (int i = 0; i < 6 * 10; i++) w0 += (double) g0[i] * g0[i];
        assertEquals(Math.sqrt(w0), t[0], 1e-6 * t[0], "0_W is the first 60 elements of the flattened gradient");
        for (int i = 1; i < steps.size(); i++) {
            dev.gradclip.monitor.StepObservation o = steps.get(i).observation();
            assertTrue(o.hasThreshold());
            if (o.clipped()) {
                assertEquals(o.threshold(), o.totalNormAfter(), 1e-5 * o.threshold(), "re-measured after the clip");
            } else {
                assertEquals(o.totalNorm(), o.totalNormAfter());
            }
            assertEquals(o.threshold(), ours.records().get(i).threshold());
        }
        assertEquals(m.alerts(), alerts);
        dev.gradclip.monitor.MonitorLog log = dev.gradclip.monitor.MonitorLog.read(dir.resolve("log.jsonl"));
        assertEquals(6, log.steps().size());
        assertEquals(first, log.steps().get(0));
        assertEquals(7, java.nio.file.Files.readAllLines(dir.resolve("log.csv")).size());
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(1, files.filter(f -> f.getFileName().toString().startsWith("events.out.tfevents.")).count());
        }
    }

    @Test
    void globalNormWritesTheScaledGradientAndTheNormMatchesNd4j() {
        MultiLayerNetwork net = mlp(5, null, 0);
        Snapshot before = new Snapshot();
        Snapshot after = new Snapshot();
        net.addListeners(before);
        GradClipListener ours = GradClipListener.attach(net, clipper, ClipSpec.globalNorm(1.0), GradClipListener.Units.RAW);
        net.addListeners(after);
        net.fit(regressionBatch(12, 16));
        float[] g0 = before.grads.get(0);
        float[] g1 = after.grads.get(0);
        double norm = Nd4j.createFromArray(g0).castTo(DataType.DOUBLE).norm2Number().doubleValue();
        StepRecord rec = ours.records().get(0);
        assertEquals(norm, rec.totalNorm(), 1e-9 * norm);
        double scale = 1.0 / (norm + 1e-6);
        assertEquals(scale, rec.scale(), 1e-12);
        for (int i = 0; i < g0.length; i++) {
            assertEquals((float) (g0[i] * scale), g1[i], Math.ulp(g1[i]), "element " + i);
        }
        assertEquals(1.0, rec.clippedFraction());
    }

    /**
     * DL4J's ClipL2PerLayer vs gradclip layer-norm: same seed, same data, plain SGD (so the parameter change is
     * lr × the clipped mean gradient and nothing hides a difference), 5 steps with clipping active at every
     * step, an MLP and an LSTM. Parameters agree to 2e-6 relative (about 16 fp32 ulps; measured worst 5.9e-7):
     * the order of operations differs, not the maths. gradclip scales the summed gradient once by the fp64 factor
     * t·B/‖sum‖ before DL4J divides it by B in fp32; DL4J divides first, then computes its fp32 norm and scales,
     * so each element is rounded differently by an ulp or two, and 5 steps accumulate that.
     * Per-tensor clipping (norm:t) with the same threshold gives different parameters: DL4J groups W and b.
     */
    @Test
    void layerNormEqualsDl4jClipL2PerLayerAfterSteps() {
        for (boolean recurrent : new boolean[]{false, true}) {
            double t = recurrent ? 0.02 : 0.3;
            MultiLayerNetwork theirs = recurrent ? lstm(21, GradientNormalization.ClipL2PerLayer, t)
                    : mlp(21, GradientNormalization.ClipL2PerLayer, t);
            MultiLayerNetwork ours = recurrent ? lstm(21, null, 0) : mlp(21, null, 0);
            MultiLayerNetwork perTensor = recurrent ? lstm(21, null, 0) : mlp(21, null, 0);
            assertEquals(theirs.params(), ours.params());
            GradClipListener l = GradClipListener.attach(ours, clipper, ClipSpec.layerNorm(t));
            GradClipListener.attach(perTensor, clipper, ClipSpec.tensorNorm(t));
            for (int step = 0; step < 5; step++) {
                DataSet ds = recurrent ? sequenceBatch(100 + step, 24) : regressionBatch(100 + step, 24);
                theirs.fit(ds);
                ours.fit(ds);
                perTensor.fit(ds);
                assertTrue(l.records().get(step).scale() < 1, "clipping is active at step " + step + ": " + l.records());
            }
            assertClose(theirs.params(), ours.params(), 2e-6, "layer-norm vs ClipL2PerLayer, recurrent=" + recurrent);
            double d = theirs.params().sub(perTensor.params()).norm2Number().doubleValue();
            assertTrue(d > 1e-4, "per-tensor clipping differs from DL4J's per-layer (difference " + d + ")");
        }
    }

    /**
     * DL4J's ClipElementWiseAbsoluteValue vs gradclip value:t, same setup as above: clamp(sum, t·B)/B against
     * clamp(sum/B, t). Identical for the MLP; within 2e-6 for the LSTM (measured 7.1e-7): a clamped element ends as
     * fp32(t·B)/B, which can be an ulp away from t, and an element within an ulp of the threshold can fall on either
     * side of it; Adam-free SGD carries those ulps into the parameters.
     */
    @Test
    void valueEqualsDl4jClipElementWiseAbsoluteValueAfterSteps() {
        for (boolean recurrent : new boolean[]{false, true}) {
            double t = recurrent ? 0.003 : 0.05;
            MultiLayerNetwork theirs = recurrent ? lstm(31, GradientNormalization.ClipElementWiseAbsoluteValue, t)
                    : mlp(31, GradientNormalization.ClipElementWiseAbsoluteValue, t);
            MultiLayerNetwork ours = recurrent ? lstm(31, null, 0) : mlp(31, null, 0);
            GradClipListener l = GradClipListener.attach(ours, clipper, ClipSpec.value(t));
            for (int step = 0; step < 5; step++) {
                DataSet ds = recurrent ? sequenceBatch(200 + step, 24) : regressionBatch(200 + step, 24);
                theirs.fit(ds);
                ours.fit(ds);
                assertTrue(l.records().get(step).clippedFraction() > 0.05, "clipping is active at step " + step + ": " + l.records());
            }
            assertClose(theirs.params(), ours.params(), 2e-6, "value vs ClipElementWiseAbsoluteValue, recurrent=" + recurrent);
        }
    }

    private static void assertClose(INDArray want, INDArray got, double rel, String what) {
        float[] a = want.toFloatVector();
        float[] b = got.toFloatVector();
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double err = Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i]));
            worst = Math.max(worst, err);
        }
        System.out.println(what + ": worst relative parameter difference " + worst);
        assertTrue(worst <= rel, what + ": worst relative difference " + worst + " > " + rel);
    }

    @Test
    void oursWithDl4jGradientNormalizationOnFailsClearly() {
        MultiLayerNetwork net = mlp(1, GradientNormalization.ClipL2PerLayer, 1.0);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GradClipListener.attach(net, clipper, ClipSpec.globalNorm(1.0)));
        assertTrue(e.getMessage().contains("ClipL2PerLayer"), e.getMessage());
        assertTrue(e.getMessage().contains("GradientNormalization"), e.getMessage());
        assertTrue(net.getListeners() == null || net.getListeners().isEmpty(), "not attached");

        // Added behind attach()'s back: the first step fails before anything is clipped or updated.
        MultiLayerNetwork net2 = mlp(1, GradientNormalization.ClipElementWiseAbsoluteValue, 1.0);
        INDArray p0 = net2.params().dup();
        net2.addListeners(new GradClipListener(clipper, ClipSpec.value(1.0)));
        IllegalStateException e2 = assertThrows(IllegalStateException.class, () -> net2.fit(regressionBatch(2, 8)));
        assertTrue(e2.getMessage().contains("ClipElementWiseAbsoluteValue"), e2.getMessage());
        assertEquals(p0, net2.params(), "no update happened");

        // Recording only (none) is allowed alongside DL4J's own clipping.
        MultiLayerNetwork net3 = mlp(1, GradientNormalization.ClipL2PerLayer, 1.0);
        GradClipListener rec = GradClipListener.attach(net3, clipper, ClipSpec.NONE);
        net3.fit(regressionBatch(3, 8));
        assertFalse(rec.records().isEmpty());
        assertNotEquals(0.0, rec.records().get(0).totalNorm());
    }
}
