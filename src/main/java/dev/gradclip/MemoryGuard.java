package dev.gradclip;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The open/closed state of memory that tensor views point into ({@link NativeBuffer}, {@link DeviceBuffer}),
 * with pins: {@link Clipper} pins the owner of every tensor for the duration of an operation, and
 * {@link #close(Runnable)} refuses new pins, waits until the running operations have unpinned, then frees.
 * So closing a buffer on another thread while an operation reads it never frees memory under the
 * kernels: the close waits, and later operations fail with {@link IllegalStateException}.
 *
 * <p>The state is one atomic int: the sign bit is "closed", the other 31 bits count the pins. Pinning and
 * unpinning are one compare-and-set each and take no lock, because an operation over 10,000 small tensors
 * pins and unpins 10,000 buffers (a monitor enter, exit and {@code notifyAll} per buffer cost ~0.5 ms a
 * call there, bench/NOTES.md item 22). Only the last unpin of a closing guard takes the monitor, to wake
 * the closer.
 */
final class MemoryGuard {
    private static final int CLOSED = Integer.MIN_VALUE;
    private static final int PINS = Integer.MAX_VALUE;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(MemoryGuard.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Closed in the sign bit, the pins below; a field of its own object, not an AtomicInteger, saves a load per pin. */
    private volatile int state;

    boolean isOpen() {
        return state >= 0;
    }

    /**
     * Pins the memory open; false if it is closed (or closing).
     *
     * @throws IllegalStateException if the memory already holds 2^31 - 1 pins
     */
    boolean pin() {
        for (;;) {
            int s = state;
            if (s < 0) return false;
            if (s == PINS) throw new IllegalStateException("too many concurrent pins: " + s);
            if (STATE.compareAndSet(this, s, s + 1)) return true;
        }
    }

    /**
     * Releases one pin; the last pin of a closing guard wakes the closer.
     *
     * @throws IllegalStateException if nothing is pinned
     */
    void unpin() {
        for (;;) {
            int s = state;
            if ((s & PINS) == 0) throw new IllegalStateException("unbalanced unpin");
            if (STATE.compareAndSet(this, s, s - 1)) {
                if (s - 1 == CLOSED) {
                    synchronized (this) {
                        notifyAll();
                    }
                }
                return;
            }
        }
    }

    /** Marks the memory closed, waits for the pins to go, then runs {@code release} once. Idempotent. */
    void close(Runnable release) {
        for (;;) {
            int s = state;
            if (s < 0) return;
            if (STATE.compareAndSet(this, s, s | CLOSED)) break;
        }
        synchronized (this) {
            boolean interrupted = false;
            // the last unpin notifies while holding this monitor, so it cannot slip between the check and wait
            while (state != CLOSED) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the memory must not be freed under a running operation
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        release.run();
    }
}
