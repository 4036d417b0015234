package dev.gradclip.backend.cpu;

import dev.gradclip.DType;
import dev.gradclip.Tensor;
import dev.gradclip.internal.CanonicalFold;
import dev.gradclip.internal.HalfFloats;
import dev.gradclip.internal.Memory;

/**
 * Chunk access for the Java reference passes: a chunk as an array and an offset (the tensor's own heap
 * array, in place, or a scratch copy of off-heap memory, written back when changed), and the per-chunk
 * passes over it with the loops of {@link ChunkKernels}. The native path ({@link NativeKernels}) reads
 * the same memory in place instead.
 */
final class ChunkAccess {
    /**
     * Raw off-heap access (internal: handed only to gradclip's own classes), in a holder so that heap-only
     * use never initializes Memory (whose JDK 17 version would touch sun.misc.Unsafe).
     */
    private static final class OffHeapAccess {
        static final Memory MEMORY = Memory.access();
    }

    private ChunkAccess() {
    }

    /** Per-thread buffers: the 1,024 lanes and one chunk of each element type. */
    static final class Scratch {
        final double[] lanes = new double[CanonicalFold.LANES];
        final float[] f = new float[ChunkPlan.CHUNK];
        final double[] d = new double[ChunkPlan.CHUNK];
        final short[] s = new short[ChunkPlan.CHUNK];
        final long[] counts = new long[3];
        final int[] off = new int[1];
    }

    private static float[] floats(Tensor t, long start, int len, Scratch sc) {
        if (t instanceof Tensor.HeapFloats a) {
            sc.off[0] = a.offset() + (int) start;
            return a.array();
        }
        OffHeapAccess.MEMORY.read(((Tensor.OffHeap) t).address() + start * 4, sc.f, 0, len);
        sc.off[0] = 0;
        return sc.f;
    }

    private static double[] doubles(Tensor t, long start, int len, Scratch sc) {
        if (t instanceof Tensor.HeapDoubles a) {
            sc.off[0] = a.offset() + (int) start;
            return a.array();
        }
        OffHeapAccess.MEMORY.read(((Tensor.OffHeap) t).address() + start * 8, sc.d, 0, len);
        sc.off[0] = 0;
        return sc.d;
    }

    private static short[] shorts(Tensor t, long start, int len, Scratch sc) {
        if (t instanceof Tensor.HeapShorts a) {
            sc.off[0] = a.offset() + (int) start;
            return a.array();
        }
        OffHeapAccess.MEMORY.read(((Tensor.OffHeap) t).address() + start * 2, sc.s, 0, len);
        sc.off[0] = 0;
        return sc.s;
    }

    /** Writes a scratch copy back to off-heap memory (heap arrays were modified in place). */
    private static void writeBack(Tensor t, long start, int len, Object scratch) {
        if (!(t instanceof Tensor.OffHeap o)) return;
        long address = o.address() + start * t.dtype().byteSize();
        if (scratch instanceof float[] f) OffHeapAccess.MEMORY.write(address, f, 0, len);
        else if (scratch instanceof double[] d) OffHeapAccess.MEMORY.write(address, d, 0, len);
        else OffHeapAccess.MEMORY.write(address, (short[]) scratch, 0, len);
    }

    /** Widens a chunk of fp16/bf16 bits into {@code sc.f}. */
    private static float[] widen(short[] bits, int off, int len, DType dtype, Scratch sc) {
        float[] f = sc.f;
        if (dtype == DType.FLOAT16) {
            for (int i = 0; i < len; i++) f[i] = HalfFloats.halfToFloat(bits[off + i]);
        } else {
            for (int i = 0; i < len; i++) f[i] = HalfFloats.bfloat16ToFloat(bits[off + i]);
        }
        return f;
    }

    /** The chunk's canonical partial for p (general p: terms {@code (|x|/div)^p}). */
    static double chunkSum(Tensor t, long start, int len, double p, boolean inf, double div, Scratch sc) {
        if (t.dtype() == DType.FLOAT64) {
            double[] a = doubles(t, start, len, sc);
            int off = sc.off[0];
            if (p == 2.0) return ChunkKernels.sumSquares(a, off, len, sc.lanes);
            if (p == 1.0) return ChunkKernels.sumAbs(a, off, len, sc.lanes);
            if (inf) return ChunkKernels.maxAbs(a, off, len, sc.lanes);
            return ChunkKernels.sumPowScaled(a, off, len, p, div, sc.lanes);
        }
        float[] a;
        int off;
        if (t.dtype() == DType.FLOAT32) {
            a = floats(t, start, len, sc);
            off = sc.off[0];
        } else {
            short[] bits = shorts(t, start, len, sc);
            a = widen(bits, sc.off[0], len, t.dtype(), sc);
            off = 0;
        }
        if (p == 2.0) return ChunkKernels.sumSquares(a, off, len, sc.lanes);
        if (p == 1.0) return ChunkKernels.sumAbs(a, off, len, sc.lanes);
        if (inf) return ChunkKernels.maxAbs(a, off, len, sc.lanes);
        return ChunkKernels.sumPowScaled(a, off, len, p, div, sc.lanes);
    }

