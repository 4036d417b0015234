package dev.gradclip.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    void pieceBoundsCoverEveryChunkOnceAndShrinkToTheMinimum() {
        ChunkPlan p = plan(3_000_000, 17, 65_536, 1, 2_000_001, 700_000, 40_000_000);
        for (int threads : new int[] {1, 2, 3, 8}) {
            int[] b = ChunkRunner.pieceBounds(p, threads);
            assertEquals(0, b[0]);
            assertEquals(p.chunkCount, b[b.length - 1]);
            long remaining = p.elements;
            for (int i = 0; i + 1 < b.length; i++) {
                assertTrue(b[i] < b[i + 1], threads + " threads: bounds strictly ascend at " + i);
                long e = 0;
                for (int c = b[i]; c < b[i + 1]; c++) e += p.lengthOf[c];
                long target = Math.max(remaining / (2L * threads), ChunkRunner.MIN_PIECE_ELEMENTS);
                boolean last = i + 2 == b.length;
                // at least its target unless it is the last piece; over it by less than its last chunk
                assertTrue(last || e >= target, threads + " threads, piece " + i + ": " + e + " < " + target);
                assertTrue(e - p.lengthOf[b[i + 1] - 1] < target, threads + " threads, piece " + i + " overshoots");
                remaining -= e;
            }
            assertEquals(0, remaining);
        }
        // a 1 GiB fp32 tensor on 2 threads: few calls, and the last pieces are the small ones
        ChunkPlan large = plan(1 << 28);
        int[] b = ChunkRunner.pieceBounds(large, 2);
        assertTrue(b.length - 1 <= 32, (b.length - 1) + " pieces");
        long lastPiece = 0;
        for (int c = b[b.length - 2]; c < b[b.length - 1]; c++) lastPiece += large.lengthOf[c];
        assertTrue(lastPiece <= ChunkRunner.MIN_PIECE_ELEMENTS, "last piece " + lastPiece);
        assertEquals(1, ChunkRunner.pieceBounds(plan(10), 4).length - 1);
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

    @Test
    void anErrorIsRethrownAsItselfAfterEveryThreadStopped() {
        ChunkPlan p = plan(20_000_000);
        AssertionError boom = new AssertionError("boom");
        AtomicIntegerArray running = new AtomicIntegerArray(1);
        AssertionError thrown = assertThrows(AssertionError.class, () -> new ChunkRunner(2).run(p, (from, to, sc) -> {
            running.incrementAndGet(0);
            try {
                if (to == p.chunkCount) throw boom;
                Thread.onSpinWait();
            } finally {
                running.decrementAndGet(0);
            }
        }));
        assertSame(boom, thrown);
        assertEquals(0, running.get(0), "a thread was still running a piece after run() returned");
    }

    @Test
    void anInterruptedCallerStillWaitsForEveryPieceAndKeepsItsInterrupt() {
        ChunkPlan p = plan(30_000_000);
        AtomicIntegerArray hits = new AtomicIntegerArray(p.chunkCount);
        Thread caller = Thread.currentThread();
        try {
            caller.interrupt();
            new ChunkRunner(2).run(p, (from, to, sc) -> {
                if (Thread.currentThread() != caller) {
                    // the pool thread's pieces finish after the caller is done with its own
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
                for (int c = from; c < to; c++) hits.incrementAndGet(c);
            });
            assertTrue(caller.isInterrupted(), "the interrupt was swallowed");
        } finally {
            Thread.interrupted();
        }
        for (int c = 0; c < p.chunkCount; c++) assertEquals(1, hits.get(c), "chunk " + c);
    }

    @Test
    void aPlanIsForItsOwnSetOnlyAndKeepsItsPieceCut() {
        List<Tensor> ts = List.of(Tensor.of(new float[3_000_000]), Tensor.of(new float[5]));
        GradientSet set = GradientSet.of(ts);
        ChunkPlan p = new ChunkPlan(set);
        assertTrue(p.isFor(set));
        assertFalse(p.isFor(GradientSet.of(ts)), "an equal set is another set");
        int[] two = p.pieceBounds(2);
        assertSame(two, p.pieceBounds(2));
        assertArrayEquals(ChunkRunner.pieceBounds(p, 2), two);
        assertArrayEquals(ChunkRunner.pieceBounds(p, 3), p.pieceBounds(3));
    }
}
