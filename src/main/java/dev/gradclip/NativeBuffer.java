package dev.gradclip;

import dev.gradclip.internal.Memory;
import java.util.Objects;

/**
 * Zeroed native (off-heap) host memory holding {@code count} elements of one {@link DType}; 64-bit sized,
 * so it can hold tensors beyond 2^31 elements. Views from {@link #tensor()} fail once it is closed;
 * {@link #close()} waits for a running operation on a view to finish (it may be called from any thread).
 * The element accessors must not race with {@code close()}.
 */
public final class NativeBuffer implements AutoCloseable {
    /** Raw off-heap access (internal: handed only to gradclip's own classes). */
    private static final Memory MEMORY = Memory.access();

    private final DType dtype;
    private final long count;
    private final MemoryGuard guard = new MemoryGuard();
    private volatile long address;

    private NativeBuffer(DType dtype, long count) {
        this.dtype = Objects.requireNonNull(dtype, "dtype is null");
        if (count < 0) throw new IllegalArgumentException("negative element count: " + count);
        if (count > Long.MAX_VALUE / 8) throw new IllegalArgumentException("element count too large: " + count);
        this.count = count;
        this.address = MEMORY.allocate(count * dtype.byteSize());
    }

    /**
     * Allocates {@code count} zeroed elements of {@code dtype} off the Java heap. Close the buffer to free them.
     *
     * @param dtype the type of the elements
     * @param count the number of elements, ≥ 0
     * @return the open buffer
     * @throws IllegalArgumentException if {@code count} is negative or above {@code Long.MAX_VALUE / 8}
     *     (before anything is allocated)
     * @throws OutOfMemoryError if the memory cannot be allocated
     */
    public static NativeBuffer allocate(DType dtype, long count) {
        return new NativeBuffer(dtype, count);
    }

    /** {@return the type of the elements} */
    public DType dtype() { return dtype; }

    /** {@return the number of elements} */
    public long count() { return count; }

    /** {@return whether the memory is still allocated} False from the start of {@link #close()} on. */
    public boolean isOpen() { return guard.isOpen(); }

    MemoryGuard guard() { return guard; }

    /**
     * {@return the native address of element 0} Valid until the buffer is closed.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public long address() {
        long a = address;
        if (a == 0 || !guard.isOpen()) throw new IllegalStateException("NativeBuffer is closed");
        return a;
    }

    /**
     * {@return a view of every element} Operations on it pin this buffer open while they run.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public Tensor tensor() {
        return tensor(0, count);
    }

    /**
     * {@return a view of elements {@code [offset, offset + length)}} Operations on it pin this buffer open
     * while they run.
     *
     * @param offset the index of the view's first element
     * @param length the number of elements
     * @throws IndexOutOfBoundsException if the range is negative or outside the buffer
     * @throws IllegalStateException if the buffer is closed
     */
    public Tensor tensor(long offset, long length) {
        if (offset < 0 || length < 0 || offset > count - length) {
            throw new IndexOutOfBoundsException("view [" + offset + ", +" + length + ") outside a buffer of " + count);
        }
        return new Tensor.OffHeap(address() + offset * dtype.byteSize(), length, dtype, this);
    }

    private long at(long index, DType expected) {
        if (dtype != expected && !(expected == DType.FLOAT16 && dtype == DType.BFLOAT16)) {
            throw new IllegalArgumentException("buffer holds " + dtype + ", not " + expected);
        }
        if (index < 0 || index >= count) throw new IndexOutOfBoundsException("index " + index + " of " + count);
        return address() + index * dtype.byteSize();
    }

    /**
     * {@return element {@code index} of a FLOAT32 buffer}
     *
     * @param index the element's index
     * @throws IllegalArgumentException if the buffer does not hold FLOAT32
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public float getFloat(long index) { return MEMORY.getFloat(at(index, DType.FLOAT32)); }

    /**
     * Sets element {@code index} of a FLOAT32 buffer.
     *
     * @param index the element's index
     * @param v the value, stored with its bits unchanged
     * @throws IllegalArgumentException if the buffer does not hold FLOAT32
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public void putFloat(long index, float v) { MEMORY.putFloat(at(index, DType.FLOAT32), v); }

    /**
     * {@return element {@code index} of a FLOAT64 buffer}
     *
     * @param index the element's index
     * @throws IllegalArgumentException if the buffer does not hold FLOAT64
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public double getDouble(long index) { return MEMORY.getDouble(at(index, DType.FLOAT64)); }

    /**
     * Sets element {@code index} of a FLOAT64 buffer.
     *
     * @param index the element's index
     * @param v the value, stored with its bits unchanged
     * @throws IllegalArgumentException if the buffer does not hold FLOAT64
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public void putDouble(long index, double v) { MEMORY.putDouble(at(index, DType.FLOAT64), v); }

    /**
     * {@return the raw bits of element {@code index} of a FLOAT16 or BFLOAT16 buffer}
     *
     * @param index the element's index
     * @throws IllegalArgumentException if the buffer holds FLOAT32 or FLOAT64
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public short getBits(long index) { return MEMORY.getShort(at(index, DType.FLOAT16)); }

    /**
     * Sets the raw bits of element {@code index} of a FLOAT16 or BFLOAT16 buffer.
     *
     * @param index the element's index
     * @param v the fp16 or bf16 bits
     * @throws IllegalArgumentException if the buffer holds FLOAT32 or FLOAT64
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code [0, count())}
     * @throws IllegalStateException if the buffer is closed
     */
    public void putBits(long index, short v) { MEMORY.putShort(at(index, DType.FLOAT16), v); }

    /**
     * Copies {@code src} into elements {@code [index, index + src.length)} of a FLOAT32 buffer, bits unchanged.
     *
     * @param index the index of the first element written
     * @param src the values
     * @throws IllegalArgumentException if the buffer does not hold FLOAT32
     * @throws IndexOutOfBoundsException if the range is outside the buffer (nothing is written)
     * @throws IllegalStateException if the buffer is closed
     */
    public void copyFrom(long index, float[] src) {
        requireFloat32();
        rangeCheck(index, src.length);
        MEMORY.write(address() + index * 4, src, 0, src.length);
    }

    /**
     * Copies elements {@code [index, index + dst.length)} of a FLOAT32 buffer into {@code dst}, bits unchanged.
     *
     * @param index the index of the first element read
     * @param dst receives the values
     * @throws IllegalArgumentException if the buffer does not hold FLOAT32
     * @throws IndexOutOfBoundsException if the range is outside the buffer (nothing is read)
     * @throws IllegalStateException if the buffer is closed
     */
    public void copyTo(long index, float[] dst) {
        requireFloat32();
        rangeCheck(index, dst.length);
        MEMORY.read(address() + index * 4, dst, 0, dst.length);
    }

    private void requireFloat32() {
        if (dtype != DType.FLOAT32) throw new IllegalArgumentException("buffer holds " + dtype + ", not FLOAT32");
    }

    private void rangeCheck(long index, int length) {
        if (index < 0 || index > count - length) {
            throw new IndexOutOfBoundsException("range [" + index + ", +" + length + ") of " + count);
        }
    }

    /**
     * Frees the memory; idempotent. An operation running on a view finishes first (this call waits for
     * it); views of this buffer fail afterwards.
     */
    @Override
    public void close() {
        guard.close(() -> {
            long a = address;
            address = 0;
            MEMORY.free(a);
        });
    }

    @Override
    public String toString() {
        return "NativeBuffer{" + dtype + " x" + count + (isOpen() ? "" : ", closed") + "}";
    }
}
