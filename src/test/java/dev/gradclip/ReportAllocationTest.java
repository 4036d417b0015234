package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * What a call leaves behind on the Java heap (bench/NOTES.md item 21): the CPU backend's norm pass reuses
 * its working arrays per gradient set, and reports share the norms' never-written arrays instead of
 * copying them, so one call over 10,000 tensors allocates ~300 KB, not ~900 KB. Reuse must never leak
 * between calls: an earlier call's partials and report keep their values, and calls from several threads
 * on one set each get their own arrays.
 */
class ReportAllocationTest {
    private static float[] random(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    private static long[] bits(double[] v) {
        long[] b = new long[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Double.doubleToRawLongBits(v[i]);
        return b;
    }

    /** A set with a multi-chunk tensor, an empty one and small ones, so every reuse path has work. */
    private static float[][] arrays(long seed) {
        return new float[][] {random(seed, 200_000), new float[0], random(seed + 1, 1_000), random(seed + 2, 3)};
    }

    private static GradientSet setOf(float[][] a) {
        List<Tensor> ts = new ArrayList<>();
        for (float[] x : a) ts.add(Tensor.of(x));
        return GradientSet.of(ts);
    }

    @Test
    void anEarlierCallsPartialsAndReportKeepTheirValues() {
        float[][] a = arrays(1);
        GradientSet set = setOf(a);
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            NormPartials first = cpu.partials(set, NormType.L2);
            ClipReport firstReport = cpu.norms(set, NormType.L2);
            long[] chunks = bits(first.chunkSums(0));
            long[] sums = bits(new double[] {first.tensorSum(0), first.tensorSum(1), first.tensorSum(2), first.tensorSum(3)});
            long[] norms = bits(firstReport.tensorNorms());
            double total = first.totalNorm();

            // new values in the same arrays, then the same set again: the backend reuses its working arrays
            for (float[] x : a) for (int i = 0; i < x.length; i++) x[i] *= 3.0f;
            NormPartials second = cpu.partials(set, NormType.L2);
            ClipReport secondReport = cpu.norms(set, NormType.L2);
            assertTrue(second.totalNorm() > 2.9 * total, "the second call saw the new values");

            assertArrayEquals(chunks, bits(first.chunkSums(0)), "the first call's chunk sums are unchanged");
            assertArrayEquals(sums, bits(new double[] {first.tensorSum(0), first.tensorSum(1), first.tensorSum(2), first.tensorSum(3)}));
            assertArrayEquals(norms, bits(firstReport.tensorNorms()), "the first report's tensor norms are unchanged");
            assertEquals(Double.doubleToRawLongBits(total), Double.doubleToRawLongBits(first.totalNorm()));
            assertNotSame(firstReport.tensorNorms(), secondReport.tensorNorms());
        }
    }

    @Test
    void callsFromSeveralThreadsOnOneSetEachGetTheirOwnArrays() throws Exception {
        GradientSet set = setOf(arrays(7));
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            ClipReport expected = cpu.norms(set, NormType.L2);
            NormPartials expectedPartials = cpu.partials(set, NormType.L2);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int th = 0; th < 4; th++) {
                    done.add(pool.submit(() -> {
                        for (int k = 0; k < 200; k++) {
                            ClipReport r = cpu.norms(set, NormType.L2);
                            NormPartials p = cpu.partials(set, NormType.L2);
                            assertArrayEquals(bits(expected.tensorNorms()), bits(r.tensorNorms()));
                            assertEquals(Double.doubleToRawLongBits(expected.totalNorm()), Double.doubleToRawLongBits(r.totalNorm()));
                            assertArrayEquals(bits(expectedPartials.chunkSums(0)), bits(p.chunkSums(0)));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) f.get();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void reportsOfOneScaleStillListItPerTensor() {
        GradientSet set = setOf(arrays(3));
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            ClipReport norms = cpu.norms(set, NormType.L2);
            assertEquals(4, norms.tensorCount());
            assertArrayEquals(new double[] {1, 1, 1, 1}, norms.tensorScales());

            ClipReport clip = cpu.clipByGlobalNorm(set, NormClip.of(1.0));
            assertTrue(clip.scale() < 1.0);
            double[] scales = clip.tensorScales();
            assertArrayEquals(new double[] {clip.scale(), clip.scale(), clip.scale(), clip.scale()}, scales);
            scales[0] = 42;
            assertEquals(clip.scale(), clip.tensorScales()[0], "a copy each time");

            ClipReport value = cpu.clipByValue(set, ValueClip.symmetric(0.5));
            assertEquals(4, value.tensorCount());
            assertArrayEquals(new double[] {1, 1, 1, 1}, value.tensorScales());
        }
    }

    /**
     * Bytes the calling thread allocates per call over 10,000 tensors, as NativeBuffers and as heap arrays
     * (the other threads' share is small: a piece's {@code long[3]}). Before item 21: norms 88–92, the global
     * clip 89–92, clip by value 20–24 bytes per tensor; after: 31, 40 and 4.
     */
    @Test
    void manySmallTensorsCostFewBytesEachPerCall() {
        manySmall(true);
        manySmall(false);
    }

    private static void manySmall(boolean offHeap) {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (!(mx instanceof com.sun.management.ThreadMXBean hotspot) || !hotspot.isThreadAllocatedMemorySupported()) {
            throw new AssertionError("this JVM cannot count allocated bytes per thread (HotSpot can): " + mx.getClass());
        }
        hotspot.setThreadAllocatedMemoryEnabled(true);
        int n = 10_000;
        List<NativeBuffer> buffers = new ArrayList<>();
        try (Clipper cpu = Clipper.create(Backend.CPU)) {
            List<Tensor> ts = new ArrayList<>();
            for (int t = 0; t < n; t++) {
                if (offHeap) {
                    NativeBuffer b = NativeBuffer.allocate(DType.FLOAT32, 100);
                    buffers.add(b);
                    ts.add(b.tensor());
                } else {
                    ts.add(Tensor.of(random(t, 100)));
                }
            }
            GradientSet set = GradientSet.of(ts);
            ClipOperation[] ops = {new ClipOperation.Norms(NormType.L2, NonFinitePolicy.PROPAGATE),
                    new ClipOperation.ByGlobalNorm(NormClip.of(1e-3)), new ClipOperation.ByValue(ValueClip.symmetric(0.5))};
            double[] limits = {50, 60, 12};
            for (int o = 0; o < ops.length; o++) {
                for (int k = 0; k < 30; k++) cpu.apply(set, ops[o]);
                long before = hotspot.getCurrentThreadAllocatedBytes();
                for (int k = 0; k < 20; k++) cpu.apply(set, ops[o]);
                double perTensor = (hotspot.getCurrentThreadAllocatedBytes() - before) / 20.0 / n;
                assertTrue(perTensor <= limits[o], (offHeap ? "NativeBuffer " : "heap ") + ops[o] + ": " + perTensor + " bytes per tensor per call, limit " + limits[o]);
            }
        } finally {
            for (NativeBuffer b : buffers) b.close();
        }
    }
}
