package dev.gradclip;

/**
 * The open/closed state of memory that tensor views point into ({@link NativeBuffer}, {@link DeviceBuffer}),
 * with pins: {@link Clipper} pins the owner of every tensor for the duration of an operation, and
 * {@link #close(Runnable)} refuses new pins, waits until the running operations have unpinned, then frees.
 * So closing a buffer on another thread while an operation reads it never frees memory under the
 * kernels: the close waits, and later operations fail with {@link IllegalStateException}.
 */
final class MemoryGuard {
    private int pins;
    private boolean closed;

    synchronized boolean isOpen() {
        return !closed;
    }

    /** Pins the memory open; false if it is closed (or closing). */
    synchronized boolean pin() {
        if (closed) return false;
        pins++;
        return true;
    }

    synchronized void unpin() {
        if (pins <= 0) throw new IllegalStateException("unbalanced unpin");
        if (--pins == 0) notifyAll();
    }

    /** Marks the memory closed, waits for the pins to go, then runs {@code release} once. Idempotent. */
    void close(Runnable release) {
        synchronized (this) {
            if (closed) return;
            closed = true;
            boolean interrupted = false;
            while (pins > 0) {
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
