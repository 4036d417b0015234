package dev.gradclip.policy;

import dev.gradclip.DType;

/**
 * The inputs of the {@code generated} AGC fixture cases, drawn exactly as {@code generated_values} of
 * scripts/fixtures/agc.py draws them (the fixture stores the seed, not the values): for i = 0..n-1, z is
 * the SplitMix64 output of the state {@code seed + (i+1)·0x9E3779B97F4A7C15} (64-bit wrap-around); bit 0
 * of z set means negative, {@code e = (z >>> 1) mod 12}, m = the top p-1 bits of z, and
 * {@code x = ±(2^(p-1) + m)·2^(e - (p-1) - 8 + shift)}, exactly representable in the storage type (p
 * significand bits: 53, 24, 11, 8), {@code |x|} in {@code [2^(-8+shift), 2^(4+shift))}.
 */
final class GeneratedValues {
    private GeneratedValues() {
    }

    static int significandBits(DType dtype) {
        switch (dtype) {
            case FLOAT64: return 53;
            case FLOAT32: return 24;
            case FLOAT16: return 11;
            default: return 8;
        }
    }

    /** The n values for {@code seed} and {@code shift}, written into {@code out} from {@code at}. */
    static void fill(double[] out, int at, int n, long seed, DType dtype, int shift) {
        int p = significandBits(dtype);
        for (int i = 0; i < n; i++) {
            long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            int e = (int) ((z >>> 1) % 12);
            long m = z >>> (64 - (p - 1));
            double x = Math.scalb((double) ((1L << (p - 1)) + m), e - (p - 1) - 8 + shift);
            out[at + i] = (z & 1) == 1 ? -x : x;
        }
    }
}
