package dev.gradclip.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NativeBuffer;
import dev.gradclip.Tensor;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The native table of a set ({@link NativeKernels.Layout}, kept with the set's {@link ChunkPlan}, and the
 * per-pass {@link NativeKernels.Table}): what the JNI glue reads, made once per set, holding no gradients.
 */
class NativeLayoutTest {

    @Test
    void aLayoutDescribesEveryTensorAndIsMadeOncePerPlan() {
        float[] f = new float[10];
        double[] d = new double[7];
        short[] h = new short[9];
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 16)) {
            GradientSet set = GradientSet.of(List.of(Tensor.of(f, 2, 5), nb.tensor(4, 12), Tensor.of(d),
                    Tensor.of(h, 1, 8, DType.BFLOAT16), Tensor.of(new float[0])));
            ChunkPlan plan = new ChunkPlan(set);
            NativeKernels.Layout l = plan.nativeLayout(set);
            assertSame(l, plan.nativeLayout(set), "one layout per plan");
            assertTrue(l.usable);
            assertArrayEquals(new long[] {5, 12, 7, 8, 0}, l.counts);
            assertArrayEquals(new int[] {0, 0, 1, 3, 0}, l.dtypes);
            assertArrayEquals(new long[] {2, nb.address() + 16, 0, 1, 0}, l.addrs);
            assertFalse(l.offHeapOnly);

            NativeKernels.Table t = new NativeKernels.Table(set, l);
            for (Object a : t.arrays) assertNull(a, "the arrays are gathered per call, not when the table is made");
            t.gather(0, 2);
            assertSame(f, t.arrays[0]);
            assertNull(t.arrays[2], "a call gathers its own tensors only");
            t.gather(2, 5);
            assertSame(f, t.arrays[0]);
            assertNull(t.arrays[1], "off-heap memory is passed by address");
            assertSame(d, t.arrays[2]);
            assertSame(h, t.arrays[3]);
            assertNotNull(t.arrays[4]);
            assertSame(l.addrs, t.addrs);
            assertNotSame(t.arrays, new NativeKernels.Table(set, l).arrays, "the arrays are gathered per pass");
            assertNull(l.heapArrayClass, "float[], double[] and short[] tensors mixed");
            assertSame(Object[].class, t.arrays.getClass());
        }
    }

    @Test
    void heapArraysOfOneClassMakeATypedTable() {
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 16)) {
            GradientSet floats = GradientSet.of(List.of(Tensor.of(new float[3]), nb.tensor(), Tensor.of(new float[5], 1, 2)));
            NativeKernels.Layout l = new ChunkPlan(floats).nativeLayout(floats);
            assertSame(float[].class, l.heapArrayClass);
            NativeKernels.Table t = new NativeKernels.Table(floats, l);
            assertSame(float[][].class, t.arrays.getClass());
            assertNull(t.arrays[1], "off-heap memory is passed by address");
        }
        // fp16 and bf16 share short[] storage: one short[][] table
        GradientSet halves = GradientSet.of(List.of(Tensor.of(new short[4], DType.FLOAT16), Tensor.of(new short[4], DType.BFLOAT16)));
        NativeKernels.Layout h = new ChunkPlan(halves).nativeLayout(halves);
        assertSame(short[].class, h.heapArrayClass);
        assertSame(short[][].class, new NativeKernels.Table(halves, h).arrays.getClass());
        GradientSet doubles = GradientSet.of(List.of(Tensor.of(new double[2])));
        NativeKernels.Layout d = new ChunkPlan(doubles).nativeLayout(doubles);
        assertSame(double[][].class, new NativeKernels.Table(doubles, d).arrays.getClass());
    }

    @Test
    void anOffHeapSetPassesNoArrayTable() {
        try (NativeBuffer a = NativeBuffer.allocate(DType.FLOAT16, 8); NativeBuffer b = NativeBuffer.allocate(DType.FLOAT64, 3)) {
            GradientSet set = GradientSet.of(List.of(a.tensor(), b.tensor()));
            NativeKernels.Layout l = new ChunkPlan(set).nativeLayout(set);
            assertTrue(l.usable);
            assertTrue(l.offHeapOnly);
            assertNull(new NativeKernels.Table(set, l).arrays, "the glue is given no array table to walk");
        }
    }

    @Test
    void offHeapMemoryNotAlignedToItsElementIsNotForTheNativeKernels() {
        try (NativeBuffer nb = NativeBuffer.allocate(DType.FLOAT32, 8)) {
            GradientSet set = GradientSet.of(List.of(Tensor.ofAddress(nb.address() + 2, 4, DType.FLOAT32)));
            assertFalse(new ChunkPlan(set).nativeLayout(set).usable);
        }
    }

    @Test
    void aKeptPlanDoesNotKeepItsSetsGradients() throws InterruptedException {
        float[] grads = new float[1 << 16];
        WeakReference<float[]> ref = new WeakReference<>(grads);
        List<Tensor> ts = new ArrayList<>();
        ts.add(Tensor.of(grads));
        GradientSet set = GradientSet.of(ts);
        ChunkPlan plan = new ChunkPlan(set);
        assertNotNull(plan.nativeLayout(set));
        NativeKernels.Table table = new NativeKernels.Table(set, plan.nativeLayout(set));
        table.gather(0, 1);
        assertNotNull(table.arrays[0]);
        table = null;
        ts = null;
        set = null;
        grads = null;
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(ref.get(), "the plan and its layout must not keep the gradients reachable");
        assertEquals(1 << 16, plan.elements, "the plan itself stayed reachable");
    }
}
