package dev.gradclip.backend.cuda;

import dev.gradclip.backend.nativeapi.NativeApi;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.ByPtrPtr;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP bindings to {@code libgradclip} (the CUDA kernels on the GPU). JavaCPP's build goal generates the JNI glue
 * from these declarations; the library and the glue travel in the jar under JavaCPP's platform path.
 */
@Platform(include = "gradclip.h", link = "gradclip")
public final class CudaLibrary implements NativeApi {
    static {
        Loader.load();
    }

    /** The instance used by the backend; touching this class loads the native libraries. */
    public static final CudaLibrary INSTANCE = new CudaLibrary();

    private CudaLibrary() {
    }

    static native @Cast("const char*") BytePointer gc_backend_name();

    static native @Cast("const char*") BytePointer gc_last_error();

    static native int gc_probe(@Cast("int32_t*") int[] deviceCount, @Cast("int32_t*") int[] cudaError);

    static native int gc_device_alloc(@Cast("int64_t") long bytes, @Cast("int64_t*") long[] address);

    static native int gc_device_free(@Cast("int64_t") long address);

    static native int gc_memcpy(@Cast("int64_t") long dst, @Cast("int64_t") long src, @Cast("int64_t") long bytes,
                                int kind, @Cast("int64_t") long stream);

    static native int gc_engine_create(@Cast("gc_engine**") @ByPtrPtr Pointer engine);

    static native void gc_engine_destroy(@Cast("gc_engine*") Pointer engine);

    static native int gc_run(@Cast("gc_engine*") Pointer engine, int op, @Cast("const int64_t*") long[] addresses,
                             @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes,
                             @Cast("int64_t") long n, double a, double b, double normP, int semantics, int nonFinite,
                             @Cast("int64_t") long stream, int flags, double[] tensorNorms, double[] tensorScales,
                             double[] summary, @Cast("int64_t*") long[] resultCounts);

    static native int gc_engine_result(@Cast("gc_engine*") Pointer engine, double[] tensorNorms, double[] tensorScales,
                                       double[] summary, @Cast("int64_t*") long[] resultCounts);

    private static final class Handle extends Pointer {
        Handle(long address) {
            this.address = address;
        }
    }

    @Override
    public String backendName() {
        return gc_backend_name().getString();
    }

    @Override
    public String lastError() {
        return gc_last_error().getString();
    }

    @Override
    public int probe(int[] deviceCount, int[] cudaError) {
        return gc_probe(deviceCount, cudaError);
    }

    @Override
    public int deviceAlloc(long bytes, long[] address) {
        return gc_device_alloc(bytes, address);
    }

    @Override
    public int deviceFree(long address) {
        return gc_device_free(address);
    }

    @Override
    public int memcpy(long dst, long src, long bytes, int kind, long stream) {
        return gc_memcpy(dst, src, bytes, kind, stream);
    }

    @Override
    public long engineCreate(int[] status) {
        Handle h = new Handle(0);
        status[0] = gc_engine_create(h);
        return h.address();
    }

    @Override
    public void engineDestroy(long engine) {
        gc_engine_destroy(new Handle(engine));
    }

    @Override
    public int run(long engine, int op, long[] addresses, long[] counts, int[] dtypes, long n, double a, double b,
                   double normP, int semantics, int nonFinite, long stream, int flags, double[] tensorNorms,
                   double[] tensorScales, double[] summary, long[] resultCounts) {
        return gc_run(new Handle(engine), op, addresses, counts, dtypes, n, a, b, normP, semantics, nonFinite, stream, flags,
                tensorNorms, tensorScales, summary, resultCounts);
    }

    @Override
    public int engineResult(long engine, double[] tensorNorms, double[] tensorScales, double[] summary, long[] resultCounts) {
        return gc_engine_result(new Handle(engine), tensorNorms, tensorScales, summary, resultCounts);
    }
}
