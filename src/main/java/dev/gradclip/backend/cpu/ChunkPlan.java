package dev.gradclip.backend.cpu;

import dev.gradclip.GradientSet;
import dev.gradclip.internal.CanonicalFold;
import java.lang.ref.WeakReference;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The chunk table of a gradient set: every tensor split into chunks of 65,536 elements from its
 * element 0 (the last one shorter), chunks never spanning two tensors, listed in tensor order. Immutable
 * (its arrays are never written after construction), like the set it describes, so one plan serves every
 * operation on the same set ({@link #isFor}) and every thread; it holds the set only weakly.
 */
final class ChunkPlan {
    static final int CHUNK = 65_536;

    final int chunkCount;
    /** Elements of the whole set. */
    final long elements;
    final int[] tensorOf;
    final long[] startOf;
    final int[] lengthOf;
    /** Chunks of tensor t are {@code [firstChunk[t], firstChunk[t+1])}. */
    final int[] firstChunk;
    /** Elements of tensor t (what {@code NormPartials.of} reads; never written, like every array here). */
    final long[] sizes;

    private final WeakReference<GradientSet> set;
    /** The last piece cut asked for ({@link ChunkRunner#pieceBounds}), with its thread count. */
    private volatile Pieces pieces;

    /** The set's native table layout, made on first use ({@link #nativeLayout}). */
    private volatile NativeKernels.Layout nativeLayout;

    private record Pieces(int threads, int[] bounds) {}

    /**
     * The working arrays of one norm pass over this plan's set: chunk partials, tensor sums and the fold's
     * lanes. {@code NormPartials.of} copies what it keeps, so the arrays can serve the next call instead of
     * becoming garbage (for 10,000 tensors ~170 KB a call; in a JVM whose heap is not yet touched every
     * fresh page costs a fault, bench/NOTES.md item 21). Every slot is written by each pass before it is read.
     */
    static final class NormScratch {
        final double[] partial;
        final double[] tensorSums;
        final double[] lanes = new double[CanonicalFold.LANES];

        NormScratch(int chunks, int tensors) {
            partial = new double[chunks];
            tensorSums = new double[tensors];
        }
    }

    /** The scratch not lent out at the moment (null while a call holds it, or before the first). */
    private final AtomicReference<NormScratch> spareScratch = new AtomicReference<>();

    /**
     * {@return this plan's norm scratch for one call, or a new one while another call holds it} Give it back
     * with {@link #returnNormScratch} once nothing reads it any more.
     */
    NormScratch borrowNormScratch() {
        NormScratch s = spareScratch.getAndSet(null);
        return s != null ? s : new NormScratch(chunkCount, sizes.length);
    }

    /** Keeps {@code s} (borrowed from this plan) for the next call. */
    void returnNormScratch(NormScratch s) {
        spareScratch.set(s);
    }

    ChunkPlan(GradientSet set) {
        this.set = new WeakReference<>(set);
        int n = set.size();
        firstChunk = new int[n + 1];
        long chunks = 0;
        for (int t = 0; t < n; t++) {
            firstChunk[t] = (int) chunks;
            chunks += (set.get(t).size() + CHUNK - 1) / CHUNK;
            if (chunks > Integer.MAX_VALUE - 1) {
                throw new IllegalArgumentException("gradient set too large: more than 2^31 chunks of 65,536 elements");
            }
        }
        firstChunk[n] = (int) chunks;
        sizes = new long[n];
        long total = 0;
        for (int t = 0; t < n; t++) {
            sizes[t] = set.get(t).size();
            total += sizes[t];
        }
        elements = total;
        chunkCount = (int) chunks;
        tensorOf = new int[chunkCount];
        startOf = new long[chunkCount];
        lengthOf = new int[chunkCount];
        for (int t = 0; t < n; t++) {
            long size = set.get(t).size();
            for (int c = firstChunk[t]; c < firstChunk[t + 1]; c++) {
                long start = (long) (c - firstChunk[t]) * CHUNK;
                tensorOf[c] = t;
                startOf[c] = start;
                lengthOf[c] = (int) Math.min(CHUNK, size - start);
            }
        }
    }

    /** {@return whether this is the plan of {@code candidate} (the same set object)} */
    boolean isFor(GradientSet candidate) {
        return set.get() == candidate;
    }

    /**
     * {@return the native table layout of {@code set}, made once} {@code set} must be this plan's set
     * ({@link #isFor}); the layout holds no reference to its memory. Building it for 10,000 tensors took
     * ~0.2 ms a pass (bench/NOTES.md item 9).
     */
    NativeKernels.Layout nativeLayout(GradientSet set) {
        NativeKernels.Layout l = nativeLayout;
        if (l == null) {
            l = new NativeKernels.Layout(set);
            nativeLayout = l;
        }
        return l;
    }

    /** {@return {@link ChunkRunner#pieceBounds} for this plan, computed once per thread count} Not to be written. */
    int[] pieceBounds(int threads) {
        Pieces p = pieces;
        if (p == null || p.threads != threads) {
            p = new Pieces(threads, ChunkRunner.pieceBounds(this, threads));
            pieces = p;
        }
        return p.bounds;
    }
}
