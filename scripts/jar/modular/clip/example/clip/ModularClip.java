package example.clip;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NormClip;
import dev.gradclip.Tensor;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Set;
import java.util.TreeSet;

/**
 * scripts/check-jar.sh, on the module path: gradclip is the named (not automatic) module dev.gradclip
 * exporting exactly its API packages; a global-norm clip of a heap array, a NativeBuffer and a direct
 * buffer on the CPU gives the expected values; and dev.gradclip.internal.Memory is out of reach of this
 * module even by reflection. Prints "ok ..." and exits 0, or throws.
 */
public final class ModularClip {
    public static void main(String[] args) throws Exception {
        Module gradclip = Clipper.class.getModule();
        check(gradclip.isNamed() && "dev.gradclip".equals(gradclip.getName()), "module " + gradclip);
        ModuleDescriptor d = gradclip.getDescriptor();
        check(!d.isAutomatic(), "dev.gradclip is an explicit module, not an automatic one");
        Set<String> exported = new TreeSet<>();
        for (ModuleDescriptor.Exports e : d.exports()) {
            check(!e.isQualified(), "unqualified export " + e);
            exported.add(e.source());
        }
        check(exported.equals(Set.of("dev.gradclip", "dev.gradclip.distributed", "dev.gradclip.monitor", "dev.gradclip.policy")),
                "exports " + exported);
        check(d.opens().isEmpty() && !d.isOpen(), "opens nothing: " + d.opens());

        try (NativeBuffer a = NativeBuffer.allocate(DType.FLOAT32, 3); Clipper clipper = Clipper.create(Backend.CPU)) {
            a.copyFrom(0, new float[] {3f, 0f, 0f});
            FloatBuffer b = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).asFloatBuffer();
            b.put(new float[] {0f, 4f, 0f, 0f}).position(1); // the tensor is [4, 0, 0]
            float[] h = {0f, 0f, 12f};
            ClipReport r = clipper.clipByGlobalNorm(GradientSet.of(a.tensor(), Tensor.of(b), Tensor.of(h)), NormClip.of(1.0));
            float[] out = new float[3];
            a.copyTo(0, out);
            check(r.totalNorm() == 13.0, "total norm " + r.totalNorm());
            double s = 1.0 / (13.0 + 1e-6);
            check(Math.abs(out[0] - 3 * s) < 1e-6, "a[0] = " + out[0]);
            check(Math.abs(b.get(1) - 4 * s) < 1e-6, "b[1] = " + b.get(1));
            check(Math.abs(h[2] - 12 * s) < 1e-6, "h[2] = " + h[2]);
            check(b.get(0) == 0f, "b[0] untouched, got " + b.get(0));
            System.out.println("ok " + r.totalNorm() + " on " + r.backend() + " from module " + gradclip.getName()
                    + ", java " + System.getProperty("java.version"));
        }

        // the internal package is not exported: the class can be named, not used, not even reflectively
        Class<?> memory = Class.forName("dev.gradclip.internal.Memory");
        // the multi-release jar on the module path: JDK 22+ loads the FFM version of Memory (no Unsafe field)
        boolean unsafe = java.util.Arrays.stream(memory.getDeclaredFields())
                .anyMatch(f -> f.getType().getName().equals("sun.misc.Unsafe"));
        check(unsafe == (Runtime.version().feature() < 22), "Memory version on " + Runtime.version() + ": unsafe=" + unsafe);
        System.out.println("internal.Memory: the " + (unsafe ? "Unsafe" : "FFM") + " version");
        check(!gradclip.isExported("dev.gradclip.internal", ModularClip.class.getModule()), "internal is not exported");
        Method access = memory.getMethod("access");
        try {
            Object m = access.invoke(null);
            throw new AssertionError("obtained " + m);
        } catch (IllegalAccessException expected) {
            System.out.println("refused: " + expected.getMessage());
        }
        try {
            access.setAccessible(true);
            throw new AssertionError("setAccessible succeeded on dev.gradclip.internal.Memory.access");
        } catch (InaccessibleObjectException expected) {
            System.out.println("refused: " + expected.getMessage());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
