package dev.gradclip.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.ValueClip;
import dev.gradclip.integration.ClipStep;
import dev.gradclip.integration.demo.RegressionData;
import dev.gradclip.integration.demo.RegressionLoop;
import dev.gradclip.torch.demo.TorchRegression;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** gradclip on a libtorch module's gradients through the JavaCPP presets (CPU). */
class TorchIntegrationTest {
    static Clipper clipper;

    @BeforeAll
    static void open() {
        Libtorch.load();
        clipper = Clipper.create(Backend.CPU);
    }

    @AfterAll
    static void close() {
        clipper.close();
    }

    static final class Net extends Module {
        final LinearImpl a;
        final LinearImpl b;

        Net() {
            a = register_module("a", new LinearImpl(6, 5));
            b = register_module("b", new LinearImpl(5, 1));
        }

        Tensor forward(Tensor x) {
            return b.forward(torch.relu(a.forward(x)));
        }
    }

    static Net backward(long seed) {
        torch.manual_seed(seed);
        Net net = new Net();
        Tensor x = torch.randn(16, 6);
        Tensor y = torch.randn(16, 1).mul_(new org.bytedeco.pytorch.Scalar(100.0));
        torch.mse_loss(net.forward(x), y).backward();
        return net;
    }

    @Test
    void moduleGradientsAreViewedInPlaceAndClippedLikeClipGradNorm() {
        Net ours = backward(3);
        Net theirs = backward(3);
        NamedGradients g = TorchGradients.of(ours);
        assertEquals(List.of("a.weight", "a.bias", "b.weight", "b.bias"), g.names());
        for (int i = 0; i < g.tensors().size(); i++) {
            // zero copies: the view's address is the gradient's data_ptr
            assertEquals(g.tensors().get(i).data_ptr().address(), ((dev.gradclip.Tensor.OffHeap) g.gradients().get(i)).address());
            assertEquals(g.tensors().get(i).numel(), g.gradients().get(i).size());
        }
        TorchGradClip clip = new TorchGradClip(clipper, ClipStep.globalNorm(NormClip.of(1.0)));
        ClipReport r = clip.clip(ours);
        double theirNorm = torch.clip_grad_norm_(theirs.parameters(), 1.0, 2.0, false);
        assertTrue(r.clipped() && r.totalNorm() > 1);
        // libtorch accumulates the fp32 L2 norm in fp64 on the CPU: the same norm and, here, the same bits
        assertEquals((float) theirNorm, (float) r.totalNorm());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(Bits.bits(theirs.parameters().get(i).grad()), Bits.bits(ours.parameters().get(i).grad()),
                    "parameter " + i);
        }
        assertEquals(List.of(r), clip.reports());
    }

    @Test
    void theOptimizerStepsOnTheClippedGradients() {
        Net net = backward(4);
        SGD sgd = new SGD(net.parameters(), new SGDOptions(0.5));
        List<float[]> before = new ArrayList<>();
        for (long i = 0; i < net.parameters().size(); i++) before.add(floats(net.parameters().get(i)));
        new TorchGradClip(clipper, ClipStep.globalNorm(NormClip.of(0.2))).clip(net);
        List<float[]> grads = new ArrayList<>();
        for (long i = 0; i < net.parameters().size(); i++) grads.add(floats(net.parameters().get(i).grad()));
        sgd.step();
        double moved = 0;
        for (int i = 0; i < before.size(); i++) {
            float[] w1 = floats(net.parameters().get(i));
            for (int k = 0; k < w1.length; k++) {
                assertEquals(before.get(i)[k] - 0.5f * grads.get(i)[k], w1[k], 1e-6f);
                moved += Math.pow(w1[k] - before.get(i)[k], 2);
            }
        }
        assertEquals(0.5 * 0.2, Math.sqrt(moved), 1e-5);
    }

    static float[] floats(Tensor t) {
        long[] b = Bits.bits(t);
        float[] f = new float[b.length];
        for (int i = 0; i < b.length; i++) f[i] = Float.intBitsToFloat((int) b[i]);
        return f;
    }

    @Test
    void valueClipAndPerTensorNormOnAModule() {
        Net net = backward(5);
        new TorchGradClip(clipper, ClipStep.byValue(ValueClip.symmetric(0.01))).clip(net);
        Tensor max = net.parameters().get(0).grad().abs().max();
        assertTrue(max.item_float() <= 0.01f);
        new TorchGradClip(clipper, ClipStep.perTensorNorm(NormClip.of(0.001))).clip(net);
        ClipReport n = clipper.norms(TorchGradients.of(net).gradients(), NormType.L2);
        for (double t : n.tensorNorms()) assertTrue(t <= 0.001 * (1 + 1e-6), "tensor norm " + t);
    }

    @Test
    void aDensePermutationIsAcceptedAViewWithGapsIsNot() {
        Tensor base = torch.randn(4, 6);
        Tensor transposed = base.t(); // non-contiguous but dense: the same 24 elements
        assertFalse(transposed.is_contiguous());
        dev.gradclip.Tensor v = TorchGradients.view(transposed, "t");
        assertEquals(24, v.size());
        assertEquals(base.data_ptr().address(), ((dev.gradclip.Tensor.OffHeap) v).address());
        double ours = clipper.norms(GradientSet.of(v), NormType.L2).totalNorm();
        assertEquals(base.norm().item_float(), (float) ours, 1e-6f);

        Tensor sliced = base.narrow(1, 0, 3); // every other run of 3 elements: gaps
        long[] bits = Bits.bits(base);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TorchGradients.view(sliced, "slice"));
        assertTrue(e.getMessage().contains("not dense"), e.getMessage());
        assertArrayEquals(bits, Bits.bits(base));
    }

    @Test
    void refusals() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchGradients.view(torch.ones(3).to(torch.ScalarType.Int), "i"));
        assertTrue(e.getMessage().contains("Int"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TorchGradients.view(torch.ones(3, 3).to_sparse(), "s"));
        assertTrue(e.getMessage().contains("Sparse") || e.getMessage().contains("sparse"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TorchGradients.view(new Tensor(), "u"));
        assertTrue(e.getMessage().contains("undefined"), e.getMessage());
        Tensor meta = torch.ones(new long[] {4}, new TensorOptions(new org.bytedeco.pytorch.Device("meta")));
        e = assertThrows(IllegalArgumentException.class, () -> TorchGradients.view(meta, "m"));
        assertTrue(e.getMessage().contains("meta"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TorchGradients.currentCudaStream(torch.ones(2)));
        assertTrue(e.getMessage().contains("not a CUDA tensor"), e.getMessage());
        for (DType d : new DType[] {DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16}) {
            assertEquals(d, TorchGradients.view(torch.ones(2).to(Bits.scalarType(d)), "x").dtype());
        }
    }

    /** The demo's exploding regression at a reduced size (1,200 samples, 4 epochs instead of 10,000 and 30). */
    @Test
    void explodingRegressionDivergesUnclippedAndTrainsWithGlobalNormClipping() {
        RegressionData data = RegressionData.make(1200, 30, 10, 0.1, 1);
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        RegressionLoop.Run none = TorchRegression.run(data, null, clipper, "none", 4, 7, quiet);
        assertTrue(none.diverged(), none.toString());
        assertEquals(1, none.divergedEpoch());
        RegressionLoop.Run clipped = TorchRegression.run(data, ClipStep.globalNorm(NormClip.of(1.0)), clipper,
                "global-norm:1", 4, 7, quiet);
        assertFalse(clipped.diverged(), clipped.toString());
        assertEquals(clipped.steps(), clipped.clippedSteps());
        double first = clipped.epochs().get(0).valLoss();
        double last = clipped.epochs().get(3).valLoss();
        assertTrue(last < 0.9 * first, first + " -> " + last);
    }
}
