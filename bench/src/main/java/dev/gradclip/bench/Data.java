package dev.gradclip.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Shape sets and the benchmark's gradient values. The values are a deterministic hash of (tensor index,
 * element index), uniform in [-1, 1) with 24 significant bits, so that bench/peers/torch_peer.py makes
 * exactly the same fp32 values (and, rounding to nearest even, the same bf16/fp16 values).
 */
public final class Data {
    /** Clip-by-value bound: about 1% of the uniform [-1, 1) values lie outside [-0.99, 0.99]. */
    public static final float VALUE_BOUND = 0.99f;

    private Data() {
    }

    /** The folder of the shape files: -Dgradclip.bench.shapes, else ./shapes (bench/run runs in bench/). */
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

    /** Element i of tensor t. Mirrors value() in torch_peer.py (uint32 arithmetic). */
    public static float value(int t, int i) {
        int h = i * 0x9E3779B1 + t * 0x85EBCA6B;
        h ^= h >>> 16;
        h *= 0x7FEB352D;
        h ^= h >>> 15;
        return (h >>> 8) * 0x1p-23f - 1.0f;
    }

    public static float[] floats(int t, long n) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = value(t, i);
        return a;
    }

    public static short[] halves(int t, long n, boolean bf16) {
        short[] a = new short[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = bf16 ? toBfloat16(value(t, i)) : toHalf(value(t, i));
        return a;
    }

    /** fp32 → bf16, round to nearest even (finite inputs). */
    static short toBfloat16(float f) {
        int b = Float.floatToRawIntBits(f);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /** fp32 → IEEE fp16, round to nearest even, for |f| < 65504 (the benchmark's values are in [-1, 1)). */
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
}
