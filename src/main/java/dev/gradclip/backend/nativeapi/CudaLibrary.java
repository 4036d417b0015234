package dev.gradclip.backend.nativeapi;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI declarations of {@code libgradclip} (the CUDA kernels on the GPU), generated into glue by JavaCPP's build goal; the
 * library and the glue travel in the jar under JavaCPP's platform path. Declarations only: {@link NativeApi}
 * binds them (the same list as the other library's; the C side is src/main/cpp/gradclip_jni.h).
 */
@Platform(include = {"gradclip.h", "gradclip_jni.h"}, link = "gradclip")
final class CudaLibrary {
    static {
        Loader.load();
    }

    private CudaLibrary() {
    }

    static native @Cast("const char*") BytePointer gc_backend_name();

    static native @Cast("const char*") BytePointer gc_last_error();

    static native int gc_probe(@Cast("int32_t*") int[] deviceCount, @Cast("int32_t*") int[] cudaError);

    static native int gc_device_alloc(@Cast("int64_t") long bytes, @Cast("int64_t*") long[] address);

    static native int gc_device_free(@Cast("int64_t") long address);

    static native int gcj_memcpy(@Cast("int64_t") long dst, @Cast("int64_t") long src, @Cast("int64_t") long bytes,
                                 @Cast("int32_t") int kind, @Cast("int64_t") long stream);

    static native int gc_stream_create(@Cast("int64_t*") long[] stream);

    static native int gc_stream_destroy(@Cast("int64_t") long stream);

    static native int gc_stream_wait_event(@Cast("int64_t") long stream, @Cast("int64_t") long event);

    static native int gcj_engine_create(@Cast("int64_t*") long[] engine);

    static native void gcj_engine_destroy(@Cast("int64_t") long engine);

    static native int gcj_count_nonfinite(@Cast("int64_t") long engine, @Cast("const int64_t*") long[] addresses,
                                          @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes,
                                          @Cast("int64_t") long n, @Cast("int64_t") long stream, @Cast("int64_t*") long[] out);

    static native int gcj_clamp(@Cast("int64_t") long engine, @Cast("const int64_t*") long[] addresses,
                                @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes, @Cast("int64_t") long n,
                                double lo, double hi, @Cast("int64_t") long stream, @Cast("int64_t*") long[] out);

    static native int gcj_norms(@Cast("int64_t") long engine, @Cast("const int64_t*") long[] addresses,
                                @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes, @Cast("int64_t") long n,
                                @Cast("int32_t") int kind, double p, @Cast("int64_t") long stream, double[] chunkSums,
                                double[] tensorSums, double[] tensorMaxAbs, @Cast("int64_t*") long[] nonFinite);

    static native int gcj_scale(@Cast("int64_t") long engine, @Cast("const int64_t*") long[] addresses,
                                @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes, @Cast("int64_t") long n,
                                @Cast("const double*") double[] scales, @Cast("int64_t") long stream, @Cast("int64_t*") long[] written);

    static native int gcj_clip_global_norm(@Cast("int64_t") long engine, @Cast("const int64_t*") long[] addresses,
                                           @Cast("const int64_t*") long[] counts, @Cast("const int32_t*") int[] dtypes,
                                           @Cast("int64_t") long n, @Cast("int32_t") int kind, double maxNorm,
                                           @Cast("int32_t") int semantics, @Cast("int32_t") int policy, @Cast("int64_t") long stream,
                                           @Cast("int32_t") int flags, double[] tensorNorms, double[] summary,
                                           @Cast("int64_t*") long[] counts3);

    static native int gcj_clip_global_norm_wait(@Cast("int64_t") long engine, double[] tensorNorms, double[] summary,
                                                @Cast("int64_t*") long[] counts3);
}
