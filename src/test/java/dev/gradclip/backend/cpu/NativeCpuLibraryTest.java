package dev.gradclip.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradclip.DType;
import dev.gradclip.NativeBuffer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JNI layer of libgradclip-cpu checks every index, length and array type before native code touches
 * memory (a heap view against the array length the table passes, as NativeKernels.Layout reads it from the
 * array): bad tables are refused with status 1 and change nothing.
 */
class NativeCpuLibraryTest {
    private static final int INVALID = 1;

    @BeforeAll
    static void requireNative() {
        assumeTrue(NativeKernels.AVAILABLE, () -> "native CPU kernels unavailable: " + NativeKernels.UNAVAILABLE);
    }

    private static int run(Object[] arrays, long[] addrs, long[] counts, int[] dtypes, int t0, int t1, long first, long nchunks,
                           int op, double[] params, double[] outD, int outOff, long[] outL) {
        return NativeCpuLibrary.gccpu_jni_run(arrays, addrs, counts, dtypes, lengthsOf(arrays), t0, t1, first, nchunks, op, 2, params,
                outD, outOff, outL);
    }

    /** What NativeKernels.Table passes: each array's own length (0 for an off-heap tensor), null with no arrays. */
    private static int[] lengthsOf(Object[] arrays) {
        if (arrays == null) return null;
        int[] n = new int[arrays.length];
        for (int t = 0; t < n.length; t++) n[t] = arrays[t] == null ? 0 : java.lang.reflect.Array.getLength(arrays[t]);
        return n;
    }

    @Test
    void aGoodCallWorks() {
        float[] a = {3, 4, Float.NaN, 1};
        double[] partial = new double[1];
        long[] out = new long[3];
        assertEquals(0, run(new Object[] {a}, new long[] {0}, new long[] {2}, new int[] {0}, 0, 1, 0, 1,
                NativeCpuLibrary.OP_NORMS, null, partial, 0, out));
        assertEquals(25.0, partial[0]);
        assertEquals(0, out[0]);
        double[] scales = {0.5};
        assertEquals(0, run(new Object[] {a}, new long[] {1}, new long[] {3}, new int[] {0}, 0, 1, 0, 1,
                NativeCpuLibrary.OP_SCALE, scales, null, 0, out));
        assertEquals(3, out[0]);
        assertEquals(3.0f, a[0]);
        assertEquals(2.0f, a[1]);
        assertEquals(0x7fc00000, Float.floatToRawIntBits(a[2])); // the NaN rule: quiet NaN keeps its bits
        assertEquals(0.5f, a[3]);
    }

