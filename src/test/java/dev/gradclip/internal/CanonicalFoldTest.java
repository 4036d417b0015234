package dev.gradclip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Checks the fold against a literal simulation of a 256-thread CUDA block: each thread sums its four
 * lanes, warps reduce with shuffle-down semantics (a lane reads lane+offset, or keeps its own value past
 * the warp's end), then warp 0 reduces the eight warp sums the same way.
 */
class CanonicalFoldTest {

    private static double simulateBlock(double[] lanes) {
        double[] thread = new double[256];
        for (int t = 0; t < 256; t++) {
            thread[t] = (lanes[4 * t] + lanes[4 * t + 1]) + (lanes[4 * t + 2] + lanes[4 * t + 3]);
        }
        double[] warpSums = new double[8];
        for (int w = 0; w < 8; w++) {
            double[] reg = new double[32];
            System.arraycopy(thread, 32 * w, reg, 0, 32);
            for (int off = 16; off >= 1; off /= 2) {
                double[] next = new double[32];
                for (int lane = 0; lane < 32; lane++) {
                    double other = lane + off < 32 ? reg[lane + off] : reg[lane];
                    next[lane] = reg[lane] + other;
                }
                reg = next;
            }
            warpSums[w] = reg[0];
        }
        double[] reg = new double[32];
        System.arraycopy(warpSums, 0, reg, 0, 8);
        for (int off = 4; off >= 1; off /= 2) {
            double[] next = new double[32];
            for (int lane = 0; lane < 32; lane++) {
                double other = lane + off < 32 ? reg[lane + off] : reg[lane];
                next[lane] = reg[lane] + other;
            }
            reg = next;
        }
        return reg[0];
    }

    @Test
    void foldEqualsSimulatedBlockBitForBit() {
        SplittableRandom r = new SplittableRandom(1);
        for (int trial = 0; trial < 2000; trial++) {
            double[] lanes = new double[1024];
            for (int i = 0; i < 1024; i++) {
                // wildly different magnitudes make the order visible in the rounding
                lanes[i] = r.nextDouble() * Math.pow(2, r.nextInt(-60, 60));
            }
            double expected = simulateBlock(lanes.clone());
            assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(CanonicalFold.sum(lanes)));
        }
    }

    @Test
    void reduceAssignsValueIToLaneIMod1024InAscendingOrder() {
        SplittableRandom r = new SplittableRandom(2);
        for (int n : new int[] {0, 1, 7, 1023, 1024, 1025, 3000, 5000}) {
            double[] values = new double[n];
            for (int i = 0; i < n; i++) values[i] = r.nextDouble() * Math.pow(2, r.nextInt(-40, 40));
            double[] lanes = new double[1024];
            for (int i = 0; i < n; i++) lanes[i % 1024] = lanes[i % 1024] + values[i];
            double expected = simulateBlock(lanes);
            double got = CanonicalFold.reduce(values, 0, n, false, new double[1024]);
            assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(got), "n=" + n);
        }
    }

    @Test
    void maxPropagatesNaN() {
        double[] v = {1, 2, Double.NaN, 3};
        assertEquals(Double.NaN, CanonicalFold.reduce(v, 0, 4, true, new double[1024]));
        assertEquals(3.0, CanonicalFold.reduce(v, 3, 1, true, new double[1024]));
        assertEquals(0.0, CanonicalFold.reduce(v, 0, 0, true, new double[1024]));
    }
}
