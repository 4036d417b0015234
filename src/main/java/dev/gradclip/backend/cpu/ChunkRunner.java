package dev.gradclip.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The thread runner of the CPU backend, the one place that decides threads: a pass over a {@link ChunkPlan}
 * is cut into contiguous pieces of chunks that shrink as the pass goes ({@link #pieceBounds}: each piece
 * holds about {@code 1/(2 * threads)} of the elements not yet in a piece, down to
 * {@value #MIN_PIECE_ELEMENTS} elements), and the threads (the caller and {@code threads - 1} pool threads)
 * claim the pieces in order from a shared counter until none is left. So a thread that starts late (waking
 * a parked pool thread took ~0.1 ms at the median and up to a few ms on the development VM, bench/NOTES.md
 * item 21) or runs slower (a busy sibling core) takes fewer pieces
 * instead of making the others wait, and the threads finish within one small piece of each other: equal
 * pieces of 1/16 of a 1 GiB tensor left one thread alone for half a piece on average (~1.4 ms of a 22 ms
 * clamp, bench/NOTES.md item 8). Sets under {@value #PARALLEL_THRESHOLD} elements run on the calling
 * thread. Chunks are independent and every chunk writes its own slot, so the split and the order in
 * which pieces run change no bit of any result.
 */
final class ChunkRunner {
    static final int PARALLEL_THRESHOLD = 1 << 20;
    /**
     * The smallest piece the cut makes while more than that is left: 1 MiB of fp32, ~10 µs of a clamp over
     * one large tensor, ~60 µs over 256 small ones, whose per-tensor cost the element count does not show.
     * At 2^20 elements the last pieces of many-small (10,000 tensors of 1,000 elements) held 1,000 tensors
     * each, ~0.25 ms, and one thread finished alone for up to one of them (bench/NOTES.md item 33).
     */
    static final long MIN_PIECE_ELEMENTS = 1L << 18;

    private static final ThreadLocal<ChunkAccess.Scratch> SCRATCH = ThreadLocal.withInitial(ChunkAccess.Scratch::new);
    private static volatile ExecutorService pool;

    /** Work on chunks {@code [from, to)} of the plan, on one thread, with that thread's scratch buffers. */
    @FunctionalInterface
    interface RangeTask {
        void run(int from, int to, ChunkAccess.Scratch scratch);
    }

    private final int threads;

    ChunkRunner(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over every chunk of the plan exactly once, in contiguous pieces claimed by the
     * threads; {@code task} may run several times on one thread. Returns, or throws the first failure,
     * only once no thread is running a piece: a failure stops further pieces from running, and an
     * {@link Error} is rethrown as itself. The caller waits for the last piece of another thread by
     * spinning up to {@value #SPIN_NANOS} ns, then parking: waking a parked thread took ~0.1 ms at the median
     * and up to a few ms on the development VM, more than the shrinking pieces leave to wait for. An interrupt does not cut the wait
     * short (the pieces still running write the caller's gradients); it stays set on return.
     */
    void run(ChunkPlan plan, RangeTask task) {
        long elements = plan.elements;
        int parts = (elements < PARALLEL_THRESHOLD) ? 1 : Math.min(threads, plan.chunkCount);
        if (parts <= 1) {
            if (plan.chunkCount > 0) task.run(0, plan.chunkCount, SCRATCH.get());
            return;
        }
        Pass pass = new Pass(plan.pieceBounds(parts), task, Thread.currentThread());
        ExecutorService workers = pool(threads);
        for (int part = 1; part < parts; part++) workers.execute(pass::work);
        pass.work();
        pass.closeAndAwait();
        Throwable failure = pass.failed.get();
        if (failure instanceof Error e) throw e;
        if (failure != null) throw (RuntimeException) failure;
    }

    /** Spin time of the caller waiting for the other threads' last pieces, before it parks. */
    static final long SPIN_NANOS = 200_000;

    /** One run's shared state: the piece counter, the pieces done, the first failure. */
    private static final class Pass {
        /** {@link #next} after {@link #closeAndAwait}: no index below it is a piece. */
        private static final int CLOSED = Integer.MAX_VALUE / 2;

        final int[] bounds;
        final int pieces;
        final RangeTask task;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failed = new AtomicReference<>();
        volatile boolean callerParked;

        Pass(int[] bounds, RangeTask task, Thread caller) {
            this.bounds = bounds;
            this.pieces = bounds.length - 1;
            this.task = task;
            this.caller = caller;
        }

        /** Claims and runs pieces until none is left; after a failure, claims and skips them. */
        void work() {
            ChunkAccess.Scratch sc = null;
            for (int i; (i = next.getAndIncrement()) < pieces; ) {
                try {
                    if (failed.get() == null) {
                        if (sc == null) sc = SCRATCH.get();
                        task.run(bounds[i], bounds[i + 1], sc);
                    }
                } catch (RuntimeException | Error e) {
                    failed.compareAndSet(null, e);
                } finally {
                    done.incrementAndGet();
                    if (callerParked) LockSupport.unpark(caller);
                }
            }
        }

        /**
         * Stops further claims (a pool thread that starts late finds nothing) and waits until every
         * claimed piece is done.
         */
        void closeAndAwait() {
            int claimed = Math.min(next.getAndSet(CLOSED), pieces);
            if (done.get() == claimed) return;
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (done.get() != claimed && System.nanoTime() - spinUntil < 0) Thread.onSpinWait();
            if (done.get() == claimed) return;
            callerParked = true;
            boolean interrupted = false;
            while (done.get() != claimed) {
                LockSupport.parkNanos(this, 100_000);
                if (Thread.interrupted()) interrupted = true;
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /**
     * {@return the piece cut for {@code threads} threads: ascending chunk indices from 0 to the chunk count,
     * one more than the pieces} Each piece takes whole chunks until it holds at least
     * {@code max(remaining / (2 * threads), MIN_PIECE_ELEMENTS)} elements, where {@code remaining} counts
     * the elements not yet in a piece ("guided" self-scheduling): large pieces first, for few calls, and
     * small ones last, so that no thread is left alone with much.
     */
    static int[] pieceBounds(ChunkPlan plan, int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        List<Integer> cuts = new ArrayList<>();
        cuts.add(0);
        long remaining = plan.elements;
        long acc = 0;
        long target = Math.max(remaining / (2L * threads), MIN_PIECE_ELEMENTS);
        for (int c = 0; c < plan.chunkCount; c++) {
            acc += plan.lengthOf[c];
            if (acc >= target || c == plan.chunkCount - 1) {
                cuts.add(c + 1);
                remaining -= acc;
                acc = 0;
                target = Math.max(remaining / (2L * threads), MIN_PIECE_ELEMENTS);
            }
        }
        int[] bounds = new int[cuts.size()];
        for (int i = 0; i < bounds.length; i++) bounds[i] = cuts.get(i);
        return bounds;
    }

    private static ExecutorService pool(int threads) {
        ExecutorService p = pool;
        if (p == null) {
            synchronized (ChunkRunner.class) {
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
}
