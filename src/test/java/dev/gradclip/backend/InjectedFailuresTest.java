package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.DeviceBuffer;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.PendingReport;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.backend.nativeapi.EmulatorControl;
import dev.gradclip.backend.nativeapi.NativeApi;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The error paths of the C API under CUDA failures injected into the emulated runtime (issue 13): a failed
 * wait never reports a stale result as valid, a failure after work was queued does not leave a copy from a
 * pinned buffer in flight for the next call to overwrite, the error surfaces as the documented exception,
 * and a sticky error says the CUDA context is lost.
 */
class InjectedFailuresTest {
    private static final int UNKNOWN = 999;             // cudaErrorUnknown: not sticky
    private static final int OUT_OF_RESOURCES = 701;    // cudaErrorLaunchOutOfResources: not sticky
    private static final int ILLEGAL_ADDRESS = 700;     // cudaErrorIllegalAddress: sticky

    private final Clipper emu = Clipper.create(Backend.EMULATED);
    private final Clipper cpu = Clipper.create(Backend.CPU);

    @AfterEach
    void close() {
        EmulatorControl.reset();
        emu.close();
        cpu.close();
        EmulatorControl.reset();
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

    private static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
    }

    // ------------------------------------------------------------------ stale results

    @Test
    void aFailedWaitNeverReportsAStaleResult() {
        NativeApi api = NativeBackends.api(Backend.EMULATED);
        long[] handle = new long[1];
        assertEquals(NativeApi.GC_OK, api.engineCreate(handle));
        long engine = handle[0];
        int n = 50_000;
        // host memory for the emulated kernels (internal.Memory is not available to tests: NativeBuffer)
        try (NativeBuffer bufA = NativeBuffer.allocate(DType.FLOAT32, n); NativeBuffer bufB = NativeBuffer.allocate(DType.FLOAT32, n)) {
            bufA.copyFrom(0, random(n, 1));
            bufB.copyFrom(0, random(n, 2));
            long a = bufA.address();
            long b = bufB.address();
            try {
                NativeApi.Table ta = new NativeApi.Table(new long[] {a}, new long[] {n}, new int[] {NativeApi.GC_FLOAT32});
                NativeApi.Table tb = new NativeApi.Table(new long[] {b}, new long[] {n}, new int[] {NativeApi.GC_FLOAT32});
                double[] norms = new double[1];
                double[] summary = new double[2];
                long[] counts = new long[3];
                // a synchronous clip leaves its result in the engine (no clipping: max norm 1e30)
                assertEquals(NativeApi.GC_OK, clip(api, engine, ta, 0, norms, summary, counts));
                double staleNorm = summary[0];

                // an asynchronous clip whose wait fails: its result block never arrived
                EmulatorControl.injectFailure(EmulatorControl.SITE_EVENT_SYNC, UNKNOWN, 0, 0);
                assertEquals(NativeApi.GC_OK, clip(api, engine, tb, NativeApi.GC_FLAG_ASYNC, null, null, null));
                assertEquals(NativeApi.GC_ERR_CUDA, api.clipGlobalNormWait(engine, norms, summary, counts));
                assertTrue(api.lastError().contains("cudaEventSynchronize"), api.lastError());
                summary[0] = -1;
                int again = api.clipGlobalNormWait(engine, norms, summary, counts);
                assertEquals(NativeApi.GC_ERR_INVALID_ARGUMENT, again, "a second wait reported total " + summary[0]
                        + " as valid (the previous clip's norm is " + staleNorm + ")");

                // a synchronous clip whose stream wait fails leaves no result either
                EmulatorControl.injectFailure(EmulatorControl.SITE_STREAM_SYNC, UNKNOWN, 0, 0);
                assertEquals(NativeApi.GC_ERR_CUDA, clip(api, engine, ta, 0, norms, summary, counts));
                summary[0] = -1;
                assertEquals(NativeApi.GC_ERR_INVALID_ARGUMENT, api.clipGlobalNormWait(engine, norms, summary, counts),
                        "a wait after the failed clip reported total " + summary[0] + " as valid");
            } finally {
                api.engineDestroy(engine); // before the buffers are freed, as the engine may hold their addresses
            }
        }
    }

    private static int clip(NativeApi api, long engine, NativeApi.Table t, int flags, double[] norms, double[] summary, long[] counts) {
        return api.clipGlobalNorm(engine, t, NativeApi.GC_NORM_L2, 1e30, NativeApi.GC_SEMANTICS_TORCH, NativeApi.GC_NONFINITE_PROPAGATE,
                0L, flags, norms, summary, counts);
    }

