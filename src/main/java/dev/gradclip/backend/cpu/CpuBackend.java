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
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU backend: the primitive passes of docs/canonical-reduction.md over host memory (heap arrays and
 * off-heap memory, both in place). Two implementations of every chunk pass give the same bits: the native
 * SIMD kernels of {@code libgradclip-cpu} ({@link NativeKernels}; AVX-512, AVX2 or portable C++, chosen at
 * run time), used when the library loads, and the pure-Java reference ({@link ChunkAccess},
 * {@link ChunkKernels}), used everywhere else and for a general p's pow terms. The chunk plan
 * ({@link ChunkPlan}) and the threads ({@link ChunkRunner}) are the same for both.
 */
public final class CpuBackend implements ClipBackend {
    /** Which chunk kernels a backend runs. */
    public enum Kernels {
        /** The native kernels where they load, else the Java reference (the default). */
        AUTO,
        /** The pure-Java reference. */
        JAVA,
        /** The native kernels; the constructor throws when they did not load. */
        NATIVE
    }

    private final ChunkRunner runner;
    /** The plan of the set last operated on ({@link #planOf}). */
    private volatile ChunkPlan lastPlan;
    private final boolean useNative;
    private final AtomicLong chunkWrites = new AtomicLong();

    /** A backend using every available core and the best kernels available. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend using at most {@code threads} threads (1 = the calling thread only). */
    public CpuBackend(int threads) {
        this(threads, Kernels.AUTO);
    }

    /**
     * A backend with a choice of kernels (JAVA: the reference, e.g. to compare the native kernels with it).
     *
     * @throws IllegalStateException for NATIVE when the native kernels are not available here
     */
    public CpuBackend(int threads, Kernels kernels) {
        this.runner = new ChunkRunner(threads);
        if (kernels == Kernels.NATIVE && !NativeKernels.AVAILABLE) {
            throw new IllegalStateException("native CPU kernels unavailable: " + NativeKernels.UNAVAILABLE);
        }
        this.useNative = kernels != Kernels.JAVA && NativeKernels.AVAILABLE;
    }

    @Override
    public Backend kind() {
        return Backend.CPU;
    }

    public int threads() {
        return runner.threads();
    }

    /**
     * Chunks this backend has written to so far. A scale pass skips the tensors whose applied scale is
     * exactly 1; a clamp writes every chunk on the native kernels (one branch-free pass that stores every
     * element) and only the chunks holding a clipped element in the Java reference.
     */
    public long chunkWrites() {
        return chunkWrites.get();
    }

    /** The kernels this backend runs: "native avx512", "native avx2", "native scalar" or "java". */
    public String kernels() {
        return useNative ? "native " + NativeKernels.isa() : "java";
    }

    /** Why the native kernels are not used by default (null when they are). */
    public static String nativeUnavailableReason() {
        return NativeKernels.AVAILABLE ? null : NativeKernels.UNAVAILABLE;
    }

    /**
     * Forces the native kernels' instruction-set path ("scalar", "avx2", "avx512") for every CPU backend of
     * this JVM, as {@code -Dgradclip.cpu.isa} does; false (nothing changed) when the CPU lacks it or the
     * native kernels are unavailable. Every path gives the same bits; this exists to test that.
     */
    public static boolean selectNativeIsa(String isa) {
        return NativeKernels.AVAILABLE && NativeKernels.setIsa(isa);
    }

    /** The native kernels' active instruction-set path, or null when they are unavailable. */
    public static String nativeIsa() {
        return NativeKernels.isa();
    }

    /** Whether this CPU has an instruction-set path of the native kernels. */
    public static boolean nativeIsaSupported(String isa) {
        return NativeKernels.AVAILABLE && NativeKernels.isaSupported(isa);
    }

