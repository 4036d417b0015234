package dev.gradclip.backend.cpu;

import dev.gradclip.GradientSet;

/**
 * The chunk table of a gradient set: every tensor split into chunks of 65,536 elements from its
 * element 0 (the last one shorter), chunks never spanning two tensors, listed in tensor order.
 */
final class ChunkPlan {
    static final int CHUNK = 65_536;

    final int chunkCount;
    /** Elements of the whole set. */
    final long elements;
    final int[] tensorOf;
    final long[] startOf;
    final int[] lengthOf;
    /** Chunks of tensor t are {@code [firstChunk[t], firstChunk[t+1])}. */
    final int[] firstChunk;

    ChunkPlan(GradientSet set) {
        int n = set.size();
        firstChunk = new int[n + 1];
        long chunks = 0;
        for (int t = 0; t < n; t++) {
            firstChunk[t] = (int) chunks;
            chunks += (set.get(t).size() + CHUNK - 1) / CHUNK;
            if (chunks > Integer.MAX_VALUE - 1) {
                throw new IllegalArgumentException("gradient set too large: more than 2^31 chunks of 65,536 elements");
            }
        }
        firstChunk[n] = (int) chunks;
        long total = 0;
        for (int t = 0; t < n; t++) total += set.get(t).size();
        elements = total;
        chunkCount = (int) chunks;
        tensorOf = new int[chunkCount];
        startOf = new long[chunkCount];
        lengthOf = new int[chunkCount];
        for (int t = 0; t < n; t++) {
            long size = set.get(t).size();
            for (int c = firstChunk[t]; c < firstChunk[t + 1]; c++) {
                long start = (long) (c - firstChunk[t]) * CHUNK;
                tensorOf[c] = t;
                startOf[c] = start;
                lengthOf[c] = (int) Math.min(CHUNK, size - start);
            }
        }
    }
}
