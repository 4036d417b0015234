package dev.gradclip.distributed;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A {@link GradientExchange} for ranks that are threads of one JVM (for example one thread per GPU of a
 * multi-GPU machine, or tests): {@link #rank(int)} gives each thread its endpoint. An all-gather waits at
 * most the group's timeout for the other ranks; when one does not arrive, every waiting rank throws
 * {@link ExchangeException} and the group is broken for good (later calls throw at once), as a
 * collective engine's process group would be.
 */
public final class LocalGroup {
    private final int worldSize;
    private final long timeoutNanos;
    private final long[] @Nullable [] slots;
    private int arrived;
    private long generation;
    private long @Nullable [][] lastResult;
    private @Nullable String broken;

    private LocalGroup(int worldSize, Duration timeout) {
        this.worldSize = worldSize;
        this.timeoutNanos = timeout.toNanos();
        this.slots = new long[worldSize][];
    }

    /**
     * A group of {@code worldSize} ranks.
     *
     * @param worldSize the number of ranks, ≥ 1
     * @param timeout how long an all-gather waits for the last rank, positive
     * @return the group, not yet broken
     * @throws IllegalArgumentException if worldSize {@code < 1} or the timeout is not positive
     */
    public static LocalGroup create(int worldSize, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout is null");
        if (worldSize < 1) throw new IllegalArgumentException("world size " + worldSize + " must be >= 1");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout " + timeout + " must be positive");
        return new LocalGroup(worldSize, timeout);
    }

    /** {@return the number of ranks} */
    public int worldSize() {
        return worldSize;
    }

    /**
     * {@return the endpoint of rank {@code rank}, to be used by one thread} Its {@code allGather} returns
     * fresh copies of every rank's contribution; calling it twice in one round from the same rank throws
     * {@link ExchangeException}.
     *
     * @param rank in {@code [0, worldSize())}
     * @throws IndexOutOfBoundsException if {@code rank} is outside {@code [0, worldSize())}
     */
    public GradientExchange rank(int rank) {
        Objects.checkIndex(rank, worldSize);
        return new GradientExchange() {
            @Override
            public int rank() {
                return rank;
            }

            @Override
            public int worldSize() {
                return worldSize;
            }

            @Override
            public long[][] allGather(long[] local) {
                return gather(rank, local);
            }
        };
    }

    private synchronized long[][] gather(int rank, long[] local) {
        Objects.requireNonNull(local, "local contribution is null");
        if (broken != null) throw new ExchangeException(broken);
        if (slots[rank] != null) {
            throw new ExchangeException("rank " + rank + " called allGather twice in one round (one thread per rank)");
        }
        slots[rank] = local.clone();
        long myGeneration = generation;
        if (++arrived == worldSize) {
            lastResult = slots.clone();
            java.util.Arrays.fill(slots, null);
            arrived = 0;
            generation++;
            notifyAll();
            return copy(lastResult);
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (generation == myGeneration && broken == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                StringBuilder missing = new StringBuilder();
                for (int r = 0; r < worldSize; r++) {
                    if (slots[r] == null) missing.append(missing.length() == 0 ? "" : ", ").append(r);
                }
                broken = "all-gather timed out after " + Duration.ofNanos(timeoutNanos).toMillis() + " ms waiting for rank(s) "
                        + missing + "; the group is broken and no gradient was modified";
                notifyAll();
                break;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                broken = "rank " + rank + " was interrupted during an all-gather; the group is broken";
                notifyAll();
                throw new ExchangeException(broken, e);
            }
        }
        if (generation == myGeneration) throw new ExchangeException(broken);
        return copy(lastResult);
    }

    private static long[][] copy(long[][] result) {
        long[][] c = new long[result.length][];
        for (int r = 0; r < c.length; r++) c[r] = result[r].clone();
        return c;
    }
}
