package dev.gradclip.policy;

import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Splits a tensor view into equal contiguous unit views (package-private helper of AGC). */
final class Units {
    private Units() {
    }

    /**
     * The {@code units} contiguous views {@code [u·n/units, (u+1)·n/units)} of {@code t}, as tensors of the
     * same kind over the same memory. Off-heap and device views are made by address: the caller checks
     * the whole tensor's accessibility before using them.
     */
    static List<Tensor> split(Tensor t, long units) {
        long n = t.size();
        if (units < 1) throw new IllegalArgumentException("unit count must be >= 1, got " + units);
        if (n % units != 0) {
            throw new IllegalArgumentException(n + " elements do not split into " + units + " equal units");
        }
        if (units > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("too many units: " + units);
        long len = n / units;
        List<Tensor> out = new ArrayList<>((int) units);
        if (units == 1) {
            out.add(t);
            return out;
        }
        for (long u = 0; u < units; u++) {
            long start = u * len;
            out.add(view(t, start, len));
        }
        return out;
    }

    static Tensor view(Tensor t, long start, long len) {
        if (t instanceof Tensor.HeapFloats) {
            Tensor.HeapFloats a = (Tensor.HeapFloats) t;
            return Tensor.of(a.array(), Math.toIntExact(a.offset() + start), Math.toIntExact(len));
        }
        if (t instanceof Tensor.HeapDoubles) {
            Tensor.HeapDoubles a = (Tensor.HeapDoubles) t;
            return Tensor.of(a.array(), Math.toIntExact(a.offset() + start), Math.toIntExact(len));
        }
        if (t instanceof Tensor.HeapShorts) {
            Tensor.HeapShorts a = (Tensor.HeapShorts) t;
            return Tensor.of(a.array(), Math.toIntExact(a.offset() + start), Math.toIntExact(len), t.dtype());
        }
        if (t instanceof Tensor.OffHeap) {
            Tensor.OffHeap o = (Tensor.OffHeap) t;
            return Tensor.ofAddress(o.address() + start * t.dtype().byteSize(), len, t.dtype());
        }
        Tensor.Device d = (Tensor.Device) t;
        return Tensor.onDevice(d.address() + start * t.dtype().byteSize(), len, t.dtype());
    }
}
