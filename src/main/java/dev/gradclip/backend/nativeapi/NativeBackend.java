package dev.gradclip.backend.nativeapi;

import dev.gradclip.Backend;
import dev.gradclip.DType;
import dev.gradclip.DeviceBuffer;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.backend.ClampCounts;
import dev.gradclip.backend.ClipBackend;
import dev.gradclip.backend.DeviceMemory;
import dev.gradclip.backend.GlobalClipResult;
import dev.gradclip.backend.PendingGlobalClip;
import dev.gradclip.internal.Memory;
import java.util.ArrayList;
import java.util.List;

/**
 * A backend that runs the kernels of libgradclip (CUDA) or libgradclip-emu (emulated) through the per-pass
 * entry points of gradclip.h, one JNI call per pass. Tensors already where the kernels read them (device
 * memory for CUDA, native host memory for the emulator) are passed by address; the others are staged:
 * copied in, and copied back after a pass that writes.
 */
public final class NativeBackend implements ClipBackend {
    /** Raw off-heap access (internal: handed only to gradclip's own classes). */
    private static final Memory MEMORY = Memory.access();

    private final NativeApi api;
    private final Backend kind;
    private final String name;
    private long engine;
    private long stream;
    /** The last queued fused clip whose result was not read yet (the engine holds one result at a time). */
    private FusedClip pending;

    public NativeBackend(NativeApi api) {
        this.api = api;
        this.kind = api.kind();
        this.name = kind.cliName();
        long[] handle = new long[1];
        int rc = api.engineCreate(handle);
        if (rc != NativeApi.GC_OK || handle[0] == 0) {
            throw new IllegalStateException(name + " backend: gc_engine_create failed: " + api.lastError());
        }
        this.engine = handle[0];
    }

    @Override
    public Backend kind() {
        return kind;
    }

    public NativeApi api() {
        return api;
    }

    @Override
    public void checkSupported(GradientSet set) {
        for (int i = 0; i < set.size(); i++) {
            Tensor t = set.get(i);
            if (t instanceof Tensor.Device d) {
                Object owner = d.owner();
                if (owner instanceof DeviceBuffer db && db.kind() != kind) {
                    throw new IllegalArgumentException("tensor " + i + " lives in a " + db.kind().cliName()
                            + " device buffer, not one of the " + name + " backend");
                }
                if (owner == null && kind != Backend.CUDA) {
                    throw new IllegalArgumentException("tensor " + i + " is a raw CUDA device address; the " + name
                            + " backend cannot read CUDA device memory");
                }
            }
        }
    }

    /**
     * Later passes and {@link DeviceBuffer} copies run on {@code stream}: a {@code cudaStream_t} for CUDA, an
     * emulated stream ({@link EmulatorControl#createStream()}) for the emulated backend; 0 is the default
     * stream. A handle that is not a stream fails at the next pass, with the runtime's error.
     */
    @Override
    public synchronized void setStream(long stream) {
        this.stream = stream;
    }

    /** gc_stream_wait_event on the current stream: later work waits for {@code event} (the gradients are ready). */
    @Override
    public synchronized void waitForEvent(long event) {
        if (event == 0) throw new IllegalArgumentException("event is 0: pass the cudaEvent_t recorded after the gradients were written");
        check(api.streamWaitEvent(stream, event), "gc_stream_wait_event");
    }

    @Override
    public DeviceMemory deviceMemory() {
        return new DeviceMemory() {
            @Override
            public Backend kind() {
                return kind;
            }

            @Override
            public long allocate(long bytes) {
                long[] out = new long[1];
                int rc = api.deviceAlloc(bytes, out);
                if (rc != NativeApi.GC_OK) {
                    throw new OutOfMemoryError(name + " device allocation of " + bytes + " bytes failed: " + api.lastError());
                }
                return out[0];
            }

            @Override
            public void free(long address) {
                check(api.deviceFree(address), "gc_device_free");
            }

            // on the backend's current stream, so that a copy is ordered after the clips queued there (stream 0
            // is not ordered after a non-blocking stream: a read-back could see the gradients before the clip)
            @Override
            public void copyToDevice(long deviceDst, long hostSrc, long bytes) {
                synchronized (NativeBackend.this) {
                    check(api.memcpy(deviceDst, hostSrc, bytes, NativeApi.GC_COPY_HOST_TO_DEVICE, stream), "copy to device");
                }
            }

            @Override
            public void copyToHost(long hostDst, long deviceSrc, long bytes) {
                synchronized (NativeBackend.this) {
                    check(api.memcpy(hostDst, deviceSrc, bytes, NativeApi.GC_COPY_DEVICE_TO_HOST, stream), "copy to host");
                }
            }

            @Override
            public boolean isHostMemory() {
                return kind != Backend.CUDA;
            }
        };
    }

    // ------------------------------------------------------------------ enums by name (never ordinal)

    static int dtypeCode(DType d) {
        return switch (d) {
            case FLOAT32 -> NativeApi.GC_FLOAT32;
            case FLOAT64 -> NativeApi.GC_FLOAT64;
            case FLOAT16 -> NativeApi.GC_FLOAT16;
            case BFLOAT16 -> NativeApi.GC_BFLOAT16;
        };
    }

