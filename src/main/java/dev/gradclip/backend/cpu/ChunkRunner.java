package dev.gradclip.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The thread runner of the CPU backend, the one place that decides threads: a pass over a {@link ChunkPlan}
 * is split into {@value #PIECES_PER_THREAD} contiguous pieces of chunks per thread, with about equal
 * elements each, and the threads (the caller and {@code threads - 1} pool threads) claim the pieces in
 * order from a shared counter until none is left. So a thread that starts late (waking a parked pool
 * thread costs 0.2–3 ms on a VM) or runs slower (a busy sibling core) takes fewer pieces instead of
 * making the others wait: a static split into one half per thread measured halves of 8.5 and 12.5 ms for
 * a 10 ms clamp (bench/NOTES.md). Sets under {@value #PARALLEL_THRESHOLD} elements run on the calling
 * thread. Chunks are independent and every chunk writes its own slot, so the split and the order in
 * which pieces run change no bit of any result.
 */
final class ChunkRunner {
    static final int PARALLEL_THRESHOLD = 1 << 20;
    static final int PIECES_PER_THREAD = 8;

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
     * threads; {@code task} may run several times on one thread. The first failure is rethrown once every
     * thread has stopped (no thread claims a piece after a failure).
     */
    void run(ChunkPlan plan, RangeTask task) {
        long elements = plan.elements;
        int parts = (elements < PARALLEL_THRESHOLD) ? 1 : Math.min(threads, plan.chunkCount);
        if (parts <= 1) {
            if (plan.chunkCount > 0) task.run(0, plan.chunkCount, SCRATCH.get());
            return;
        }
        int[] bounds = pieceBounds(plan, Math.min(plan.chunkCount, parts * PIECES_PER_THREAD));
        int pieces = bounds.length - 1;
        AtomicInteger next = new AtomicInteger();
        AtomicReference<RuntimeException> failed = new AtomicReference<>();
        Runnable worker = () -> {
            ChunkAccess.Scratch sc = SCRATCH.get();
            for (int i; failed.get() == null && (i = next.getAndIncrement()) < pieces; ) {
                try {
                    if (bounds[i] < bounds[i + 1]) task.run(bounds[i], bounds[i + 1], sc);
                } catch (RuntimeException e) {
                    failed.compareAndSet(null, e);
                } catch (Error e) {
                    failed.compareAndSet(null, new IllegalStateException(e));
                    throw e;
                }
            }
        };
        ExecutorService workers = pool(threads);
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int part = 1; part < parts; part++) futures.add(workers.submit(worker));
        worker.run();
        RuntimeException failure = null;
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
        if (failed.get() != null) throw failed.get();
        if (failure != null) throw failure;
    }

    /** {@code pieces + 1} ascending chunk indices from 0 to the chunk count, cutting at about equal elements. */
    static int[] pieceBounds(ChunkPlan plan, int pieces) {
        int[] bounds = new int[pieces + 1];
        long perPiece = (plan.elements + pieces - 1) / pieces;
        long acc = 0;
        int k = 1;
        for (int c = 0; c < plan.chunkCount && k < pieces; c++) {
            acc += plan.lengthOf[c];
            while (k < pieces && acc >= perPiece * k) bounds[k++] = c + 1;
        }
        while (k <= pieces) bounds[k++] = plan.chunkCount;
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
