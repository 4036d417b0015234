package dev.gradclip.backend.cpu;

import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import dev.gradclip.internal.HalfFloats;
import org.jspecify.annotations.Nullable;

/**
 * The native path of the CPU backend's chunk passes: {@code libgradclip-cpu} (AVX-512, AVX2 + FMA + F16C or
 * portable C++, chosen at run time), bit for bit the Java reference ({@link ChunkKernels}). The chunk plan
 * and the threads stay in {@link ChunkRunner}; each thread hands its contiguous range of chunks to native
 * code in a few calls (each call bounded by {@link #MAX_ELEMENTS_PER_CALL} elements and
 * {@link #MAX_CHUNKS_PER_CALL} chunks, which bounds how long heap arrays stay pinned).
 *
 * <p>Used when the library loads (Linux x86-64 from the jar) and {@code -Dgradclip.cpu.native=false} is not
 * set. {@code -Dgradclip.cpu.isa=scalar|avx2|avx512} (or the environment variable
 * {@code GRADCLIP_CPU_ISA}) forces an instruction-set path the CPU has.
 */
final class NativeKernels {
    static final long MAX_ELEMENTS_PER_CALL = 1L << 22;
    static final int MAX_CHUNKS_PER_CALL = 1024;

    static final int KIND_L1 = 1;
    static final int KIND_L2 = 2;
    static final int KIND_INF = 3;

    private static final String[] ISA_NAMES = {"scalar", "avx2", "avx512"};

    /** Whether the native kernels loaded; when false, {@link #UNAVAILABLE} says why. */
    static final boolean AVAILABLE;
    static final String UNAVAILABLE;

    static {
        boolean ok = false;
        String why = null;
        if ("false".equals(System.getProperty("gradclip.cpu.native"))) {
            why = "disabled by -Dgradclip.cpu.native=false";
        } else {
            try {
                int isa = NativeCpuLibrary.gccpu_isa();
                ok = isa >= 0 && isa < ISA_NAMES.length;
                if (!ok) why = "libgradclip-cpu reported an unknown instruction set " + isa;
                String forced = System.getProperty("gradclip.cpu.isa");
                if (ok && forced != null && !setIsa(forced)) {
                    why = "-Dgradclip.cpu.isa=" + forced + " is not an instruction set this CPU has";
                    ok = false;
                }
            } catch (Throwable e) { // UnsatisfiedLinkError, or JavaCPP's loader failing on this platform
                why = "libgradclip-cpu did not load: " + e;
            }
        }
        AVAILABLE = ok;
        UNAVAILABLE = why;
    }

    private NativeKernels() {
    }

    /** The active instruction-set path ("avx512", "avx2", "scalar"), or null when the native kernels are off. */
    static String isa() {
        return AVAILABLE ? ISA_NAMES[NativeCpuLibrary.gccpu_isa()] : null;
    }

    /** Whether this CPU can run a path ("scalar", "avx2", "avx512"). */
    static boolean isaSupported(String name) {
        int isa = indexOf(name);
        return isa >= 0 && (AVAILABLE || isNativeLoadable()) && NativeCpuLibrary.gccpu_isa_supported(isa) == 1;
    }

    private static boolean isNativeLoadable() {
        try {
            NativeCpuLibrary.gccpu_isa();
            return true;
        } catch (Throwable e) {
            return false;
        }
    }

    /** Forces a path for every later pass of every CPU backend in this JVM; false when the CPU lacks it. */
    static boolean setIsa(String name) {
        int isa = indexOf(name);
        return isa >= 0 && NativeCpuLibrary.gccpu_set_isa(isa) == NativeCpuLibrary.OK;
    }

    private static int indexOf(String name) {
        for (int i = 0; i < ISA_NAMES.length; i++) {
            if (ISA_NAMES[i].equals(name)) return i;
        }
        return -1;
    }

