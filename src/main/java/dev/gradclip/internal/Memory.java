package dev.gradclip.internal;

import java.lang.reflect.Field;
import java.nio.Buffer;

/**
 * Raw off-heap memory access for tensors that live outside the Java heap (native buffers, direct NIO
 * buffers, JavaCPP pointers). Every access copies whole ranges between an address and a Java array, so
 * 64-bit addresses and lengths beyond 2^31 elements work. Not part of the public API.
 *
 * <p>A capability, not a utility: the operations are instance methods of the one {@code Memory} object,
 * which {@link #access()} hands only to gradclip's own classes (each keeps it in a {@code static final}
 * field, so the check runs once per class and the hot paths pay nothing). On the module path the package
 * is not exported either; on the class path, only deep reflection (which reaches {@code sun.misc.Unsafe}
 * itself just as well) gets past the check.
 *
 * <p>This is the version for JDK 17 to 21. The multi-release jar holds a second one for JDK 22+
 * ({@code src/main/java22}, {@code META-INF/versions/22}) on the Foreign Function and Memory API, on
 * which JDK 24+ prints no {@code sun.misc.Unsafe} deprecation warning; both keep the contract that
 * {@code MemoryContract} (tests) checks.
 */
public final class Memory {
    private static final sun.misc.Unsafe UNSAFE;
    private static final long BUFFER_ADDRESS_OFFSET;
    private static final long FLOAT_BASE;
    private static final long DOUBLE_BASE;
    private static final long SHORT_BASE;
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final Memory INSTANCE = new Memory();

    static {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
            BUFFER_ADDRESS_OFFSET = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
            FLOAT_BASE = UNSAFE.arrayBaseOffset(float[].class);
            DOUBLE_BASE = UNSAFE.arrayBaseOffset(double[].class);
            SHORT_BASE = UNSAFE.arrayBaseOffset(short[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Memory() {
    }

    /**
     * The raw-memory capability, for gradclip's own classes: the caller must be in gradclip's module (module
     * path) or have been loaded from gradclip's jar or classes folder (class path). Call it once, from a
     * static initializer.
     *
     * @return the one {@code Memory}
     * @throws IllegalCallerException when the caller is not a class of gradclip
     */
    public static Memory access() {
        LibraryCallers.require(WALKER.getCallerClass(), Memory.class);
        return INSTANCE;
    }

    /**
     * Allocates {@code bytes} of native memory, zeroed.
     *
     * @param bytes the size; 0 allocates a 1-byte block so that every allocation has its own address
     * @return the address of the first byte
     * @throws OutOfMemoryError when the memory cannot be allocated
     */
    public long allocate(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes);
        long address = UNSAFE.allocateMemory(Math.max(bytes, 1));
        UNSAFE.setMemory(address, Math.max(bytes, 1), (byte) 0);
        return address;
    }

    /**
     * Frees memory from {@link #allocate}.
     *
     * @param address what {@link #allocate} returned
     */
    public void free(long address) {
        UNSAFE.freeMemory(address);
    }

    /**
     * The native address of a direct buffer's element 0 (ignores position).
     *
     * @param directBuffer a direct buffer
     * @return the address of its element 0
     */
    public long bufferAddress(Buffer directBuffer) {
        if (!directBuffer.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        return UNSAFE.getLong(directBuffer, BUFFER_ADDRESS_OFFSET);
    }

    private static final long COPY_STEP = 1L << 20; // bytes per copyMemory call, keeps safepoints short

    private static void copy(Object srcBase, long srcOffset, Object dstBase, long dstOffset, long bytes) {
        while (bytes > 0) {
            long n = Math.min(bytes, COPY_STEP);
            UNSAFE.copyMemory(srcBase, srcOffset, dstBase, dstOffset, n);
            srcOffset += n;
            dstOffset += n;
            bytes -= n;
        }
    }

    /** Copies {@code count} floats from {@code address} to {@code dst[dstIndex...]}. */
    public void read(long address, float[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        copy(null, address, dst, FLOAT_BASE + 4L * dstIndex, 4L * count);
    }

    /** Copies {@code count} floats from {@code src[srcIndex...]} to {@code address}. */
    public void write(long address, float[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        copy(src, FLOAT_BASE + 4L * srcIndex, null, address, 4L * count);
    }

    /** Copies {@code count} doubles from {@code address} to {@code dst[dstIndex...]}. */
    public void read(long address, double[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        copy(null, address, dst, DOUBLE_BASE + 8L * dstIndex, 8L * count);
    }

    /** Copies {@code count} doubles from {@code src[srcIndex...]} to {@code address}. */
    public void write(long address, double[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        copy(src, DOUBLE_BASE + 8L * srcIndex, null, address, 8L * count);
    }

    /** Copies {@code count} shorts from {@code address} to {@code dst[dstIndex...]}. */
    public void read(long address, short[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        copy(null, address, dst, SHORT_BASE + 2L * dstIndex, 2L * count);
    }

    /** Copies {@code count} shorts from {@code src[srcIndex...]} to {@code address}. */
    public void write(long address, short[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        copy(src, SHORT_BASE + 2L * srcIndex, null, address, 2L * count);
    }

    /** The float at {@code address}. */
    public float getFloat(long address) { return UNSAFE.getFloat(address); }

    /** Stores {@code v} at {@code address}. */
    public void putFloat(long address, float v) { UNSAFE.putFloat(address, v); }

    /** The double at {@code address}. */
    public double getDouble(long address) { return UNSAFE.getDouble(address); }

    /** Stores {@code v} at {@code address}. */
    public void putDouble(long address, double v) { UNSAFE.putDouble(address, v); }

    /** The short at {@code address}. */
    public short getShort(long address) { return UNSAFE.getShort(address); }

    /** Stores {@code v} at {@code address}. */
    public void putShort(long address, short v) { UNSAFE.putShort(address, v); }

    private static void check(int length, int index, int count) {
        if (index < 0 || count < 0 || index > length - count) {
            throw new IndexOutOfBoundsException("range [" + index + ", " + index + "+" + count + ") of array of " + length);
        }
    }
}
