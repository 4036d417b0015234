package dev.gradclip.backend.cpu;

import dev.gradclip.Backend;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import dev.gradclip.backend.ClampCounts;
import dev.gradclip.backend.ClipBackend;
import dev.gradclip.internal.CanonicalFold;
import dev.gradclip.internal.HalfFloats;
import dev.gradclip.internal.Memory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The pure-Java backend: the reference implementation of docs/canonical-reduction.md and the fallback
 * everywhere. Chunks are independent and each writes its own slot, so splitting them across threads
 * changes nothing in the result. Sets of at least {@value #PARALLEL_THRESHOLD} elements use every core.
 */
public final class CpuBackend implements ClipBackend {
    static final int PARALLEL_THRESHOLD = 1 << 20;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    private static volatile ExecutorService pool;

    private final int threads;
    private final java.util.concurrent.atomic.AtomicLong chunkWrites = new java.util.concurrent.atomic.AtomicLong();

    /** A backend using every available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend using at most {@code threads} threads (1 = the calling thread only). */
    public CpuBackend(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
    }

    @Override
    public Backend kind() {
        return Backend.CPU;
    }

    public int threads() {
        return threads;
    }

    /** Chunks this backend has written to so far (a chunk whose values did not change is not written). */
    public long chunkWrites() {
        return chunkWrites.get();
    }

    @Override
    public void checkSupported(GradientSet set) {
        for (int i = 0; i < set.size(); i++) {
            if (set.get(i) instanceof Tensor.Device) {
                throw new IllegalArgumentException("tensor " + i + " lives in CUDA device memory; the CPU backend reads host memory only");
            }
        }
    }

    @Override
    public void close() {
        // the worker pool is shared by all CPU backends and made of daemon threads
    }

    // ================================================================ passes

    @Override
    public long countNonFinite(GradientSet set) {
        ChunkPlan plan = new ChunkPlan(set);
        long[] nonFinite = new long[plan.chunkCount];
        forEachChunk(plan, (c, sc) -> nonFinite[c] = countNonFinite(set.get(plan.tensorOf[c]), plan.startOf[c], plan.lengthOf[c], sc));
        return sum(nonFinite);
    }

    @Override
    public ClampCounts clamp(GradientSet set, double min, double max) {
        ChunkPlan plan = new ChunkPlan(set);
        long[] clipped = new long[plan.chunkCount];
        long[] nonFinite = new long[plan.chunkCount];
        forEachChunk(plan, (c, sc) -> {
            sc.counts[1] = 0;
            clipped[c] = clampChunk(set.get(plan.tensorOf[c]), plan.startOf[c], plan.lengthOf[c], min, max, sc);
            nonFinite[c] = sc.counts[1];
            if (sc.counts[2] != 0) chunkWrites.incrementAndGet();
        });
        return new ClampCounts(sum(clipped), sum(nonFinite));
    }

    @Override
    public NormPartials norms(GradientSet set, NormType p) {
        ChunkPlan plan = new ChunkPlan(set);
        int n = set.size();
        long[] sizes = new long[n];
        for (int t = 0; t < n; t++) sizes[t] = set.get(t).size();
        if (!isGeneral(p)) {
            Pass pass = pass(set, plan, p, null);
            return NormPartials.of(p, pass.partial, sizes, pass.tensorSums, null, pass.nonFinite);
        }
        // general p (docs/canonical-reduction.md): m_t = max|x| by the p = inf pass, then the terms (|x|/m_t)^p
        Pass max = pass(set, plan, NormType.INF, null);
        Pass terms = pass(set, plan, p, max.tensorSums);
        return NormPartials.of(p, terms.partial, sizes, terms.tensorSums, max.tensorSums, max.nonFinite);
    }

    @Override
    public long scale(GradientSet set, double[] tensorScales) {
        long written = 0;
        boolean[] writes = new boolean[set.size()];
        for (int t = 0; t < writes.length; t++) {
            writes[t] = !appliesAsOne(set.get(t).dtype(), tensorScales[t]);
            if (writes[t]) written += set.get(t).size();
        }
        if (written > 0) {
            ChunkPlan plan = new ChunkPlan(set);
            forEachChunk(plan, (c, sc) -> {
                int t = plan.tensorOf[c];
                if (writes[t]) {
                    scaleChunk(set.get(t), plan.startOf[c], plan.lengthOf[c], tensorScales[t], sc);
                    chunkWrites.incrementAndGet();
                }
            });
        }
        return written;
    }

    /** Whether multiplying by {@code scale} leaves a tensor of this type unchanged (its applied scale is exactly 1). */
    static boolean appliesAsOne(DType dtype, double scale) {
        return dtype == DType.FLOAT64 ? scale == 1.0 : (float) scale == 1.0f;
    }

    private static boolean isGeneral(NormType p) {
        return !(p.p() == 1.0 || p.p() == 2.0 || p.isInfinity());
    }

    // ================================================================ norms in the canonical order

    private record Pass(double[] partial, double[] tensorSums, long nonFinite) {
    }

    /**
     * One norm pass: chunk partials, tensor sums, non-finite count. For a general p, {@code divisors[t]}
     * is m_t: a tensor whose m_t is 0, NaN or inf has +0.0 partials; the others sum (|x|/m_t)^p.
     */
    private Pass pass(GradientSet set, ChunkPlan plan, NormType p, double[] divisors) {
        double[] partial = new double[plan.chunkCount];
        long[] nonFinite = new long[plan.chunkCount];
        forEachChunk(plan, (c, sc) -> {
            int ti = plan.tensorOf[c];
            double div = 1.0;
            if (divisors != null) {
                div = divisors[ti];
                if (!(div > 0.0 && div < Double.POSITIVE_INFINITY)) {
                    partial[c] = 0.0;
                    return;
                }
            }
            Tensor t = set.get(ti);
            double s = chunkSum(t, plan.startOf[c], plan.lengthOf[c], p, div, sc);
            partial[c] = s;
            // a finite sum of the terms proves every element finite: count only otherwise (the
            // converse fails: fp64 squares can overflow, so a non-finite partial is counted exactly)
            nonFinite[c] = Double.isFinite(s) ? 0 : countNonFinite(t, plan.startOf[c], plan.lengthOf[c], sc);
        });
        boolean max = p.isInfinity();
        double[] lanes = new double[CanonicalFold.LANES];
        double[] tensorSums = new double[set.size()];
        for (int t = 0; t < set.size(); t++) {
            int first = plan.firstChunk[t];
            tensorSums[t] = CanonicalFold.reduce(partial, first, plan.firstChunk[t + 1] - first, max, lanes);
        }
        return new Pass(partial, tensorSums, sum(nonFinite));
    }

    // ================================================================ one chunk of one tensor

    private static final class Scratch {
        final double[] lanes = new double[CanonicalFold.LANES];
        final float[] f = new float[ChunkPlan.CHUNK];
        final double[] d = new double[ChunkPlan.CHUNK];
        final short[] s = new short[ChunkPlan.CHUNK];
        final long[] counts = new long[3];
    }

    /** A chunk as an array and an offset: the tensor's own array, or the scratch copy of off-heap memory. */
    private static float[] floats(Tensor t, long start, int len, Scratch sc, int[] off) {
        if (t instanceof Tensor.HeapFloats a) {
            off[0] = a.offset() + (int) start;
            return a.array();
        }
        Memory.read(((Tensor.OffHeap) t).address() + start * 4, sc.f, 0, len);
        off[0] = 0;
        return sc.f;
    }

    private static double[] doubles(Tensor t, long start, int len, Scratch sc, int[] off) {
        if (t instanceof Tensor.HeapDoubles a) {
            off[0] = a.offset() + (int) start;
            return a.array();
        }
        Memory.read(((Tensor.OffHeap) t).address() + start * 8, sc.d, 0, len);
        off[0] = 0;
        return sc.d;
    }

    private static short[] shorts(Tensor t, long start, int len, Scratch sc, int[] off) {
        if (t instanceof Tensor.HeapShorts a) {
            off[0] = a.offset() + (int) start;
            return a.array();
        }
        Memory.read(((Tensor.OffHeap) t).address() + start * 2, sc.s, 0, len);
        off[0] = 0;
        return sc.s;
    }

    /** Writes a scratch copy back to off-heap memory (heap arrays were modified in place). */
    private static void writeBack(Tensor t, long start, int len, Object scratch) {
        if (!(t instanceof Tensor.OffHeap o)) return;
        long address = o.address() + start * t.dtype().byteSize();
        if (scratch instanceof float[] f) Memory.write(address, f, 0, len);
        else if (scratch instanceof double[] d) Memory.write(address, d, 0, len);
        else Memory.write(address, (short[]) scratch, 0, len);
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

    private static double chunkSum(Tensor t, long start, int len, NormType p, double div, Scratch sc) {
        int[] off = new int[1];
        if (t.dtype() == DType.FLOAT64) {
            double[] a = doubles(t, start, len, sc, off);
            if (p.p() == 2.0) return ChunkKernels.sumSquares(a, off[0], len, sc.lanes);
            if (p.p() == 1.0) return ChunkKernels.sumAbs(a, off[0], len, sc.lanes);
            if (p.isInfinity()) return ChunkKernels.maxAbs(a, off[0], len, sc.lanes);
            return ChunkKernels.sumPowScaled(a, off[0], len, p.p(), div, sc.lanes);
        }
        float[] a;
        if (t.dtype() == DType.FLOAT32) {
            a = floats(t, start, len, sc, off);
        } else {
            a = widen(shorts(t, start, len, sc, off), off[0], len, t.dtype(), sc);
            off[0] = 0;
        }
        if (p.p() == 2.0) return ChunkKernels.sumSquares(a, off[0], len, sc.lanes);
        if (p.p() == 1.0) return ChunkKernels.sumAbs(a, off[0], len, sc.lanes);
        if (p.isInfinity()) return ChunkKernels.maxAbs(a, off[0], len, sc.lanes);
        return ChunkKernels.sumPowScaled(a, off[0], len, p.p(), div, sc.lanes);
    }

    private static long countNonFinite(Tensor t, long start, int len, Scratch sc) {
        int[] off = new int[1];
        switch (t.dtype()) {
            case FLOAT64:
                return ChunkKernels.countNonFinite(doubles(t, start, len, sc, off), off[0], len);
            case FLOAT32:
                return ChunkKernels.countNonFinite(floats(t, start, len, sc, off), off[0], len);
            default:
                short[] bits = shorts(t, start, len, sc, off);
                long n = 0;
                for (int i = 0; i < len; i++) {
                    // exponent all ones: infinity or NaN, in both fp16 (5 bits) and bf16 (8 bits)
                    int h = bits[off[0] + i];
                    boolean nonFinite = t.dtype() == DType.FLOAT16 ? (h & 0x7c00) == 0x7c00 : (h & 0x7f80) == 0x7f80;
                    if (nonFinite) n++;
                }
                return n;
        }
    }

    /** Clamps one chunk; returns the clipped count and leaves the non-finite count in {@code sc.counts[1]}. */
    private static long clampChunk(Tensor t, long start, int len, double min, double max, Scratch sc) {
        int[] off = new int[1];
        sc.counts[2] = 0;
        switch (t.dtype()) {
            case FLOAT64: {
                double[] a = doubles(t, start, len, sc, off);
                long clipped = ChunkKernels.clamp(a, off[0], len, min, max, sc.counts);
                if (sc.counts[2] != 0) writeBack(t, start, len, a);
                return clipped;
            }
            case FLOAT32: {
                float[] a = floats(t, start, len, sc, off);
                long clipped = ChunkKernels.clamp(a, off[0], len, (float) min, (float) max, sc.counts);
                if (sc.counts[2] != 0) writeBack(t, start, len, a);
                return clipped;
            }
            default: {
                boolean half = t.dtype() == DType.FLOAT16;
                float lo = half ? HalfFloats.roundToHalf(min) : HalfFloats.roundToBfloat16(min);
                float hi = half ? HalfFloats.roundToHalf(max) : HalfFloats.roundToBfloat16(max);
                short[] bits = shorts(t, start, len, sc, off);
                long clipped = 0;
                long nonFinite = 0;
                boolean wrote = false;
                for (int i = off[0], end = off[0] + len; i < end; i++) {
                    float x = half ? HalfFloats.halfToFloat(bits[i]) : HalfFloats.bfloat16ToFloat(bits[i]);
                    float y;
                    if (x < lo) {
                        y = lo;
                    } else if (hi < x) {
                        y = hi;
                    } else {
                        if (x != x || x - x != 0) nonFinite++;
                        continue;
                    }
                    if (x - x != 0) nonFinite++;
                    clipped++;
                    bits[i] = half ? HalfFloats.floatToHalf(y) : HalfFloats.floatToBfloat16(y);
                    wrote = true;
                }
                sc.counts[1] += nonFinite;
                if (wrote) {
                    sc.counts[2] = 1;
                    writeBack(t, start, len, bits);
                }
                return clipped;
            }
        }
    }

    /**
     * A NaN scale counts as normal here (it propagates the same either way); a 0, subnormal or infinite
     * fp32 scale has lost the fp64 scale's precision, so those tensors are multiplied in fp64 instead.
     */
    static boolean isNormalFloat(float s) {
        return s != s || (Math.abs(s) >= Float.MIN_NORMAL && Math.abs(s) <= Float.MAX_VALUE);
    }

    /**
     * {@code y = x * scale}: one fp32 multiply by {@code (float) scale} (fp64 storage: by {@code scale}), RNE to
     * storage, with the NaN rule of ChunkKernels.scale (fp16/bf16 NaN payloads survive the widening: the quiet
     * bit 0x00400000 of the fp32 value narrows to 0x0200 / 0x0040, and 0x7fc00000 to 0x7e00 / 0x7fc0).
     */
    private static void scaleChunk(Tensor t, long start, int len, double scale, Scratch sc) {
        int[] off = new int[1];
        switch (t.dtype()) {
            case FLOAT64: {
                double[] a = doubles(t, start, len, sc, off);
                ChunkKernels.scale(a, off[0], len, scale);
                writeBack(t, start, len, a);
                return;
            }
            case FLOAT32: {
                float[] a = floats(t, start, len, sc, off);
                if (isNormalFloat((float) scale)) ChunkKernels.scale(a, off[0], len, (float) scale);
                else ChunkKernels.scaleWide(a, off[0], len, scale);
                writeBack(t, start, len, a);
                return;
            }
            default: {
                short[] bits = shorts(t, start, len, sc, off);
                float[] f = widen(bits, off[0], len, t.dtype(), sc);
                if (isNormalFloat((float) scale)) ChunkKernels.scale(f, 0, len, (float) scale);
                else ChunkKernels.scaleWide(f, 0, len, scale);
                if (t.dtype() == DType.FLOAT16) {
                    for (int i = 0; i < len; i++) bits[off[0] + i] = HalfFloats.floatToHalf(f[i]);
                } else {
                    for (int i = 0; i < len; i++) bits[off[0] + i] = HalfFloats.floatToBfloat16(f[i]);
                }
                writeBack(t, start, len, bits);
            }
        }
    }

    // ================================================================ running chunks on the cores

    @FunctionalInterface
    private interface ChunkTask {
        void run(int chunk, Scratch scratch);
    }

    /** Runs {@code task} on every chunk; contiguous ranges of chunks with about equal elements per thread. */
    private void forEachChunk(ChunkPlan plan, ChunkTask task) {
        long elements = 0;
        for (int c = 0; c < plan.chunkCount; c++) elements += plan.lengthOf[c];
        int parts = (elements < PARALLEL_THRESHOLD) ? 1 : Math.min(threads, plan.chunkCount);
        if (parts <= 1) {
            Scratch sc = SCRATCH.get();
            for (int c = 0; c < plan.chunkCount; c++) task.run(c, sc);
            return;
        }
        int[] bounds = new int[parts + 1];
        long perPart = (elements + parts - 1) / parts;
        long acc = 0;
        int k = 1;
        for (int c = 0; c < plan.chunkCount && k < parts; c++) {
            acc += plan.lengthOf[c];
            if (acc >= perPart * k) bounds[k++] = c + 1;
        }
        while (k <= parts) bounds[k++] = plan.chunkCount;
        ExecutorService workers = pool(threads);
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int part = 1; part < parts; part++) {
            int from = bounds[part];
            int to = bounds[part + 1];
            futures.add(workers.submit(() -> {
                Scratch sc = SCRATCH.get();
                for (int c = from; c < to; c++) task.run(c, sc);
            }));
        }
        Scratch sc = SCRATCH.get();
        RuntimeException failure = null;
        try {
            for (int c = bounds[0]; c < bounds[1]; c++) task.run(c, sc);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = new IllegalStateException("interrupted while clipping", e);
            }
        }
        if (failure != null) throw failure;
    }

    private static ExecutorService pool(int threads) {
        ExecutorService p = pool;
        if (p == null) {
            synchronized (CpuBackend.class) {
                p = pool;
                if (p == null) {
                    int n = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
                    p = Executors.newFixedThreadPool(Math.max(n, threads - 1), r -> {
                        Thread th = new Thread(r, "gradclip-cpu");
                        th.setDaemon(true);
                        return th;
                    });
                    pool = p;
                }
            }
        }
        return p;
    }

    private static long sum(long[] values) {
        long s = 0;
        for (long v : values) s += v;
        return s;
    }
}