    @Test
    void anOffHeapTableNeedsNoArrays() {
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 4)) {
            nb.copyFrom(0, new float[] {3, 4, 5, -7});
            double[] partial = new double[1];
            long[] out = new long[3];
            assertEquals(0, run(null, new long[] {nb.address()}, new long[] {2}, new int[] {0}, 0, 1, 0, 1,
                    NativeCpuLibrary.OP_NORMS, null, partial, 0, out));
            assertEquals(25.0, partial[0]);
            assertEquals(0, run(null, new long[] {nb.address()}, new long[] {4}, new int[] {0}, 0, 1, 0, 1,
                    NativeCpuLibrary.OP_CLAMP, NativeKernels.bounds(-6, 6), null, 0, out));
            assertArrayEquals(new long[] {1, 0, 1}, out);
            assertEquals(-6.0f, nb.getFloat(3));
        }
    }

    @Test
    void badTablesAreRefusedAndChangeNothing() {
        float[] a = {5, -5, 7, -7};
        float[] copy = a.clone();
        double[] bounds = NativeKernels.bounds(-1, 1);
        long[] out = new long[3];
        Object[] arrays = {a};
        int clamp = NativeCpuLibrary.OP_CLAMP;
        // the view runs past the end of the array
        assertEquals(INVALID, run(arrays, new long[] {1}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        // negative offset, negative count
        assertEquals(INVALID, run(arrays, new long[] {-1}, new long[] {2}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {-2}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        // a float[] claimed to be fp64, or fp16 bits; an unknown dtype
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {1}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {2}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {7}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        // tensor range past the table, chunk range past the tensor, unknown op
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 2, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 2, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 1, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, 9, bounds, null, 0, out));
        // outputs too short: the partials, the counts; bounds missing, lo > hi, NaN bound
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, NativeCpuLibrary.OP_NORMS,
                null, new double[1], 1, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, new long[2]));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, new double[3], null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, NativeKernels.bounds(1, -1),
                null, 0, out));
        assertEquals(INVALID, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp,
                NativeKernels.bounds(Double.NaN, 1), null, 0, out));
        // off-heap: a null address, a misaligned one
        assertEquals(INVALID, run(new Object[1], new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(new Object[1], new long[] {4097}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        // no array table (an off-heap set): the same checks of addresses, counts and storage types
        assertEquals(INVALID, run(null, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(null, new long[] {4097}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(null, new long[] {4096}, new long[] {-1}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(null, new long[] {4096}, new long[] {4}, new int[] {7}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertEquals(INVALID, run(null, new long[] {4096}, new long[] {4}, new int[] {0}, 0, 2, 0, 1, clamp, bounds, null, 0, out));
        assertArrayEquals(copy, a);
        assertArrayEquals(new long[3], out);
        // and the same table, correct, does clamp
        assertEquals(0, run(arrays, new long[] {0}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertArrayEquals(new float[] {1, -1, 1, -1}, a);
        assertArrayEquals(new long[] {4, 0, 1}, out);
    }

    @Test
    void anArrayTableNeedsTheLengthsOfItsArrays() {
        float[] a = {5, -5, 7, -7};
        double[] bounds = NativeKernels.bounds(-1, 1);
        long[] out = new long[3];
        int clamp = NativeCpuLibrary.OP_CLAMP;
        // no lengths, lengths shorter than the tensor range, a negative length
        assertEquals(INVALID, NativeCpuLibrary.gccpu_jni_run(new float[][] {a}, new long[] {0}, new long[] {4}, new int[] {0}, null,
                0, 1, 0, 1, clamp, 2, bounds, null, 0, out));
        assertEquals(INVALID, NativeCpuLibrary.gccpu_jni_run(new float[][] {a, a}, new long[] {0, 0}, new long[] {4, 4},
                new int[] {0, 0}, new int[] {4}, 0, 2, 0, 2, clamp, 2, bounds, null, 0, out));
        assertEquals(INVALID, NativeCpuLibrary.gccpu_jni_run(new float[][] {a}, new long[] {0}, new long[] {0}, new int[] {0},
                new int[] {-1}, 0, 1, 0, 1, clamp, 2, bounds, null, 0, out));
        // a view that fits the array but not the length passed for it
        assertEquals(INVALID, NativeCpuLibrary.gccpu_jni_run(new float[][] {a}, new long[] {0}, new long[] {4}, new int[] {0},
                new int[] {3}, 0, 1, 0, 1, clamp, 2, bounds, null, 0, out));
        assertArrayEquals(new float[] {5, -5, 7, -7}, a);
        assertArrayEquals(new long[3], out);
    }

    @Test
    void typedTablesAreCheckedAgainstTheirElementType() {
        float[] a = {5, -5, 7, -7};
        short[] h = {0x4500, (short) 0xc500}; // fp16 5, -5
        double[] bounds = NativeKernels.bounds(-1, 1);
        long[] out = new long[3];
        int clamp = NativeCpuLibrary.OP_CLAMP;
        // a float[][] whose tensor claims fp64, fp16 or bf16 storage; a short[][] whose tensor claims fp32 or fp64
        for (int dt : new int[] {1, 2, 3}) {
            assertEquals(INVALID, run(new float[][] {a}, new long[] {0}, new long[] {4}, new int[] {dt}, 0, 1, 0, 1, clamp, bounds,
                    null, 0, out));
        }
        for (int dt : new int[] {0, 1}) {
            assertEquals(INVALID, run(new short[][] {h}, new long[] {0}, new long[] {2}, new int[] {dt}, 0, 1, 0, 1, clamp, bounds,
                    null, 0, out));
        }
        // past the end of a typed table's array
        assertEquals(INVALID, run(new float[][] {a}, new long[] {1}, new long[] {4}, new int[] {0}, 0, 1, 0, 1, clamp, bounds, null, 0, out));
        assertArrayEquals(new float[] {5, -5, 7, -7}, a);
        assertArrayEquals(new short[] {0x4500, (short) 0xc500}, h);
        assertArrayEquals(new long[3], out);
        // and typed tables that are right, with an off-heap tensor (null) among the arrays
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 2)) {
            nb.copyFrom(0, new float[] {3, -3});
            assertEquals(0, run(new float[][] {a, null}, new long[] {0, nb.address()}, new long[] {4, 2}, new int[] {0, 0}, 0, 2, 0, 2,
                    clamp, bounds, null, 0, out));
            assertArrayEquals(new float[] {1, -1, 1, -1}, a);
            assertEquals(1.0f, nb.getFloat(0));
            assertArrayEquals(new long[] {6, 0, 2}, out);
        }
        for (int dt : new int[] {2, 3}) {
            short[] x = h.clone();
            long[] o = new long[3];
            assertEquals(0, run(new short[][] {x}, new long[] {0}, new long[] {2}, new int[] {dt}, 0, 1, 0, 1, clamp, bounds, null, 0, o));
            assertEquals(2, o[0], "both elements lie outside [-1, 1] as fp16 and as bf16 bits");
        }
        double[] d = {-4, 0.5};
        assertEquals(0, run(new double[][] {d}, new long[] {0}, new long[] {2}, new int[] {1}, 0, 1, 0, 1, clamp, bounds, null, 0,
                new long[3]));
        assertArrayEquals(new double[] {-1, 0.5}, d);
    }
}
