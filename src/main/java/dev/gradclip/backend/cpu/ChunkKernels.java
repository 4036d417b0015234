package dev.gradclip.backend.cpu;

import dev.gradclip.internal.CanonicalFold;
import dev.gradclip.internal.HalfFloats;
import java.util.Arrays;

/**
 * The per-chunk loops of the CPU backend, on {@code float[]} (fp32, and fp16/bf16 widened to fp32) and
 * {@code double[]}. Lane {@code j} of a chunk takes elements {@code j, j+1024, j+2048, …} in ascending order;
 * the inner loops run over 1,024 consecutive lanes so that they vectorise.
 */
final class ChunkKernels {
    private static final int LANES = CanonicalFold.LANES;

    /**
     * Whether the fp32 loops run as explicit SIMD (VectorChunkKernels): when the JVM was started with
     * {@code --add-modules jdk.incubator.vector} and {@code -Dgradclip.cpu.vector=false} is not set.
     * Bit-identical either way; JDK 17's C2 does not vectorise the float→double lane loop by itself.
     */
    static final boolean VECTOR = readVectorModule() && !"false".equals(System.getProperty("gradclip.cpu.vector"));

    /**
     * Whether the boot layer has jdk.incubator.vector; if so, this module reads it. The module descriptor
     * does not require it (not even {@code requires static}: an incubator module in the compile-time graph
     * makes javac and javadoc warn on every build), so on the module path the read edge is added here;
     * on the class path (the unnamed module reads every module) this changes nothing.
     */
    private static boolean readVectorModule() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").map(vector -> {
            ChunkKernels.class.getModule().addReads(vector);
            return true;
        }).orElse(false);
    }

    private ChunkKernels() {
    }

    // ---------------------------------------------------------------- sums of terms, fp32 input

    static double sumSquares(float[] a, int off, int len, double[] lanes) {
        if (VECTOR) return VectorChunkKernels.sumSquares(a, off, len, lanes);
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
        return CanonicalFold.sum(lanes);
    }

    static double sumAbs(float[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        int full = len - (len % LANES);
        for (int base = 0; base < full; base += LANES) {
            int o = off + base;
            for (int v = 0; v < LANES; v++) {
                lanes[v] += Math.abs((double) a[o + v]);
            }
        }
        int o = off + full;
        for (int v = 0, r = len - full; v < r; v++) {
            lanes[v] += Math.abs((double) a[o + v]);
        }
        return CanonicalFold.sum(lanes);
    }

    static double maxAbs(float[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        for (int i = 0; i < len; i++) {
            int v = i & (LANES - 1);
            lanes[v] = CanonicalFold.nanMax(lanes[v], Math.abs((double) a[off + i]));
        }
        return CanonicalFold.max(lanes);
    }

    /** General p: the terms {@code (|x| / div)^p}, div = max|x| of the tensor (fp64 divide, then pow). */
    static double sumPowScaled(float[] a, int off, int len, double p, double div, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        for (int i = 0; i < len; i++) {
            lanes[i & (LANES - 1)] += Math.pow(Math.abs((double) a[off + i]) / div, p);
        }
        return CanonicalFold.sum(lanes);
    }

    static long countNonFinite(float[] a, int off, int len) {
        long n = 0;
        for (int i = 0; i < len; i++) {
            if (!Float.isFinite(a[off + i])) n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- sums of terms, fp64 input

    static double sumSquares(double[] a, int off, int len, double[] lanes) {
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
        return CanonicalFold.sum(lanes);
    }

    static double sumAbs(double[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        for (int i = 0; i < len; i++) {
            lanes[i & (LANES - 1)] += Math.abs(a[off + i]);
        }
        return CanonicalFold.sum(lanes);
    }

    static double maxAbs(double[] a, int off, int len, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        for (int i = 0; i < len; i++) {
            int v = i & (LANES - 1);
            lanes[v] = CanonicalFold.nanMax(lanes[v], Math.abs(a[off + i]));
        }
        return CanonicalFold.max(lanes);
    }

    static double sumPowScaled(double[] a, int off, int len, double p, double div, double[] lanes) {
        Arrays.fill(lanes, 0.0);
        for (int i = 0; i < len; i++) {
            lanes[i & (LANES - 1)] += Math.pow(Math.abs(a[off + i]) / div, p);
        }
        return CanonicalFold.sum(lanes);
    }

    static long countNonFinite(double[] a, int off, int len) {
        long n = 0;
        for (int i = 0; i < len; i++) {
            if (!Double.isFinite(a[off + i])) n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- clamp: t = x < lo ? lo : x; y = hi < t ? hi : t

    /** Elements per store decision of the clamp loops. */
    private static final int CLAMP_BLOCK = 64;

    /**
     * Clamps in place as {@code torch.clamp} does on the CPU ({@code y = x < lo ? lo : (hi < x ? hi : x)}
     * for lo ≤ hi; NaN stays as it is), writing only blocks of 64 elements that hold a clipped element.
     * The counts are branch-free ({@code cond ? 1 : 0}), so the time does not depend on whether a branch
     * predictor learns the data. Returns the number of elements with {@code x < lo || x > hi}; adds to
     * {@code counts[1]} the non-finite ones and sets {@code counts[2]} to 1 if anything was written.
     */
    static long clamp(float[] a, int off, int len, float lo, float hi, long[] counts) {
        if (VECTOR) return VectorChunkKernels.clamp(a, off, len, lo, hi, counts);
        return clampScalar(a, off, len, lo, hi, counts);
    }

    static long clampScalar(float[] a, int off, int len, float lo, float hi, long[] counts) {
        long clipped = 0;
        long nonFinite = 0;
        boolean wrote = false;
        for (int b = off, end = off + len; b < end; b += CLAMP_BLOCK) {
            int bend = Math.min(b + CLAMP_BLOCK, end);
            int c = 0;
            int nf = 0;
            for (int i = b; i < bend; i++) {
                float x = a[i];
                c += (x < lo | hi < x) ? 1 : 0;
                nf += Math.abs(x) <= Float.MAX_VALUE ? 0 : 1;
            }
            if (c != 0) {
                for (int i = b; i < bend; i++) {
                    float x = a[i];
                    a[i] = x < lo ? lo : (hi < x ? hi : x);
                }
                wrote = true;
            }
            clipped += c;
            nonFinite += nf;
        }
        counts[1] += nonFinite;
        if (wrote) counts[2] = 1;
        return clipped;
    }

    static long clamp(double[] a, int off, int len, double lo, double hi, long[] counts) {
        long clipped = 0;
        long nonFinite = 0;
        boolean wrote = false;
        for (int b = off, end = off + len; b < end; b += CLAMP_BLOCK) {
            int bend = Math.min(b + CLAMP_BLOCK, end);
            int c = 0;
            int nf = 0;
            for (int i = b; i < bend; i++) {
                double x = a[i];
                c += (x < lo | hi < x) ? 1 : 0;
                nf += Math.abs(x) <= Double.MAX_VALUE ? 0 : 1;
            }
            if (c != 0) {
                for (int i = b; i < bend; i++) {
                    double x = a[i];
                    a[i] = x < lo ? lo : (hi < x ? hi : x);
                }
                wrote = true;
            }
            clipped += c;
            nonFinite += nf;
        }
        counts[1] += nonFinite;
        if (wrote) counts[2] = 1;
        return clipped;
    }

    /**
     * The clamp of fp16/bf16 bits {@code bits[off, off+len)}, their fp32 values in {@code f[0, len)}: a
     * clipped element takes the bound's bits {@code lo}/{@code hi} (the bounds rounded to the type).
     */
    static long clampBits(short[] bits, int off, float[] f, int len, short lo, short hi, boolean half, long[] counts) {
        float flo = half ? HalfFloats.halfToFloat(lo) : HalfFloats.bfloat16ToFloat(lo);
        float fhi = half ? HalfFloats.halfToFloat(hi) : HalfFloats.bfloat16ToFloat(hi);
        int exp = half ? 0x7c00 : 0x7f80;
        long clipped = 0;
        long nonFinite = 0;
        boolean wrote = false;
        for (int b = 0; b < len; b += CLAMP_BLOCK) {
            int bend = Math.min(b + CLAMP_BLOCK, len);
            int c = 0;
            int nf = 0;
            for (int i = b; i < bend; i++) {
                float x = f[i];
                c += (x < flo | fhi < x) ? 1 : 0;
                nf += (bits[off + i] & exp) == exp ? 1 : 0;
            }
            if (c != 0) {
                for (int i = b; i < bend; i++) {
                    float x = f[i];
                    bits[off + i] = x < flo ? lo : (fhi < x ? hi : bits[off + i]);
                }
                wrote = true;
            }
            clipped += c;
            nonFinite += nf;
        }
        counts[1] += nonFinite;
        if (wrote) counts[2] = 1;
        return clipped;
    }

    /** NaN or ±∞ fp16 ({@code half}) or bf16 elements: the exponent is all ones. */
    static long countNonFinite(short[] bits, int off, int len, boolean half) {
        int exp = half ? 0x7c00 : 0x7f80;
        long n = 0;
        for (int i = off, end = off + len; i < end; i++) n += (bits[i] & exp) == exp ? 1 : 0;
        return n;
    }

    // ---------------------------------------------------------------- scale: y = x * s, NaN rule

    /*
     * NaN rule (docs/canonical-reduction.md), compared as raw bits on every backend: a NaN element keeps
     * its bits with the quiet bit set; a NaN product of a non-NaN element (NaN scale, ±inf × 0) is the
     * positive canonical quiet NaN. The product's own NaN bits are never trusted (x86, the JVM and GPUs differ).
     */
    static float nanResult(float x) {
        return x != x ? Float.intBitsToFloat(Float.floatToRawIntBits(x) | 0x0040_0000) : Float.intBitsToFloat(0x7fc0_0000);
    }

    static double nanResult(double x) {
        return x != x ? Double.longBitsToDouble(Double.doubleToRawLongBits(x) | 0x0008_0000_0000_0000L)
                : Double.longBitsToDouble(0x7ff8_0000_0000_0000L);
    }

    /** {@code y = (float) ((double) x * s)}: the fp64 path for a scale that is not a normal float. */
    static void scaleWide(float[] a, int off, int len, double s) {
        for (int i = off, end = off + len; i < end; i++) {
            float x = a[i];
            float y = (float) (x * s);
            a[i] = y != y ? nanResult(x) : y;
        }
    }

    static void scale(float[] a, int off, int len, float s) {
        for (int i = off, end = off + len; i < end; i++) {
            float x = a[i];
            float y = x * s;
            a[i] = y != y ? nanResult(x) : y;
        }
    }

    static void scale(double[] a, int off, int len, double s) {
        for (int i = off, end = off + len; i < end; i++) {
            double x = a[i];
            double y = x * s;
            a[i] = y != y ? nanResult(x) : y;
        }
    }
}