    static int normKind(NormType p) {
        if (p.p() == 1.0) return NativeApi.GC_NORM_L1;
        if (p.p() == 2.0) return NativeApi.GC_NORM_L2;
        if (p.isInfinity()) return NativeApi.GC_NORM_INF;
        return NativeApi.GC_NORM_GENERAL;
    }

    static int semanticsCode(Semantics s) {
        return switch (s) {
            case TORCH -> NativeApi.GC_SEMANTICS_TORCH;
            case TF -> NativeApi.GC_SEMANTICS_TF;
        };
    }

    static int policyCode(NonFinitePolicy p) {
        return switch (p) {
            case PROPAGATE -> NativeApi.GC_NONFINITE_PROPAGATE;
            case ERROR -> NativeApi.GC_NONFINITE_ERROR;
            case SKIP -> NativeApi.GC_NONFINITE_SKIP;
        };
    }

    // ------------------------------------------------------------------ passes

    @Override
    public synchronized long countNonFinite(GradientSet set) {
        long[] out = new long[1];
        run(set, false, table -> api.countNonFinite(engine, table, stream, out), "gc_count_nonfinite");
        return out[0];
    }

    @Override
    public synchronized ClampCounts clamp(GradientSet set, double min, double max) {
        long[] out = new long[2];
        run(set, true, table -> api.clamp(engine, table, min, max, stream, out), "gc_clamp");
        return new ClampCounts(out[0], out[1]);
    }

    @Override
    public synchronized NormPartials norms(GradientSet set, NormType p) {
        int n = set.size();
        long[] sizes = new long[n];
        long chunks = 0;
        for (int t = 0; t < n; t++) {
            sizes[t] = set.get(t).size();
            chunks += (sizes[t] + 65_535) / 65_536;
        }
        if (chunks > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("gradient set too large: more than 2^31 chunks");
        double[] chunkSums = new double[(int) chunks];
        double[] tensorSums = new double[n];
        int kindCode = normKind(p);
        double[] maxAbs = kindCode == NativeApi.GC_NORM_GENERAL ? new double[n] : null;
        long[] nonFinite = new long[1];
        run(set, false, table -> api.norms(engine, table, kindCode, p.p(), stream, chunkSums, tensorSums, maxAbs, nonFinite),
                "gc_norms");
        return NormPartials.of(p, chunkSums, sizes, tensorSums, maxAbs, nonFinite[0]);
    }

    @Override
    public synchronized long scale(GradientSet set, double[] tensorScales) {
        long[] written = new long[1];
        run(set, true, table -> api.scale(engine, table, tensorScales, stream, written), "gc_scale");
        return written[0];
    }

    @Override
    public boolean supportsFusedGlobalNorm(GradientSet set, NormClip clip) {
        if (normKind(clip.normType()) == NativeApi.GC_NORM_GENERAL) return false;
        for (Tensor t : set.tensors()) {
            boolean direct = t instanceof Tensor.Device || (kind != Backend.CUDA && t instanceof Tensor.OffHeap) || t.size() == 0;
            if (!direct) return false;
        }
        return true;
    }

    /** Queues the fused clip on the stream and returns at once (every tensor is where the kernels read it). */
    @Override
    public synchronized PendingGlobalClip clipByGlobalNormFused(GradientSet set, NormClip clip) {
        if (!supportsFusedGlobalNorm(set, clip)) throw new IllegalArgumentException("this clip needs staging or a general p");
        requireOpen();
        settlePending();
        NativeApi.Table table = directTable(set);
        int rc = api.clipGlobalNorm(engine, table, normKind(clip.normType()), clip.maxNorm(), semanticsCode(clip.semantics()),
                policyCode(clip.nonFinite()), stream, NativeApi.GC_FLAG_ASYNC, null, null, null);
        check(rc, "gc_clip_global_norm (async)");
        FusedClip f = new FusedClip(set.size());
        pending = f;
        return f;
    }

    /** The result of a queued fused clip, read from the engine once. */
    private final class FusedClip implements PendingGlobalClip {
        private final int n;
        private GlobalClipResult result;
        private RuntimeException failure;

        FusedClip(int n) {
            this.n = n;
        }

        @Override
        public boolean isDone() {
            synchronized (NativeBackend.this) {
                return result != null || failure != null;
            }
        }

        @Override
        public GlobalClipResult await() {
            synchronized (NativeBackend.this) {
                if (result == null && failure == null) {
                    try {
                        double[] norms = new double[n];
                        double[] summary = new double[2];
                        long[] counts = new long[3];
                        int rc = api.clipGlobalNormWait(engine, norms, summary, counts);
                        if (rc != NativeApi.GC_OK && rc != NativeApi.GC_ERR_NONFINITE) check(rc, "gc_clip_global_norm_wait");
                        result = new GlobalClipResult(summary[0], norms, summary[1], counts[0], counts[1], counts[2] != 0);
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                    if (pending == this) pending = null;
                }
                if (failure != null) throw failure;
                return result;
            }
        }
    }

    /** Reads a queued clip's result before the engine's single result slot is reused. */
    private void settlePending() {
        FusedClip p = pending;
        pending = null;
        if (p != null) {
            try {
                p.await();
            } catch (RuntimeException e) {
                // kept in the FusedClip: its owner sees it when it awaits
            }
        }
    }

    // ------------------------------------------------------------------ calls, staging

    @FunctionalInterface
    private interface Pass {
        int call(NativeApi.Table table);
    }

    private void requireOpen() {
        if (engine == 0) throw new IllegalStateException(name + " backend is closed");
    }

    /** Stages what the kernels cannot read directly, runs the pass, copies back when it {@code writes}. */
    private void run(GradientSet set, boolean writes, Pass pass, String what) {
        requireOpen();
        settlePending();
        int n = set.size();
        long[] addresses = new long[n];
        long[] counts = new long[n];
        int[] dtypes = new int[n];
        List<Staged> staged = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Tensor t = set.get(i);
                counts[i] = t.size();
                dtypes[i] = dtypeCode(t.dtype());
                addresses[i] = addressFor(t, staged);
            }
            check(pass.call(new NativeApi.Table(addresses, counts, dtypes)), what);
            if (writes) {
                for (Staged s : staged) s.copyBack();
            }
        } finally {
            for (Staged s : staged) s.free();
        }
    }