    static int code(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case FLOAT16 -> 2;
            case BFLOAT16 -> 3;
        };
    }

    /**
     * What the JNI glue reads of a set besides its heap arrays: per tensor the start offset of a heap
     * array or the address of off-heap memory, the element count and the storage type. The same for every
     * pass over the set (sets are immutable), so it is built once and kept with the set's {@link ChunkPlan};
     * it holds no reference to the gradients' memory. {@link #usable} is false when some off-heap tensor is
     * not aligned to its element size (the native kernels refuse those; the pass then runs in Java).
     */
    static final class Layout {
        final long[] addrs;
        final long[] counts;
        final int[] dtypes;
        /**
         * The length of each heap tensor's array (0 for the others), read from the array: the glue checks each
         * view against it instead of asking the JVM, a JNI call per tensor (bench/NOTES.md item 33). A set's
         * views never change their array, and an array never its length, so it is read once per set.
         */
        final int[] lengths;
        final boolean usable;
        /** True when the set has no heap tensor: its passes give the glue no array table at all. */
        final boolean offHeapOnly;
        /**
         * The one array class of every heap tensor ({@code float[].class}, {@code short[].class} or
         * {@code double[].class}), or null when they mix classes or there are none: a pass's table is then a
         * {@code float[][]} (...), whose element type the glue checks once instead of once per tensor.
         */
        final @Nullable Class<?> heapArrayClass;

        Layout(GradientSet set) {
            int n = set.size();
            addrs = new long[n];
            counts = new long[n];
            dtypes = new int[n];
            lengths = new int[n];
            int heapCount = 0;
            boolean ok = true;
            Class<?> heapClass = null;
            boolean mixed = false;
            for (int t = 0; t < n; t++) {
                Tensor x = set.get(t);
                counts[t] = x.size();
                dtypes[t] = code(x.dtype());
                Class<?> c = null;
                if (x instanceof Tensor.HeapFloats a) {
                    addrs[t] = a.offset();
                    lengths[t] = a.array().length;
                    c = float[].class;
                } else if (x instanceof Tensor.HeapDoubles a) {
                    addrs[t] = a.offset();
                    lengths[t] = a.array().length;
                    c = double[].class;
                } else if (x instanceof Tensor.HeapShorts a) {
                    addrs[t] = a.offset();
                    lengths[t] = a.array().length;
                    c = short[].class;
                } else if (x instanceof Tensor.OffHeap o) {
                    addrs[t] = o.address();
                    if (x.size() > 0 && (o.address() == 0 || o.address() % x.dtype().byteSize() != 0)) ok = false;
                } else {
                    ok = false; // device memory never reaches the CPU backend (checkSupported)
                }
                if (c != null) {
                    heapCount++;
                    if (heapClass == null) heapClass = c;
                    else if (heapClass != c) mixed = true;
                }
            }
            usable = ok;
            offHeapOnly = heapCount == 0;
            heapArrayClass = mixed ? null : heapClass;
        }
    }

    /**
     * The tensor table of one pass, as the JNI glue reads it: the set's {@link Layout} and its heap arrays.
     * The arrays are gathered per call ({@link #gather}), by the thread that makes it, for that call's
     * tensors only, and never kept beyond the pass: a table cached beyond its pass would keep a dropped
     * set's gradients reachable. Gathering them all on the calling thread before the pass was a serial walk
     * over every tensor (10,000 for many-small) while the pool threads waited (bench/NOTES.md item 33).
     */
    static final class Table {
        /**
         * Null when every tensor is off-heap (the glue then makes no JNI call per tensor to find arrays); a
         * {@code float[][]}, {@code short[][]} or {@code double[][]} when every heap tensor has that class
         * ({@link Layout#heapArrayClass}), else an {@code Object[]}. Slot t holds tensor t's array once a
         * call over t has gathered it; calls over disjoint ranges write disjoint slots (a tensor split
         * between two calls gets the same array from both).
         */
        final Object @Nullable [] arrays;
        /** {@link Layout#lengths}, or null with {@link #arrays}. */
        final int @Nullable [] lengths;
        final long[] addrs;
        final long[] counts;
        final int[] dtypes;
        private final GradientSet set;

        /** The table of {@code set}, whose layout is {@code layout} (from the set's own plan). */
        Table(GradientSet set, Layout layout) {
            this.set = set;
            addrs = layout.addrs;
            counts = layout.counts;
            dtypes = layout.dtypes;
            if (layout.offHeapOnly) {
                arrays = null;
                lengths = null;
                return;
            }
            int n = set.size();
            Class<?> c = layout.heapArrayClass;
            arrays = c == float[].class ? new float[n][] : c == short[].class ? new short[n][]
                    : c == double[].class ? new double[n][] : new Object[n];
            lengths = layout.lengths;
        }

        /**
         * Puts the heap array of every tensor of {@code [t0, t1)} in {@link #arrays}, reading each array's
         * length on the way. The glue pins a call's arrays one after another before running the kernel;
         * HotSpot's GetPrimitiveArrayCritical reads each array's header (its class), and every JNI call is a
         * thread-state transition that serializes memory accesses, so each header not in cache was a full
         * memory latency (~75 ns a tensor: 0.75 ms per pass for 10,000 small tensors, half the pass, item 9).
         * The loads here are independent, so the CPU overlaps their misses and the glue finds the headers
         * cached.
         */
        void gather(int t0, int t1) {
            Object[] a = arrays;
            if (a == null) return;
            int acc = 0;
            for (int t = t0; t < t1; t++) {
                Tensor x = set.get(t);
                if (x instanceof Tensor.HeapFloats h) {
                    float[] f = h.array();
                    a[t] = f;
                    acc += f.length;
                } else if (x instanceof Tensor.HeapShorts h) {
                    short[] v = h.array();
                    a[t] = v;
                    acc += v.length;
                } else if (x instanceof Tensor.HeapDoubles h) {
                    double[] d = h.array();
                    a[t] = d;
                    acc += d.length;
                }
            }
            sink = acc;
        }
    }

    /** The clamp bounds of every storage type, as gradclip_cpu_jni.h reads them; the rounding of ChunkKernels. */
    static double[] bounds(double min, double max) {
        return new double[] {min, max, (float) min, (float) max,
                HalfFloats.floatToHalf((float) min) & 0xffff, HalfFloats.floatToHalf((float) max) & 0xffff,
                HalfFloats.floatToBfloat16((float) min) & 0xffff, HalfFloats.floatToBfloat16((float) max) & 0xffff};
    }

    private static volatile int sink;

    /**
     * One pass over chunks {@code [from, to)} of the plan, in calls of bounded size. {@code partials}
     * (norms) gets chunk c's partial at index c; {@code out} (long[3]) is added to as gradclip_cpu_jni.h says.
     */
    static void run(int op, Table table, ChunkPlan plan, int from, int to, int kind, double[] params, double[] partials,
                    long[] out) {
        int c = from;
        while (c < to) {
            int end = c;
            long elements = 0;
            while (end < to && end - c < MAX_CHUNKS_PER_CALL && elements < MAX_ELEMENTS_PER_CALL) {
                elements += plan.lengthOf[end];
                end++;
            }
            int t0 = plan.tensorOf[c];
            int t1 = plan.tensorOf[end - 1] + 1;
            table.gather(t0, t1);
            long first = plan.startOf[c] / ChunkPlan.CHUNK;
            int rc = NativeCpuLibrary.gccpu_jni_run(table.arrays, table.addrs, table.counts, table.dtypes, table.lengths, t0, t1, first,
                    end - c, op, kind, params, partials, c, out);
            if (rc != NativeCpuLibrary.OK) {
                throw new IllegalStateException("libgradclip-cpu pass " + op + " failed with status " + rc
                        + " on chunks [" + c + ", " + end + ")");
            }
            c = end;
        }
    }
}
