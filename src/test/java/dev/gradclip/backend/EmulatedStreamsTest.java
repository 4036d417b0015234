package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.DeviceBuffer;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.PendingReport;
import dev.gradclip.Tensor;
import dev.gradclip.backend.nativeapi.EmulatorControl;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Stream order on the emulated runtime (which queues work per stream and does not order stream 0 after
 * non-blocking streams, as CUDA does not): the "gradients ready" event, and DeviceBuffer copies on the
 * clipper's stream (issue 13).
 */
class EmulatedStreamsTest {
    private final Clipper emu = Clipper.create(Backend.EMULATED);
    private final Clipper cpu = Clipper.create(Backend.CPU);
    private final long clipStream = EmulatorControl.createStream();
    private final long frameworkStream = EmulatorControl.createStream();
    private final long ready = EmulatorControl.createEvent();

    @AfterEach
    void close() {
        long hazards = EmulatorControl.hazards();
        emu.close();
        cpu.close();
        EmulatorControl.destroyEvent(ready);
        EmulatorControl.destroyStream(frameworkStream);
        EmulatorControl.destroyStream(clipStream);
        EmulatorControl.reset();
        assertEquals(0, hazards, "a pinned buffer was rewritten under a queued copy");
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 2);
        return a;
    }

    private double cpuNorm(float[] a) {
        return cpu.norms(GradientSet.of(Tensor.of(a.clone())), NormType.L2).totalNorm();
    }

    @Test
    void theReadyEventOrdersTheClipAfterTheFrameworksStream() {
        int n = 70_000;
        float[] before = random(n, 1);
        float[] after = random(n, 2);
        try (DeviceBuffer grads = emu.allocate(DType.FLOAT32, n); DeviceBuffer written = emu.allocate(DType.FLOAT32, n)) {
            written.copyFrom(after);
            GradientSet set = GradientSet.of(grads.tensor());

            // the framework's backward pass writes the gradients on its own stream, still queued when we clip
            grads.copyFrom(before);
            EmulatorControl.enqueueCopy(grads.address(), written.address(), 4L * n, frameworkStream);
            EmulatorControl.record(ready, frameworkStream);
            assertEquals(1, EmulatorControl.queued(frameworkStream));
            // without the event, the clip's stream is not ordered after it: the clip reads the old gradients
            ClipReport unordered = emu.onStream(clipStream).norms(set, NormType.L2);
            assertEquals(Double.doubleToRawLongBits(cpuNorm(before)), Double.doubleToRawLongBits(unordered.totalNorm()));
            EmulatorControl.synchronize(frameworkStream);

            // again, with the event: the clip waits for the backward pass
            grads.copyFrom(before);
            EmulatorControl.enqueueCopy(grads.address(), written.address(), 4L * n, frameworkStream);
            EmulatorControl.record(ready, frameworkStream);
            long waits = EmulatorControl.streamWaits();
            ClipReport ordered = emu.onStream(clipStream).waitFor(ready).norms(set, NormType.L2);
            assertEquals(Double.doubleToRawLongBits(cpuNorm(after)), Double.doubleToRawLongBits(ordered.totalNorm()),
                    "the clip read the gradients before the framework's stream wrote them");
            assertEquals(waits + 1, EmulatorControl.streamWaits());
            assertEquals(0, EmulatorControl.queued(frameworkStream));
        }
    }

    @Test
    void deviceBufferCopiesRunOnTheClippersStream() {
        int n = 100_000;
        float[] host = random(n, 3);
        float[] expected = host.clone();
        cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(expected)), NormClip.of(1));
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, n)) {
            emu.onStream(clipStream);
            buf.copyFrom(host);
            PendingReport pending = emu.clipByGlobalNormAsync(GradientSet.of(buf.tensor()), NormClip.of(1));
            assertFalse(pending.isRead());
            assertTrue(EmulatorControl.queued(clipStream) > 0, "the clip is queued on the clipper's stream");
            // the read-back is ordered after the queued clip (on stream 0 it would read the unclipped gradients)
            float[] back = new float[n];
            buf.copyTo(back);
            assertArrayEquals(expected, back);
            assertEquals(Double.doubleToRawLongBits(cpuNorm(host)), Double.doubleToRawLongBits(pending.get().totalNorm()));
        }
    }

    @Test
    void aHandleThatIsNoEventIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> emu.waitFor(4321L));
        assertTrue(e.getMessage().contains("gc_stream_wait_event") && e.getMessage().contains("cudaErrorInvalidResourceHandle"),
                e.getMessage());
    }
}
