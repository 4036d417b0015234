package dev.gradclip.backend.nativeapi;

/**
 * The controls of the emulated CUDA runtime in {@code libgradclip-emu} ({@code src/main/cpp/gradclip_emu.h};
 * the CUDA library has none): non-blocking emulated streams and events standing in for a training framework's,
 * copies queued on them (a backward pass writing gradients), failures injected at a call site of the runtime,
 * and the hazard counter (queued copies whose source changed before they ran). For tests of the stream, event
 * and error paths without a GPU; the model is described in {@code src/main/cuda/emu/runtime.cpp}.
 * Failures throw {@link IllegalStateException} with the returned code (the emulated {@code cudaError_t}, 400 for
 * an unknown stream or event; a {@code gc_status} for the streams).
 * The fault state is process-wide, like a CUDA context: call {@link #reset()} after a test that injects.
 */
public final class EmulatorControl {
    /** A kernel launch fails: the kernel does not run, the launch plan reports the error. */
    public static final int SITE_LAUNCH = 0;
    /** {@code cudaMemcpyAsync} fails: nothing is queued. */
    public static final int SITE_MEMCPY = 1;
    /** {@code cudaStreamSynchronize} fails: the stream's queued work has not run. */
    public static final int SITE_STREAM_SYNC = 2;
    /** {@code cudaEventSynchronize} fails: the work before the event has not run. */
    public static final int SITE_EVENT_SYNC = 3;
    /** {@code cudaMalloc} / {@code cudaMallocHost} fail. */
    public static final int SITE_MALLOC = 4;
    /** Flag of {@link #injectFailure}: a sticky error, the emulated context is lost until {@link #reset()}. */
    public static final int LOSE_CONTEXT = 1;

    private EmulatorControl() {
    }

    /**
     * The {@code (skip + 1)}-th call at {@code site} from now on fails with the CUDA error {@code error}, once
     * (0 disarms the site); with {@link #LOSE_CONTEXT} the queued work is dropped and every later call fails.
     */
    public static void injectFailure(int site, int error, int skip, int flags) {
        if (EmulatedLibrary.gc_emu_inject_failure(site, error, skip, flags) != 0) {
            throw new IllegalArgumentException("unknown call site " + site);
        }
    }

    /** Disarms every site, makes a lost context usable again and zeroes the counters. */
    public static void reset() {
        EmulatedLibrary.gc_emu_reset();
    }

    /** Queued copies from pinned host memory whose source changed between the enqueue and the copy (a race on a GPU). */
    public static long hazards() {
        return EmulatedLibrary.gc_emu_hazards();
    }

    /** {@code cudaStreamWaitEvent} calls made since the last {@link #reset()}. */
    public static long streamWaits() {
        return EmulatedLibrary.gc_emu_stream_waits();
    }

    /** Work queued on {@code stream} that has not run yet. */
    public static long queued(long stream) {
        long n = EmulatedLibrary.gc_emu_queued(stream);
        if (n < 0) throw new IllegalArgumentException("not an emulated stream: " + stream);
        return n;
    }

    /** A new non-blocking emulated stream (stream 0 is not ordered after it): gc_stream_create. */
    public static long createStream() {
        long[] out = new long[1];
        check(EmulatedLibrary.gc_stream_create(out), "gc_stream_create");
        return out[0];
    }

    /** Runs what is queued on the stream, then destroys it: gc_stream_destroy. */
    public static void destroyStream(long stream) {
        check(EmulatedLibrary.gc_stream_destroy(stream), "gc_stream_destroy");
    }

    /** Runs everything queued on {@code stream}. */
    public static void synchronize(long stream) {
        check(EmulatedLibrary.gc_emu_stream_synchronize(stream), "gc_emu_stream_synchronize");
    }

    /** A new emulated event; its handle. */
    public static long createEvent() {
        long[] out = new long[1];
        check(EmulatedLibrary.gc_emu_event_create(out), "gc_emu_event_create");
        return out[0];
    }

    public static void destroyEvent(long event) {
        check(EmulatedLibrary.gc_emu_event_destroy(event), "gc_emu_event_destroy");
    }

    /** {@code cudaEventRecord(event, stream)}: the event completes when the work queued before it has run. */
    public static void record(long event, long stream) {
        check(EmulatedLibrary.gc_emu_event_record(event, stream), "gc_emu_event_record");
    }

    /** Queues a copy of {@code bytes} from {@code src} to {@code dst} on {@code stream} without running it. */
    public static void enqueueCopy(long dst, long src, long bytes, long stream) {
        check(EmulatedLibrary.gc_emu_enqueue_copy(dst, src, bytes, stream), "gc_emu_enqueue_copy");
    }

    private static void check(int rc, String call) {
        if (rc != 0) throw new IllegalStateException(call + " failed with code " + rc);
    }
}
