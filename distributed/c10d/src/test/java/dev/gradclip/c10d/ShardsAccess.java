package dev.gradclip.c10d;

import dev.gradclip.GradientSet;
import dev.gradclip.distributed.ShardedGradientSet;

/** Public access to the deterministic sharded model of the tests, for the Spark module's tests (test-jar). */
public final class ShardsAccess {
    private final Shards shards;

    public ShardsAccess(long seed, int world) {
        this.shards = new Shards(seed, world);
    }

    public GradientSet whole() {
        return shards.whole();
    }

    public ShardedGradientSet rank(int r) {
        return shards.rank(r);
    }

    /** The bits of every element of rank r's pieces, in piece order. */
    public long[] rankBits(int r) {
        int n = 0;
        for (Shards.Piece p : shards.ranks.get(r)) n += p.length();
        long[] out = new long[n];
        int k = 0;
        for (Shards.Piece p : shards.ranks.get(r)) {
            for (int i = p.offset(); i < p.offset() + p.length(); i++) out[k++] = shards.bits(p.tensor(), i);
        }
        return out;
    }
}
