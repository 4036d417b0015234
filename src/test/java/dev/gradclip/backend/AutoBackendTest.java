package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.DeviceBuffer;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.PendingReport;
import dev.gradclip.Tensor;
import dev.gradclip.TestClippers;
import dev.gradclip.backend.AutoBackend.Target;
import dev.gradclip.backend.cpu.CpuBackend;
import dev.gradclip.backend.nativeapi.NativeBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * AUTO runs each gradient set where its tensors live (issue 13): the rule, and the routing with the emulated
 * backend standing in for CUDA (the CUDA backend itself is not available here).
 */
class AutoBackendTest {
    private final AutoBackend auto = new AutoBackend(new CpuBackend(), new NativeBackend(NativeBackends.api(Backend.EMULATED)));
    private final Clipper clipper = TestClippers.using(auto);
    private final Clipper cpu = Clipper.create(Backend.CPU);

    @AfterEach
    void close() {
        clipper.close();
        cpu.close();
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 3);
        return a;
    }

    @Test
    void theRule() {
        ByteBuffer direct = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        assertEquals(Target.HOST, AutoBackend.route(GradientSet.empty()));
        assertEquals(Target.HOST, AutoBackend.route(GradientSet.of(Tensor.of(new float[3]), Tensor.of(new double[2]))));
        assertEquals(Target.HOST, AutoBackend.route(GradientSet.of(Tensor.of(direct.asFloatBuffer()))));
        // a torch CUDA tensor's data_ptr view, and a DeviceBuffer's view, are device memory
        assertEquals(Target.DEVICE, AutoBackend.route(GradientSet.of(Tensor.onDevice(1L << 40, 16, DType.FLOAT32))));
        assertEquals(Target.DEVICE, AutoBackend.route(GradientSet.of(Tensor.of(new float[3]), Tensor.onDevice(1L << 40, 16, DType.BFLOAT16))));
        assertEquals(Target.DEVICE, AutoBackend.route(GradientSet.of(Tensor.onDevice(0, 0, DType.FLOAT64))));
        assertEquals(Backend.AUTO, clipper.backend());
        assertSame(auto.device(), auto.forSet(GradientSet.of(Tensor.onDevice(1L << 40, 16, DType.FLOAT32))));
    }

    @Test
    void hostSetsRunOnTheCpuInPlace() {
        float[] a = random(70_001, 1);
        float[] b = a.clone();
        ClipReport got = clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(a)), NormClip.of(1));
        ClipReport want = cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(b)), NormClip.of(1));
        assertEquals("cpu", got.backend());
        assertEquals(Double.doubleToRawLongBits(want.totalNorm()), Double.doubleToRawLongBits(got.totalNorm()));
        assertArrayEquals(b, a);
        // the async call on a host set is the CPU's synchronous one: its report is there at once
        PendingReport p = clipper.clipByGlobalNormAsync(GradientSet.of(Tensor.of(a)), NormClip.of(1));
        assertTrue(p.isRead());
        assertEquals("cpu", p.get().backend());
    }

    @Test
    void deviceSetsRunOnTheDeviceBackend() {
        float[] host = random(100_000, 2);
        float[] expected = host.clone();
        ClipReport want = cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(expected)), NormClip.of(2));
        try (DeviceBuffer buf = clipper.allocate(DType.FLOAT32, host.length)) {
            assertEquals(Backend.EMULATED, buf.kind());
            buf.copyFrom(host);
            PendingReport p = clipper.clipByGlobalNormAsync(GradientSet.of(buf.tensor()), NormClip.of(2));
            assertFalse(p.isRead(), "device sets take the fused, sync-free path");
            ClipReport got = p.get();
            assertEquals("emulated", got.backend());
            assertEquals(Double.doubleToRawLongBits(want.totalNorm()), Double.doubleToRawLongBits(got.totalNorm()));
            float[] back = new float[host.length];
            buf.copyTo(back);
            assertArrayEquals(expected, back);
        }
    }

    @Test
    void mixedSetsRunOnTheDeviceBackendWithTheHostTensorsStaged() {
        float[] host = random(5_000, 3);
        float[] onHost = random(3_000, 4);
        float[] e1 = host.clone();
        float[] e2 = onHost.clone();
        ClipReport want = cpu.clipByGlobalNorm(GradientSet.of(Tensor.of(e1), Tensor.of(e2)), NormClip.of(1));
        try (DeviceBuffer buf = clipper.allocate(DType.FLOAT32, host.length)) {
            buf.copyFrom(host);
            ClipReport got = clipper.clipByGlobalNorm(GradientSet.of(buf.tensor(), Tensor.of(onHost)), NormClip.of(1));
            assertEquals("emulated", got.backend());
            assertEquals(Double.doubleToRawLongBits(want.totalNorm()), Double.doubleToRawLongBits(got.totalNorm()));
            float[] back = new float[host.length];
            buf.copyTo(back);
            assertArrayEquals(e1, back);
            assertArrayEquals(e2, onHost);
        }
    }
}
