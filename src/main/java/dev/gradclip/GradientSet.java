package dev.gradclip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;

/**
 * An ordered, immutable list of gradient tensor views: the set an operation clips together, as if the
 * tensors were concatenated. Empty sets and empty tensors are legal. Views may not overlap (an element
 * would otherwise be scaled twice): construction fails naming the two tensors. Thread-safe (the
 * memory the views point at is the caller's).
 */
public final class GradientSet {
    private static final GradientSet EMPTY = new GradientSet(List.of());

    private final List<Tensor> tensors;
    private final long totalElements;
    /** Every view is of a Java array: nothing can be closed, so there is nothing to check or pin. */
    private final boolean heapOnly;
    /** No view is of CUDA device memory. */
    private final boolean hostOnly;
    /**
     * The guard of each run of consecutive views owned by one gradclip buffer (a flat gradient buffer's views
     * make one run), in set order; {@link #guardTensor}[k] is the first view of run k. What an operation pins.
     */
    private final MemoryGuard[] guards;
    private final int[] guardTensor;
    /**
     * The off-heap and device views owned by no gradclip buffer (JavaCPP pointers, memory by address): their
     * {@link Tensor#checkAccessible()} has more to check than a guard. The others' is their guard's state.
     */
    private final int[] unguardedChecks;

    private GradientSet(List<Tensor> tensors) {
        this.tensors = tensors;
        long total = 0;
        boolean heap = true;
        boolean host = true;
        List<MemoryGuard> runs = new ArrayList<>();
        List<Integer> runStart = new ArrayList<>();
        List<Integer> checks = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            total = Math.addExact(total, t.size());
            heap &= !(t instanceof Tensor.OffHeap || t instanceof Tensor.Device);
            host &= !(t instanceof Tensor.Device);
            MemoryGuard g = Tensor.guardOf(t);
            if (g != null && (runs.isEmpty() || runs.get(runs.size() - 1) != g)) {
                runs.add(g);
                runStart.add(i);
            }
            if (g == null && (t instanceof Tensor.OffHeap || t instanceof Tensor.Device)) checks.add(i);
        }
        this.totalElements = total;
        this.heapOnly = heap;
        this.hostOnly = host;
        this.guards = runs.toArray(new MemoryGuard[0]);
        this.guardTensor = runStart.stream().mapToInt(Integer::intValue).toArray();
        this.unguardedChecks = checks.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * {@return the set of {@code tensors}, in that order}
     *
     * @param tensors the views; the array is copied
     * @throws NullPointerException if the array or one of its elements is null (naming its index)
     * @throws IllegalArgumentException if two non-empty views overlap (views of the same array, native
     *     memory or device memory), naming both
     */
    public static GradientSet of(Tensor... tensors) {
        Objects.requireNonNull(tensors, "tensor array is null");
        return of(Arrays.asList(tensors));
    }

