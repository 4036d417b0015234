package dev.gradclip.policy;

import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A stateless operation on loss-scaled gradients G = S·g (what {@code gradclip clip --loss-scale S} runs):
 * norms and thresholds apply to g = G/S, and the result is the unscaled, clipped g.
 * <ul>
 *   <li>global norm: N = ‖G‖/S, c = scale(N, M), one write pass {@code G ← G·(c/S)};</li>
 *   <li>norm (per tensor): N_t = ‖G_t‖/S, c_t = scale(N_t, M), one write pass {@code G_t ← G_t·(c_t/S)};</li>
 *   <li>norms: N and N_t of g; nothing written;</li>
 *   <li>value: {@code G ← G·(1/S)} then the clamp (two passes: a clamp does not commute with a scale);</li>
 *   <li>renormalize: N_t = ‖G_t‖/S, {@code G_t ← G_t·(1/(N_t or 1e-5))/S}.</li>
 * </ul>
 * Non-finite norms (value: elements) follow the operation's policy exactly as without a loss scale: ERROR
 * throws {@link dev.gradclip.NonFiniteGradientException} and SKIP reports a skip, both before anything is
 * written; PROPAGATE applies the formula (NaN spreads). Bitwise across backends (the backends' own passes).
 */
public final class LossScaledClip {
    private LossScaledClip() {
    }

    /**
     * What the operation measured and did, for g = G/S.
     *
     * @param operation the operation that ran
     * @param lossScale S
     * @param totalNorm N (NaN for value)
     * @param tensorNorms N_t (empty for value)
     * @param tensorScales c_t, the clip factors applied on top of 1/S (1 for norms and value)
     * @param scale the smallest c_t (global norm: c)
     * @param clippedElements value: elements outside [min, max]; norm ops: elements of tensors whose c_t ≠ 1
     * @param nonFiniteElements NaN or ±∞ elements of G
     * @param totalElements the number of elements of the set
     * @param skipped SKIP left everything untouched
     */
    public record Result(ClipOperation operation, double lossScale, double totalNorm, double[] tensorNorms,
                         double[] tensorScales, double scale, long clippedElements, long nonFiniteElements,
                         long totalElements, boolean skipped) {
        /**
         * Copies the arrays.
         *
         * @param operation the operation that ran
         * @param lossScale S
         * @param totalNorm N (NaN for value)
         * @param tensorNorms N_t (empty for value); copied
         * @param tensorScales c_t; copied
         * @param scale the smallest c_t
         * @param clippedElements the elements clipped
         * @param nonFiniteElements NaN or ±∞ elements of G
         * @param totalElements the number of elements of the set
         * @param skipped SKIP left everything untouched
         */
        public Result {
            tensorNorms = tensorNorms.clone();
            tensorScales = tensorScales.clone();
        }

        /** {@return a copy of N_t, in set order (empty for value)} */
        @Override
        public double[] tensorNorms() {
            return tensorNorms.clone();
        }

        /** {@return a copy of c_t, in set order} */
        @Override
        public double[] tensorScales() {
            return tensorScales.clone();
        }
    }

    /**
     * Runs {@code op} on G = S·g; see the class comment for the formulas.
     *
     * @param clipper the clipper to run on
     * @param grads the loss-scaled gradients G, unscaled and clipped in place
     * @param op the operation, with thresholds for g = G/S
     * @param lossScale S, finite and ≥ 2^-1022
     * @return what was measured and done, for g
     * @throws IllegalArgumentException if S is out of range, or the clipper refuses the set (nothing modified)
     * @throws IllegalStateException if the clipper is closed or a tensor's memory was closed or freed
     *     (nothing modified)
     * @throws dev.gradclip.NonFiniteGradientException under ERROR when a norm (value: an element) is not
     *     finite (nothing modified)
     */
    public static Result apply(Clipper clipper, GradientSet grads, ClipOperation op, double lossScale) {
        Objects.requireNonNull(clipper, "clipper is null");
        Objects.requireNonNull(grads, "gradient set is null");
        Objects.requireNonNull(op, "operation is null");
        if (!(lossScale >= Double.MIN_NORMAL) || Double.isInfinite(lossScale)) {
            throw new IllegalArgumentException("loss scale must be finite and >= 2^-1022, got " + lossScale);
        }
        double s = lossScale;
        int n = grads.size();
        long total = grads.totalElements();
        double[] ones = new double[n];
        Arrays.fill(ones, 1.0);
        if (op instanceof ClipOperation.ByValue) {
            ClipOperation.ByValue v = (ClipOperation.ByValue) op;
            if (v.clip().nonFinite() != NonFinitePolicy.PROPAGATE) {
                long bad = clipper.partials(grads, NormType.INF).nonFiniteElements();
                if (bad > 0) {
                    ClipReport r = clipper.clipByValue(grads, v.clip());   // throws (ERROR) or skips (SKIP), writes nothing
                    return new Result(op, s, Double.NaN, new double[0], ones, 1.0, 0, r.nonFiniteElements(), total, r.skipped());
                }
            }
            double[] inv = new double[n];
            Arrays.fill(inv, 1.0 / s);
            if (!allOne(inv, grads)) clipper.scaleEach(grads, inv);
            ClipReport r = clipper.clipByValue(grads, v.clip());
            return new Result(op, s, Double.NaN, new double[0], ones, 1.0, r.clippedElements(), r.nonFiniteElements(), total,
                    r.skipped());
        }
        NormType p;
        NonFinitePolicy policy;
        NormClip clip = null;
        if (op instanceof ClipOperation.ByGlobalNorm) {
            clip = ((ClipOperation.ByGlobalNorm) op).clip();
        } else if (op instanceof ClipOperation.ByNorm) {
            clip = ((ClipOperation.ByNorm) op).clip();
        }
        if (clip != null) {
            p = clip.normType();
            policy = clip.nonFinite();
        } else if (op instanceof ClipOperation.Norms) {
            p = ((ClipOperation.Norms) op).normType();
            policy = ((ClipOperation.Norms) op).nonFinite();
        } else {
            p = ((ClipOperation.Renormalize) op).normType();
            policy = ((ClipOperation.Renormalize) op).nonFinite();
        }
        NormPartials parts = clipper.partials(grads, p);
        double total_n = parts.totalNorm() / s;
        double[] tn = new double[n];
        for (int t = 0; t < n; t++) tn[t] = parts.tensorNorm(t) / s;
        long bad = parts.nonFiniteElements();
        boolean global = op instanceof ClipOperation.ByGlobalNorm || op instanceof ClipOperation.Norms;
        boolean nonFiniteNorm = global ? !Double.isFinite(total_n) : anyNonFinite(tn);
        if (nonFiniteNorm && policy != NonFinitePolicy.PROPAGATE) {
            if (policy == NonFinitePolicy.ERROR) {
                double m = clip != null ? clip.maxNorm() : 0.0;
                Semantics sem = clip != null ? clip.semantics() : Semantics.TORCH;
                clipper.clipWithTotalNorm(grads, new NormClip(m, p, sem, NonFinitePolicy.ERROR), Double.NaN); // throws
                throw new IllegalStateException("the clipper accepted a non-finite norm under ERROR");
            }
            return new Result(op, s, total_n, tn, ones, 1.0, 0, bad, total, true);
        }
        if (op instanceof ClipOperation.Norms) {
            return new Result(op, s, total_n, tn, ones, 1.0, 0, bad, total, false);
        }
        double[] c = new double[n];
        for (int t = 0; t < n; t++) {
            if (op instanceof ClipOperation.ByGlobalNorm) c[t] = clip.semantics().scale(total_n, clip.maxNorm());
            else if (op instanceof ClipOperation.ByNorm) c[t] = clip.semantics().scale(tn[t], clip.maxNorm());
            else c[t] = Semantics.renormalizeScale(tn[t]);
        }
        // finite factors in one scale pass; NaN ones (PROPAGATE of a NaN norm) by the clipper's NaN rule
        List<Tensor> finite = new ArrayList<>();
        List<Double> factors = new ArrayList<>();
        List<Tensor> nan = new ArrayList<>();
        long clipped = 0;
        double min = 1.0;
        for (int t = 0; t < n; t++) {
            double f = c[t] / s;
            Tensor tensor = grads.get(t);
            if (Double.isNaN(f)) {
                nan.add(tensor);
            } else {
                finite.add(tensor);
                factors.add(f);
            }
            if (!(c[t] == 1.0)) clipped += tensor.size();
            min = Double.isNaN(c[t]) || Double.isNaN(min) ? Double.NaN : Math.min(min, c[t]);
        }
        double[] f = factors.stream().mapToDouble(Double::doubleValue).toArray();
        GradientSet fs = GradientSet.of(finite);
        if (!allOne(f, fs)) clipper.scaleEach(fs, f);
        if (!nan.isEmpty()) {
            clipper.clipWithTotalNorm(GradientSet.of(nan), NormClip.of(1.0).withNormType(p).withSemantics(Semantics.TORCH), Double.NaN);
        }
        return new Result(op, s, total_n, tn, c, n == 0 ? 1.0 : min, clipped, bad, total, false);
    }

    private static boolean anyNonFinite(double[] a) {
        for (double d : a) if (!Double.isFinite(d)) return true;
        return false;
    }

    private static boolean allOne(double[] f, GradientSet set) {
        for (int t = 0; t < f.length; t++) {
            DType d = set.get(t).dtype();
            if (d == DType.FLOAT64 ? f[t] != 1.0 : (float) f[t] != 1.0f) return false;
        }
        return true;
    }
}
