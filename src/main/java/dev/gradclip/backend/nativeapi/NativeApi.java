package dev.gradclip.backend.nativeapi;

/**
 * The C API of src/main/cpp/gradclip.h, as Java sees it. Two implementations bind the same API:
 * {@code libgradclip} (CUDA) and {@code libgradclip-emu} (the same kernels compiled for the host).
 * One JNI crossing per operation: the whole tensor table goes over in one call.
 */
public interface NativeApi {
    int GC_OK = 0;
    int GC_ERR_INVALID_ARGUMENT = 1;
    int GC_ERR_CUDA = 2;
    int GC_ERR_NONFINITE = 3;
    int GC_ERR_OUT_OF_MEMORY = 4;
    int GC_ERR_UNAVAILABLE = 5;

    int OP_CLIP_VALUE = 0;
    int OP_NORMS = 1;
    int OP_CLIP_NORM = 2;
    int OP_CLIP_GLOBAL_NORM = 3;
    int OP_RENORMALIZE = 4;

    int FLAG_ASYNC = 1;

    int COPY_HOST_TO_DEVICE = 0;
    int COPY_DEVICE_TO_HOST = 1;
    int COPY_DEVICE_TO_DEVICE = 2;

    String backendName();

    String lastError();

    /** gc_probe: {@code out[0]} = device count, {@code out[1]} = the CUDA error code. */
    int probe(int[] deviceCount, int[] cudaError);

    int deviceAlloc(long bytes, long[] address);

    int deviceFree(long address);

    int memcpy(long dst, long src, long bytes, int kind, long stream);

    /** gc_engine_create; returns the engine handle (0 on failure, with the status in {@code status[0]}). */
    long engineCreate(int[] status);

    void engineDestroy(long engine);

    int run(long engine, int op, long[] addresses, long[] counts, int[] dtypes, long n, double a, double b, double normP,
            int semantics, int nonFinite, long stream, int flags, double[] tensorNorms, double[] tensorScales,
            double[] summary, long[] resultCounts);

    int engineResult(long engine, double[] tensorNorms, double[] tensorScales, double[] summary, long[] resultCounts);
}
