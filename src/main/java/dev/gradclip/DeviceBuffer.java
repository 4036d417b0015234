package dev.gradclip;

import dev.gradclip.backend.DeviceMemory;
import dev.gradclip.internal.Memory;
import java.util.Objects;

/**
 * Memory of a native backend's device (GPU memory for CUDA; host memory the kernels read directly for
 * the emulated backend), from {@link Clipper#allocate(DType, long)}: {@code count} elements of one
 * {@link DType}, 64-bit sized. Copies in and out of Java arrays; {@link #tensor()} is a view the backend
 * clips in place, without staging. {@link #close()} frees it: it waits for a running operation on a
 * view to finish, and later operations on its views fail with {@link IllegalStateException}.
 */
public final class DeviceBuffer implements AutoCloseable {
    /** Raw off-heap access (internal: handed only to gradclip's own classes). */
    private static final Memory MEMORY = Memory.access();

    private final DeviceMemory memory;
    private final Backend kind;
    private final DType dtype;
    private final long count;
    private final MemoryGuard guard = new MemoryGuard();
    private volatile long address;

    DeviceBuffer(DeviceMemory memory, Backend kind, DType dtype, long count) {
        this.memory = Objects.requireNonNull(memory);
        this.kind = Objects.requireNonNull(kind);
        this.dtype = Objects.requireNonNull(dtype, "dtype is null");
        if (count < 0) throw new IllegalArgumentException("negative element count: " + count);
        long bytes;
        try {
            bytes = Math.multiplyExact(count, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(count + " elements of " + dtype + " overflow a 64-bit byte size");
        }
        this.count = count;
        this.address = memory.allocate(Math.max(1, bytes));
    }

    /** {@return the backend whose device holds this memory: CUDA or EMULATED} */
    public Backend kind() { return kind; }

    /** {@return the type of the elements} */
    public DType dtype() { return dtype; }

    /** {@return the number of elements} */
    public long count() { return count; }

    /** {@return whether the memory is still allocated} False from the start of {@link #close()} on. */
    public boolean isOpen() { return guard.isOpen(); }

    /**
     * {@return the device address of element 0} Valid until the buffer is closed.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public long address() {
        long a = address;
        if (a == 0 || !guard.isOpen()) throw new IllegalStateException("device buffer is closed");
        return a;
    }

    MemoryGuard guard() { return guard; }

    /** Whether the device memory is host memory (emulated backend), which host views may alias. */
    boolean isHostMemory() { return memory.isHostMemory(); }

    /**
     * {@return a view of every element, clipped in place by the backend that allocated it} Operations on
     * it pin this buffer open while they run; a clipper of another backend refuses it.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public Tensor tensor() {
        return new Tensor.Device(address(), count, dtype, this);
    }

    /**
     * Copies the elements of {@code src} into elements {@code [0, length of src)}, bits unchanged (staged
     * through native host memory). The buffer is pinned open during the copy, so a concurrent
     * {@link #close()} waits for it.
     *
     * @param src a {@code float[]} (FLOAT32), {@code double[]} (FLOAT64) or {@code short[]} (FLOAT16 or
     *     BFLOAT16 bits), no longer than the buffer
     * @throws IllegalArgumentException if {@code src} is not such an array or does not match the dtype
     * @throws IndexOutOfBoundsException if {@code src} has more elements than the buffer
     * @throws IllegalStateException if the buffer is closed, or the backend reports a failed copy
     */
    public void copyFrom(Object src) {
        long n = length(src);
        long bytes = n * dtype.byteSize();
        long host = MEMORY.allocate(bytes);
        try {
            if (src instanceof float[] f) MEMORY.write(host, f, 0, f.length);
            else if (src instanceof double[] d) MEMORY.write(host, d, 0, d.length);
            else MEMORY.write(host, (short[]) src, 0, ((short[]) src).length);
            pinned(() -> memory.copyToDevice(address(), host, bytes));
        } finally {
            MEMORY.free(host);
        }
    }

    /**
     * Copies elements {@code [0, length of dst)} into {@code dst}, bits unchanged (staged through native
     * host memory). The buffer is pinned open during the copy, so a concurrent {@link #close()} waits for it.
     *
     * @param dst a {@code float[]} (FLOAT32), {@code double[]} (FLOAT64) or {@code short[]} (FLOAT16 or
     *     BFLOAT16 bits), no longer than the buffer
     * @throws IllegalArgumentException if {@code dst} is not such an array or does not match the dtype
     * @throws IndexOutOfBoundsException if {@code dst} has more elements than the buffer
     * @throws IllegalStateException if the buffer is closed, or the backend reports a failed copy
     */
    public void copyTo(Object dst) {
        long n = length(dst);
        long bytes = n * dtype.byteSize();
        long host = MEMORY.allocate(bytes);
        try {
            pinned(() -> memory.copyToHost(host, address(), bytes));
            if (dst instanceof float[] f) MEMORY.read(host, f, 0, f.length);
            else if (dst instanceof double[] d) MEMORY.read(host, d, 0, d.length);
            else MEMORY.read(host, (short[]) dst, 0, ((short[]) dst).length);
        } finally {
            MEMORY.free(host);
        }
    }

    private void pinned(Runnable copy) {
        if (!guard.pin()) throw new IllegalStateException("device buffer is closed");
        try {
            copy.run();
        } finally {
            guard.unpin();
        }
    }

    private long length(Object array) {
        Objects.requireNonNull(array, "array is null");
        long n;
        DType expected;
        if (array instanceof float[] f) { n = f.length; expected = DType.FLOAT32; }
        else if (array instanceof double[] d) { n = d.length; expected = DType.FLOAT64; }
        else if (array instanceof short[] s) { n = s.length; expected = dtype == DType.BFLOAT16 ? DType.BFLOAT16 : DType.FLOAT16; }
        else throw new IllegalArgumentException("expected a float[], double[] or short[], got " + array.getClass().getSimpleName());
        if (expected != dtype) throw new IllegalArgumentException("buffer holds " + dtype + ", array is " + expected);
        if (n > count) throw new IndexOutOfBoundsException(n + " elements do not fit a buffer of " + count);
        return n;
    }

    /**
     * Frees the memory; idempotent, and callable from any thread. An operation or copy running on this
     * buffer finishes first (this call waits for it); later operations on its views and later copies
     * fail with {@link IllegalStateException}.
     */
    @Override
    public void close() {
        guard.close(() -> {
            long a = address;
            address = 0;
            memory.free(a);
        });
    }

    @Override
    public String toString() {
        return "DeviceBuffer{" + kind.cliName() + ", " + dtype + " x" + count + (isOpen() ? "" : ", closed") + "}";
    }
}
