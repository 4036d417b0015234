package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The lock-free pin count of {@link MemoryGuard}: pins are refused after a close, the release runs once and
 * only when the last pin is gone, and {@link Clipper} unpins exactly what it pinned, also when a later tensor
 * of the set is closed.
 */
class MemoryGuardTest {

    @Test
    void pinsAreCountedAndRefusedAfterClose() {
        MemoryGuard g = new MemoryGuard();
        assertTrue(g.isOpen());
        assertThrows(IllegalStateException.class, g::unpin, "nothing is pinned");
        assertTrue(g.pin());
        assertTrue(g.pin());
        g.unpin();
        g.unpin();
        assertThrows(IllegalStateException.class, g::unpin, "more unpins than pins");
        AtomicInteger released = new AtomicInteger();
        g.close(released::incrementAndGet);
        g.close(released::incrementAndGet);
        assertEquals(1, released.get(), "close is idempotent");
        assertFalse(g.isOpen());
        assertFalse(g.pin());
        assertThrows(IllegalStateException.class, g::unpin, "a refused pin holds nothing");
    }

    @Test
    void closeWaitsForTheLastOfManyConcurrentPins() throws Exception {
        for (int round = 0; round < 200; round++) {
            MemoryGuard g = new MemoryGuard();
            AtomicInteger inside = new AtomicInteger();
            AtomicBoolean freedWhilePinned = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(4);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> {
                    started.countDown();
                    try {
                        while (g.pin()) {
                            inside.incrementAndGet();
                            Thread.onSpinWait();
                            inside.decrementAndGet();
                            g.unpin();
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                th.start();
                threads.add(th);
            }
            started.await();
            int r = round;
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> g.close(() -> {
                if (inside.get() != 0) freedWhilePinned.set(true);
            }), () -> "round " + r);
            for (Thread th : threads) th.join(30_000);
            assertFalse(freedWhilePinned.get(), "released while an operation held a pin");
            assertEquals(null, failure.get());
            assertFalse(g.pin());
        }
    }

    @Test
    void viewsOfOneBufferArePinnedOnceAndAFailedSetUnpinsWhatItPinned() {
        NativeBuffer flat = NativeBuffer.allocate(DType.FLOAT32, 64);
        NativeBuffer other = NativeBuffer.allocate(DType.FLOAT32, 8);
        NativeBuffer closed = NativeBuffer.allocate(DType.FLOAT32, 8);
        Tensor late = closed.tensor();
        closed.close();
        try (Clipper c = Clipper.create(Backend.CPU)) {
            GradientSet views = GradientSet.of(List.of(flat.tensor(0, 16), flat.tensor(16, 16), other.tensor(), flat.tensor(32, 32)));
            for (int i = 0; i < 64; i++) flat.putFloat(i, 2);
            assertEquals(16.0, c.norms(views, NormType.L2).totalNorm());
            GradientSet failing = GradientSet.of(List.of(flat.tensor(0, 8), other.tensor(), late));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.norms(failing, NormType.L2));
            assertEquals("tensor 2: tensor view of a closed NativeBuffer", e.getMessage());
        }
        // every pin was given back: the closes do not wait
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            flat.close();
            other.close();
        });
        assertFalse(flat.isOpen());
    }
}
