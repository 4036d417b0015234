package dev.gradclip.distributed;

/**
 * The one collective a sharded clip needs: an all-gather of a few numbers per rank per step. Adapters
 * implement it on an existing engine (PyTorch c10d through the JavaCPP presets, Spark, or
 * {@link LocalGroup} for ranks that are threads of one JVM); gradclip ships no transport of its own.
 *
 * <p>Contract: every rank of the group calls {@link #allGather} the same number of times, in the same
 * order; each call returns, on every rank, the same array of arrays indexed by rank (element r is what
 * rank r passed, bit for bit, whatever its length), independent of arrival order. A rank that fails or
 * does not arrive within the adapter's timeout makes the call throw {@link ExchangeException} on every
 * rank that is still waiting; gradclip then modifies nothing.
 */
public interface GradientExchange {
    /** {@return this endpoint's rank, in {@code [0, worldSize())}} */
    int rank();

    /** {@return the number of ranks, ≥ 1} */
    int worldSize();

    /**
     * Gathers {@code local} from every rank.
     *
     * @param local this rank's contribution; not modified, and not retained after the call
     * @return one array per rank, indexed by rank; the caller may not modify them
     * @throws ExchangeException if a rank failed, left, or did not arrive in time
     */
    long[][] allGather(long[] local);
}
