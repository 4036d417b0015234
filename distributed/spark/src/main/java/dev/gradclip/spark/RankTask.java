package dev.gradclip.spark;

import dev.gradclip.distributed.GradientExchange;
import java.io.Serializable;

/**
 * What one rank does inside a Spark barrier task, with its c10d exchange already connected (for example:
 * load its shard, then clip each step with a {@link dev.gradclip.distributed.DistributedClipper}).
 *
 * @param <R> the rank's result, sent back to the driver
 */
@FunctionalInterface
public interface RankTask<R extends Serializable> extends Serializable {
    R run(int rank, int worldSize, GradientExchange exchange) throws Exception;
}
