package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.PendingReport;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.DeviceBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Java side of the native backends, exercised on the emulated library (available everywhere). */
class NativeBackendTest {
    private final Clipper emu = Clipper.create(Backend.EMULATED);
    private final Clipper cpu = Clipper.create(Backend.CPU);

    @AfterEach
    void close() {
        emu.close();
        cpu.close();
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    @Test
    void statusNamesEveryBackend() {
        BackendStatus e = Clipper.availableBackends().get(2);
        assertEquals(Backend.EMULATED, e.backend());
        assertTrue(e.available(), e.detail());
        BackendStatus cuda = Clipper.availableBackends().get(1);
        if (!cuda.available()) {
            assertTrue(cuda.detail().contains("CUDA error") || cuda.detail().contains("not built"), cuda.detail());
            assertEquals(Backend.CPU, Clipper.create().backend(), "AUTO falls back to the CPU without CUDA");
        }
    }

    @Test
    void heapArraysAreStagedAndCopiedBack() {
        float[] a = random(70_001, 1);
        float[] b = a.clone();
        ClipReport re = emu.clipByGlobalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(1));
        ClipReport rc = cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(b)), NormClip.of(1));
        assertEquals(rc.totalNorm(), re.totalNorm());
        assertEquals("emulated", re.backend());
        assertArrayEquals(b, a);
        double[] d = {3, 4};
        emu.clipByValue(GradientSet.of(Tensor.of(d)), ValueClip.symmetric(3.5));
        assertArrayEquals(new double[] {3, 3.5}, d);
    }

    @Test
    void deviceBuffersAreClippedInPlace() {
        float[] host = random(5000, 2);
        float[] expected = host.clone();
        cpu.clipByNorm(GradientSet.of(Tensor.of(expected)), NormClip.of(2).withSemantics(Semantics.TF));
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, host.length)) {
            buf.copyFrom(host);
            emu.clipByNorm(GradientSet.of(buf.tensor()), NormClip.of(2).withSemantics(Semantics.TF));
            float[] back = new float[host.length];
            buf.copyTo(back);
            assertArrayEquals(expected, back);
            // a device buffer is not host memory the CPU backend can read
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.norms(GradientSet.of(buf.tensor()), NormType.L2));
            assertTrue(e.getMessage().contains("device memory"), e.getMessage());
        }
    }

    @Test
    void asyncGlobalNormReadsTheReportOnDemand() {
        float[] host = random(200_000, 3);
        float[] expected = host.clone();
        ClipReport want = cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(expected)), NormClip.of(10));
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, host.length)) {
            buf.copyFrom(host);
            PendingReport pending = emu.clipByGlobalNormAsync(GradientSet.of(buf.tensor()), NormClip.of(10));
            assertFalse(pending.isRead());
            ClipReport got = pending.get();
            assertEquals(want.totalNorm(), got.totalNorm());
            assertEquals(want.scale(), got.scale());
            assertEquals(got, pending.get(), "later calls return the same report");
            float[] back = new float[host.length];
            buf.copyTo(back);
            assertArrayEquals(expected, back);

            // an unread report is read before the engine is used again
            PendingReport unread = emu.clipByGlobalNormAsync(GradientSet.of(buf.tensor()), NormClip.of(1e6));
            emu.norms(GradientSet.of(buf.tensor()), NormType.L2);
            assertTrue(unread.isRead());
            assertEquals(1.0, unread.get().scale());
        }
    }

    @Test
    void asyncErrorPolicyWritesNothingAndThrowsOnRead() {
        float[] host = {1, Float.NaN, 3};
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, host.length)) {
            buf.copyFrom(host);
            PendingReport p = emu.clipByGlobalNormAsync(GradientSet.of(buf.tensor()),
                    NormClip.of(1).withNonFinite(NonFinitePolicy.ERROR));
            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, p::get);
            assertEquals(1, e.report().nonFiniteElements());
            float[] back = new float[3];
            buf.copyTo(back);
            assertArrayEquals(host, back);
        }
    }

    @Test
    void streamsBelongToTheNativeBackends() {
        assertThrows(IllegalArgumentException.class, () -> cpu.onStream(1234L));
        assertThrows(IllegalArgumentException.class, () -> cpu.waitFor(1234L));
        cpu.onStream(0L); // the default stream is fine everywhere
        // the emulated backend takes the emulated runtime's streams: a handle that is none fails at the next pass
        emu.onStream(1234L);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> emu.norms(GradientSet.of(Tensor.of(new float[] {1, 2})), NormType.L2));
        assertTrue(e.getMessage().contains("stream") && e.getMessage().contains("cudaErrorInvalidResourceHandle"), e.getMessage());
        emu.onStream(0L);
        assertEquals(Math.sqrt(5), emu.norms(GradientSet.of(Tensor.of(new float[] {1, 2})), NormType.L2).totalNorm(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> emu.waitFor(0L));
        assertThrows(IllegalStateException.class, () -> cpu.allocate(DType.FLOAT32, 4));
    }

    @Test
    void closedDeviceBufferIsRejectedBeforeAnyWork() {
        DeviceBuffer buf = emu.allocate(DType.FLOAT32, 16);
        GradientSet set = GradientSet.of(buf.tensor());
        buf.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> emu.norms(set, NormType.L2));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void manyCallsDoNotLeakNativeMemory() {
        // staging allocates and frees native memory on every call; 20,000 calls must not grow the process
        float[] a = random(1000, 4);
        GradientSet set = GradientSet.of(Tensor.of(a));
        for (int i = 0; i < 2000; i++) emu.clipByValue(set, ValueClip.symmetric(5));
        long before = rssKb();
        for (int i = 0; i < 20_000; i++) emu.clipByValue(set, ValueClip.symmetric(5));
        long grown = rssKb() - before;
        assertTrue(grown < 64 * 1024, "resident memory grew by " + grown + " KiB over 20,000 calls");
    }

    private static long rssKb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return 0;
    }
}
