package dev.gradclip;

import dev.gradclip.internal.Memory;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Objects;
import org.bytedeco.javacpp.Pointer;
import org.jspecify.annotations.Nullable;

/**
 * A view of one gradient tensor where it already lives: a Java array, a direct NIO buffer, native
 * memory by address, or CUDA device memory. Nothing is copied; operations modify the memory in place.
 * A view has a {@link DType} and a 64-bit element count; tensors beyond 2^31 elements must live off-heap.
 *
 * <p>A view is immutable and may be shared between threads; the memory it points at is the caller's (or
 * the {@link NativeBuffer} / {@link DeviceBuffer} it came from), and the caller must not write it while
 * an operation runs on it. The factories check everything they can before returning: a bad range,
 * dtype, byte order or a null argument throws, and nothing is allocated or copied.
 */
public abstract sealed class Tensor permits Tensor.HeapFloats, Tensor.HeapDoubles, Tensor.HeapShorts, Tensor.OffHeap,
        Tensor.Device {
    /**
     * Raw off-heap access (internal: handed only to gradclip's own classes), in a holder so that heap-only
     * use never initializes Memory (whose JDK 17 version would touch sun.misc.Unsafe).
     */
    private static final class OffHeapAccess {
        static final Memory MEMORY = Memory.access();
    }

    private final DType dtype;
    private final long size;

    Tensor(DType dtype, long size) {
        this.dtype = Objects.requireNonNull(dtype, "dtype is null");
        if (size < 0) throw new IllegalArgumentException("negative element count: " + size);
        this.size = size;
    }

    /** {@return the storage type of the elements} */
    public final DType dtype() { return dtype; }

    /** {@return the number of elements (64-bit, ≥ 0)} */
    public final long size() { return size; }

    /** {@return the number of bytes the elements occupy: {@code size() × dtype().byteSize()}} */
    public final long byteSize() { return size * dtype.byteSize(); }

    /**
     * Throws {@link IllegalStateException} if the memory behind this view was closed or freed, as far as
     * gradclip can tell: a closed {@link NativeBuffer} or {@link DeviceBuffer}, or a deallocated JavaCPP
     * pointer (memory the caller passed by address cannot be checked). Operations call it on every tensor
     * before touching any.
     *
     * @throws IllegalStateException if the memory was closed or freed, naming what held it
     */
    public void checkAccessible() {
    }

    // ---------------------------------------------------------------- factories: Java arrays

    /**
     * A view of a whole {@code float[]}, FLOAT32.
     *
     * @param array the gradient, clipped in place
     * @return a view of {@code array[0, array.length)}
     */
    public static Tensor of(float[] array) {
        Objects.requireNonNull(array, "array is null");
        return new HeapFloats(array, 0, array.length);
    }

    /**
     * A view of {@code array[offset, offset + length)}, FLOAT32.
     *
     * @param array the gradient's storage, clipped in place
     * @param offset the index of the view's first element
     * @param length the number of elements
     * @return the view
     * @throws IllegalArgumentException if {@code length} is negative
     * @throws IndexOutOfBoundsException if {@code offset} is negative or the range runs past the array
     */
    public static Tensor of(float[] array, int offset, int length) {
        return new HeapFloats(array, offset, length);
    }

    /**
     * A view of a whole {@code double[]}, FLOAT64.
     *
     * @param array the gradient, clipped in place
     * @return a view of {@code array[0, array.length)}
     */
    public static Tensor of(double[] array) {
        Objects.requireNonNull(array, "array is null");
        return new HeapDoubles(array, 0, array.length);
    }

    /**
     * A view of {@code array[offset, offset + length)}, FLOAT64.
     *
     * @param array the gradient's storage, clipped in place
     * @param offset the index of the view's first element
     * @param length the number of elements
     * @return the view
     * @throws IllegalArgumentException if {@code length} is negative
     * @throws IndexOutOfBoundsException if {@code offset} is negative or the range runs past the array
     */
    public static Tensor of(double[] array, int offset, int length) {
        return new HeapDoubles(array, offset, length);
    }

    /**
     * A view of a whole {@code short[]} of raw fp16 bits (FLOAT16) or bf16 bits (BFLOAT16).
     *
     * @param bits the gradient's bits, clipped in place
     * @param dtype FLOAT16 or BFLOAT16
     * @return a view of {@code bits[0, bits.length)}
     * @throws IllegalArgumentException if {@code dtype} is FLOAT32 or FLOAT64
     */
    public static Tensor of(short[] bits, DType dtype) {
        Objects.requireNonNull(bits, "array is null");
        return new HeapShorts(bits, 0, bits.length, dtype);
    }

    /**
     * A view of {@code bits[offset, offset + length)}, raw fp16 bits (FLOAT16) or bf16 bits (BFLOAT16).
     *
     * @param bits the gradient's storage, clipped in place
     * @param offset the index of the view's first element
     * @param length the number of elements
     * @param dtype FLOAT16 or BFLOAT16
     * @return the view
     * @throws IllegalArgumentException if {@code dtype} is FLOAT32 or FLOAT64, or {@code length} is negative
     * @throws IndexOutOfBoundsException if {@code offset} is negative or the range runs past the array
     */
    public static Tensor of(short[] bits, int offset, int length, DType dtype) {
        return new HeapShorts(bits, offset, length, dtype);
    }

    // ---------------------------------------------------------------- factories: off-heap

    /**
     * A view of a direct {@link FloatBuffer} from its position to its limit, FLOAT32. The buffer keeps the
     * memory alive while the view is reachable; its position and limit are read once, here.
     *
     * @param buffer a direct, writable buffer in the native byte order
     * @return the view
     * @throws IllegalArgumentException if the buffer is not direct, is read-only or is not in the native order
     */
    public static Tensor of(FloatBuffer buffer) {
        return ofDirect(buffer, buffer == null ? null : buffer.order(), DType.FLOAT32, 4);
    }

    /**
     * A view of a direct {@link DoubleBuffer} from its position to its limit, FLOAT64. The buffer keeps
     * the memory alive while the view is reachable; its position and limit are read once, here.
     *
     * @param buffer a direct, writable buffer in the native byte order
     * @return the view
     * @throws IllegalArgumentException if the buffer is not direct, is read-only or is not in the native order
     */
    public static Tensor of(DoubleBuffer buffer) {
        return ofDirect(buffer, buffer == null ? null : buffer.order(), DType.FLOAT64, 8);
    }

    /**
     * A view of a direct {@link ShortBuffer} of fp16 or bf16 bits, from its position to its limit. The
     * buffer keeps the memory alive while the view is reachable; its position and limit are read once, here.
     *
     * @param buffer a direct, writable buffer in the native byte order
     * @param dtype FLOAT16 or BFLOAT16
     * @return the view
     * @throws IllegalArgumentException if {@code dtype} is FLOAT32 or FLOAT64, or the buffer is not
     *     direct, is read-only or is not in the native order
     */
    public static Tensor of(ShortBuffer buffer, DType dtype) {
        requireShort(dtype);
        return ofDirect(buffer, buffer == null ? null : buffer.order(), dtype, 2);
    }

    /**
     * A view of a direct {@link ByteBuffer} holding elements of {@code dtype}, from its position to its
     * limit. A new {@code ByteBuffer} is big-endian: set {@code buffer.order(ByteOrder.nativeOrder())} first.
     * The buffer keeps the memory alive while the view is reachable; its position and limit are read once, here.
     *
     * @param buffer a direct, writable buffer in the native byte order
     * @param dtype the type of the elements
     * @return a view of {@code buffer.remaining() / dtype.byteSize()} elements
     * @throws IllegalArgumentException if the remaining bytes are not a whole number of elements, or the
     *     buffer is not direct, is read-only or is not in the native order
     */
    public static Tensor of(ByteBuffer buffer, DType dtype) {
        Objects.requireNonNull(dtype, "dtype is null");
        if (buffer != null && buffer.remaining() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("direct buffer of " + buffer.remaining() + " bytes is not a whole number of "
                    + dtype + " elements");
        }
        return ofDirect(buffer, buffer == null ? null : buffer.order(), dtype, 1);
    }

    private static Tensor ofDirect(Buffer buffer, ByteOrder order, DType dtype, int unitBytes) {
        Objects.requireNonNull(buffer, "buffer is null");
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct: wrap its backing array with Tensor.of(array) instead");
        }
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("buffer is read-only: gradients are clipped in place");
        }
        if (order != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("buffer byte order " + order + " is not the native order " + ByteOrder.nativeOrder());
        }
        long address = OffHeapAccess.MEMORY.bufferAddress(buffer) + (long) buffer.position() * unitBytes;
        long count = (long) buffer.remaining() * unitBytes / dtype.byteSize();
        return new OffHeap(address, count, dtype, buffer);
    }

    /**
     * A view of native host memory by address: {@code count} elements of {@code dtype} starting at
     * {@code address}. The caller keeps the memory allocated and unmoved while operations run on the view;
     * gradclip cannot check that it is (an invalid address crashes the JVM).
     *
     * @param address the address of element 0 (not 0 unless {@code count} is 0)
     * @param count the number of elements, ≥ 0
     * @param dtype the type of the elements
     * @return the view
     * @throws IllegalArgumentException if {@code count} is negative or above {@code Long.MAX_VALUE / 8}, or
     *     {@code address} is 0 for a non-empty view
     */
    public static Tensor ofAddress(long address, long count, DType dtype) {
        return new OffHeap(address, count, dtype, null);
    }

    /**
     * A view of a JavaCPP {@link Pointer}'s host memory from its position to its limit (or its capacity
     * when no limit is set), with {@code dtype} elements. Deallocating the pointer afterwards makes later
     * operations on this view fail with {@link IllegalStateException}; it must not be deallocated while
     * an operation runs.
     *
     * @param pointer the memory; its position, limit and element size are read once, here
     * @param dtype the type of the elements
     * @return the view
     * @throws IllegalStateException if the pointer is null or was deallocated
     * @throws IllegalArgumentException if the position is past the limit, or the bytes are not a whole
     *     number of elements
     */
    public static Tensor of(Pointer pointer, DType dtype) {
        Objects.requireNonNull(pointer, "pointer is null");
        Objects.requireNonNull(dtype, "dtype is null");
        if (pointer.isNull()) throw new IllegalStateException("pointer is null or was deallocated");
        long unit = pointer.sizeof();
        long end = pointer.limit() > 0 ? pointer.limit() : pointer.capacity();
        long bytes = (end - pointer.position()) * unit;
        if (bytes < 0) throw new IllegalArgumentException("pointer position is past its limit");
        if (bytes % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("pointer holds " + bytes + " bytes, not a whole number of " + dtype + " elements");
        }
        return new OffHeap(pointer.address() + pointer.position() * unit, bytes / dtype.byteSize(), dtype, pointer);
    }

    /**
     * A view of CUDA device memory owned by the caller (for the CUDA backend): {@code count} elements at
     * the device address {@code address}. The caller keeps the memory allocated while operations run on it.
     *
     * @param address the device address of element 0 (not 0 unless {@code count} is 0)
     * @param count the number of elements, ≥ 0
     * @param dtype the type of the elements
     * @return the view
     * @throws IllegalArgumentException if {@code count} is negative or above {@code Long.MAX_VALUE / 8}, or
     *     {@code address} is 0 for a non-empty view
     */
    public static Tensor onDevice(long address, long count, DType dtype) {
        return new Device(address, count, dtype, null);
    }

    /**
     * A view of CUDA device memory held by a JavaCPP presets pointer (for example from {@code cudaMalloc}):
     * from its position, {@code count} elements of {@code dtype}. The caller keeps the memory allocated
     * while operations run on it.
     *
     * @param devicePointer the device memory; its address, position and element size are read once, here
     * @param count the number of elements, ≥ 0
     * @param dtype the type of the elements
     * @return the view
     * @throws IllegalStateException if the pointer is null or was freed
     * @throws IllegalArgumentException if {@code count} is negative or above {@code Long.MAX_VALUE / 8}
     */
    public static Tensor onDevice(Pointer devicePointer, long count, DType dtype) {
        Objects.requireNonNull(devicePointer, "device pointer is null");
        Objects.requireNonNull(dtype, "dtype is null");
        if (devicePointer.isNull()) throw new IllegalStateException("device pointer is null or was freed");
        return new Device(devicePointer.address() + devicePointer.position() * devicePointer.sizeof(), count, dtype, null);
    }

    private static void requireShort(DType dtype) {
        Objects.requireNonNull(dtype, "dtype is null");
        if (dtype != DType.FLOAT16 && dtype != DType.BFLOAT16) {
            throw new IllegalArgumentException("a short[]/ShortBuffer holds FLOAT16 or BFLOAT16 bits, not " + dtype);
        }
    }

    private static void checkRange(int arrayLength, int offset, int length) {
        if (offset < 0 || length < 0 || offset > arrayLength - length) {
            throw new IndexOutOfBoundsException("view [" + offset + ", " + offset + "+" + length + ") outside an array of "
                    + arrayLength);
        }
    }

    // ---------------------------------------------------------------- the kinds of view

    /** A range of a {@code float[]}. */
    public static final class HeapFloats extends Tensor {
        private final float[] array;
        private final int offset;

        HeapFloats(float[] array, int offset, int length) {
            super(DType.FLOAT32, length);
            Objects.requireNonNull(array, "array is null");
            checkRange(array.length, offset, length);
            this.array = array;
            this.offset = offset;
        }

        /** {@return the array itself (not a copy): the view clips it in place} */
        public float[] array() { return array; }

        /** {@return the index of the view's first element in {@link #array()}} */
        public int offset() { return offset; }

        @Override
        public String toString() { return "float[" + array.length + "] @" + offset + " x" + size(); }
    }

    /** A range of a {@code double[]}. */
    public static final class HeapDoubles extends Tensor {
        private final double[] array;
        private final int offset;

        HeapDoubles(double[] array, int offset, int length) {
            super(DType.FLOAT64, length);
            Objects.requireNonNull(array, "array is null");
            checkRange(array.length, offset, length);
            this.array = array;
            this.offset = offset;
        }

        /** {@return the array itself (not a copy): the view clips it in place} */
        public double[] array() { return array; }

        /** {@return the index of the view's first element in {@link #array()}} */
        public int offset() { return offset; }

        @Override
        public String toString() { return "double[" + array.length + "] @" + offset + " x" + size(); }
    }

    /** A range of a {@code short[]} holding fp16 or bf16 bits. */
    public static final class HeapShorts extends Tensor {
        private final short[] array;
        private final int offset;

        HeapShorts(short[] array, int offset, int length, DType dtype) {
            super(dtype, length);
            requireShort(dtype);
            Objects.requireNonNull(array, "array is null");
            checkRange(array.length, offset, length);
            this.array = array;
            this.offset = offset;
        }

        /** {@return the array of raw fp16 or bf16 bits itself (not a copy): the view clips it in place} */
        public short[] array() { return array; }

        /** {@return the index of the view's first element in {@link #array()}} */
        public int offset() { return offset; }

        @Override
        public String toString() { return dtype().numpyName() + " short[" + array.length + "] @" + offset + " x" + size(); }
    }

    /** Host memory outside the Java heap, by address. */
    public static final class OffHeap extends Tensor {
        private final long address;
        private final @Nullable Object owner;

        OffHeap(long address, long count, DType dtype, @Nullable Object owner) {
            super(dtype, count);
            if (address == 0 && count > 0) throw new IllegalArgumentException("null address for " + count + " elements");
            if (count > Long.MAX_VALUE / 8) throw new IllegalArgumentException("element count too large: " + count);
            this.address = address;
            this.owner = owner;
        }

        /** {@return the native address of element 0} */
        public long address() { return address; }

        /**
         * {@return what keeps the memory alive (a direct buffer, a JavaCPP pointer, a {@link NativeBuffer}),
         * or null for memory passed by address}
         */
        public @Nullable Object owner() { return owner; }

        @Override
        public void checkAccessible() {
            MemoryGuard g = guardOf(this);
            if (g != null && !g.isOpen()) {
                throw new IllegalStateException("tensor view of a closed " + (owner == null ? "buffer" : owner.getClass().getSimpleName()));
            }
            if (owner instanceof Pointer p && p.isNull()) {
                throw new IllegalStateException("tensor view of a JavaCPP pointer that was deallocated");
            }
        }

        @Override
        public String toString() { return dtype().numpyName() + " off-heap 0x" + Long.toHexString(address) + " x" + size(); }
    }

    /** CUDA device memory, by device address. */
    public static final class Device extends Tensor {
        private final long address;
        private final @Nullable Object owner;

        Device(long address, long count, DType dtype, @Nullable Object owner) {
            super(dtype, count);
            if (address == 0 && count > 0) throw new IllegalArgumentException("null device address for " + count + " elements");
            if (count > Long.MAX_VALUE / 8) throw new IllegalArgumentException("element count too large: " + count);
            this.address = address;
            this.owner = owner;
        }

        /** {@return the device address of element 0} */
        public long address() { return address; }

        /** {@return the {@link DeviceBuffer} holding this memory, or null for caller-owned device memory} */
        public @Nullable Object owner() { return owner; }

        @Override
        public void checkAccessible() {
            MemoryGuard g = guardOf(this);
            if (g != null && !g.isOpen()) {
                throw new IllegalStateException("tensor view of a closed device buffer");
            }
        }

        @Override
        public String toString() { return dtype().numpyName() + " device 0x" + Long.toHexString(address) + " x" + size(); }
    }

    /** The guard of the gradclip buffer that owns this view's memory, or null (arrays, caller-owned memory). */
    static @Nullable MemoryGuard guardOf(Tensor t) {
        Object owner = t instanceof OffHeap o ? o.owner : t instanceof Device d ? d.owner : null;
        if (owner instanceof NativeBuffer nb) return nb.guard();
        if (owner instanceof DeviceBuffer db) return db.guard();
        return null;
    }
}
