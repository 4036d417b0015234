package dev.gradclip.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TrainingClipperTest {
    static Clipper cpu;
    static Clipper emu;
    static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16};
    static final int[] SIZES = {0, 1, 7, 1000, 70_000};

    @BeforeAll
    static void open() {
        cpu = Clipper.create(Backend.CPU);
        emu = Clipper.create(Backend.EMULATED);
    }

    @AfterAll
    static void close() {
        cpu.close();
        emu.close();
    }

    /** One step's gradients: one array per tensor, G = S·g. */
    static List<Object> grads(DType dtype, long seed, double s, double scale) {
        Random r = new Random(seed);
        List<Object> out = new ArrayList<>();
        for (int n : SIZES) out.add(Dtypes.of(dtype, Dtypes.gaussian(r, n, scale * s)));
        return out;
    }

    static GradientSet set(DType dtype, List<Object> arrays) {
        List<Tensor> ts = new ArrayList<>();
        for (Object a : arrays) ts.add(Dtypes.tensor(dtype, a));
        return GradientSet.of(ts);
    }

    static List<Object> copy(List<Object> a) {
        List<Object> c = new ArrayList<>();
        for (Object x : a) c.add(Dtypes.copy(x));
        return c;
    }

    @Test
    void fixedPolicyWithoutLossScaleIsClipByGlobalNormBitForBit() {
        for (DType dtype : DTYPES) {
            for (Semantics sem : Semantics.values()) {
                List<Object> a = grads(dtype, 11, 1.0, 0.01);
                List<Object> b = copy(a);
                TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(0.5)).semantics(sem).build();
                StepRecord r = tc.step(cpu, set(dtype, a));
                ClipReport want = cpu.clipByGlobalNorm(set(dtype, b), NormClip.of(0.5).withSemantics(sem));
                assertEquals(want.totalNorm(), r.totalNorm());
                assertEquals(want.scale(), r.scale());
                assertTrue(r.clipped());
                for (int t = 0; t < a.size(); t++) Dtypes.assertSameBits(dtype, b.get(t), a.get(t), dtype + " " + sem + " tensor " + t);
            }
        }
    }

    @Test
    void unscaleAndClipIsWithinOneUlpOfExactUnscaleThenClip() {
        for (DType dtype : DTYPES) {
            for (double s : new double[] {65536.0, 1024.0, 1000.0, 3.7, 0.75}) {
                if (dtype == DType.FLOAT16 && s > 2000) continue;   // S·g would overflow fp16's 65504
                for (double m : new double[] {0.05, 1e6}) {          // clipping, and unscaling only
                    List<Object> a = grads(dtype, 21, s, 0.01);
                    List<Object> orig = copy(a);
                    TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(m)).lossScale(s).build();
                    StepRecord r = tc.step(cpu, set(dtype, a));
                    // exact reference from the stored values: g = G/S, N = ‖g‖, c = scale(N, M), y = g·c
                    double sum = 0;
                    for (Object x : orig) for (int i = 0; i < Dtypes.length(x); i++) {
                        double g = Dtypes.get(dtype, x, i) / s;
                        sum += g * g;
                    }
                    double n = Math.sqrt(sum);
                    assertEquals(n, r.totalNorm(), n * 1e-12, dtype + " S=" + s);
                    double c = Semantics.TORCH.scale(r.totalNorm(), m);
                    assertEquals(c, r.scale());
                    assertEquals(m < 1, r.clipped());
                    long worst = 0;
                    java.math.BigDecimal bs = new java.math.BigDecimal(s);
                    java.math.BigDecimal bc = new java.math.BigDecimal(c);
                    for (int t = 0; t < a.size(); t++) {
                        for (int i = 0; i < Dtypes.length(a.get(t)); i++) {
                            // exact (G/S)·c, rounded once to fp64 (then to the storage type by ulps())
                            double want = new java.math.BigDecimal(Dtypes.get(dtype, orig.get(t), i)).multiply(bc)
                                    .divide(bs, java.math.MathContext.DECIMAL128).doubleValue();
                            worst = Math.max(worst, Dtypes.ulps(dtype, Dtypes.get(dtype, a.get(t), i), want));
                        }
                    }
                    assertTrue(worst <= 1.0, dtype + " S=" + s + " M=" + m + ": " + worst + " ulp");
                }
            }
        }
    }

    @Test
    void powerOfTwoLossScaleEqualsTwoPassesBitForBit() {
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.BFLOAT16}) {
            double s = 65536.0;
            List<Object> a = grads(dtype, 31, s, 0.01);
            List<Object> b = copy(a);
            TrainingClipper.builder(new FixedThreshold(0.05)).lossScale(s).build().step(cpu, set(dtype, a));
            GradientSet bs = set(dtype, b);
            double[] inv = new double[bs.size()];
            Arrays.fill(inv, 1.0 / s);
            cpu.scaleEach(bs, inv);
            cpu.clipByGlobalNorm(bs, NormClip.of(0.05));
            for (int t = 0; t < a.size(); t++) Dtypes.assertSameBits(dtype, b.get(t), a.get(t), dtype + " tensor " + t);
        }
    }

    @Test
    void cpuAndEmulatedAgreeBitForBitOnRawBits() {
        for (DType dtype : DTYPES) {
            for (String spec : List.of("fixed:0.05", "zclip:2.5:0.9:3", "autoclip:50")) {
                for (double s : new double[] {1.0, 1000.0}) {
                    if (dtype == DType.FLOAT16 && s > 1) continue;
                    TrainingClipper a = TrainingClipper.builder(ClipPolicy.parse(spec)).lossScale(s)
                            .skipAbove(new SpikeSkipper(3, 100, 2)).build();
                    TrainingClipper b = TrainingClipper.builder(ClipPolicy.parse(spec)).lossScale(s)
                            .skipAbove(new SpikeSkipper(3, 100, 2)).build();
                    for (int step = 0; step < 8; step++) {
                        double mag = step == 6 ? 100 : 0.01 * (1 + step % 3);
                        List<Object> x = grads(dtype, 100 + step, s, mag);
                        if (step == 5) {
                            setNaN(dtype, x.get(2), 3);
                        }
                        List<Object> y = copy(x);
                        StepRecord ra = a.step(cpu, set(dtype, x));
                        StepRecord rb = b.step(emu, set(dtype, y));
                        assertEquals(Double.doubleToRawLongBits(ra.totalNorm()), Double.doubleToRawLongBits(rb.totalNorm()));
                        assertEquals(ra.toJsonLine(null), rb.toJsonLine(null));
                        for (int t = 0; t < x.size(); t++) {
                            Dtypes.assertSameBits(dtype, x.get(t), y.get(t), dtype + " " + spec + " S=" + s + " step " + step);
                        }
                    }
                }
            }
        }
    }

    static void setNaN(DType dtype, Object a, int i) {
        if (a instanceof float[]) ((float[]) a)[i] = Float.NaN;
        else if (a instanceof double[]) ((double[]) a)[i] = Double.NaN;
        else ((short[]) a)[i] = dtype == DType.FLOAT16 ? (short) 0x7e01 : (short) 0x7f81;
    }

    @Test
    void foundInfUnderSkipLeavesTheGradientsAndBacksOffTheDynamicScale() {
        TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(1.0)).nonFinite(NonFinitePolicy.SKIP)
                .dynamicLossScale(DynamicLossScaler.defaults()).build();
        assertEquals(65536.0, tc.lossScale());
        float[] g = {1e4f, Float.POSITIVE_INFINITY, -3f};
        float[] before = g.clone();
        StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(g)));
        assertTrue(r.foundInf() && r.skipped() && !r.clipped());
        assertEquals(1, r.nonFiniteElements());
        assertEquals(65536.0, r.lossScale());
        assertTrue(Arrays.equals(before, g), "SKIP leaves the gradients untouched");
        assertEquals(32768.0, tc.lossScale(), "GradScaler backs off");
        float[] h = {32768f, 0f};
        StepRecord r2 = tc.step(cpu, GradientSet.of(Tensor.of(h)));
        assertFalse(r2.foundInf());
        assertEquals(1.0, r2.totalNorm());
        assertEquals((float) Semantics.TORCH.scale(1.0, 1.0), h[0], "unscaled by 1/S = 2^-15 and clipped by 1/(1+1e-6) in one pass");
    }

    @Test
    void errorThrowsBeforeAnythingIsModifiedAndAdvancesNoState() {
        TrainingClipper tc = TrainingClipper.builder(AutoClip.of(50)).nonFinite(NonFinitePolicy.ERROR).lossScale(8).build();
        float[] g = {8f, Float.NaN};
        float[] before = g.clone();
        assertThrows(NonFiniteGradientException.class, () -> tc.step(cpu, GradientSet.of(Tensor.of(g))));
        assertEquals(Float.floatToRawIntBits(before[0]), Float.floatToRawIntBits(g[0]));
        assertEquals(Float.floatToRawIntBits(before[1]), Float.floatToRawIntBits(g[1]));
        assertEquals(0, tc.nextStep());
        assertEquals(0, tc.policyState().step());
    }

    @Test
    void propagateSpreadsNanAsThePeersDo() {
        TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(1.0)).lossScale(4).build();
        float[] g = {8f, Float.NaN, 2f};
        StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(g)));
        assertTrue(r.foundInf() && !r.skipped());
        assertTrue(Double.isNaN(r.totalNorm()) && Double.isNaN(r.scale()));
        for (float x : g) assertTrue(Float.isNaN(x));
    }

    @Test
    void aNanNormInTheRecordIsTheCanonicalNanWhateverThePayload() {
        long canonical = Double.doubleToRawLongBits(Double.NaN);
        for (Backend b : new Backend[] {Backend.CPU, Backend.EMULATED}) {
            try (Clipper k = Clipper.create(b)) {
                double[] g = {1.0, Double.longBitsToDouble(0xfff0000000000123L), 2.0};   // a negative signalling NaN
                StepRecord r = TrainingClipper.builder(new FixedThreshold(1.0)).nonFinite(NonFinitePolicy.SKIP).build()
                        .step(k, GradientSet.of(Tensor.of(g)));
                assertTrue(r.skipped());
                assertEquals(canonical, Double.doubleToRawLongBits(r.totalNorm()), b + ": total norm");
                assertEquals(canonical, Double.doubleToRawLongBits(r.tensorNorms()[0]), b + ": tensor norm");
                double[] w = {1.0, 1.0, 1.0};
                StepRecord a = TrainingClipper.builder(AdaptiveGradClip.of(0.01)).nonFinite(NonFinitePolicy.SKIP).build()
                        .step(k, GradientSet.of(Tensor.of(g)), GradientSet.of(Tensor.of(w)), new long[][] {{3}});
                assertEquals(canonical, Double.doubleToRawLongBits(a.totalNorm()), b + ": AGC total norm");
                assertEquals(canonical, Double.doubleToRawLongBits(a.tensorNorms()[0]), b + ": AGC tensor norm");
                assertEquals(0xfff0000000000123L, Double.doubleToRawLongBits(g[1]), "skipped: untouched");
            }
        }
    }

    @Test
    void spikesAreSkippedAfterTenAcceptedAndNotLearned() {
        TrainingClipper tc = TrainingClipper.builder(AutoClip.of(100)).skipAbove(SpikeSkipper.of(5)).build();
        for (int i = 0; i < 10; i++) {
            StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(new float[] {1f + i * 0.01f})));
            assertFalse(r.skipped());
        }
        float[] spike = {100f};
        StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(spike)));
        assertTrue(r.skipped());
        assertFalse(r.clipped());
        assertEquals(100f, spike[0]);
        assertEquals(1.09, r.threshold(), 1e-6);
        assertEquals(11, tc.policyState().step());
        assertEquals(1.09, tc.policyState().currentThreshold(), 1e-6, "the spike did not enter AutoClip's history");
    }

    @Test
    void checkpointRestoresEveryPartBitForBit() {
        TrainingClipper a = TrainingClipper.builder(ClipPolicy.parse("zclip:2.5:0.9:4")).skipAbove(new SpikeSkipper(4, 10, 3))
                .dynamicLossScale(new DynamicLossScaler(1024, 2, 0.5, 3)).build();
        TrainingClipper b = TrainingClipper.builder(ClipPolicy.parse("zclip:2.5:0.9:4")).skipAbove(new SpikeSkipper(4, 10, 3))
                .dynamicLossScale(new DynamicLossScaler(1024, 2, 0.5, 3)).build();
        Random rnd = new Random(5);
        String saved = null;
        List<String> tailA = new ArrayList<>();
        List<float[]> inputs = new ArrayList<>();
        for (int step = 0; step < 30; step++) {
            float[] g = new float[50];
            for (int i = 0; i < g.length; i++) g[i] = (float) (rnd.nextGaussian() * (step % 7 == 6 ? 50 : 1) * 1000);
            if (step == 13) g[3] = Float.POSITIVE_INFINITY;
            inputs.add(g);
        }
        for (int step = 0; step < 30; step++) {
            if (step == 17) saved = a.stateJson();
            float[] g = inputs.get(step).clone();
            StepRecord r = a.step(cpu, GradientSet.of(Tensor.of(g)));
            if (step >= 17) tailA.add(r.toJsonLine(null) + Arrays.toString(g));
        }
        b.restoreState(saved);
        assertEquals(17, b.nextStep());
        for (int step = 17; step < 30; step++) {
            float[] g = inputs.get(step).clone();
            StepRecord r = b.step(cpu, GradientSet.of(Tensor.of(g)));
            assertEquals(tailA.get(step - 17), r.toJsonLine(null) + Arrays.toString(g), "step " + step);
        }
        assertEquals(a.stateJson(), b.stateJson());
        TrainingClipper other = TrainingClipper.builder(new FixedThreshold(1)).build();
        String s2 = saved;
        assertThrows(IllegalArgumentException.class, () -> other.restoreState(s2));
    }

    @Test
    void normTypeAppliesToTheTotal() {
        TrainingClipper tc = TrainingClipper.builder(new FixedThreshold(1.0)).normType(NormType.INF).lossScale(2).build();
        float[] g = {4f, -6f};
        StepRecord r = tc.step(cpu, GradientSet.of(Tensor.of(g)));
        assertEquals(3.0, r.totalNorm());
        assertEquals(Semantics.TORCH.scale(3.0, 1.0), r.scale());
    }
}
