package dev.gradclip.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.Buffer;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Raw off-heap memory access for tensors that live outside the Java heap (native buffers, direct NIO
 * buffers, JavaCPP pointers), through the Foreign Function and Memory API: the JDK 22+ version of this
 * class in the multi-release jar (the JDK 17 version uses {@code sun.misc.Unsafe}, whose memory-access
 * methods JDK 24+ warn about). Same contract: whole ranges copied between an address and a Java array,
 * 64-bit addresses and lengths. Not part of the public API.
 *
 * <p>Memory from {@link #allocate} is a segment of its own {@link Arena}, and a direct buffer whose
 * address {@link #bufferAddress} gave is remembered (weakly); both are accessed through their segments
 * (bounds-checked, no restricted method). Any other address (a JavaCPP pointer,
 * {@code Tensor.ofAddress}) can only be reached through the restricted
 * {@link MemorySegment#reinterpret(long)}: the JDK prints a warning once unless the application runs
 * with {@code --enable-native-access=ALL-UNNAMED} (or the module's name), which the JavaCPP backends
 * need on JDK 24+ anyway. There is no {@code Unsafe} left.
 *
 * <p>A capability, as in the JDK 17 version: the operations are instance methods of the one
 * {@code Memory} object, which {@link #access()} hands only to gradclip's own classes.
 */
public final class Memory {
    private record Block(Arena arena, MemorySegment segment) {
    }

    /** Our allocations by base address. */
    private static final ConcurrentSkipListMap<Long, Block> BLOCKS = new ConcurrentSkipListMap<>();
    private static final long ALIGNMENT = 16; // what malloc (and Unsafe.allocateMemory) guarantee on x86-64

    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final Memory INSTANCE = new Memory();

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

    /** Allocates {@code bytes} of native memory, zeroed. Throws OutOfMemoryError when it cannot. */
    public long allocate(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes);
        Arena arena = Arena.ofShared();
        MemorySegment s;
        try {
            s = arena.allocate(Math.max(bytes, 1), ALIGNMENT); // zeroed by the arena
        } catch (IllegalArgumentException | OutOfMemoryError e) {
            arena.close();
            OutOfMemoryError oom = new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory");
            oom.initCause(e);
            throw oom;
        }
        BLOCKS.put(s.address(), new Block(arena, s));
        return s.address();
    }

    public void free(long address) {
        Block b = BLOCKS.remove(address);
        if (b == null) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(address) + " was not allocated by Memory.allocate");
        }
        b.arena().close();
    }

    /** A direct buffer whose address was taken, held weakly: its memory lives as long as the buffer does. */
    private static final class BufferRef extends WeakReference<Buffer> {
        final long address;
        final long byteSize;

        BufferRef(Buffer b, long address, long byteSize) {
            super(b, DEAD_BUFFERS);
            this.address = address;
            this.byteSize = byteSize;
        }
    }

    private static final ReferenceQueue<Buffer> DEAD_BUFFERS = new ReferenceQueue<>();
    /** Direct buffers by base address, so that their memory is reached without a restricted method. */
    private static final ConcurrentSkipListMap<Long, BufferRef> BUFFERS = new ConcurrentSkipListMap<>();

    /** The native address of a direct buffer's element 0 (ignores position). */
    public long bufferAddress(Buffer directBuffer) {
        if (!directBuffer.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        for (Reference<? extends Buffer> r; (r = DEAD_BUFFERS.poll()) != null; ) {
            BufferRef dead = (BufferRef) r;
            BUFFERS.remove(dead.address, dead);
        }
        MemorySegment s = MemorySegment.ofBuffer(directBuffer.duplicate().clear());
        BufferRef current = BUFFERS.get(s.address());
        if (current == null || current.get() != directBuffer) {
            BUFFERS.put(s.address(), new BufferRef(directBuffer, s.address(), s.byteSize()));
        }
        return s.address();
    }

    /**
     * The segment for {@code [address, address + bytes)}: a slice of our allocation, or else the raw
     * address (restricted: the caller vouches for the range, as it did with {@code Unsafe}).
     */
    @SuppressWarnings("restricted")
    private static MemorySegment segment(long address, long bytes) {
        Map.Entry<Long, Block> e = BLOCKS.floorEntry(address);
        if (e != null) {
            MemorySegment s = e.getValue().segment();
            long offset = address - s.address();
            if (offset + bytes <= s.byteSize()) {
                return s.asSlice(offset, bytes);
            }
        }
        Map.Entry<Long, BufferRef> b = BUFFERS.floorEntry(address);
        if (b != null) {
            Buffer buffer = b.getValue().get();
            long offset = address - b.getKey();
            if (buffer != null && offset + bytes <= b.getValue().byteSize) {
                return MemorySegment.ofBuffer(buffer.duplicate().clear()).asSlice(offset, bytes);
            }
        }
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    public void read(long address, float[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        MemorySegment.copy(segment(address, 4L * count), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, dst, dstIndex, count);
    }

    public void write(long address, float[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        MemorySegment.copy(src, srcIndex, segment(address, 4L * count), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, count);
    }

    public void read(long address, double[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        MemorySegment.copy(segment(address, 8L * count), ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, dst, dstIndex, count);
    }

    public void write(long address, double[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        MemorySegment.copy(src, srcIndex, segment(address, 8L * count), ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, count);
    }

    public void read(long address, short[] dst, int dstIndex, int count) {
        check(dst.length, dstIndex, count);
        MemorySegment.copy(segment(address, 2L * count), ValueLayout.JAVA_SHORT_UNALIGNED, 0, dst, dstIndex, count);
    }

    public void write(long address, short[] src, int srcIndex, int count) {
        check(src.length, srcIndex, count);
        MemorySegment.copy(src, srcIndex, segment(address, 2L * count), ValueLayout.JAVA_SHORT_UNALIGNED, 0, count);
    }

    public float getFloat(long address) { return segment(address, 4).get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0); }

    public void putFloat(long address, float v) { segment(address, 4).set(ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v); }

    public double getDouble(long address) { return segment(address, 8).get(ValueLayout.JAVA_DOUBLE_UNALIGNED, 0); }

    public void putDouble(long address, double v) { segment(address, 8).set(ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, v); }

    public short getShort(long address) { return segment(address, 2).get(ValueLayout.JAVA_SHORT_UNALIGNED, 0); }

    public void putShort(long address, short v) { segment(address, 2).set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, v); }

    private static void check(int length, int index, int count) {
        if (index < 0 || count < 0 || index > length - count) {
            throw new IndexOutOfBoundsException("range [" + index + ", " + index + "+" + count + ") of array of " + length);
        }
    }
}
