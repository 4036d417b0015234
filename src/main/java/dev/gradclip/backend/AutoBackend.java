package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import java.util.Objects;

/**
 * AUTO when a device backend (CUDA) is available: each gradient set runs where its tensors live
 * ({@link #route}). A set with a tensor in device memory (a {@link dev.gradclip.DeviceBuffer} view, or
 * {@link Tensor#onDevice}, e.g. a torch CUDA tensor's {@code data_ptr}) runs on the device backend; a set of
 * host tensors only (Java arrays, direct buffers, native memory) runs on the host backend (the CPU), which
 * reads them in place: the device backend would copy every tensor to the GPU and back on every call.
 * Streams, events and device memory are the device backend's. Both backends are closed with this one.
 */
public final class AutoBackend implements ClipBackend {
    /** Where a gradient set runs. */
    public enum Target {
        /** Every tensor is host memory: the host (CPU) backend. */
        HOST,
        /** At least one tensor is device memory: the device backend (host tensors of a mixed set are staged). */
        DEVICE
    }

    private final ClipBackend host;
    private final ClipBackend device;

    /** Routes between {@code host} (a CPU backend) and {@code device} (CUDA; the emulated backend in tests). */
    public AutoBackend(ClipBackend host, ClipBackend device) {
        this.host = Objects.requireNonNull(host, "host backend is null");
        this.device = Objects.requireNonNull(device, "device backend is null");
    }

    /**
     * The rule: {@link Target#DEVICE} if any tensor of {@code set} is a device view ({@link Tensor.Device}, empty
     * or not), else {@link Target#HOST} (the empty set included). Only the device backend can read device memory,
     * so a mixed set goes there too.
     */
    public static Target route(GradientSet set) {
        Objects.requireNonNull(set, "gradient set is null");
        for (Tensor t : set.tensors()) {
            if (t instanceof Tensor.Device) return Target.DEVICE;
        }
        return Target.HOST;
    }

    /** {@link Backend#AUTO}: the backend of each set is {@link #forSet}'s. */
    @Override
    public Backend kind() {
        return Backend.AUTO;
    }

    @Override
    public ClipBackend forSet(GradientSet set) {
        return route(set) == Target.DEVICE ? device : host;
    }

    /** The device backend (for its streams, events and memory). */
    public ClipBackend device() {
        return device;
    }

    @Override
    public void checkSupported(GradientSet set) {
        forSet(set).checkSupported(set);
    }

    @Override
    public long countNonFinite(GradientSet set) {
        return forSet(set).countNonFinite(set);
    }

    @Override
    public ClampCounts clamp(GradientSet set, double min, double max) {
        return forSet(set).clamp(set, min, max);
    }

    @Override
    public NormPartials norms(GradientSet set, NormType p) {
        return forSet(set).norms(set, p);
    }

    @Override
    public long scale(GradientSet set, double[] tensorScales) {
        return forSet(set).scale(set, tensorScales);
    }

    @Override
    public boolean supportsFusedGlobalNorm(GradientSet set, NormClip clip) {
        return forSet(set).supportsFusedGlobalNorm(set, clip);
    }

    @Override
    public PendingGlobalClip clipByGlobalNormFused(GradientSet set, NormClip clip) {
        return forSet(set).clipByGlobalNormFused(set, clip);
    }

    @Override
    public DeviceMemory deviceMemory() {
        return device.deviceMemory();
    }

    @Override
    public void setStream(long stream) {
        device.setStream(stream);
    }

    @Override
    public void waitForEvent(long event) {
        device.waitForEvent(event);
    }

    @Override
    public void close() {
        try {
            host.close();
        } finally {
            device.close();
        }
    }
}
