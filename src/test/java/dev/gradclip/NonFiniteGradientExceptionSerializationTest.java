package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import org.junit.jupiter.api.Test;

/**
 * {@link NonFiniteGradientException} keeps its {@link ClipReport} through Java serialization (the report
 * is part of what the exception says), and a {@link ClipReport} reads back with every value, bit for bit.
 */
class NonFiniteGradientExceptionSerializationTest {

    private static Object roundTrip(Object o) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return in.readObject();
        }
    }

    private static void assertSameReport(ClipReport a, ClipReport b) {
        assertEquals(a.operation(), b.operation());
        assertEquals(a.backend(), b.backend());
        assertEquals(a.normType(), b.normType());
        assertEquals(a.hasNorms(), b.hasNorms());
        assertEquals(Double.doubleToRawLongBits(a.totalNorm()), Double.doubleToRawLongBits(b.totalNorm()));
        assertArrayEquals(bits(a.tensorNorms()), bits(b.tensorNorms()));
        assertEquals(Double.doubleToRawLongBits(a.scale()), Double.doubleToRawLongBits(b.scale()));
        assertArrayEquals(bits(a.tensorScales()), bits(b.tensorScales()));
        assertEquals(a.clippedElements(), b.clippedElements());
        assertEquals(a.nonFiniteElements(), b.nonFiniteElements());
        assertEquals(a.totalElements(), b.totalElements());
        assertEquals(a.skipped(), b.skipped());
        assertEquals(a.toString(), b.toString());
    }

    private static long[] bits(double[] d) {
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) out[i] = Double.doubleToRawLongBits(d[i]);
        return out;
    }

    @Test
    void exceptionKeepsItsReport() throws Exception {
        float[] g = {3f, Float.NaN, 4f};
        NonFiniteGradientException e;
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            e = assertThrows(NonFiniteGradientException.class, () -> cpu.clipByGlobalNorm(
                    GradientSet.of(Tensor.of(g), Tensor.of(new float[] {1f})),
                    NormClip.of(1).withNonFinite(NonFinitePolicy.ERROR)));
        }
        NonFiniteGradientException copy = (NonFiniteGradientException) roundTrip(e);
        assertEquals(e.getMessage(), copy.getMessage());
        assertNotNull(copy.report(), "the report must survive serialization");
        assertSameReport(e.report(), copy.report());
        assertEquals(1, copy.report().nonFiniteElements());
    }

    @Test
    void reportWithoutNormsRoundTrips() throws Exception {
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            ClipReport r = cpu.clipByValue(GradientSet.of(Tensor.of(new float[] {5f, -5f, 0.5f})), ValueClip.symmetric(1));
            ClipReport copy = (ClipReport) roundTrip(r);
            assertSameReport(r, copy);
            assertEquals(null, copy.normType());
        }
    }

    @Test
    void serialVersionUidIsPinned() {
        // a stable stream format: changing the serialized form must be a deliberate act
        assertEquals(1L, ObjectStreamClass.lookup(ClipReport.class).getSerialVersionUID());
    }

    @Test
    void streamWithoutTheSerialFormIsRejected() throws Exception {
        // a ClipReport is only ever written through its serial form, whose reading runs the constructor's
        // checks; a stream that claims to hold ClipReport's own fields is refused
        java.lang.reflect.Method readObject = ClipReport.class.getDeclaredMethod("readObject", ObjectInputStream.class);
        readObject.setAccessible(true);
        java.lang.reflect.InvocationTargetException t = assertThrows(java.lang.reflect.InvocationTargetException.class,
                () -> readObject.invoke(reportOf(), (Object) null));
        assertEquals(InvalidObjectException.class, t.getCause().getClass());
    }

    private static ClipReport reportOf() {
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            return cpu.norms(GradientSet.of(Tensor.of(new float[] {1f})), NormType.L2);
        }
    }
}
