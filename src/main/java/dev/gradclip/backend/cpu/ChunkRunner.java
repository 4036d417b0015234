package dev.gradclip.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The thread runner of the CPU backend, the one place that decides threads: a pass over a {@link ChunkPlan}
 * is split into contiguous ranges of chunks with about equal elements, one per thread (the caller runs the
 * first). Sets under {@value #PARALLEL_THRESHOLD} elements run on the calling thread. Chunks are
 * independent and every chunk writes its own slot, so the split changes no bit of any result.
 */
final class ChunkRunner {
    static final int PARALLEL_THRESHOLD = 1 << 20;

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

    /** Runs {@code task} over every chunk of the plan, in contiguous ranges, one per thread. */
    void run(ChunkPlan plan, RangeTask task) {
        long elements = plan.elements;
        int parts = (elements < PARALLEL_THRESHOLD) ? 1 : Math.min(threads, plan.chunkCount);
        if (parts <= 1) {
            if (plan.chunkCount > 0) task.run(0, plan.chunkCount, SCRATCH.get());
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
            if (from < to) futures.add(workers.submit(() -> task.run(from, to, SCRATCH.get())));
        }
        RuntimeException failure = null;
        try {
            if (bounds[0] < bounds[1]) task.run(bounds[0], bounds[1], SCRATCH.get());
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
