import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NormClip;
import dev.gradclip.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * scripts/check-jar.sh: clips off-heap tensors (a NativeBuffer and a direct buffer) on the CPU backend
 * with nothing but the main jar on the class path, and checks the result. On JDK 22+ this runs the FFM
 * version of internal.Memory from the multi-release jar; the script asserts that stderr stays empty.
 * Prints "ok <total norm>" and exits 0, or throws.
 */
public final class OffHeapClip {
    public static void main(String[] args) throws Exception {
        try (NativeBuffer a = NativeBuffer.allocate(DType.FLOAT32, 3); Clipper clipper = Clipper.create(Backend.CPU)) {
            a.copyFrom(0, new float[] {3f, 0f, 0f});
            FloatBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).asFloatBuffer();
            b.put(new float[] {0f, 4f, 0f, 0f}).position(1); // the tensor is [4, 0, 0]
            ClipReport r = clipper.clipByGlobalNorm(GradientSet.of(a.tensor(), Tensor.of(b)), NormClip.of(1.0));
            float[] out = new float[3];
            a.copyTo(0, out);
            check(r.totalNorm() == 5.0, "total norm " + r.totalNorm());
            double s = 1.0 / (5.0 + 1e-6);
            check(Math.abs(out[0] - 3 * s) < 1e-6, "a[0] = " + out[0]);
            check(Math.abs(b.get(1) - 4 * s) < 1e-6, "b[1] = " + b.get(1));
            check(b.get(0) == 0f, "b[0] untouched, got " + b.get(0));
            System.out.println("ok " + r.totalNorm() + " on " + r.backend() + ", java " + System.getProperty("java.version"));
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
