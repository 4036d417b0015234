package dev.gradclip.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Shape sets and the benchmark's gradient values, mirrored bit for bit by {@code bench/py/gen.py} (so
 * PyTorch 1.13 clips exactly the same values as every JVM implementation).
 *
 * <p><b>The exact fraction clipped.</b> Clip by value uses the bound {@link #BOUND} = 0.5. A dataset
 * "value-f" (f in percent) has exactly f elements outside [-0.5, 0.5] in every full block of 100
 * consecutive elements of a tensor, at positions no branch predictor can learn: block b of tensor t uses
 * one of 4,096 pseudo-random permutations of 0..99 (chosen by a hash of (t, b)); element j of the block
 * is outside when its rank in that permutation is below f. (A tensor's last, partial block keeps the
 * same rule, so its count is f% only on average; the harness records the exact number of elements
 * outside, and gradclip's report must count exactly that many.) Inside elements have magnitudes in
 * [0, 0.5) (24 bits), outside ones in [0.75, 1) (22 bits), so bf16/fp16 rounding never moves an element
 * across the bound: the fraction is the same in every dtype. Signs are random.
 *
 * <p>Norms and the global-norm clip use the value-5 dataset (any would do).
 */
public final class Data {
    /** Clip-by-value bound: |x| &gt; 0.5 is clipped. */
    public static final float BOUND = 0.5f;
    /** The fractions (percent of elements outside the bound) of the value-clip sweep. */
    public static final int[] FRACTIONS = {0, 1, 5, 30, 90};
    /** The dataset of norms / clip / noclip. */
    public static final int BASE_FRACTION = 5;

    static final int BLOCK = 100;
    static final int PERMS = 4096;
    /** RANK[p * BLOCK + j]: the rank of position j in permutation p. */
    private static final byte[] RANK = ranks();

    private Data() {
    }

    /** The folder of the shape files: -Dgradclip.bench.shapes, else ./shapes. */
    public static Path shapesDir() {
        return Path.of(System.getProperty("gradclip.bench.shapes", "shapes"));
    }

    /** Element counts of the tensors of a shape set ("gpt2-small" reads shapes/gpt2-small.txt). */
    public static long[] sizes(String set) {
        List<Long> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(shapesDir().resolve(set + ".txt"))) {
                String s = line.strip();
                if (s.isEmpty() || s.startsWith("#")) continue;
                long n = 1;
                for (String d : s.split("x")) n = Math.multiplyExact(n, Long.parseLong(d.strip()));
                out.add(n);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read shape set " + set + " in " + shapesDir().toAbsolutePath(), e);
        }
        long[] a = new long[out.size()];
        for (int i = 0; i < a.length; i++) a[i] = out.get(i);
        return a;
    }

    /** A 32-bit integer finaliser (xor-shift-multiply); uint32 arithmetic, mirrored in gen.py. */
    static int mix(int h) {
        h ^= h >>> 16;
        h *= 0x7FEB352D;
        h ^= h >>> 15;
        h *= 0x846CA68B;
        h ^= h >>> 16;
        return h;
    }

    static int elementHash(int t, int i) {
        return mix(i * 0x9E3779B1 + t * 0x85EBCA6B);
    }

    static int blockPerm(int t, int b) {
        return mix(b * 0x9E3779B1 + t * 0x85EBCA6B + 0x68E31DA4) & (PERMS - 1);
    }

    private static byte[] ranks() {
        byte[] rank = new byte[PERMS * BLOCK];
        int[] perm = new int[BLOCK];
        for (int p = 0; p < PERMS; p++) {
            for (int j = 0; j < BLOCK; j++) perm[j] = j;
            for (int k = 0; k < BLOCK - 1; k++) {   // Fisher-Yates, driven by the hash
                int r = mix(p * 0x9E3779B1 + k * 0x85EBCA6B + 0x1B873593);
                int j = k + Integer.remainderUnsigned(r, BLOCK - k);
                int tmp = perm[k];
                perm[k] = perm[j];
                perm[j] = tmp;
            }
            for (int k = 0; k < BLOCK; k++) rank[p * BLOCK + perm[k]] = (byte) k;
        }
        return rank;
    }

    /** Element i of tensor t in dataset value-{@code fraction}. */
    public static float value(int t, int i, int fraction) {
        int h = elementHash(t, i);
        int p = blockPerm(t, i / BLOCK);
        boolean outside = RANK[p * BLOCK + i % BLOCK] < fraction;
        float mag = outside ? 0.75f + (h >>> 10) * 0x1p-24f : (h >>> 8) * 0x1p-25f;
        return (h & 1) != 0 ? -mag : mag;
    }

    /** Fills {@code a} with tensor t of dataset value-{@code fraction}; returns the number of elements outside. */
    public static long fill(float[] a, int t, int fraction) {
        long outside = 0;
        for (int b = 0, base = 0; base < a.length; b++, base += BLOCK) {
            int p = blockPerm(t, b) * BLOCK;
            int end = Math.min(a.length, base + BLOCK);
            for (int i = base; i < end; i++) {
                int h = elementHash(t, i);
                boolean out = RANK[p + (i - base)] < fraction;
                float mag = out ? 0.75f + (h >>> 10) * 0x1p-24f : (h >>> 8) * 0x1p-25f;
                a[i] = (h & 1) != 0 ? -mag : mag;
                if (out) outside++;
            }
        }
        return outside;
    }

    /**
     * Elements [{@code from}, {@code to}) of tensor t of dataset value-{@code fraction} into
     * {@code dst[off ..]}, the same values as {@link #fill(float[], int, int)} (which the dataset cache's
     * verification compares bit for bit); {@code from} must be a multiple of {@link #BLOCK}, so that any
     * split of a tensor into such ranges generates the tensor exactly. Returns the number of elements outside.
     */
    static long fillRange(float[] dst, int off, int t, int from, int to, int fraction) {
        if (from % BLOCK != 0 || from > to) throw new IllegalArgumentException("range [" + from + ", " + to + ")");
        long outside = 0;
        for (int base = from; base < to; base += BLOCK) {
            int p = blockPerm(t, base / BLOCK) * BLOCK;
            int end = Math.min(to, base + BLOCK);
            for (int i = base; i < end; i++) {
                int h = elementHash(t, i);
                boolean out = RANK[p + (i - base)] < fraction;
                float mag = out ? 0.75f + (h >>> 10) * 0x1p-24f : (h >>> 8) * 0x1p-25f;
                dst[off + i - from] = (h & 1) != 0 ? -mag : mag;
                if (out) outside++;
            }
        }
        return outside;
    }

    /** The same values rounded (nearest even) to bf16 or fp16 bits; returns the number outside. */
    public static long fill(short[] a, int t, int fraction, boolean bf16) {
        long outside = 0;
        for (int i = 0; i < a.length; i++) {
            float x = value(t, i, fraction);
            if (Math.abs(x) > BOUND) outside++;
            a[i] = bf16 ? toBfloat16(x) : toHalf(x);
        }
        return outside;
    }

    /**
     * {@code java dev.gradclip.bench.Data T N F...}: for tensor T of N elements and each fraction F, the
     * number of elements outside and a hash of the fp32 bits; {@code bench/py/gen.py} prints the same
     * line from its mirror (bench/run --self-test compares them).
     */
    public static void main(String[] args) {
        int t = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        for (int k = 2; k < args.length; k++) {
            int f = Integer.parseInt(args[k]);
            float[] x = new float[n];
            long out = fill(x, t, f);
            long h = 0;
            for (float v : x) h = h * 31 + Float.floatToRawIntBits(v);
            System.out.println(f + " " + out + " " + h);
        }
    }

    /** fp32 → bf16, round to nearest even (finite inputs). */
    static short toBfloat16(float f) {
        int b = Float.floatToRawIntBits(f);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /** fp32 → IEEE fp16, round to nearest even, for |f| &lt; 65504 (the benchmark's values are in (-1, 1)). */
    static short toHalf(float f) {
        int b = Float.floatToRawIntBits(f);
        int sign = (b >>> 16) & 0x8000;
        float a = Math.abs(f);
        if (a < 0x1p-14f) {
            return (short) (sign | (int) Math.rint(a * 0x1p24f)); // subnormal (1024 encodes the smallest normal)
        }
        int e = ((b >>> 23) & 0xff) - 127 + 15;
        int mant = b & 0x7fffff;
        int h = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) h++;
        return (short) (sign | h);
    }

    /** bf16/fp16 bits → float (for checks). */
    static float fromHalfBits(short s, boolean bf16) {
        if (bf16) return Float.intBitsToFloat((s & 0xffff) << 16);
        int h = s & 0xffff;
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0) return (sign != 0 ? -1 : 1) * m * 0x1p-24f;
        if (e == 31) return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }
}
