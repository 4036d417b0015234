package dev.gradclip.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The contract of {@link Memory}, checked by {@link #main} for whichever version the JVM loads: the
 * {@code Unsafe} one (JDK 17-21, and the build's classes) or the FFM one of the multi-release jar
 * ({@code META-INF/versions/22}, JDK 22+). MemoryTest runs it in-process and on JDK 25. Prints the
 * class's origin and "ok", or throws.
 */
public final class MemoryContract {
    public static void main(String[] args) {
        run();
        System.out.println("ok " + Memory.class.getProtectionDomain().getCodeSource().getLocation());
    }

    static void run() {
        long a = Memory.allocate(1 << 20);
        try {
            for (int i = 0; i < 1 << 18; i += 4096) {
                check(Memory.getFloat(a + 4L * i) == 0f, "allocate zeroes memory");
            }
            float[] f = new float[1000];
            for (int i = 0; i < f.length; i++) {
                f[i] = i * 0.5f - 7;
            }
            Memory.write(a + 12, f, 10, 990);
            float[] back = new float[995];
            Memory.read(a + 12, back, 5, 990);
            check(Arrays.equals(Arrays.copyOfRange(f, 10, 1000), Arrays.copyOfRange(back, 5, 995)), "float range round trip");
            check(Memory.getFloat(a + 12) == f[10], "getFloat");
            Memory.putFloat(a + 16, -3.25f);
            check(Memory.getFloat(a + 16) == -3.25f, "putFloat");
            double[] d = {Math.PI, -0.0, Double.MIN_VALUE, Double.longBitsToDouble(0x7ff8000000000123L)};
            Memory.write(a + 8000, d, 0, d.length); // 8-byte aligned
            Memory.write(a + 9003, d, 0, d.length); // unaligned
            double[] db = new double[4];
            Memory.read(a + 9003, db, 0, 4);
            for (int i = 0; i < 4; i++) {
                check(Double.doubleToRawLongBits(d[i]) == Double.doubleToRawLongBits(db[i]), "double bits " + i);
            }
            check(Memory.getDouble(a + 8000) == Math.PI, "getDouble");
            Memory.putDouble(a + 8008, 2.5);
            check(Memory.getDouble(a + 8008) == 2.5, "putDouble");
            short[] s = {(short) 0x7e01, (short) 0x8000, 1};
            Memory.write(a + 20001, s, 0, 3);
            short[] sb = new short[3];
            Memory.read(a + 20001, sb, 0, 3);
            check(Arrays.equals(s, sb), "short round trip");
            Memory.putShort(a + 20001, (short) 42);
            check(Memory.getShort(a + 20001) == 42, "putShort");
            Memory.write(a + (1 << 20) - 4, new float[] {9f}, 0, 1); // the last element
            check(Memory.getFloat(a + (1 << 20) - 4) == 9f, "last element");
            expect(IndexOutOfBoundsException.class, () -> Memory.read(a, new float[2], 1, 2));
            expect(IndexOutOfBoundsException.class, () -> Memory.write(a, new double[2], -1, 1));
        } finally {
            Memory.free(a);
        }
        expect(IllegalArgumentException.class, () -> Memory.allocate(-1));
        long empty = Memory.allocate(0);
        Memory.free(empty);

        ByteBuffer bb = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        FloatBuffer fb = bb.asFloatBuffer();
        fb.position(3);
        long base = Memory.bufferAddress(fb);
        check(base == Memory.bufferAddress(bb), "bufferAddress ignores the position and views share the base");
        Memory.putFloat(base + 8, 6.5f);
        check(fb.get(2) == 6.5f, "writes through the address reach the buffer");
        float[] all = new float[16];
        fb.put(15, -1f);
        Memory.read(base, all, 0, 16);
        check(all[2] == 6.5f && all[15] == -1f, "reads through the address see the buffer");
        expect(IllegalArgumentException.class, () -> Memory.bufferAddress(ByteBuffer.allocate(8)));
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
