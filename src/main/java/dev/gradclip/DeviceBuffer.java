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

    /** The backend whose device holds this memory. */
    public Backend kind() { return kind; }

    public DType dtype() { return dtype; }

    public long count() { return count; }

    /** Whether the memory is still allocated. */
    public boolean isOpen() { return guard.isOpen(); }

    /** The device address of element 0; fails once closed. */
    public long address() {
        long a = address;
        if (a == 0 || !guard.isOpen()) throw new IllegalStateException("device buffer is closed");
        return a;
    }

    MemoryGuard guard() { return guard; }

    /** Whether the device memory is host memory (emulated backend), which host views may alias. */
    boolean isHostMemory() { return memory.isHostMemory(); }

    /** A view of every element, clipped in place by the backend that allocated it. */
    public Tensor tensor() {
        return new Tensor.Device(address(), count, dtype, this);
    }

    /** Copies the elements of {@code src} (a float[], double[] or short[] matching the dtype) in, from element 0. */
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

    /** Copies elements {@code [0, dst.length)} out into {@code dst}. */
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

    /** Frees the memory; waits for a running operation on a view; idempotent. */
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