    static long countNonFinite(Tensor t, long start, int len, Scratch sc) {
        switch (t.dtype()) {
            case FLOAT64:
                return ChunkKernels.countNonFinite(doubles(t, start, len, sc), sc.off[0], len);
            case FLOAT32:
                return ChunkKernels.countNonFinite(floats(t, start, len, sc), sc.off[0], len);
            default:
                return ChunkKernels.countNonFinite(shorts(t, start, len, sc), sc.off[0], len, t.dtype() == DType.FLOAT16);
        }
    }

    /**
     * Clamps one chunk; returns the clipped count, adds the non-finite count to {@code sc.counts[1]} and sets
     * {@code sc.counts[2]} to 1 when something was written.
     */
    static long clampChunk(Tensor t, long start, int len, double min, double max, Scratch sc) {
        sc.counts[2] = 0;
        switch (t.dtype()) {
            case FLOAT64: {
                double[] a = doubles(t, start, len, sc);
                long clipped = ChunkKernels.clamp(a, sc.off[0], len, min, max, sc.counts);
                if (sc.counts[2] != 0) writeBack(t, start, len, a);
                return clipped;
            }
            case FLOAT32: {
                float[] a = floats(t, start, len, sc);
                long clipped = ChunkKernels.clamp(a, sc.off[0], len, (float) min, (float) max, sc.counts);
                if (sc.counts[2] != 0) writeBack(t, start, len, a);
                return clipped;
            }
            default: {
                boolean half = t.dtype() == DType.FLOAT16;
                short lo = half ? HalfFloats.floatToHalf((float) min) : HalfFloats.floatToBfloat16((float) min);
                short hi = half ? HalfFloats.floatToHalf((float) max) : HalfFloats.floatToBfloat16((float) max);
                short[] bits = shorts(t, start, len, sc);
                int off = sc.off[0];
                float[] f = widen(bits, off, len, t.dtype(), sc);
                long clipped = ChunkKernels.clampBits(bits, off, f, len, lo, hi, half, sc.counts);
                if (sc.counts[2] != 0) writeBack(t, start, len, bits);
                return clipped;
            }
        }
    }

    /**
     * A NaN scale counts as normal here (the NaN rule decides either way); a 0, subnormal or infinite fp32
     * scale has lost the fp64 scale's precision, so those tensors are multiplied in fp64 instead.
     */
    static boolean isNormalFloat(float s) {
        return s != s || (Math.abs(s) >= Float.MIN_NORMAL && Math.abs(s) <= Float.MAX_VALUE);
    }

    /**
     * {@code y = x * scale}: one fp32 multiply by {@code (float) scale} (fp64 storage: by {@code scale}), RNE to
     * storage, with the NaN rule of ChunkKernels.scale (fp16/bf16 NaN payloads survive the widening: the quiet
     * bit 0x00400000 of the fp32 value narrows to 0x0200 / 0x0040, and 0x7fc00000 to 0x7e00 / 0x7fc0).
     */
    static void scaleChunk(Tensor t, long start, int len, double scale, Scratch sc) {
        switch (t.dtype()) {
            case FLOAT64: {
                double[] a = doubles(t, start, len, sc);
                ChunkKernels.scale(a, sc.off[0], len, scale);
                writeBack(t, start, len, a);
                return;
            }
            case FLOAT32: {
                float[] a = floats(t, start, len, sc);
                if (isNormalFloat((float) scale)) ChunkKernels.scale(a, sc.off[0], len, (float) scale);
                else ChunkKernels.scaleWide(a, sc.off[0], len, scale);
                writeBack(t, start, len, a);
                return;
            }
            default: {
                short[] bits = shorts(t, start, len, sc);
                int off = sc.off[0];
                float[] f = widen(bits, off, len, t.dtype(), sc);
                if (isNormalFloat((float) scale)) ChunkKernels.scale(f, 0, len, (float) scale);
                else ChunkKernels.scaleWide(f, 0, len, scale);
                if (t.dtype() == DType.FLOAT16) {
                    for (int i = 0; i < len; i++) bits[off + i] = HalfFloats.floatToHalf(f[i]);
                } else {
                    for (int i = 0; i < len; i++) bits[off + i] = HalfFloats.floatToBfloat16(f[i]);
                }
                writeBack(t, start, len, bits);
            }
        }
    }
}
