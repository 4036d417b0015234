package dev.gradclip.backend.nativeapi;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Operation;
import dev.gradclip.PendingReport;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.backend.ClipBackend;
import dev.gradclip.internal.Memory;
import java.util.ArrayList;
import java.util.List;

/**
 * A backend that runs the kernels of libgradclip (CUDA) or libgradclip-emu (emulated) through one
 * {@code gc_run} call per operation. Tensors already where the kernels read them (device memory for
 * CUDA, native host memory for the emulator) are passed by address; the others are staged: copied in,
 * clipped, and copied back.
 */
public final class NativeBackend implements ClipBackend {
    private final NativeApi api;
    private final Backend kind;
    private final String name;
    private long engine;
    private long stream;
    /** The last queued operation whose report was not read yet (the engine holds one result at a time). */
    private PendingReport pending;

    public NativeBackend(NativeApi api, Backend kind) {
        this.api = api;
        this.kind = kind;
        this.name = kind.cliName();
        int[] status = new int[1];
        long e = api.engineCreate(status);
        if (status[0] != NativeApi.GC_OK || e == 0) {
            throw new IllegalStateException(name + " backend: gc_engine_create failed: " + api.lastError());
        }
        this.engine = e;
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

    @Override
    public synchronized void setStream(long stream) {
        if (stream != 0 && kind != Backend.CUDA) {
            throw new IllegalArgumentException("the " + name + " backend has no CUDA streams");
        }
        this.stream = stream;
    }

    @Override
    public ClipReport clipByValue(GradientSet set, ValueClip clip) {
        return run(Operation.CLIP_VALUE, NativeApi.OP_CLIP_VALUE, set, clip.min(), clip.max(), NormType.L2, Semantics.TORCH,
                clip.nonFinite());
    }

    @Override
    public ClipReport norms(GradientSet set, NormType normType, NonFinitePolicy policy) {
        return run(Operation.NORMS, NativeApi.OP_NORMS, set, 0, 0, normType, Semantics.TORCH, policy);
    }

    @Override
    public ClipReport clipByNorm(GradientSet set, NormClip clip) {
        return run(Operation.CLIP_NORM, NativeApi.OP_CLIP_NORM, set, clip.maxNorm(), 0, clip.normType(), clip.semantics(),
                clip.nonFinite());
    }

    @Override
    public ClipReport clipByGlobalNorm(GradientSet set, NormClip clip) {
        return run(Operation.CLIP_GLOBAL_NORM, NativeApi.OP_CLIP_GLOBAL_NORM, set, clip.maxNorm(), 0, clip.normType(),
                clip.semantics(), clip.nonFinite());
    }

    @Override
    public ClipReport renormalize(GradientSet set, NormType normType, NonFinitePolicy policy) {
        return run(Operation.RENORMALIZE, NativeApi.OP_RENORMALIZE, set, 0, 0, normType, Semantics.TORCH, policy);
    }

    /**
     * Queues the clip on the stream and returns at once when every tensor is already where the kernels
     * read it (device memory; for the emulator, native host memory); otherwise it stages and waits.
     */
    @Override
    public synchronized PendingReport clipByGlobalNormAsync(GradientSet set, NormClip clip) {
        for (Tensor t : set.tensors()) {
            boolean direct = t instanceof Tensor.Device || (kind != Backend.CUDA && t instanceof Tensor.OffHeap) || t.size() == 0;
            if (!direct) return PendingReport.completed(clipByGlobalNorm(set, clip));
        }
        settlePending();
        Call call = prepare(set);
        int rc = api.run(engine, NativeApi.OP_CLIP_GLOBAL_NORM, call.addresses, call.counts, call.dtypes, call.n,
                clip.maxNorm(), 0, clip.normType().p(), clip.semantics().ordinal(), clip.nonFinite().ordinal(), stream,
                NativeApi.FLAG_ASYNC, null, null, null, null);
        check(rc, "gc_run (async)");
        PendingReport p = PendingReport.deferred(() -> {
            synchronized (NativeBackend.this) {
                Outputs o = new Outputs(call.n);
                int r = api.engineResult(engine, o.tensorNorms, o.tensorScales, o.summary, o.resultCounts);
                if (pending != null && pending.isRead()) pending = null;
                return report(Operation.CLIP_GLOBAL_NORM, set, clip.normType(), r, o);
            }
        });
        pending = p;
        return p;
    }

    /** Reads a queued operation's report before the engine's single result slot is reused. */
    private void settlePending() {
        PendingReport p = pending;
        pending = null;
        if (p != null && !p.isRead()) {
            try {
                p.get();
            } catch (RuntimeException e) {
                // kept in the PendingReport: its owner sees it when it calls get()
            }
        }
    }

    private record Call(long[] addresses, long[] counts, int[] dtypes, int n) {
    }

    private static Call prepare(GradientSet set) {
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
        return new Call(addresses, counts, dtypes, n);
    }

    private static final class Outputs {
        final double[] tensorNorms;
        final double[] tensorScales;
        final double[] summary = new double[2];
        final long[] resultCounts = new long[3];

        Outputs(int n) {
            tensorNorms = new double[n];
            tensorScales = new double[n];
        }
    }

    private ClipReport report(Operation op, GradientSet set, NormType p, int rc, Outputs o) {
        boolean hasNorms = op != Operation.CLIP_VALUE;
        ClipReport report = new ClipReport(op, name, hasNorms ? p : null, hasNorms, hasNorms ? o.summary[0] : Double.NaN,
                hasNorms ? o.tensorNorms : new double[0], o.summary[1], o.tensorScales, o.resultCounts[0],
                o.resultCounts[1], set.totalElements(), o.resultCounts[2] != 0);
        if (rc == NativeApi.GC_ERR_NONFINITE) {
            throw new NonFiniteGradientException(api.lastError() + "; nothing was modified", report);
        }
        check(rc, "gc_run");
        return report;
    }

    private synchronized ClipReport run(Operation op, int opCode, GradientSet set, double a, double b, NormType p,
                                        Semantics semantics, NonFinitePolicy policy) {
        if (engine == 0) throw new IllegalStateException(name + " backend is closed");
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
            Outputs o = new Outputs(n);
            int rc = api.run(engine, opCode, addresses, counts, dtypes, n, a, b, p.p(), semantics.ordinal(), policy.ordinal(),
                    stream, 0, o.tensorNorms, o.tensorScales, o.summary, o.resultCounts);
            ClipReport report = report(op, set, p, rc, o);
            if (op != Operation.NORMS && !report.skipped()) {
                for (Staged s : staged) s.copyBack();
            }
            return report;
        } finally {
            for (Staged s : staged) s.free();
        }
    }

