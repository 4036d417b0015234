/**
 * Sharded gradients across processes and devices: one global norm with the bits of a single process.
 *
 * <p>A rank describes its pieces of the model with {@link dev.gradclip.distributed.ShardSpec}s in a
 * {@link dev.gradclip.distributed.ShardedGradientSet}; {@link dev.gradclip.distributed.DistributedClipper}
 * exchanges the exact canonical partials through a {@link dev.gradclip.distributed.GradientExchange}
 * (an adapter over an existing engine's all-gather; {@link dev.gradclip.distributed.LocalGroup} for
 * threads of one JVM) and clips every rank with the same global norm. Nothing in this package opens a
 * socket. Arguments are non-null unless a method says otherwise.
 */
package dev.gradclip.distributed;
