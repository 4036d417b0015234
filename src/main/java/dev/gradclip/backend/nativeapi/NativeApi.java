package dev.gradclip.backend.nativeapi;

import dev.gradclip.Backend;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * The C API of src/main/cpp/gradclip.h as Java calls it, bound once to either library's JNI declarations
 * ({@link CudaLibrary} for {@code libgradclip}, {@link EmulatedLibrary} for {@code libgradclip-emu}, the same
 * symbols): the one place that knows the native signatures. Enums cross as the C enum values, mapped by
 * name in {@link NativeBackend} (never by {@code ordinal()}). One JNI crossing per pass: the whole tensor
 * table goes over in one call, as three arrays (gradclip_jni.h builds the {@code gc_tensor_table}).
 */
public final class NativeApi {
    // gc_status
    public static final int GC_OK = 0;
    public static final int GC_ERR_INVALID_ARGUMENT = 1;
    public static final int GC_ERR_CUDA = 2;
    public static final int GC_ERR_NONFINITE = 3;
    public static final int GC_ERR_OUT_OF_MEMORY = 4;
    public static final int GC_ERR_UNAVAILABLE = 5;
    // gc_dtype
    public static final int GC_FLOAT32 = 0;
    public static final int GC_FLOAT64 = 1;
    public static final int GC_FLOAT16 = 2;
    public static final int GC_BFLOAT16 = 3;
    // gc_norm_kind
    public static final int GC_NORM_L1 = 0;
    public static final int GC_NORM_L2 = 1;
    public static final int GC_NORM_INF = 2;
    public static final int GC_NORM_GENERAL = 3;
    // gc_semantics
    public static final int GC_SEMANTICS_TORCH = 0;
    public static final int GC_SEMANTICS_TF = 1;
    // gc_nonfinite_policy
    public static final int GC_NONFINITE_PROPAGATE = 0;
    public static final int GC_NONFINITE_ERROR = 1;
    public static final int GC_NONFINITE_SKIP = 2;
    // gc_copy_kind
    public static final int GC_COPY_HOST_TO_DEVICE = 0;
    public static final int GC_COPY_DEVICE_TO_HOST = 1;
    public static final int GC_COPY_DEVICE_TO_DEVICE = 2;
    // flags
    public static final int GC_FLAG_ASYNC = 1;

    private final Backend kind;
    private final MethodHandle backendName, lastError, probe, deviceAlloc, deviceFree, memcpy, streamCreate, streamDestroy, streamWaitEvent,
            engineCreate, engineDestroy,
            countNonFinite, clamp, norms, scale, clipGlobalNorm, clipGlobalNormWait;

    private NativeApi(Backend kind, Class<?> lib) {
        this.kind = kind;
        MethodHandles.Lookup l = MethodHandles.lookup();
        Class<?> L = long.class, I = int.class, D = double.class, LA = long[].class, IA = int[].class, DA = double[].class;
        try {
            backendName = l.findStatic(lib, "gc_backend_name", MethodType.methodType(org.bytedeco.javacpp.BytePointer.class));
            lastError = l.findStatic(lib, "gc_last_error", MethodType.methodType(org.bytedeco.javacpp.BytePointer.class));
            probe = l.findStatic(lib, "gc_probe", MethodType.methodType(I, IA, IA));
            deviceAlloc = l.findStatic(lib, "gc_device_alloc", MethodType.methodType(I, L, LA));
            deviceFree = l.findStatic(lib, "gc_device_free", MethodType.methodType(I, L));
            memcpy = l.findStatic(lib, "gcj_memcpy", MethodType.methodType(I, L, L, L, I, L));
            streamCreate = l.findStatic(lib, "gc_stream_create", MethodType.methodType(I, LA));
            streamDestroy = l.findStatic(lib, "gc_stream_destroy", MethodType.methodType(I, L));
            streamWaitEvent = l.findStatic(lib, "gc_stream_wait_event", MethodType.methodType(I, L, L));
            engineCreate = l.findStatic(lib, "gcj_engine_create", MethodType.methodType(I, LA));
            engineDestroy = l.findStatic(lib, "gcj_engine_destroy", MethodType.methodType(void.class, L));
            countNonFinite = l.findStatic(lib, "gcj_count_nonfinite", MethodType.methodType(I, L, LA, LA, IA, L, L, LA));
            clamp = l.findStatic(lib, "gcj_clamp", MethodType.methodType(I, L, LA, LA, IA, L, D, D, L, LA));
            norms = l.findStatic(lib, "gcj_norms", MethodType.methodType(I, L, LA, LA, IA, L, I, D, L, DA, DA, DA, LA));
            scale = l.findStatic(lib, "gcj_scale", MethodType.methodType(I, L, LA, LA, IA, L, DA, L, LA));
            clipGlobalNorm = l.findStatic(lib, "gcj_clip_global_norm",
                    MethodType.methodType(I, L, LA, LA, IA, L, I, D, I, I, L, I, DA, DA, LA));
            clipGlobalNormWait = l.findStatic(lib, "gcj_clip_global_norm_wait", MethodType.methodType(I, L, DA, DA, LA));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("JNI declarations of " + lib.getName() + " do not match NativeApi", e);
        }
    }

