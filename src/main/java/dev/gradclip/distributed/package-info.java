/**
 * Sharded gradients across processes and devices: one global norm with the bits of a single process.
 *
 * <p>A rank describes its pieces of the model with {@link dev.gradclip.distributed.ShardSpec}s in a
 * {@link dev.gradclip.distributed.ShardedGradientSet}; {@link dev.gradclip.distributed.DistributedClipper}
 * exchanges the exact canonical partials through a {@link dev.gradclip.distributed.GradientExchange}
 * (an adapter over an existing engine's all-gather; {@link dev.gradclip.distributed.LocalGroup} for
 * threads of one JVM) and clips every rank with the same global norm. Nothing in this package opens a
 * socket.
 *
 * <p><b>Contracts.</b> A failed exchange or a model the ranks disagree about throws
 * {@link dev.gradclip.distributed.ExchangeException} on every rank before any gradient is modified.
 * {@link dev.gradclip.distributed.ShardSpec}, {@link dev.gradclip.distributed.ShardedGradientSet} and
 * {@link dev.gradclip.distributed.ShardedClipReport} are immutable and thread-safe;
 * {@link dev.gradclip.distributed.DistributedClipper} is not: one per rank, used by that rank's thread.
 * {@link dev.gradclip.distributed.LocalGroup} is thread-safe, each of its endpoints used by one thread.
 * Nullness: nothing is null (JSpecify {@code @NullMarked}; no member of this package is {@code @Nullable}).
 */
@NullMarked
package dev.gradclip.distributed;

import org.jspecify.annotations.NullMarked;
