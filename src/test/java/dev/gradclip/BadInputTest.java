package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every bad input throws a clear exception naming the problem, and nothing is modified. */
class BadInputTest {
    private final Clipper clipper = Clipper.create(Backend.CPU);
    private final float[] a = {10, -20, 30};
    private final float[] original = a.clone();

    @AfterEach
    void nothingWasModified() {
        assertArrayEquals(original, a, "a rejected call must not modify the gradients");
    }

    private static void fails(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void nullArguments() {
        GradientSet set = GradientSet.of(Tensor.of(a));
        fails(NullPointerException.class, "gradient set", () -> clipper.clipByGlobalNorm(null, NormClip.of(1)));
        fails(NullPointerException.class, "norm clip", () -> clipper.clipByGlobalNorm(set, null));
        fails(NullPointerException.class, "value clip", () -> clipper.clipByValue(set, null));
        fails(NullPointerException.class, "norm type", () -> clipper.norms(set, null));
        fails(NullPointerException.class, "tensor 1", () -> GradientSet.of(Tensor.of(a), null));
        fails(NullPointerException.class, "array", () -> Tensor.of((float[]) null));
        fails(NullPointerException.class, "semantics", () -> new NormClip(1, NormType.L2, null, NonFinitePolicy.ERROR));
    }

    @Test
    void badThresholds() {
        fails(IllegalArgumentException.class, "NaN", () -> NormClip.of(Double.NaN));
        fails(IllegalArgumentException.class, ">= 0", () -> NormClip.of(-1));
        fails(IllegalArgumentException.class, ">= 0", () -> NormClip.of(-Double.MIN_VALUE));
        fails(IllegalArgumentException.class, "finite", () -> NormClip.of(Double.POSITIVE_INFINITY));
        fails(IllegalArgumentException.class, "greater than max", () -> ValueClip.between(2, 1));
        fails(IllegalArgumentException.class, "min is NaN", () -> ValueClip.between(Double.NaN, 1));
        fails(IllegalArgumentException.class, "max is NaN", () -> ValueClip.between(0, Double.NaN));
        fails(IllegalArgumentException.class, ">= 0", () -> ValueClip.symmetric(-1));
        fails(IllegalArgumentException.class, "> 0", () -> NormType.of(0));
        fails(IllegalArgumentException.class, "> 0", () -> NormType.of(-2));
        fails(IllegalArgumentException.class, "> 0", () -> NormType.of(Double.NaN));
        fails(IllegalArgumentException.class, "real number", () -> NormType.parse("two"));
    }

    @Test
    void badViews() {
        fails(IndexOutOfBoundsException.class, "outside", () -> Tensor.of(a, 2, 5));
        fails(IndexOutOfBoundsException.class, "outside", () -> Tensor.of(a, -1, 1));
        fails(IllegalArgumentException.class, "not direct", () -> Tensor.of(ByteBuffer.allocate(16).asFloatBuffer()));
        fails(IllegalArgumentException.class, "read-only",
                () -> Tensor.of(ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).asReadOnlyBuffer().asFloatBuffer()));
        fails(IllegalArgumentException.class, "byte order",
                () -> Tensor.of(ByteBuffer.allocateDirect(16).order(ByteOrder.BIG_ENDIAN).asFloatBuffer()));
        fails(IllegalArgumentException.class, "whole number", () -> Tensor.of(ByteBuffer.allocateDirect(6).order(ByteOrder.nativeOrder()), DType.FLOAT32));
        fails(IllegalArgumentException.class, "FLOAT16 or BFLOAT16", () -> Tensor.of(new short[2], DType.FLOAT32));
        fails(IllegalArgumentException.class, "null address", () -> Tensor.ofAddress(0, 5, DType.FLOAT32));
        fails(IllegalArgumentException.class, "negative", () -> Tensor.ofAddress(64, -1, DType.FLOAT32));
    }

    @Test
    void overlappingViewsAreRejected() {
        fails(IllegalArgumentException.class, "tensors 0 and 1 overlap", () -> GradientSet.of(Tensor.of(a, 0, 2), Tensor.of(a, 1, 2)));
        fails(IllegalArgumentException.class, "overlap", () -> GradientSet.of(Tensor.of(a), Tensor.of(a)));
        GradientSet.of(Tensor.of(a, 0, 1), Tensor.of(a, 1, 2)); // adjacent is fine
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 100)) {
            fails(IllegalArgumentException.class, "tensors 1 and 2 overlap in native memory",
                    () -> GradientSet.of(Tensor.of(a), nb.tensor(0, 50), nb.tensor(49, 10)));
        }
    }

    @Test
    void closedAndFreedMemory() {
        NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 8);
        GradientSet set = GradientSet.of(Tensor.of(a), nb.tensor());
        nb.close();
        fails(IllegalStateException.class, "tensor 1: tensor view of a closed NativeBuffer",
                () -> clipper.clipByGlobalNorm(set, NormClip.of(1e-3)));
        fails(IllegalStateException.class, "closed", nb::tensor);

        FloatPointer p = new FloatPointer(4);
        GradientSet viaPointer = GradientSet.of(Tensor.of(a), Tensor.of(p, DType.FLOAT32));
        p.deallocate();
        fails(IllegalStateException.class, "deallocated", () -> clipper.clipByValue(viaPointer, ValueClip.symmetric(1)));

        Clipper closed = Clipper.create(Backend.CPU);
        closed.close();
        fails(IllegalStateException.class, "Clipper is closed", () -> closed.norms(GradientSet.of(Tensor.of(a)), NormType.L2));
    }

    @Test
    void deviceTensorsOnTheCpuBackend() {
        GradientSet set = GradientSet.of(Tensor.of(a), Tensor.onDevice(0x7f0000001000L, 4, DType.FLOAT32));
        assertFalse(set.inHostMemory());
        assertTrue(GradientSet.of(Tensor.of(a)).inHostMemory() && GradientSet.empty().inHostMemory());
        fails(IllegalArgumentException.class, "tensor 1 lives in CUDA device memory", () -> clipper.clipByGlobalNorm(set, NormClip.of(1e-3)));
    }

    @Test
    void unavailableBackendNamesTheReason() {
        for (BackendStatus s : Clipper.availableBackends()) {
            if (!s.available()) {
                fails(IllegalStateException.class, s.detail(), () -> Clipper.create(s.backend()));
            }
        }
        fails(IllegalArgumentException.class, "unknown backend", () -> Backend.parse("tpu"));
    }

    @Test
    void parseOfNullNamesTheArgument() {
        fails(NullPointerException.class, "text is null", () -> Backend.parse(null));
        fails(NullPointerException.class, "text is null", () -> NormType.parse(null));
    }

    @Test
    void deviceViewTooLargeForByteOffsets() {
        // as for off-heap views: a count whose byte size overflows a long is refused
        long tooMany = Long.MAX_VALUE / 8 + 1;
        fails(IllegalArgumentException.class, "element count too large", () -> Tensor.onDevice(0x7f0000001000L, tooMany, DType.FLOAT32));
        fails(IllegalArgumentException.class, "element count too large", () -> Tensor.ofAddress(0x7f0000001000L, tooMany, DType.FLOAT32));
        assertEquals(Long.MAX_VALUE / 8, Tensor.onDevice(0x7f0000001000L, Long.MAX_VALUE / 8, DType.FLOAT64).size());
    }
}