    /**
     * Loads and binds the library of {@code kind} (CUDA or EMULATED); JavaCPP extracts it from the jar.
     *
     * @throws LinkageError (or another Throwable) when the library or its glue cannot be loaded
     */
    public static NativeApi load(Backend kind) throws ClassNotFoundException {
        String name = kind == Backend.CUDA ? "CudaLibrary" : "EmulatedLibrary";
        Class<?> lib = Class.forName(NativeApi.class.getPackageName() + "." + name, true, NativeApi.class.getClassLoader());
        return new NativeApi(kind, lib);
    }

    public Backend kind() { return kind; }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** "cuda" or "emulated". */
    public String backendName() {
        try {
            return ((org.bytedeco.javacpp.BytePointer) backendName.invokeExact()).getString();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** This thread's last error message. */
    public String lastError() {
        try {
            return ((org.bytedeco.javacpp.BytePointer) lastError.invokeExact()).getString();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** gc_probe: {@code deviceCount[0]}, {@code cudaError[0]}. */
    public int probe(int[] deviceCount, int[] cudaError) {
        try {
            return (int) probe.invokeExact(deviceCount, cudaError);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int deviceAlloc(long bytes, long[] address) {
        try {
            return (int) deviceAlloc.invokeExact(bytes, address);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int deviceFree(long address) {
        try {
            return (int) deviceFree.invokeExact(address);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** kind: GC_COPY_*. */
    public int memcpy(long dst, long src, long bytes, int copyKind, long stream) {
        try {
            return (int) memcpy.invokeExact(dst, src, bytes, copyKind, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** gc_stream_create: a non-blocking stream in {@code stream[0]} (emulated: a stream of the emulated runtime). */
    public int streamCreate(long[] stream) {
        try {
            return (int) streamCreate.invokeExact(stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** gc_stream_destroy. */
    public int streamDestroy(long stream) {
        try {
            return (int) streamDestroy.invokeExact(stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** gc_stream_wait_event: work queued on {@code stream} after this call waits for {@code event} (a cudaEvent_t). */
    public int streamWaitEvent(long stream, long event) {
        try {
            return (int) streamWaitEvent.invokeExact(stream, event);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** gc_engine_create; the handle in {@code engine[0]}. */
    public int engineCreate(long[] engine) {
        try {
            return (int) engineCreate.invokeExact(engine);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void engineDestroy(long engine) {
        try {
            engineDestroy.invokeExact(engine);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A tensor table as three arrays (see gc_tensor_table). */
    public record Table(long[] addresses, long[] counts, int[] dtypes) {
        public int n() { return counts.length; }
    }

    /** gc_count_nonfinite: {@code out[0]} = non-finite elements. */
    public int countNonFinite(long engine, Table t, long stream, long[] out) {
        try {
            return (int) countNonFinite.invokeExact(engine, t.addresses, t.counts, t.dtypes, (long) t.n(), stream, out);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** gc_clamp: {@code out[0]} = clipped, {@code out[1]} = non-finite. */
    public int clamp(long engine, Table t, double lo, double hi, long stream, long[] out) {
        try {
            return (int) clamp.invokeExact(engine, t.addresses, t.counts, t.dtypes, (long) t.n(), lo, hi, stream, out);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** gc_norms (kind: GC_NORM_*); {@code nonFinite[0]}; any output array may be null. */
    public int norms(long engine, Table t, int normKind, double p, long stream, double[] chunkSums, double[] tensorSums,
                     double[] maxAbs, long[] nonFinite) {
        try {
            return (int) norms.invokeExact(engine, t.addresses, t.counts, t.dtypes, (long) t.n(), normKind, p, stream, chunkSums,
                    tensorSums, maxAbs, nonFinite);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** gc_scale: {@code written[0]} = elements written. */
    public int scale(long engine, Table t, double[] scales, long stream, long[] written) {
        try {
            return (int) scale.invokeExact(engine, t.addresses, t.counts, t.dtypes, (long) t.n(), scales, stream, written);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * gc_clip_global_norm: {@code summary = {total, scale}}, {@code counts = {clipped, nonFinite, stopped}}
     * (not written with GC_FLAG_ASYNC: read them with {@link #clipGlobalNormWait}).
     */
    public int clipGlobalNorm(long engine, Table t, int normKind, double maxNorm, int semantics, int policy, long stream, int flags,
                              double[] tensorNorms, double[] summary, long[] counts) {
        try {
            return (int) clipGlobalNorm.invokeExact(engine, t.addresses, t.counts, t.dtypes, (long) t.n(), normKind, maxNorm, semantics,
                    policy, stream, flags, tensorNorms, summary, counts);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** gc_clip_global_norm_wait, outputs as {@link #clipGlobalNorm}. */
    public int clipGlobalNormWait(long engine, double[] tensorNorms, double[] summary, long[] counts) {
        try {
            return (int) clipGlobalNormWait.invokeExact(engine, tensorNorms, summary, counts);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }
}
