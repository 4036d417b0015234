package dev.gradclip.backend.nativeapi;

import dev.gradclip.Backend;
import dev.gradclip.DType;
import dev.gradclip.Tensor;
import dev.gradclip.internal.Memory;
import java.util.Objects;

/**
 * Memory of a native backend's device (GPU memory for CUDA; host memory for the emulator), allocated
 * through gradclip's own C API so that no CUDA presets are needed. Copies in and out of Java arrays;
 * {@link #tensor()} gives a view the backend clips in place, without staging.
 */
public final class DeviceBuffer implements AutoCloseable, Tensor.AutoCloseableOwner {
    private final NativeApi api;
    private final Backend kind;
    private final DType dtype;
    private final long count;
    private long address;

    public DeviceBuffer(NativeApi api, Backend kind, DType dtype, long count) {
        this.api = Objects.requireNonNull(api);
        this.kind = kind;
        this.dtype = Objects.requireNonNull(dtype);
        if (count < 0) throw new IllegalArgumentException("negative element count: " + count);
        this.count = count;
        long[] out = new long[1];
        int rc = api.deviceAlloc(Math.max(1, count * dtype.byteSize()), out);
        if (rc != NativeApi.GC_OK) {
            throw new OutOfMemoryError(kind.cliName() + " device allocation of " + count * dtype.byteSize() + " bytes failed: "
                    + api.lastError());
        }
        this.address = out[0];
    }

    public Backend kind() { return kind; }

    public DType dtype() { return dtype; }

    public long count() { return count; }

    @Override
    public synchronized boolean isOpen() { return address != 0; }

    public synchronized long address() {
        if (address == 0) throw new IllegalStateException("device buffer is closed");
        return address;
    }

    public Tensor tensor() {
        return Tensor.onDevice(address(), count, dtype, this);
    }

    /** Copies the elements of {@code src} (a float[], double[] or short[] matching the dtype) in, from element 0. */
    public void copyFrom(Object src) {
        long n = length(src);
        long host = Memory.allocate(n * dtype.byteSize());
        try {
            if (src instanceof float[] f) Memory.write(host, f, 0, f.length);
            else if (src instanceof double[] d) Memory.write(host, d, 0, d.length);
            else Memory.write(host, (short[]) src, 0, ((short[]) src).length);
            check(api.memcpy(address(), host, n * dtype.byteSize(), NativeApi.GC_COPY_HOST_TO_DEVICE, 0L));
        } finally {
            Memory.free(host);
        }
    }

    /** Copies elements {@code [0, dst.length)} out into {@code dst}. */
    public void copyTo(Object dst) {
        long n = length(dst);
        long host = Memory.allocate(n * dtype.byteSize());
        try {
            check(api.memcpy(host, address(), n * dtype.byteSize(), NativeApi.GC_COPY_DEVICE_TO_HOST, 0L));
            if (dst instanceof float[] f) Memory.read(host, f, 0, f.length);
            else if (dst instanceof double[] d) Memory.read(host, d, 0, d.length);
            else Memory.read(host, (short[]) dst, 0, ((short[]) dst).length);
        } finally {
            Memory.free(host);
        }
    }

    private long length(Object array) {
        long n;
        DType expected;
        if (array instanceof float[] f) { n = f.length; expected = DType.FLOAT32; }
        else if (array instanceof double[] d) { n = d.length; expected = DType.FLOAT64; }
        else if (array instanceof short[] s) { n = s.length; expected = dtype == DType.BFLOAT16 ? DType.BFLOAT16 : DType.FLOAT16; }
        else throw new IllegalArgumentException("expected a float[], double[] or short[], got " + array);
        if (expected != dtype) throw new IllegalArgumentException("buffer holds " + dtype + ", array is " + expected);
        if (n > count) throw new IndexOutOfBoundsException(n + " elements do not fit a buffer of " + count);
        return n;
    }

    private void check(int rc) {
        if (rc != NativeApi.GC_OK) throw new IllegalStateException(kind.cliName() + " copy failed: " + api.lastError());
    }

    @Override
    public synchronized void close() {
        if (address != 0) {
            api.deviceFree(address);
            address = 0;
        }
    }
}