    @Test
    void aFailedAsyncWaitThrowsTheDocumentedExceptionAndTheEngineRecovers() {
        int n = 80_000;
        float[] host = random(n, 3);
        float[] expected = host.clone();
        cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(expected)), NormClip.of(1));
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, n)) {
            buf.copyFrom(host);
            GradientSet set = GradientSet.of(buf.tensor());
            EmulatorControl.injectFailure(EmulatorControl.SITE_EVENT_SYNC, UNKNOWN, 0, 0);
            PendingReport p = emu.clipByGlobalNormAsync(set, NormClip.of(1));
            IllegalStateException e = assertThrows(IllegalStateException.class, p::get);
            assertMentions(e, "gc_clip_global_norm_wait", "cudaEventSynchronize", "cudaErrorUnknown");
            assertSame(e, assertThrows(IllegalStateException.class, p::get), "the failure is kept, never a report");
            // the queued work still ran in stream order: the gradients were clipped once, the engine works again
            float[] back = new float[n];
            buf.copyTo(back);
            assertArrayEquals(expected, back);
            ClipReport r = emu.norms(set, NormType.L2);
            assertEquals(Double.doubleToRawLongBits(cpuNorm(expected)), Double.doubleToRawLongBits(r.totalNorm()));
        }
    }

    // ------------------------------------------------------------------ pinned buffers under queued copies

    /**
     * A pass fails after it queued the table copy from the pinned staging buffer (on a caller stream, where the
     * emulated runtime keeps later launches queued too); the next pass, with another table, rewrites that buffer.
     * The runtime counts a hazard if the first copy was still queued then.
     */
    private void failAfterTheTableCopyThenClipAnotherSet(int site, int error, int skip, String... message) {
        long stream = EmulatorControl.createStream();
        int n = 70_000;
        float[] x = random(n, 4);
        float[] y = random(n, 5);
        try (DeviceBuffer a = emu.allocate(DType.FLOAT32, n); DeviceBuffer b = emu.allocate(DType.FLOAT32, n)) {
            emu.onStream(stream);
            a.copyFrom(x);
            b.copyFrom(y);
            EmulatorControl.injectFailure(site, error, skip, 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> emu.norms(GradientSet.of(a.tensor()), NormType.L2));
            assertMentions(e, message);
            ClipReport r = emu.norms(GradientSet.of(b.tensor()), NormType.L2);
            assertEquals(0, EmulatorControl.hazards(), "the pinned staging buffer was rewritten under a queued copy");
            assertEquals(Double.doubleToRawLongBits(cpuNorm(y)), Double.doubleToRawLongBits(r.totalNorm()));
            emu.onStream(0L);
        } finally {
            EmulatorControl.destroyStream(stream);
        }
    }

    @Test
    void aFailedLaunchWaitsForTheQueuedTableCopy() {
        failAfterTheTableCopyThenClipAnotherSet(EmulatorControl.SITE_LAUNCH, OUT_OF_RESOURCES, 0, "gc_norms failed", "kernel launch",
                "cudaErrorLaunchOutOfResources");
    }

    @Test
    void aFailedCopyAfterAnEnqueueWaitsForTheQueuedTableCopy() {
        // the first copy (the tables) is queued; the second (the chunk partials to the caller) fails
        failAfterTheTableCopyThenClipAnotherSet(EmulatorControl.SITE_MEMCPY, UNKNOWN, 1, "gc_norms failed", "cudaMemcpyAsync",
                "cudaErrorUnknown");
    }

    // ------------------------------------------------------------------ sticky errors, allocation

    @Test
    void aStickyErrorSaysTheContextIsLost() {
        float[] a = random(10_000, 6);
        GradientSet set = GradientSet.of(Tensor.of(a));
        EmulatorControl.injectFailure(EmulatorControl.SITE_LAUNCH, ILLEGAL_ADDRESS, 0, EmulatorControl.LOSE_CONTEXT);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> emu.norms(set, NormType.L2));
        assertMentions(e, "cudaErrorIllegalAddress", "the CUDA context is lost");
        // every later call fails the same way, and says so
        IllegalStateException later = assertThrows(IllegalStateException.class, () -> emu.clipByValue(set, ValueClip.symmetric(1)));
        assertMentions(later, "the CUDA context is lost");
        EmulatorControl.reset();
        assertEquals(Double.doubleToRawLongBits(cpuNorm(a)), Double.doubleToRawLongBits(emu.norms(set, NormType.L2).totalNorm()));
    }

    @Test
    void aStickyErrorInTheWaitSaysTheContextIsLost() {
        try (DeviceBuffer buf = emu.allocate(DType.FLOAT32, 1000)) {
            buf.copyFrom(random(1000, 7));
            EmulatorControl.injectFailure(EmulatorControl.SITE_EVENT_SYNC, 719, 0, EmulatorControl.LOSE_CONTEXT);
            PendingReport p = emu.clipByGlobalNormAsync(GradientSet.of(buf.tensor()), NormClip.of(1));
            assertMentions(assertThrows(IllegalStateException.class, p::get), "cudaErrorLaunchFailure", "the CUDA context is lost");
            EmulatorControl.reset();
        }
    }

    @Test
    void aFailedDeviceAllocationIsAnOutOfMemoryError() {
        EmulatorControl.injectFailure(EmulatorControl.SITE_MALLOC, 2, 0, 0);
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> emu.allocate(DType.FLOAT32, 1000));
        assertMentions(e, "4000 bytes", "cudaErrorMemoryAllocation");
        try (DeviceBuffer ok = emu.allocate(DType.FLOAT32, 1000)) {
            assertTrue(ok.isOpen());
        }
    }
}
