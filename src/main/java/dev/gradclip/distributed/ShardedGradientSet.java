package dev.gradclip.distributed;

import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import java.util.List;
import java.util.Objects;

/**
 * One rank's part of a sharded model's gradients: a local {@link GradientSet} and, for each of its
 * tensors, the {@link ShardSpec} that places it in the global model of {@link #globalTensorCount()}
 * tensors. Immutable (the tensors are views; their values are the caller's).
 */
public final class ShardedGradientSet {
    private final GradientSet local;
    private final List<ShardSpec> specs;
    private final int globalTensorCount;

    private ShardedGradientSet(GradientSet local, List<ShardSpec> specs, int globalTensorCount) {
        this.local = local;
        this.specs = specs;
        this.globalTensorCount = globalTensorCount;
    }

    /**
     * One rank's part of a sharded model, checked locally (the exchange checks that the ranks' pieces tile
     * the model exactly once).
     *
     * @param local this rank's tensor views
     * @param specs one spec per local tensor, in the same order
     * @param globalTensorCount the number of tensors in the unsharded model
     * @throws IllegalArgumentException if the lists differ in length, a spec names a tensor outside
     *     {@code [0, globalTensorCount)}, a view runs past its global tensor's end, a view that does not
     *     end its tensor is not a whole number of chunks (the next piece could not start aligned), or two
     *     local views name overlapping ranges of one global tensor
     * @return the sharded set (the spec list is copied)
     */
    public static ShardedGradientSet of(GradientSet local, List<ShardSpec> specs, int globalTensorCount) {
        Objects.requireNonNull(local, "local gradient set is null");
        Objects.requireNonNull(specs, "shard specs are null");
        List<ShardSpec> copy = List.copyOf(specs);
        if (globalTensorCount < 0) throw new IllegalArgumentException("global tensor count " + globalTensorCount + " is negative");
        if (copy.size() != local.size()) {
            throw new IllegalArgumentException(copy.size() + " shard specs for " + local.size() + " local tensors");
        }
        for (int i = 0; i < copy.size(); i++) {
            ShardSpec s = copy.get(i);
            Tensor t = local.get(i);
            if (s.globalIndex() >= globalTensorCount) {
                throw new IllegalArgumentException("local tensor " + i + " names global tensor " + s.globalIndex()
                        + " of a model with " + globalTensorCount + " tensors");
            }
            long end = s.offset() + t.size();
            if (end > s.globalSize()) {
                throw new IllegalArgumentException("local tensor " + i + " (" + t.size() + " elements at offset " + s.offset()
                        + ") runs past the end of global tensor " + s.globalIndex() + " (" + s.globalSize() + " elements)");
            }
            if (s.replicated() && t.size() != s.globalSize()) {
                throw new IllegalArgumentException("local tensor " + i + " is declared a replica of global tensor "
                        + s.globalIndex() + " but holds " + t.size() + " of its " + s.globalSize() + " elements");
            }
            if (end < s.globalSize() && t.size() % ShardSpec.CHUNK != 0) {
                throw new IllegalArgumentException("local tensor " + i + " ends at element " + end + " inside global tensor "
                        + s.globalIndex() + ": a piece that does not end its tensor must hold a multiple of 65,536 elements");
            }
            for (int j = 0; j < i; j++) {
                ShardSpec o = copy.get(j);
                if (o.globalIndex() == s.globalIndex()
                        && s.offset() < o.offset() + local.get(j).size() && o.offset() < end) {
                    throw new IllegalArgumentException("local tensors " + j + " and " + i + " overlap inside global tensor " + s.globalIndex());
                }
            }
        }
        return new ShardedGradientSet(local, copy, globalTensorCount);
    }

    /**
     * A set of whole tensors, each with its global index: the common case of tensors distributed over
     * ranks (pipeline stages, ZeRO-1/2 by parameter).
     *
     * @param local this rank's tensor views
     * @param globalIndices each local tensor's index in the unsharded model, in local order
     * @param globalTensorCount the number of tensors in the unsharded model
     * @return the sharded set of whole tensors
     * @throws IllegalArgumentException if the lengths differ or a global index is negative or not below
     *     {@code globalTensorCount}, or two non-empty local tensors name the same global tensor
     */
    public static ShardedGradientSet wholeTensors(GradientSet local, int[] globalIndices, int globalTensorCount) {
        Objects.requireNonNull(globalIndices, "global indices are null");
        if (globalIndices.length != local.size()) {
            throw new IllegalArgumentException(globalIndices.length + " global indices for " + local.size() + " local tensors");
        }
        ShardSpec[] specs = new ShardSpec[globalIndices.length];
        for (int i = 0; i < specs.length; i++) specs[i] = ShardSpec.whole(globalIndices[i], local.get(i).size());
        return of(local, List.of(specs), globalTensorCount);
    }

    /** {@return this rank's tensor views, in local order} */
    public GradientSet local() { return local; }

    /** {@return the spec of each local tensor, in local order (unmodifiable)} */
    public List<ShardSpec> specs() { return specs; }

    /** {@return the number of tensors in the unsharded model} */
    public int globalTensorCount() { return globalTensorCount; }

    @Override
    public String toString() {
        return "ShardedGradientSet{" + local.size() + " local of " + globalTensorCount + " global tensors}";
    }
}