    static int dtypeCode(DType d) {
        return switch (d) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case FLOAT16 -> 2;
            case BFLOAT16 -> 3;
        };
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

    // ------------------------------------------------------------------ staging

    /** A tensor copied to where the kernels can read it, to be copied back after the operation. */
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
                check(api.memcpy(dst, device, bytes, NativeApi.COPY_DEVICE_TO_HOST, stream), "copy to host");
            }
            if (host != 0) copyToHeap(source, host);
        }

        void free() {
            if (device != 0) api.deviceFree(device);
            if (host != 0) Memory.free(host);
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
            host = Memory.allocate(bytes);
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
            if (host != 0) Memory.free(host);
            check(rc, "device allocation of " + bytes + " bytes");
        }
        staged.add(new Staged(t, host, out[0], bytes));
        check(api.memcpy(out[0], hostAddress, bytes, NativeApi.COPY_HOST_TO_DEVICE, stream), "copy to device");
        return out[0];
    }

    private static void copyFromHeap(Tensor t, long address) {
        if (t instanceof Tensor.FloatArray a) Memory.write(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.DoubleArray a) Memory.write(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.ShortArray a) Memory.write(address, a.array(), a.offset(), (int) t.size());
    }

    private static void copyToHeap(Tensor t, long address) {
        if (t instanceof Tensor.FloatArray a) Memory.read(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.DoubleArray a) Memory.read(address, a.array(), a.offset(), (int) t.size());
        else if (t instanceof Tensor.ShortArray a) Memory.read(address, a.array(), a.offset(), (int) t.size());
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
