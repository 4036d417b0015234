package dev.gradclip.distributed;

/**
 * Where one local tensor view sits in the global (unsharded) model: the global tensor it belongs to,
 * that tensor's full size, the element offset of this view inside it, and whether the view is a replica
 * (every rank holding it has the same values, and it counts once in the global norm).
 *
 * <p>A tensor split across ranks must be split at multiples of {@link #CHUNK} = 65,536 elements: the
 * canonical reduction (docs/canonical-reduction.md) folds a tensor's 65,536-element chunk partials by
 * chunk index, so a view starting at a chunk boundary computes exactly the partials the unsplit tensor
 * would, and the combined norm has the bits of one process. Any other offset would cut a chunk in two
 * and change the summation order, so it is refused, with the nearest aligned offsets in the message.
 *
 * @param globalIndex the global tensor's index in the unsharded model's tensor order (≥ 0); the total
 *     norm folds tensors in this order, whatever the rank count and the arrival order
 * @param globalSize the global tensor's element count (≥ 0)
 * @param offset the first element of this view inside the global tensor: 0, or a multiple of 65,536
 * @param replicated whether this view is a replica of the same values on other ranks (counted once)
 */
public record ShardSpec(int globalIndex, long globalSize, long offset, boolean replicated) {
    /** Elements per canonical chunk. */
    public static final long CHUNK = 65_536;

    /**
     * Checks the placement.
     *
     * @param globalIndex the global tensor's index, ≥ 0
     * @param globalSize the global tensor's element count, ≥ 0
     * @param offset the first element of this view inside the global tensor: 0, or a multiple of 65,536
     *     below {@code globalSize}
     * @param replicated whether this view is a replica (then {@code offset} is 0)
     * @throws IllegalArgumentException if an index, size or offset is negative, the offset lies beyond the
     *     tensor, the offset is not a multiple of 65,536 (naming the nearest aligned offsets), or a
     *     replicated view does not cover its whole tensor
     */
    public ShardSpec {
        if (globalIndex < 0) throw new IllegalArgumentException("global tensor index " + globalIndex + " is negative");
        if (globalSize < 0) throw new IllegalArgumentException("global tensor " + globalIndex + " has negative size " + globalSize);
        if (offset < 0 || (offset > 0 && offset >= globalSize)) {
            throw new IllegalArgumentException("offset " + offset + " lies outside global tensor " + globalIndex
                    + " of " + globalSize + " elements");
        }
        if (offset % CHUNK != 0) {
            long below = offset / CHUNK * CHUNK;
            throw new IllegalArgumentException("offset " + offset + " in global tensor " + globalIndex
                    + " is not a multiple of the 65,536-element chunk; the nearest aligned offsets are " + below
                    + " and " + (below + CHUNK) + " (a split elsewhere would change the canonical summation order)");
        }
        if (replicated && offset != 0) {
            throw new IllegalArgumentException("replicated global tensor " + globalIndex + " must be whole (offset 0), not at offset " + offset);
        }
    }

    /**
     * {@return the spec of a whole tensor held by one rank only}
     *
     * @param globalIndex the tensor's index in the unsharded model, ≥ 0
     * @param size its element count, ≥ 0
     * @throws IllegalArgumentException if an argument is negative
     */
    public static ShardSpec whole(int globalIndex, long size) {
        return new ShardSpec(globalIndex, size, 0, false);
    }

    /**
     * {@return the spec of a whole tensor every rank that lists it holds with identical values (counted once)}
     *
     * @param globalIndex the tensor's index in the unsharded model, ≥ 0
     * @param size its element count, ≥ 0
     * @throws IllegalArgumentException if an argument is negative
     */
    public static ShardSpec replicated(int globalIndex, long size) {
        return new ShardSpec(globalIndex, size, 0, true);
    }

    /**
     * {@return the spec of a piece of a split tensor starting at {@code offset}}
     *
     * @param globalIndex the tensor's index in the unsharded model, ≥ 0
     * @param globalSize the whole tensor's element count, ≥ 0
     * @param offset the piece's first element: 0, or a multiple of 65,536 below {@code globalSize}
     * @throws IllegalArgumentException if a value is negative, the offset lies beyond the tensor or is not a
     *     multiple of 65,536 (naming the nearest aligned offsets)
     */
    public static ShardSpec split(int globalIndex, long globalSize, long offset) {
        return new ShardSpec(globalIndex, globalSize, offset, false);
    }

    /** The global index of this view's first chunk inside its tensor. */
    long firstChunk() {
        return offset / CHUNK;
    }
}