    /**
     * {@return the set of {@code tensors}, in list order}
     *
     * @param tensors the views; the list is copied
     * @throws NullPointerException if the list or one of its elements is null (naming its index)
     * @throws IllegalArgumentException if two non-empty views overlap (views of the same array, native
     *     memory or device memory), naming both
     */
    public static GradientSet of(List<Tensor> tensors) {
        Objects.requireNonNull(tensors, "tensor list is null");
        List<Tensor> copy = new ArrayList<>(tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t == null) throw new NullPointerException("tensor " + i + " of the gradient set is null");
            copy.add(t);
        }
        checkNoOverlap(copy);
        return copy.isEmpty() ? EMPTY : new GradientSet(Collections.unmodifiableList(copy));
    }

    /** {@return the set of no tensors} Every operation on it succeeds and writes nothing. */
    public static GradientSet empty() {
        return EMPTY;
    }

    /** {@return the views, in set order, as an unmodifiable list} */
    public List<Tensor> tensors() { return tensors; }

    /**
     * {@return view {@code i}}
     *
     * @param i the index in set order
     * @throws IndexOutOfBoundsException if {@code i} is outside {@code [0, size())}
     */
    public Tensor get(int i) { return tensors.get(i); }

    /** {@return the number of tensors} */
    public int size() { return tensors.size(); }

    /** {@return whether the set holds no tensor} */
    public boolean isEmpty() { return tensors.isEmpty(); }

    /** {@return the sum of the tensors' element counts} */
    public long totalElements() { return totalElements; }

    /**
     * {@return whether every view is of host memory (Java arrays or off-heap memory), none of CUDA device
     * memory} Known from construction: a backend that reads host memory only checks a set in O(1).
     */
    public boolean inHostMemory() { return hostOnly; }

    /**
     * Checks every view with {@link Tensor#checkAccessible()}.
     *
     * @throws IllegalStateException naming the first tensor whose memory was closed or freed
     */
    public void checkAccessible() {
        if (heapOnly) return; // a Java array view is always accessible
        for (int i = 0; i < tensors.size(); i++) {
            try {
                tensors.get(i).checkAccessible();
            } catch (IllegalStateException e) {
                throw new IllegalStateException("tensor " + i + ": " + e.getMessage(), e);
            }
        }
    }

    /** Whether every view is of a Java array (no view of memory that can be closed or freed). */
    boolean heapOnly() { return heapOnly; }

    /** The guards an operation pins, one per run of views of one buffer, in set order. Not to be written. */
    MemoryGuard[] guards() { return guards; }

    /** {@return the index of the first view of guard run {@code k}} */
    int guardTensor(int k) { return guardTensor[k]; }

    /** The indices of the views whose memory can be freed without a guard (checked per operation). Not to be written. */
    int[] unguardedChecks() { return unguardedChecks; }

    // ------------------------------------------------------------------ overlap

    private record Extent(int index, long start, long end) {
    }

    private static void checkNoOverlap(List<Tensor> tensors) {
        IdentityHashMap<Object, List<Extent>> heap = new IdentityHashMap<>();
        List<Extent> host = new ArrayList<>();
        List<Extent> device = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t.size() == 0) continue;
            if (t instanceof Tensor.HeapFloats a) {
                heap.computeIfAbsent(a.array(), k -> new ArrayList<>()).add(new Extent(i, a.offset(), a.offset() + t.size()));
            } else if (t instanceof Tensor.HeapDoubles a) {
                heap.computeIfAbsent(a.array(), k -> new ArrayList<>()).add(new Extent(i, a.offset(), a.offset() + t.size()));
            } else if (t instanceof Tensor.HeapShorts a) {
                heap.computeIfAbsent(a.array(), k -> new ArrayList<>()).add(new Extent(i, a.offset(), a.offset() + t.size()));
            } else if (t instanceof Tensor.OffHeap o) {
                host.add(new Extent(i, o.address(), o.address() + t.byteSize()));
            } else if (t instanceof Tensor.Device d) {
                // emulated device memory is host memory: a host view (ofAddress) may alias it
                boolean hostMemory = d.owner() instanceof DeviceBuffer db && db.isHostMemory();
                (hostMemory ? host : device).add(new Extent(i, d.address(), d.address() + t.byteSize()));
            }
        }
        for (List<Extent> extents : heap.values()) {
            requireDisjoint(extents, "the same array");
        }
        requireDisjoint(host, "native memory");
        requireDisjoint(device, "device memory");
    }

    private static void requireDisjoint(List<Extent> extents, String where) {
        if (extents.size() < 2) return;
        extents.sort(Comparator.comparingLong(Extent::start));
        Extent prev = extents.get(0);
        for (int k = 1; k < extents.size(); k++) {
            Extent e = extents.get(k);
            if (Long.compareUnsigned(e.start(), prev.end()) < 0) {
                int a = Math.min(prev.index(), e.index());
                int b = Math.max(prev.index(), e.index());
                throw new IllegalArgumentException("tensors " + a + " and " + b + " overlap in " + where
                        + ": an element would be clipped twice");
            }
            if (Long.compareUnsigned(e.end(), prev.end()) > 0) prev = e;
        }
    }

    @Override
    public String toString() {
        return "GradientSet{" + tensors.size() + " tensors, " + totalElements + " elements}";
    }
}
