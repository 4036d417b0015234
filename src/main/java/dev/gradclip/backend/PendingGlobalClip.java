package dev.gradclip.backend;

/** A fused global-norm clip that may still be running. */
public interface PendingGlobalClip {
    /** Waits for the clip (the first call) and returns its result; later calls return the same result. */
    GlobalClipResult await();

    /** Whether the result has reached the host, so that {@link #await()} returns without waiting. */
    boolean isDone();
}
