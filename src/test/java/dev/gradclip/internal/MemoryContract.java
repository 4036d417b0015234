package dev.gradclip.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The contract of {@link Memory}, checked by {@link #main} for whichever version the JVM loads: the
 * {@code Unsafe} one (JDK 17-21) or the FFM one of the multi-release jar ({@code META-INF/versions/22},
 * JDK 22+). {@link Memory#access()} hands the capability only to gradclip's own classes, so MemoryTest
 * packs this class into a jar with the library's classes and runs it there, on JDK 17 and on JDK 25.
 * Prints the class's origin and "ok", or throws.
 */
public final class MemoryContract {
    private static final Memory MEMORY = Memory.access();

    public static void main(String[] args) {
        run();
        boolean unsafe = Arrays.stream(Memory.class.getDeclaredFields())
                .anyMatch(f -> f.getType().getName().equals("sun.misc.Unsafe"));
        System.out.println("ok " + (unsafe ? "unsafe" : "ffm") + " version from " + Memory.class.getProtectionDomain().getCodeSource().getLocation());
    }

    static void run() {
        long a = MEMORY.allocate(1 << 20);
        try {
            for (int i = 0; i < 1 << 18; i += 4096) {
                check(MEMORY.getFloat(a + 4L * i) == 0f, "allocate zeroes memory");
            }
            float[] f = new float[1000];
            for (int i = 0; i < f.length; i++) {
                f[i] = i * 0.5f - 7;
            }
            MEMORY.write(a + 12, f, 10, 990);
            float[] back = new float[995];
            MEMORY.read(a + 12, back, 5, 990);
            check(Arrays.equals(Arrays.copyOfRange(f, 10, 1000), Arrays.copyOfRange(back, 5, 995)), "float range round trip");
            check(MEMORY.getFloat(a + 12) == f[10], "getFloat");
            MEMORY.putFloat(a + 16, -3.25f);
            check(MEMORY.getFloat(a + 16) == -3.25f, "putFloat");
            double[] d = {Math.PI, -0.0, Double.MIN_VALUE, Double.longBitsToDouble(0x7ff8000000000123L)};
            MEMORY.write(a + 8000, d, 0, d.length); // 8-byte aligned
            MEMORY.write(a + 9003, d, 0, d.length); // unaligned
            double[] db = new double[4];
            MEMORY.read(a + 9003, db, 0, 4);
            for (int i = 0; i < 4; i++) {
                check(Double.doubleToRawLongBits(d[i]) == Double.doubleToRawLongBits(db[i]), "double bits " + i);
            }
            check(MEMORY.getDouble(a + 8000) == Math.PI, "getDouble");
            MEMORY.putDouble(a + 8008, 2.5);
            check(MEMORY.getDouble(a + 8008) == 2.5, "putDouble");
            short[] s = {(short) 0x7e01, (short) 0x8000, 1};
            MEMORY.write(a + 20001, s, 0, 3);
            short[] sb = new short[3];
            MEMORY.read(a + 20001, sb, 0, 3);
            check(Arrays.equals(s, sb), "short round trip");
            MEMORY.putShort(a + 20001, (short) 42);
            check(MEMORY.getShort(a + 20001) == 42, "putShort");
            MEMORY.write(a + (1 << 20) - 4, new float[] {9f}, 0, 1); // the last element
            check(MEMORY.getFloat(a + (1 << 20) - 4) == 9f, "last element");
            expect(IndexOutOfBoundsException.class, () -> MEMORY.read(a, new float[2], 1, 2));
            expect(IndexOutOfBoundsException.class, () -> MEMORY.write(a, new double[2], -1, 1));
        } finally {
            MEMORY.free(a);
        }
        expect(IllegalArgumentException.class, () -> MEMORY.allocate(-1));
        long empty = MEMORY.allocate(0);
        MEMORY.free(empty);

        ByteBuffer bb = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        FloatBuffer fb = bb.asFloatBuffer();
        fb.position(3);
        long base = MEMORY.bufferAddress(fb);
        check(base == MEMORY.bufferAddress(bb), "bufferAddress ignores the position and views share the base");
        MEMORY.putFloat(base + 8, 6.5f);
        check(fb.get(2) == 6.5f, "writes through the address reach the buffer");
        float[] all = new float[16];
        fb.put(15, -1f);
        MEMORY.read(base, all, 0, 16);
        check(all[2] == 6.5f && all[15] == -1f, "reads through the address see the buffer");
        expect(IllegalArgumentException.class, () -> MEMORY.bufferAddress(ByteBuffer.allocate(8)));
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    private static void expect(Class<? extends Throwable> type, Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return;
            }
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + t, t);
        }
        throw new AssertionError("expected " + type.getSimpleName());
    }
}
