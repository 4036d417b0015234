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

    public final DType dtype() { return dtype; }

    /** Number of elements (64-bit). */
    public final long size() { return size; }

    public final long byteSize() { return size * dtype.byteSize(); }

    /**
     * Throws {@link IllegalStateException} if the memory behind this view was closed or freed.
     * Operations call it on every tensor before touching any.
     */
    public void checkAccessible() {
    }

    // ---------------------------------------------------------------- factories: Java arrays

    /** The whole array, FLOAT32. */
    public static Tensor of(float[] array) {
        Objects.requireNonNull(array, "array is null");
        return new HeapFloats(array, 0, array.length);
    }

    /** {@code array[offset, offset+length)}, FLOAT32. */
    public static Tensor of(float[] array, int offset, int length) {
        return new HeapFloats(array, offset, length);
    }

    /** The whole array, FLOAT64. */
    public static Tensor of(double[] array) {
        Objects.requireNonNull(array, "array is null");
        return new HeapDoubles(array, 0, array.length);
    }

    public static Tensor of(double[] array, int offset, int length) {
        return new HeapDoubles(array, offset, length);
    }

    /** A {@code short[]} of raw fp16 bits (FLOAT16) or bf16 bits (BFLOAT16). */
    public static Tensor of(short[] bits, DType dtype) {
        Objects.requireNonNull(bits, "array is null");
        return new HeapShorts(bits, 0, bits.length, dtype);
    }

    public static Tensor of(short[] bits, int offset, int length, DType dtype) {
        return new HeapShorts(bits, offset, length, dtype);
    }

    // ---------------------------------------------------------------- factories: off-heap

    /** A direct {@link FloatBuffer}, from its position to its limit (native byte order required). */
    public static Tensor of(FloatBuffer buffer) {
        return ofDirect(buffer, buffer == null ? null : buffer.order(), DType.FLOAT32, 4);
    }

    /** A direct {@link DoubleBuffer}, from its position to its limit (native byte order required). */
    public static Tensor of(DoubleBuffer buffer) {
        return ofDirect(buffer, buffer == null ? null : buffer.order(), DType.FLOAT64, 8);
    }

    /** A direct {@link ShortBuffer} of fp16 or bf16 bits, from its position to its limit. */
    public static Tensor of(ShortBuffer buffer, DType dtype) {
        requireShort(dtype);
        return ofDirect(buffer, buffer == null ? null : buffer.order(), dtype, 2);
    }

    /** A direct {@link ByteBuffer} holding elements of {@code dtype}, from its position to its limit. */
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
     * Native memory by address: {@code count} elements of {@code dtype} starting at {@code address}.
     * The caller keeps the memory alive and unmoved while operations run.
     */
    public static Tensor ofAddress(long address, long count, DType dtype) {
        return new OffHeap(address, count, dtype, null);
    }

    /**
     * A JavaCPP {@link Pointer} from its position to its limit (or capacity when no limit is set), with
     * {@code dtype} elements. Deallocating the pointer afterwards makes operations on this view fail.
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
     * CUDA device memory owned by the caller (for the CUDA backend): {@code count} elements at the
     * device address {@code address}.
     */
    public static Tensor onDevice(long address, long count, DType dtype) {
        return new Device(address, count, dtype, null);
    }

    /**
     * CUDA device memory held by a JavaCPP presets pointer (for example from {@code cudaMalloc}): from
     * its position, {@code count} elements of {@code dtype}.
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

        public float[] array() { return array; }

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

        public double[] array() { return array; }

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

        public short[] array() { return array; }

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

        /** The address of element 0. */
        public long address() { return address; }

        /** What keeps the memory alive (a direct buffer, a JavaCPP pointer, a {@link NativeBuffer}), or null. */
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
            this.address = address;
            this.owner = owner;
        }

        public long address() { return address; }

        /** The {@link DeviceBuffer} holding this memory, or null for caller-owned device memory. */
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