    private static NativeApi.Table directTable(GradientSet set) {
        int n = set.size();
        long[] addresses = new long[n];
        long[] counts = new long[n];
        int[] dtypes = new int[n];
        for (int i = 0; i < n; i++) {
            Tensor t = set.get(i);
            counts[i] = t.size();
            dtypes[i] = dtypeCode(t.dtype());
            addresses[i] = t.size() == 0 ? 0 : t instanceof Tensor.Device d ? d.address() : ((Tensor.OffHeap) t).address();
        }
        return new NativeApi.Table(addresses, counts, dtypes);
    }

    void check(int rc, String call) {
        if (rc == NativeApi.GC_OK) return;
        String message = name + " backend: " + call + " failed: " + api.lastError();
        switch (rc) {
            case NativeApi.GC_ERR_INVALID_ARGUMENT -> throw new IllegalArgumentException(message);
            case NativeApi.GC_ERR_OUT_OF_MEMORY -> throw new OutOfMemoryError(message);
            default -> throw new IllegalStateException(message + " (status " + rc + ")");
        }
    }

    /** A tensor copied to where the kernels can read it, to be copied back after a pass that writes. */
    private final class Staged {
        final Tensor source;
        final long host;      // native host copy (0 if the source is already native host memory)
        final long device;    // device copy for CUDA (0 for the emulator)
        final long bytes;

        Staged(Tensor source, long host, long device, long bytes) {
            this.source = source;
            this.host = host;
            this.device = device;
            this.bytes = bytes;
        }

        void copyBack() {
            if (device != 0) {
                long dst = host != 0 ? host : ((Tensor.OffHeap) source).address();
                check(api.memcpy(dst, device, bytes, NativeApi.GC_COPY_DEVICE_TO_HOST, stream), "copy to host");
            }
            if (host != 0) copyToHeap(source, host);
        }

        void free() {
            if (device != 0) api.deviceFree(device);
            if (host != 0) MEMORY.free(host);
        }
    }

    private long addressFor(Tensor t, List<Staged> staged) {
        if (t.size() == 0) return 0;
        if (t instanceof Tensor.Device d) return d.address();
        long bytes = t.byteSize();
        long host = 0;
        long hostAddress;
        if (t instanceof Tensor.OffHeap o) {
            hostAddress = o.address();
        } else {
            host = MEMORY.allocate(bytes);
            copyFromHeap(t, host);
            hostAddress = host;
        }
        if (kind != Backend.CUDA) {
            if (host != 0) staged.add(new Staged(t, host, 0, bytes));
            return hostAddress;
        }
        long[] out = new long[1];
        int rc = api.deviceAlloc(bytes, out);
        if (rc != NativeApi.GC_OK) {
            if (host != 0) MEMORY.free(host);
            check(rc, "device allocation of " + bytes + " bytes");
        }
        staged.add(new Staged(t, host, out[0], bytes));
        check(api.memcpy(out[0], hostAddress, bytes, NativeApi.GC_COPY_HOST_TO_DEVICE, stream), "copy to device");
        return out[0];
    }

    private static void copyFromHeap(Tensor t, long address) {
        if (t instanceof Tensor.HeapFloats a) MEMORY.write(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.HeapDoubles a) MEMORY.write(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.HeapShorts a) MEMORY.write(address, a.array(), a.offset(), (int) t.size());
    }

    private static void copyToHeap(Tensor t, long address) {
        if (t instanceof Tensor.HeapFloats a) MEMORY.read(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.HeapDoubles a) MEMORY.read(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.HeapShorts a) MEMORY.read(address, a.array(), a.offset(), (int) t.size());
    }

    @Override
    public synchronized void close() {
        settlePending();
        if (engine != 0) {
            api.engineDestroy(engine);
            engine = 0;
        }
    }
}
