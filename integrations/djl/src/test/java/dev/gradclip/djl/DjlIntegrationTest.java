package dev.gradclip.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import ai.djl.util.Pair;
import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.integration.ClipStep;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** gradclip inside DJL's PyTorch engine (libtorch 2.7.1, CPU, offline). */
class DjlIntegrationTest {
    static Clipper clipper;

    @BeforeAll
    static void open() {
        clipper = Clipper.create(Backend.CPU);
        assertEquals("PyTorch", Engine.getInstance().getEngineName());
    }

    @AfterAll
    static void close() {
        clipper.close();
    }

    /** A model and a trainer on one CPU device, with large targets so the gradients are large. */
    static final class Fixture implements AutoCloseable {
        final Model model;
        final Trainer trainer;
        final Random rnd = new Random(5);

        Fixture(float lr, Device... devices) {
            Engine.getInstance().setRandomSeed(3);
            model = Model.newInstance("t");
            model.setBlock(new SequentialBlock().add(Linear.builder().setUnits(7).build()).add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(1).build()));
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss("mse", 1f))
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(lr)).build());
            if (devices.length > 0) config.optDevices(devices);
            trainer = model.newTrainer(config);
            trainer.initialize(new Shape(8, 5));
        }

        /** Forward and backward of one random batch (targets ~100), leaving the gradients in place. */
        void backward() {
            NDManager m = trainer.getManager();
            float[] x = new float[8 * 5];
            float[] y = new float[8];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < y.length; i++) y[i] = (float) (100 * rnd.nextGaussian());
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDArray xa = m.create(x, new Shape(8, 5));
                NDArray ya = m.create(y, new Shape(8, 1));
                NDList pred = trainer.forward(new NDList(xa));
                NDArray loss = trainer.getLoss().evaluate(new NDList(ya), pred);
                gc.backward(loss);
            }
        }

        List<Parameter> params() {
            List<Parameter> out = new ArrayList<>();
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) out.add(p.getValue());
            return out;
        }

        float[][] gradients() {
            List<Parameter> ps = params();
            float[][] g = new float[ps.size()][];
            for (int i = 0; i < g.length; i++) {
                try (NDArray a = ps.get(i).getArray().getGradient()) {
                    g[i] = a.toFloatArray();
                }
            }
            return g;
        }

        float[][] weights() {
            List<Parameter> ps = params();
            float[][] w = new float[ps.size()][];
            for (int i = 0; i < w.length; i++) w[i] = ps.get(i).getArray().toFloatArray();
            return w;
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
        }
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    static GradientSet copies(float[][] g) {
        List<Tensor> ts = new ArrayList<>();
        for (float[] a : g) ts.add(Tensor.of(a));
        return GradientSet.of(ts);
    }

    @Test
    void globalNormClipWritesDjlsGradientMemoryBitForBit() {
        try (Fixture f = new Fixture(0.01f)) {
            f.backward();
            float[][] expected = f.gradients(); // copies, clipped by gradclip on plain arrays: the reference
            ClipReport ref = clipper.clipByGlobalNorm(copies(expected), NormClip.of(1.0));
            assertTrue(ref.totalNorm() > 10, "the fixture's gradient norm should need clipping: " + ref.totalNorm());

            DjlGradClip clip = new DjlGradClip(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
            ClipReport r = clip.clip(f.trainer);
            assertEquals(Double.doubleToRawLongBits(ref.totalNorm()), Double.doubleToRawLongBits(r.totalNorm()));
            assertEquals(ref.scale(), r.scale());
            assertEquals(f.params().size(), r.tensorCount());
            float[][] after = f.gradients(); // read back through DJL
            for (int i = 0; i < after.length; i++) assertArrayEquals(bits(expected[i]), bits(after[i]), "parameter " + i);
            // the norm DJL holds now is the clip target (to fp32 rounding)
            ClipReport check = clipper.norms(copies(after), NormType.L2);
            assertEquals(1.0, check.totalNorm(), 1e-6);
            assertEquals(List.of(r), clip.reports());
        }
    }

    @Test
    void theOptimizerStepsOnTheClippedGradient() {
        float lr = 0.5f;
        try (Fixture f = new Fixture(lr)) {
            f.backward();
            DjlGradClip clip = new DjlGradClip(clipper, ClipStep.globalNorm(NormClip.of(0.25)));
            float[][] w0 = f.weights();
            ClipReport r = clip.clip(f.trainer);
            assertTrue(r.clipped());
            float[][] g = f.gradients();
            f.trainer.step();
            float[][] w1 = f.weights();
            double moved = 0;
            for (int i = 0; i < w0.length; i++) {
                for (int k = 0; k < w0[i].length; k++) {
                    float expect = w0[i][k] - lr * g[i][k];
                    assertEquals(expect, w1[i][k], 2 * Math.ulp(Math.abs(expect)) + 1e-7f,
                            "parameter " + i + " element " + k + ": SGD did not use the clipped gradient");
                    moved += (double) (w1[i][k] - w0[i][k]) * (w1[i][k] - w0[i][k]);
                }
            }
            assertEquals(lr * 0.25, Math.sqrt(moved), 1e-4, "the step's length is lr times the clipped norm");
        }
    }

    @Test
    void valueAndPerTensorClipsAndNormsOnly() {
        try (Fixture f = new Fixture(0.01f)) {
            f.backward();
            float[][] g0 = f.gradients();
            float[][] expected = f.gradients();
            clipper.clipByValue(copies(expected), ValueClip.symmetric(0.5));
            ClipReport m = new DjlGradClip(clipper, ClipStep.normsOnly(NormType.INF)).clip(f.trainer);
            float[][] same = f.gradients();
            for (int i = 0; i < same.length; i++) assertArrayEquals(bits(g0[i]), bits(same[i]), "norms-only wrote");
            assertEquals(clipper.norms(copies(g0), NormType.INF).totalNorm(), m.totalNorm());
            ClipReport v = new DjlGradClip(clipper, ClipStep.byValue(ValueClip.symmetric(0.5))).clip(f.trainer);
            assertTrue(v.clippedElements() > 0);
            float[][] after = f.gradients();
            for (int i = 0; i < after.length; i++) assertArrayEquals(bits(expected[i]), bits(after[i]), "parameter " + i);
            new DjlGradClip(clipper, ClipStep.perTensorNorm(NormClip.of(0.1))).clip(f.trainer);
            ClipReport n = clipper.norms(copies(f.gradients()), NormType.L2);
            for (double t : n.tensorNorms()) assertTrue(t <= 0.1 + 1e-6, "tensor norm " + t);
        }
    }

    @Test
    void anyClipOperationRunsThroughClipStepOf() {
        try (Fixture f = new Fixture(0.01f)) {
            f.backward();
            float[][] expected = f.gradients();
            dev.gradclip.ClipOperation op = new dev.gradclip.ClipOperation.Renormalize(NormType.L2, NonFinitePolicy.PROPAGATE);
            ClipReport ref = clipper.apply(copies(expected), op);
            ClipReport r = new DjlGradClip(clipper, ClipStep.of(op)).clip(f.trainer);
            assertEquals(ref.operation(), r.operation());
            float[][] after = f.gradients();
            for (int i = 0; i < after.length; i++) assertArrayEquals(bits(expected[i]), bits(after[i]), "parameter " + i);
        }
    }

    @Test
    void listenerClipsEveryBatchOfEasyTrain() {
        Engine.getInstance().setRandomSeed(3);
        GradClipListener listener = new GradClipListener(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
        AtomicInteger seen = new AtomicInteger();
        listener.clipper().onReport(r -> seen.incrementAndGet());
        try (Model model = Model.newInstance("l")) {
            model.setBlock(new SequentialBlock().add(Linear.builder().setUnits(4).build()).add(Linear.builder().setUnits(1).build()));
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss("mse", 1f))
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build())
                    .addTrainingListeners(listener);
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(4, 3));
                Random rnd = new Random(1);
                for (int b = 0; b < 5; b++) {
                    try (NDManager bm = trainer.getManager().newSubManager()) {
                        float[] x = new float[12];
                        float[] y = new float[4];
                        for (int i = 0; i < 12; i++) x[i] = (float) rnd.nextGaussian();
                        for (int i = 0; i < 4; i++) y[i] = (float) (1000 * rnd.nextGaussian());
                        Batch batch = new Batch(bm, new NDList(bm.create(x, new Shape(4, 3))),
                                new NDList(bm.create(y, new Shape(4, 1))), 4, Batchifier.STACK, Batchifier.STACK, b, 5);
                        EasyTrain.trainBatch(trainer, batch);
                        // between the listener and step(): DJL's gradient has the clipped norm
                        List<Tensor> views = new ArrayList<>();
                        List<NDArray> grads = new ArrayList<>();
                        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                            NDArray g = p.getValue().getArray().getGradient();
                            grads.add(g);
                            views.add(Tensor.of(g.toFloatArray()));
                        }
                        assertEquals(1.0, clipper.norms(GradientSet.of(views), NormType.L2).totalNorm(), 1e-6);
                        grads.forEach(NDArray::close);
                        trainer.step();
                    }
                }
            }
        }
        assertEquals(5, listener.reports().size());
        assertEquals(5, seen.get());
        for (ClipReport r : listener.reports()) assertTrue(r.clipped() && r.totalNorm() > 1, r.toString());
    }

    @Test
    void skipIsHonouredByClipAndStepAndRefusedByTheListener() {
        ClipStep skip = ClipStep.globalNorm(NormClip.of(1.0).withNonFinite(NonFinitePolicy.SKIP));
        try (Fixture f = new Fixture(0.1f)) {
            f.backward();
            // poison one gradient element through a verified view
            Parameter p0 = f.params().get(0);
            try (NDArray g = p0.getArray().getGradient()) {
                Tensor v = DjlGradients.view(g, "p0");
                assertEquals(g.size(), v.size());
                ByteBuffer b = g.toByteBuffer(true);
                b.putFloat(0, Float.NaN);
            }
            float[][] w0 = f.weights();
            float[][] g0 = f.gradients();
            ClipReport r = new DjlGradClip(clipper, skip).clipAndStep(f.trainer);
            assertTrue(r.skipped());
            float[][] w1 = f.weights();
            for (int i = 0; i < w0.length; i++) assertArrayEquals(bits(w0[i]), bits(w1[i]), "a skipped step was taken");
            float[][] g1 = f.gradients();
            for (int i = 0; i < g0.length; i++) assertArrayEquals(bits(g0[i]), bits(g1[i]), "a skipped clip wrote");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new GradClipListener(clipper, skip).onTrainingBatch(f.trainer, null));
            assertTrue(e.getMessage().contains("cannot stop trainer.step()"), e.getMessage());
            float[][] g2 = f.gradients();
            for (int i = 0; i < g0.length; i++) assertArrayEquals(bits(g0[i]), bits(g2[i]));
        }
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void severalDevicesAreRefusedWithTheReason() {
        try (Fixture f = new Fixture(0.01f)) {
            f.backward();
            float[][] g0 = f.gradients();
            // the same trainer seen with two devices: exactly the check, without needing two real devices
            Trainer twoDevices = new Trainer(f.model, new DefaultTrainingConfig(Loss.l2Loss())) {
                @Override
                public Device[] getDevices() {
                    return new Device[] {Device.cpu(), Device.gpu(1)};
                }
            };
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new DjlGradClip(clipper, ClipStep.globalNorm(NormClip.of(1e-3))).clip(twoDevices));
            assertTrue(e.getMessage().contains("2 devices") && e.getMessage().contains("ParameterServer"), e.getMessage());
            IllegalStateException atStart = assertThrows(IllegalStateException.class,
                    () -> new GradClipListener(clipper, ClipStep.globalNorm(NormClip.of(1e-3))).onTrainingBegin(twoDevices));
            assertEquals(e.getMessage(), atStart.getMessage());
            float[][] g1 = f.gradients();
            for (int i = 0; i < g0.length; i++) assertArrayEquals(bits(g0[i]), bits(g1[i]));
        }
    }

    @Test
    void beforeAnyBackwardTheUndefinedGradientIsRefused() {
        try (Fixture f = new Fixture(0.01f)) {
            // DJL returns fresh zeros for a gradient that does not exist yet: not the parameter's memory
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new DjlGradClip(clipper, ClipStep.globalNorm(NormClip.of(1.0))).clip(f.trainer));
            assertTrue(e.getMessage().contains("is a copy"), e.getMessage());
        }
    }

    @Test
    void aNonContiguousArrayIsRefusedAndLeftUnchanged() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.arange(12f).reshape(3, 4);
            NDArray t = a.transpose(); // a strided view of a's storage in libtorch
            float[] before = a.toFloatArray();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> DjlGradients.view(t, "t"));
            assertTrue(e.getMessage().contains("is a copy"), e.getMessage());
            assertArrayEquals(bits(before), bits(a.toFloatArray()));
            // the contiguous original is a real view: a write through gradclip is seen by DJL
            Tensor v = DjlGradients.view(a, "a");
            clipper.clipByValue(GradientSet.of(v), ValueClip.between(0, 5));
            float[] after = a.toFloatArray();
            assertEquals(5f, after[11]);
            assertEquals(4f, after[4]);
        }
    }

    @Test
    void unsupportedTypesAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray i = m.arange(10).toType(DataType.INT32, false);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> DjlGradients.view(i, "i"));
            assertTrue(e.getMessage().contains("int32"), e.getMessage());
            // not BFLOAT16: in DJL 0.36 with libtorch 2.7.1, toType(BFLOAT16) aborts the JVM ("terminate called
            // without an active exception"), so DJL cannot make bf16 arrays to test with here
            for (DataType t : new DataType[] {DataType.FLOAT64, DataType.FLOAT16}) {
                NDArray a = m.arange(10f).toType(t, false);
                Tensor v = DjlGradients.view(a, "a");
                assertEquals(10, v.size());
                clipper.clipByValue(GradientSet.of(v), ValueClip.between(0, 2));
                float[] r = a.toType(DataType.FLOAT32, false).toFloatArray();
                assertEquals(2f, r[9], t.toString());
                assertEquals(1f, r[1], t.toString());
            }
        }
    }

    /** An NDArray that only reports facts, and records whether anyone asked it for its bytes. */
    static NDArray fake(Device device, Shape shape, DataType type, SparseFormat format, AtomicInteger bufferCalls) {
        return (NDArray) Proxy.newProxyInstance(NDArray.class.getClassLoader(), new Class<?>[] {NDArray.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getDevice" -> device;
                    case "getShape" -> shape;
                    case "getDataType" -> type;
                    case "getSparseFormat" -> format;
                    case "isSparse" -> format != SparseFormat.DENSE;
                    case "size" -> shape.size();
                    case "toString" -> "fake " + device + " " + shape;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toByteBuffer" -> {
                        bufferCalls.incrementAndGet();
                        throw new AssertionError("toByteBuffer called on a refused array");
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void gpuArraysAreRefusedWithoutBeingCopied() {
        AtomicInteger calls = new AtomicInteger();
        NDArray gpu = fake(Device.gpu(0), new Shape(10), DataType.FLOAT32, SparseFormat.DENSE, calls);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DjlGradients.view(gpu, "w"));
        assertTrue(e.getMessage().contains("gpu(0)") && e.getMessage().contains("only CPU memory"), e.getMessage());
        assertEquals(0, calls.get());
    }

    @Test
    void arraysOver2GiBAreRefused() {
        AtomicInteger calls = new AtomicInteger();
        NDArray big = fake(Device.cpu(), new Shape(1L << 29, 2), DataType.FLOAT32, SparseFormat.DENSE, calls);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DjlGradients.view(big, "w"));
        assertTrue(e.getMessage().contains("4294967296 bytes") && e.getMessage().contains("2 GiB"), e.getMessage());
        NDArray justOver = fake(Device.cpu(), new Shape((1L << 29)), DataType.FLOAT32, SparseFormat.DENSE, calls);
        assertThrows(IllegalStateException.class, () -> DjlGradients.view(justOver, "w")); // 2^31 bytes
        assertEquals(0, calls.get());
    }

    @Test
    void sparseArraysAreRefused() {
        AtomicInteger calls = new AtomicInteger();
        NDArray csr = fake(Device.cpu(), new Shape(4, 4), DataType.FLOAT32, SparseFormat.CSR, calls);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DjlGradients.view(csr, "w"));
        assertTrue(e.getMessage().contains("sparse"), e.getMessage());
        assertEquals(0, calls.get());
    }

    @Test
    void theVerifiedViewIsTheTensorsMemory() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {1, -2, 3, -4});
            Tensor v = DjlGradients.view(a, "a");
            ByteBuffer b = a.toByteBuffer(true);
            Tensor w = Tensor.of(b, dev.gradclip.DType.FLOAT32);
            assertEquals(((Tensor.OffHeap) v).address(), ((Tensor.OffHeap) w).address());
            clipper.clipByValue(GradientSet.of(v), ValueClip.symmetric(2.5));
            assertArrayEquals(new float[] {1, -2, 2.5f, -2.5f}, a.toFloatArray());
            assertNotEquals(0, ((Tensor.OffHeap) v).address());
            assertFalse(v.size() == 0);
        }
    }
}
