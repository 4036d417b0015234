package dev.gradclip.cli.npz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NamedArrayTest {
    @Test
    void copiesShapeAndDataBothWays() {
        long[] shape = {2, 2};
        float[] data = {1, 2, 3, 4};
        NamedArray a = NamedArray.ofFloat32("w", shape, data);
        shape[0] = 7;
        data[0] = 99;
        assertArrayEquals(new long[] {2, 2}, a.shape());
        assertEquals(1f, a.floatData()[0]);
        a.shape()[0] = 5;
        a.floatData()[1] = 42;
        ((float[]) a.data())[2] = 42;
        assertArrayEquals(new long[] {2, 2}, a.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4}, a.floatData());
    }

    @Test
    void accessorsAndDtypes() {
        NamedArray h = NamedArray.ofFloat16("h", new long[] {3}, new short[] {0x3C00, (short) 0xC000, 0x0001});
        assertEquals("float16", h.dtypeName());
        assertEquals(1.0, h.getDouble(0));
        assertEquals(-2.0, h.getDouble(1));
        assertEquals(0x1p-24, h.getDouble(2));
        NamedArray d = NamedArray.ofFloat64("d", new long[0], new double[] {2.5});
        assertEquals(0, d.rank());
        assertEquals(1, d.size());
        assertEquals("d: float64()", d.toString());
        assertThrows(IllegalStateException.class, d::floatData);
        assertThrows(IllegalStateException.class, h::doubleData);
        assertThrows(IllegalStateException.class, d::halfBits);
        NamedArray d2 = d.withData(new double[] {3.0});
        assertEquals(3.0, d2.doubleData()[0]);
        assertEquals("d", d2.name());
    }

    @Test
    void validates() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NamedArray.ofFloat32("w", new long[] {2, 3}, new float[5]));
        assertEquals("array 'w': shape (2, 3) has 6 elements but the data has 5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new NamedArray("w", NpyDtype.FLOAT64, new long[] {2}, new float[2]));
        assertEquals("array 'w': dtype float64 needs double[] data, got float[]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NamedArray.ofFloat32("", new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> NamedArray.ofFloat32("n", new long[] {-1}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> new NamedArray("w", NpyDtype.FLOAT32, new long[] {1}, new int[1]));
        assertThrows(NullPointerException.class, () -> NamedArray.ofFloat32(null, new long[] {1}, new float[1]));
        e = assertThrows(IllegalArgumentException.class, () -> NamedArray.elementCount(new long[] {1L << 31}));
        assertTrue(e.getMessage().contains("more than a Java array can hold"), e.getMessage());
        assertEquals(0, NamedArray.elementCount(new long[] {Long.MAX_VALUE, 0, Long.MAX_VALUE}));
        assertEquals(1, NamedArray.elementCount(new long[0]));
        assertThrows(IllegalArgumentException.class, () -> new NpzArchive(
                List.of(NamedArray.ofFloat32("a", new long[0], new float[1]), NamedArray.ofFloat64("a", new long[0], new double[1])), false));
    }

    @Test
    void equalityIsByValue() {
        NamedArray a = NamedArray.ofFloat32("w", new long[] {2}, new float[] {1, Float.NaN});
        NamedArray b = NamedArray.ofFloat32("w", new long[] {2}, new float[] {1, Float.NaN});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, NamedArray.ofFloat32("w", new long[] {1, 2}, new float[] {1, Float.NaN}));
        assertNotEquals(a, NamedArray.ofFloat32("v", new long[] {2}, new float[] {1, Float.NaN}));
        assertNotEquals(NamedArray.ofFloat32("z", new long[] {1}, new float[] {0f}),
                NamedArray.ofFloat32("z", new long[] {1}, new float[] {-0f}));
    }

    @Test
    void halfToFloatIsExact() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = Half.toFloat((short) bits);
            int exp = (bits >>> 10) & 0x1F;
            int mant = bits & 0x3FF;
            double expected;
            if (exp == 0x1F) {
                expected = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (exp == 0) {
                expected = mant * Math.pow(2, -24);
            } else {
                expected = (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            }
            if ((bits & 0x8000) != 0) {
                expected = -expected;
            }
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f));
            } else {
                assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(f), Integer.toHexString(bits));
            }
        }
    }
}
