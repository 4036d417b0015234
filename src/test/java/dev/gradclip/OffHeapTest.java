package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradclip.backend.cpu.CpuBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Off-heap views give bit-identical results to heap arrays, and tensors beyond 2^31 elements work. */
class OffHeapTest {

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 3);
        return a;
    }

    @Test
    void everyKindOfViewGivesTheSameBits() {
        int n = 200_001;
        float[] heap = random(n, 11);
        float[] heapSingle = heap.clone();
        FloatBuffer direct = ByteBuffer.allocateDirect(4 * (n + 3)).order(ByteOrder.nativeOrder()).asFloatBuffer();
        direct.position(3);
        direct.put(heap);
        direct.position(3); // a misaligned start: element 3
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, n);
             FloatPointer fp = new FloatPointer(n);
             Clipper multi = Clipper.using(new CpuBackend(4));
             Clipper single = Clipper.using(new CpuBackend(1))) {
            nb.copyFrom(0, heap);
            fp.put(heap);
            NormClip clip = NormClip.of(1.0);
            ClipReport rh = multi.clipByGlobalNorm(GradientSet.of(Tensor.of(heap)), clip);
            ClipReport rs = single.clipByGlobalNorm(GradientSet.of(Tensor.of(heapSingle)), clip);
            ClipReport rd = multi.clipByGlobalNorm(GradientSet.of(Tensor.of(direct)), clip);
            ClipReport rn = multi.clipByGlobalNorm(GradientSet.of(nb.tensor()), clip);
            ClipReport rp = multi.clipByGlobalNorm(GradientSet.of(Tensor.of(fp, DType.FLOAT32)), clip);
            for (ClipReport r : new ClipReport[] {rs, rd, rn, rp}) {
                assertEquals(Double.doubleToRawLongBits(rh.totalNorm()), Double.doubleToRawLongBits(r.totalNorm()));
                assertEquals(rh.scale(), r.scale());
            }
            assertArrayEquals(heap, heapSingle, "threads do not change a bit");
            float[] out = new float[n];
            direct.position(3);
            direct.get(out);
            assertArrayEquals(heap, out);
            nb.copyTo(0, out);
            assertArrayEquals(heap, out);
            fp.get(out);
            assertArrayEquals(heap, out);
        }
    }

    @Test
    void byteBufferOfDoublesAndHalves() {
        ByteBuffer bb = ByteBuffer.allocateDirect(8 * 3).order(ByteOrder.nativeOrder());
        bb.asDoubleBuffer().put(new double[] {3, 4, 0});
        ClipReport r = Clipper.create(Backend.CPU).clipByGlobalNorm(GradientSet.of(Tensor.of(bb, DType.FLOAT64)),
                NormClip.of(1).withSemantics(Semantics.TF));
        assertEquals(5.0, r.totalNorm());
        assertEquals(3 * 0.2, bb.asDoubleBuffer().get(0));
        ByteBuffer hb = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        hb.asShortBuffer().put(new short[] {HalfFloatsAccess.half(3), HalfFloatsAccess.half(4)});
        ClipReport h = Clipper.create(Backend.CPU).norms(GradientSet.of(Tensor.of(hb.asShortBuffer(), DType.FLOAT16)), NormType.L2);
        assertEquals(5.0, h.totalNorm());
    }

    /**
     * A single tensor of 2^31 + 5 fp32 elements (8 GiB) off-heap. Needs about 9 GiB of free memory;
     * skipped, with that reason in the report, where the machine has less.
     */
    @Test
    @Tag("large")
    void tensorBeyondTwoToThe31Elements() throws IOException {
        long n = (1L << 31) + 5;
        long availableKb = memAvailableKb();
        assumeTrue(availableKb > 12L * 1024 * 1024,
                "needs ~12 GiB of available memory for an 8 GiB tensor; this machine has " + availableKb / 1024 + " MiB");
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, n);
             Clipper clipper = Clipper.create(Backend.CPU)) {
            nb.putFloat(0, 3f);
            nb.putFloat(n - 1, 4f);          // beyond index 2^31
            nb.putFloat((1L << 31) + 1, -12f);
            ClipReport r = clipper.clipByGlobalNorm(GradientSet.of(nb.tensor()), NormClip.of(6.5).withSemantics(Semantics.TF));
            assertEquals(13.0, r.totalNorm());
            assertEquals(0.5, r.scale());
            assertEquals(n, r.clippedElements());
            assertEquals(2f, nb.getFloat(n - 1));
            assertEquals(-6f, nb.getFloat((1L << 31) + 1));
            assertEquals(1.5f, nb.getFloat(0));
            ClipReport v = clipper.clipByValue(GradientSet.of(nb.tensor()), ValueClip.symmetric(1.75));
            assertEquals(2, v.clippedElements());
            assertEquals(1.75f, nb.getFloat(n - 1));
            assertTrue(clipper.norms(GradientSet.of(nb.tensor(n - 3, 3)), NormType.INF).totalNorm() == 1.75);
        }
    }

    static long memAvailableKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }
}
