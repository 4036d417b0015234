package dev.gradclip.torch;

import dev.gradclip.DType;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Raw bits of libtorch tensors and ulp distances, for the conformance tests. */
final class Bits {
    private Bits() {
    }

    static torch.ScalarType scalarType(DType d) {
        return switch (d) {
            case FLOAT32 -> torch.ScalarType.Float;
            case FLOAT64 -> torch.ScalarType.Double;
            case FLOAT16 -> torch.ScalarType.Half;
            case BFLOAT16 -> torch.ScalarType.BFloat16;
        };
    }

    /** A contiguous CPU tensor of {@code dtype} holding {@code values} rounded by libtorch's own conversion. */
    static Tensor tensor(double[] values, DType dtype) {
        Tensor t = torch.empty(values.length).to(torch.ScalarType.Double);
        if (values.length > 0) new DoublePointer(t.data_ptr()).capacity(values.length).put(values);
        return t.to(scalarType(dtype)).contiguous();
    }

    /** Each element's raw bits, zero-extended. */
    static long[] bits(Tensor t) {
        Tensor c = t.contiguous();
        int n = (int) c.numel();
        long[] out = new long[n];
        if (n == 0) return out;
        DType d = TorchGradients.dtype(c, "t");
        switch (d) {
            case FLOAT32 -> {
                FloatPointer p = new FloatPointer(c.data_ptr()).capacity(n);
                for (int i = 0; i < n; i++) out[i] = Float.floatToRawIntBits(p.get(i)) & 0xffffffffL;
            }
            case FLOAT64 -> {
                DoublePointer p = new DoublePointer(c.data_ptr()).capacity(n);
                for (int i = 0; i < n; i++) out[i] = Double.doubleToRawLongBits(p.get(i));
            }
            default -> {
                ShortPointer p = new ShortPointer(c.data_ptr()).capacity(n);
                for (int i = 0; i < n; i++) out[i] = p.get(i) & 0xffffL;
            }
        }
        return out;
    }

    static boolean isNaN(long bits, DType d) {
        return switch (d) {
            case FLOAT32 -> Float.isNaN(Float.intBitsToFloat((int) bits));
            case FLOAT64 -> Double.isNaN(Double.longBitsToDouble(bits));
            case FLOAT16 -> (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
            case BFLOAT16 -> (bits & 0x7f80) == 0x7f80 && (bits & 0x007f) != 0;
        };
    }

    /** Distance in units in the last place between two non-NaN values of {@code d}'s format (0 = same bits; +0/-0 are 1 apart). */
    static long ulps(long a, long b, DType d) {
        return Math.abs(ordered(a, d) - ordered(b, d));
    }

    private static long ordered(long bits, DType d) {
        int width = d.byteSize() * 8;
        long sign = width == 64 ? bits >>> 63 : (bits >>> (width - 1)) & 1;
        long mag = width == 64 ? bits & Long.MAX_VALUE : bits & ((1L << (width - 1)) - 1);
        return sign == 0 ? mag : -mag - 1;
    }

    /** {@code v} rounded to {@code d} (round to nearest even), as raw bits. */
    static long roundBits(double v, DType d) {
        return bits(tensor(new double[] {v}, d))[0];
    }
}
