package dev.gradclip.bench.jmh;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.DeviceBuffer;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.Tensor;
import dev.gradclip.backend.NativeBackends;
import dev.gradclip.backend.nativeapi.NativeApi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A gradient set in device memory: every tensor of a shapes file ({@code src/test/resources/shapes}, or the
 * folder in the system property {@code gradclip.jmh.shapes}) as an fp32 view into one device allocation
 * (each tensor 256-byte aligned), filled with a repeated random pattern, plus a pristine copy that
 * {@link #restore()} copies back (device to device). The clipper runs on the default stream or on a
 * caller's non-blocking stream ({@code gc_stream_create}).
 */
@State(Scope.Benchmark)
public class DeviceGradients {
    /** cuda, or emulated (the dry run without a GPU). */
    @Param({"cuda"})
    public String backend;

    /** A shapes file: gpt2-small (148 tensors, 124M elements), many-small (10,000 tensors), one-large (2^28). */
    @Param({"gpt2-small", "many-small"})
    public String shapes;

    /** default: stream 0; caller: a non-blocking stream of the caller. */
    @Param({"default", "caller"})
    public String stream;

    /** Each tensor's size divided by this (at least one element): 1000 for the emulated dry run. */
    @Param({"1"})
    public int scaleDown;

    /** At most this many tensors (0: all): 300 for the emulated dry run. */
    @Param({"0"})
    public int maxTensors;

    Clipper clipper;
    GradientSet set;
    private NativeApi api;
    private DeviceBuffer data;
    private DeviceBuffer pristine;
    private long callerStream;
    private long bytes;

    @Setup(Level.Trial)
    public void open() {
        Backend kind = Backend.parse(backend);
        clipper = Clipper.create(kind);
        api = NativeBackends.api(kind);
        if ("caller".equals(stream)) {
            long[] s = new long[1];
            check(api.streamCreate(s), "gc_stream_create");
            callerStream = s[0];
            clipper.onStream(callerStream);
        } else if (!"default".equals(stream)) {
            throw new IllegalArgumentException("stream is default or caller, not " + stream);
        }
        List<Long> sizes = sizes();
        long[] offsets = new long[sizes.size()];
        long total = 0;
        for (int t = 0; t < offsets.length; t++) {
            offsets[t] = total;
            total += (sizes.get(t) + 63) / 64 * 64;  // 256-byte aligned starts
        }
        data = clipper.allocate(DType.FLOAT32, total);
        pristine = clipper.allocate(DType.FLOAT32, total);
        bytes = 4 * total;
        fill(pristine, total);
        List<Tensor> tensors = new ArrayList<>(sizes.size());
        for (int t = 0; t < offsets.length; t++) {
            long address = data.address() + 4 * offsets[t];
            // the emulated backend's device memory is host memory: a host view of it
            tensors.add(kind == Backend.CUDA ? Tensor.onDevice(address, sizes.get(t), DType.FLOAT32)
                    : Tensor.ofAddress(address, sizes.get(t), DType.FLOAT32));
        }
        set = GradientSet.of(tensors);
        restore();
    }

    /** Copies the pristine gradients back (device to device, on the clipper's stream). */
    void restore() {
        check(api.memcpy(data.address(), pristine.address(), bytes, NativeApi.GC_COPY_DEVICE_TO_DEVICE, callerStream), "restore");
    }

    @TearDown(Level.Trial)
    public void close() {
        data.close();
        pristine.close();
        clipper.close();
        if (callerStream != 0) check(api.streamDestroy(callerStream), "gc_stream_destroy");
    }

    private List<Long> sizes() {
        Path file = Path.of(System.getProperty("gradclip.jmh.shapes", "src/test/resources/shapes"), shapes + ".txt");
        List<Long> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file)) {
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) continue;
                long n = 1;
                for (String d : line.split("x")) n = Math.multiplyExact(n, Long.parseLong(d.trim()));
                out.add(Math.max(1, n / scaleDown));
                if (maxTensors > 0 && out.size() == maxTensors) break;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("shapes file " + file + " (set -Dgradclip.jmh.shapes=DIR)", e);
        }
        return out;
    }

    /** A 1 Mi-element random block (N(0, 0.01^2)), repeated over the buffer. */
    private void fill(DeviceBuffer dst, long count) {
        int block = (int) Math.min(count, 1 << 20);
        float[] pattern = new float[block];
        SplittableRandom r = new SplittableRandom(20261129);
        for (int i = 0; i < block; i++) pattern[i] = (float) (r.nextGaussian() * 0.01);
        try (NativeBuffer host = NativeBuffer.allocate(DType.FLOAT32, block)) {
            host.copyFrom(0, pattern);
            for (long off = 0; off < count; off += block) {
                long n = Math.min(block, count - off);
                check(api.memcpy(dst.address() + 4 * off, host.address(), 4 * n, NativeApi.GC_COPY_HOST_TO_DEVICE, callerStream), "fill");
            }
        }
    }

    private void check(int rc, String what) {
        if (rc != NativeApi.GC_OK) throw new IllegalStateException(what + " failed: " + api.lastError());
    }
}
