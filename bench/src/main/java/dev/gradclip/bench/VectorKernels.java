package dev.gradclip.bench;

import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The proposed optional Vector API kernels (bench/proposals/vector-kernels.diff puts them in the library):
 * the same canonical order as ScalarKernels, only the loop over the 1,024 lanes is explicit SIMD.
 * Lane v still adds x[v], x[v+1024], … in ascending order, each square exact in fp64, so the results are
 * bit-identical (KernelBench checks this before timing). Needs --add-modules jdk.incubator.vector.
 */
final class VectorKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_256;
    private static final int LANES = ScalarKernels.LANES;

    private VectorKernels() {
    }

    static double sumSquares(float[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        int full = len - (len % LANES);
        for (int base = 0; base < full; base += LANES) {
            int o = off + base;
            for (int v = 0; v < LANES; v += 8) {
                FloatVector x = FloatVector.fromArray(F, a, o + v);
                DoubleVector x0 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 0);
                DoubleVector x1 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector.fromArray(D, lanes, v).add(x0.mul(x0)).intoArray(lanes, v);
                DoubleVector.fromArray(D, lanes, v + 4).add(x1.mul(x1)).intoArray(lanes, v + 4);
            }
        }
        int o = off + full;
        for (int v = 0, r = len - full; v < r; v++) {
            double x = a[o + v];
            lanes[v] += x * x;
        }
        return ScalarKernels.fold(lanes);
    }

    /**
     * ScalarKernels.clamp in SIMD: groups of 8 strictly inside (lo, hi) are skipped; in the others the scalar
     * rule runs on all 8 lanes with masks, and the group is stored with the elements the scalar loop leaves alone unchanged.
     */
    static long clamp(float[] a, int off, int len, float lo, float hi, long[] counts) {
        long clipped = 0;
        long nonFinite = 0;
        boolean wrote = false;
        int end = off + len;
        int i = off;
        for (; i + 8 <= end; i += 8) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            VectorMask<Float> inside = x.compare(VectorOperators.GT, lo).and(x.compare(VectorOperators.LT, hi));
            if (inside.allTrue()) continue;
            // the scalar rule on all 8 at once: m = x > lo ? x : lo; y = m < hi ? m : hi, written where
            // x is neither strictly inside nor NaN (x > lo is false for NaN, so NaN lanes are excluded here)
            VectorMask<Float> nan = x.test(VectorOperators.IS_NAN);
            VectorMask<Float> write = inside.not().andNot(nan);
            FloatVector m = FloatVector.broadcast(F, lo).blend(x, x.compare(VectorOperators.GT, lo));
            FloatVector y = FloatVector.broadcast(F, hi).blend(m, m.compare(VectorOperators.LT, hi));
            x.blend(y, write).intoArray(a, i); // unwritten lanes get their own value back
            nonFinite += nan.trueCount() + x.test(VectorOperators.IS_INFINITE).trueCount();
            clipped += x.compare(VectorOperators.LT, lo).or(x.compare(VectorOperators.GT, hi)).trueCount();
            wrote |= write.anyTrue();
        }
        long[] tail = {0, 0, 0};
        clipped += ScalarKernels.clamp(a, i, end - i, lo, hi, tail);
        counts[1] += nonFinite + tail[1];
        if (wrote || tail[2] != 0) counts[2] = 1;
        return clipped;
    }
}
