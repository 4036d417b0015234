package dev.gradclip.backend.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Raw;

/**
 * JavaCPP bindings to {@code libgradclip-cpu} (src/main/cpp/cpu: the CPU backend's chunk kernels in
 * native SIMD code, C API in {@code gradclip_cpu.h}) through the JNI glue of {@code gradclip_cpu_jni.h},
 * which pins heap arrays with GetPrimitiveArrayCritical for the length of one pass and uses off-heap
 * memory at its address: no copies either way. JavaCPP's build goal compiles the glue; both libraries
 * travel in the jar under JavaCPP's platform folder. Touching this class loads them; where they are
 * absent (another OS or architecture) that throws, and {@link NativeKernels} falls back to Java.
 */
@Platform(include = {"cpu/gradclip_cpu.h", "cpu/gradclip_cpu_jni.h"}, link = "gradclip-cpu")
public final class NativeCpuLibrary {
    static {
        Loader.load();
    }

    static final int OP_NORMS = 0;
    static final int OP_COUNT_NONFINITE = 1;
    static final int OP_CLAMP = 2;
    static final int OP_SCALE = 3;

    static final int OK = 0;
    static final int ISA_SCALAR = 0;
    static final int ISA_AVX2 = 1;
    static final int ISA_AVX512 = 2;

    private NativeCpuLibrary() {
    }

    /** One pass over a range of chunks; see gradclip_cpu_jni.h for every argument. */
    static native int gccpu_jni_run(@Raw(withEnv = true) Object arrays, @Raw Object addrs, @Raw Object counts,
                                    @Raw Object dtypes, @Raw Object lengths, int t0, int t1, long first, long nchunks, int op, int kind,
                                    @Raw Object params, @Raw Object outD, int outOff, @Raw Object outL);

    static native int gccpu_isa();

    static native int gccpu_isa_supported(int isa);

    static native int gccpu_set_isa(int isa);
}
