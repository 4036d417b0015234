package dev.gradclip.backend;

import dev.gradclip.Backend;

/**
 * A backend's device memory, for {@link dev.gradclip.DeviceBuffer}: CUDA global memory, or for the emulated
 * backend host memory its kernels read directly. Addresses are device addresses as {@code long}.
 */
public interface DeviceMemory {
    /** The backend whose device this memory belongs to (CUDA or EMULATED). */
    Backend kind();

    /**
     * Allocates {@code bytes} (&gt; 0) bytes.
     *
     * @throws OutOfMemoryError with the backend's reason when the allocation fails
     */
    long allocate(long bytes);

    /** Frees memory from {@link #allocate}. */
    void free(long address);

    /**
     * Copies {@code bytes} from native host memory at {@code hostSrc} to the device, on the backend's current
     * stream (after the work queued there), synchronously.
     */
    void copyToDevice(long deviceDst, long hostSrc, long bytes);

    /**
     * Copies {@code bytes} from the device to native host memory at {@code hostDst}, on the backend's current
     * stream (after the clips queued there), synchronously.
     */
    void copyToHost(long hostDst, long deviceSrc, long bytes);

    /** Whether device memory is host memory (the emulated backend): a host view may alias it. */
    boolean isHostMemory();
}