    /**
     * Prints the kernels the CPU backend runs here ({@code native avx512}, …, or {@code java} and why);
     * with {@code --require-native}, exits with status 1 when the native kernels did not load (the jar check).
     */
    public static void main(String[] args) {
        String why = nativeUnavailableReason();
        System.out.println(why == null ? "cpu kernels: native " + nativeIsa() : "cpu kernels: java (" + why + ")");
        if (why != null && args.length > 0 && args[0].equals("--require-native")) System.exit(1);
    }

    @Override
    public void checkSupported(GradientSet set) {
        if (set.inHostMemory()) return; // known from construction: no walk over the tensors per call
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

    /** The native table of a set for one pass, or null when this pass runs in Java. */
    private NativeKernels.Table nativeTable(GradientSet set, ChunkPlan plan) {
        if (!useNative) return null;
        NativeKernels.Layout layout = plan.nativeLayout(set);
        return layout.usable ? new NativeKernels.Table(set, layout) : null;
    }

    // ================================================================ passes

    /**
     * The chunk plan of {@code set}: the last one made when it was for this very set (a trainer passes
     * the same set every step; building the plan of a 1 GiB tensor took 0.35 ms before the JIT compiled
     * it, bench/NOTES.md item 8), else a new one, kept for next time.
     */
    private ChunkPlan planOf(GradientSet set) {
        ChunkPlan p = lastPlan;
        if (p == null || !p.isFor(set)) {
            p = new ChunkPlan(set);
            lastPlan = p;
        }
        return p;
    }

    @Override
    public long countNonFinite(GradientSet set) {
        ChunkPlan plan = planOf(set);
        NativeKernels.Table table = nativeTable(set, plan);
        AtomicLong total = new AtomicLong();
        runner.run(plan, (from, to, sc) -> {
            long n = 0;
            if (table != null) {
                long[] out = new long[3];
                NativeKernels.run(NativeCpuLibrary.OP_COUNT_NONFINITE, table, plan, from, to, 0, null, null, out);
                n = out[0];
            } else {
                for (int c = from; c < to; c++) {
                    n += ChunkAccess.countNonFinite(set.get(plan.tensorOf[c]), plan.startOf[c], plan.lengthOf[c], sc);
                }
            }
            total.addAndGet(n);
        });
        return total.get();
    }

    @Override
    public ClampCounts clamp(GradientSet set, double min, double max) {
        ChunkPlan plan = planOf(set);
        NativeKernels.Table table = nativeTable(set, plan);
        AtomicLong clipped = new AtomicLong();
        AtomicLong nonFinite = new AtomicLong();
        runner.run(plan, (from, to, sc) -> {
            if (table != null) {
                long[] out = new long[3];
                NativeKernels.run(NativeCpuLibrary.OP_CLAMP, table, plan, from, to, 0, NativeKernels.bounds(min, max), null, out);
                clipped.addAndGet(out[0]);
                nonFinite.addAndGet(out[1]);
                chunkWrites.addAndGet(out[2]);
                return;
            }
            long cl = 0;
            long nf = 0;
            long writes = 0;
            for (int c = from; c < to; c++) {
                sc.counts[1] = 0;
                cl += ChunkAccess.clampChunk(set.get(plan.tensorOf[c]), plan.startOf[c], plan.lengthOf[c], min, max, sc);
                nf += sc.counts[1];
                writes += sc.counts[2];
            }
            clipped.addAndGet(cl);
            nonFinite.addAndGet(nf);
            chunkWrites.addAndGet(writes);
        });
        return new ClampCounts(clipped.get(), nonFinite.get());
    }

    @Override
    public NormPartials norms(GradientSet set, NormType p) {
        ChunkPlan plan = planOf(set);
        if (!isGeneral(p)) {
            // the plan's scratch arrays: NormPartials.of copies them, so they serve the next call too
            ChunkPlan.NormScratch s = plan.borrowNormScratch();
            try {
                long nonFinite = pass(set, plan, p, null, s);
                return NormPartials.of(p, s.partial, plan.sizes, s.tensorSums, null, nonFinite);
            } finally {
                plan.returnNormScratch(s);
            }
        }
        // general p (docs/canonical-reduction.md): m_t = max|x| by the p = inf pass, then the terms (|x|/m_t)^p
        ChunkPlan.NormScratch max = new ChunkPlan.NormScratch(plan.chunkCount, set.size());
        long maxNonFinite = pass(set, plan, NormType.INF, null, max);
        ChunkPlan.NormScratch terms = new ChunkPlan.NormScratch(plan.chunkCount, set.size());
        pass(set, plan, p, max.tensorSums, terms);
        return NormPartials.of(p, terms.partial, plan.sizes, terms.tensorSums, max.tensorSums, maxNonFinite);
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
            ChunkPlan plan = planOf(set);
            NativeKernels.Table table = nativeTable(set, plan);
            runner.run(plan, (from, to, sc) -> {
                long chunks = 0;
                for (int c = from; c < to; c++) chunks += writes[plan.tensorOf[c]] ? 1 : 0;
                if (table != null) {
                    // the native pass skips the chunks of tensors whose applied scale is 1 by the same rule
                    NativeKernels.run(NativeCpuLibrary.OP_SCALE, table, plan, from, to, 0, tensorScales, null, new long[3]);
                } else {
                    for (int c = from; c < to; c++) {
                        int t = plan.tensorOf[c];
                        if (writes[t]) ChunkAccess.scaleChunk(set.get(t), plan.startOf[c], plan.lengthOf[c], tensorScales[t], sc);
                    }
                }
                chunkWrites.addAndGet(chunks);
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

    /**
     * One norm pass: writes every chunk partial to {@code into.partial} and every tensor sum to
     * {@code into.tensorSums}, and returns the non-finite count. For a general p, {@code divisors[t]} is m_t:
     * a tensor whose m_t is 0, NaN or inf has +0.0 partials; the others sum (|x|/m_t)^p (in Java: pow
     * differs between libraries, and the JDK's is the reference).
     */
    private long pass(GradientSet set, ChunkPlan plan, NormType p, double[] divisors, ChunkPlan.NormScratch into) {
        double[] partial = into.partial;
        AtomicLong nonFinite = new AtomicLong();
        NativeKernels.Table table = divisors == null ? nativeTable(set, plan) : null;
        int kind = p.isInfinity() ? NativeKernels.KIND_INF : p.p() == 1.0 ? NativeKernels.KIND_L1 : NativeKernels.KIND_L2;
        runner.run(plan, (from, to, sc) -> {
            if (table != null) {
                long[] out = new long[3];
                NativeKernels.run(NativeCpuLibrary.OP_NORMS, table, plan, from, to, kind, null, partial, out);
                nonFinite.addAndGet(out[0]);
                return;
            }
            long nf = 0;
            for (int c = from; c < to; c++) {
                int ti = plan.tensorOf[c];
                double div = 1.0;
                if (divisors != null) {
                    div = divisors[ti];
                    if (!(div > 0.0 && div < Double.POSITIVE_INFINITY)) {
                        partial[c] = 0.0;
                        continue;
                    }
                }
                Tensor t = set.get(ti);
                double s = ChunkAccess.chunkSum(t, plan.startOf[c], plan.lengthOf[c], p.p(), p.isInfinity(), div, sc);
                partial[c] = s;
                // a finite sum of the terms proves every element finite: count only otherwise (the
                // converse fails: fp64 squares can overflow, so a non-finite partial is counted exactly)
                if (!Double.isFinite(s)) nf += ChunkAccess.countNonFinite(t, plan.startOf[c], plan.lengthOf[c], sc);
            }
            nonFinite.addAndGet(nf);
        });
        boolean max = p.isInfinity();
        double[] tensorSums = into.tensorSums;
        for (int t = 0; t < tensorSums.length; t++) {
            int first = plan.firstChunk[t];
            tensorSums[t] = CanonicalFold.reduce(partial, first, plan.firstChunk[t + 1] - first, max, into.lanes);
        }
        return nonFinite.get();
    }
}
