package dev.gradclip.bench;

import java.util.Arrays;

/**
 * Verbatim copies of the CPU backend's fp32 chunk loops (dev.gradclip.backend.cpu.ChunkKernels and
 * CanonicalFold, package-private there), so that KernelBench can time them against the proposed
 * VectorKernels on the same data, and check that the proposal is bit-exact.
 */
final class ScalarKernels {
    static final int LANES = 1024;

    private ScalarKernels() {
    }

    static double sumSquares(float[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        int full = len - (len % LANES);
        for (int base = 0; base < full; base += LANES) {
            int o = off + base;
            for (int v = 0; v < LANES; v++) {
                double x = a[o + v];
                lanes[v] += x * x;
            }
        }
        int o = off + full;
        for (int v = 0, r = len - full; v < r; v++) {
            double x = a[o + v];
            lanes[v] += x * x;
        }
        return fold(lanes);
    }

    static double fold(double[] lanes) {
        for (int t = 0; t < 256; t++) {
            int l = 4 * t;
            lanes[t] = (lanes[l] + lanes[l + 1]) + (lanes[l + 2] + lanes[l + 3]);
        }
        for (int w = 0; w < 8; w++) {
            int b = 32 * w;
            for (int off = 16; off > 0; off >>= 1) {
                for (int k = 0; k < off; k++) {
                    lanes[b + k] = lanes[b + k] + lanes[b + k + off];
                }
            }
        }
        for (int off = 4; off > 0; off >>= 1) {
            for (int k = 0; k < off; k++) {
                lanes[32 * k] = lanes[32 * k] + lanes[32 * (k + off)];
            }
        }
        return lanes[0];
    }

    static long clamp(float[] a, int off, int len, float lo, float hi, long[] counts) {
        long clipped = 0;
        long nonFinite = 0;
        boolean wrote = false;
        for (int i = off, end = off + len; i < end; i++) {
            float x = a[i];
            if (x > lo && x < hi) continue;
            if (x != x) {
                nonFinite++;
                continue;
            }
            if (Float.isInfinite(x)) nonFinite++;
            if (x < lo || x > hi) clipped++;
            float m = x > lo ? x : lo;
            a[i] = m < hi ? m : hi;
            wrote = true;
        }
        counts[1] += nonFinite;
        if (wrote) counts[2] = 1;
        return clipped;
    }
}
