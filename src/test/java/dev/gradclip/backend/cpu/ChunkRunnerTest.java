package dev.gradclip.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The dynamic split of {@link ChunkRunner}: every chunk exactly once, whatever the threads and sizes. */
class ChunkRunnerTest {

    /** A set of tensors of the given sizes (float[] on the heap; the runner never reads them). */
    private static ChunkPlan plan(int... sizes) {
        List<Tensor> ts = new ArrayList<>();
        for (int s : sizes) ts.add(Tensor.of(new float[s]));
        return new ChunkPlan(GradientSet.of(ts));
    }

    @Test
    void pieceBoundsAscendFromZeroToTheChunkCountAndBalanceElements() {
        ChunkPlan p = plan(3_000_000, 17, 65_536, 1, 2_000_001, 700_000);
        for (int pieces : new int[] {1, 2, 3, 16, p.chunkCount}) {
            int[] b = ChunkRunner.pieceBounds(p, pieces);
            assertEquals(pieces + 1, b.length);
            assertEquals(0, b[0]);
            assertEquals(p.chunkCount, b[pieces]);
            long largest = 0;
            for (int i = 0; i < pieces; i++) {
                assertTrue(b[i] <= b[i + 1], "bounds ascend at " + i);
                long e = 0;
                for (int c = b[i]; c < b[i + 1]; c++) e += p.lengthOf[c];
                largest = Math.max(largest, e);
            }
            // no piece exceeds its share by more than one chunk
            assertTrue(largest <= (p.elements + pieces - 1) / pieces + ChunkPlan.CHUNK,
                    pieces + " pieces: largest " + largest);
        }
    }

    @Test
    void everyChunkRunsExactlyOnceOnEveryThreadCount() {
        ChunkPlan p = plan(5_000_000, 3, 1_048_577, 65_535, 9_000_000);
        for (int threads : new int[] {1, 2, 3, 8}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(p.chunkCount);
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            new ChunkRunner(threads).run(p, (from, to, sc) -> {
                assertTrue(from < to);
                ran.add(Thread.currentThread());
                for (int c = from; c < to; c++) hits.incrementAndGet(c);
            });
            for (int c = 0; c < p.chunkCount; c++) assertEquals(1, hits.get(c), threads + " threads, chunk " + c);
            assertTrue(ran.size() <= threads);
        }
    }

    @Test
    void aSmallSetRunsOnTheCallingThreadInOneRange() {
        ChunkPlan p = plan(1000, 70_000);
        List<int[]> ranges = new ArrayList<>();
        Thread caller = Thread.currentThread();
        new ChunkRunner(4).run(p, (from, to, sc) -> {
            assertSame(caller, Thread.currentThread());
            ranges.add(new int[] {from, to});
        });
        assertEquals(1, ranges.size());
        assertEquals(0, ranges.get(0)[0]);
        assertEquals(p.chunkCount, ranges.get(0)[1]);
    }

    @Test
    void theFirstFailureIsRethrownAfterEveryThreadStopped() {
        ChunkPlan p = plan(20_000_000);
        RuntimeException boom = new IllegalStateException("boom");
        AtomicIntegerArray running = new AtomicIntegerArray(1);
        RuntimeException thrown = assertThrows(IllegalStateException.class, () -> new ChunkRunner(2).run(p, (from, to, sc) -> {
            running.incrementAndGet(0);
            try {
                if (from == 0) throw boom;
            } finally {
                running.decrementAndGet(0);
            }
        }));
        assertSame(boom, thrown);
        assertEquals(0, running.get(0), "a thread was still running a piece after run() returned");
    }
}
