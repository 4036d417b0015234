package dev.gradclip.spark;

import dev.gradclip.c10d.C10dExchange;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Starts one gradclip rank per task of a Spark barrier stage, as PySpark's TorchDistributor and
 * Horovod-on-Spark do: the tasks are launched together, rank 0 announces a c10d rendezvous address through
 * {@code BarrierTaskContext.allGather} once, every rank joins a {@link C10dExchange} there, and the
 * per-step exchanges of the clip run on c10d (Spark's own all-gather costs about a second per call, too
 * slow for every step).
 *
 * <p>Configure the Spark application so that a missing task fails in seconds, not in a year:
 * {@code spark.barrier.sync.timeout} (seconds; Spark's default is 365 days), and
 * {@code spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures} /
 * {@code .interval} (the check that enough slots exist for the whole stage). {@link #recommendedConf}
 * lists them. A barrier stage needs {@code worldSize} free task slots at once.
 */
public final class SparkRanks {
    private SparkRanks() {
    }

    /**
     * The Spark settings that make a barrier stage fail fast: barrier sync timeout, slot-check interval and
     * failures, as key/value pairs for {@code SparkConf.setAll}.
     */
    public static List<scala.Tuple2<String, String>> recommendedConf(Duration timeout) {
        long seconds = Math.max(1, timeout.toSeconds());
        return List.of(new scala.Tuple2<>("spark.barrier.sync.timeout", String.valueOf(seconds)),
                new scala.Tuple2<>("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s"),
                new scala.Tuple2<>("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "3"));
    }

    /**
     * Runs {@code task} on {@code worldSize} ranks, one per task of a barrier stage, each with a connected
     * c10d exchange, and returns their results in rank order.
     *
     * @param timeout the c10d rendezvous and all-gather timeout
     * @throws org.apache.spark.SparkException (unchecked in Java) if a rank fails: Spark then stops every task
     *     of the stage
     */
    public static <R extends Serializable> List<R> run(JavaSparkContext spark, int worldSize, Duration timeout, RankTask<R> task) {
        Objects.requireNonNull(spark, "spark context is null");
        Objects.requireNonNull(timeout, "timeout is null");
        Objects.requireNonNull(task, "task is null");
        if (worldSize < 1) throw new IllegalArgumentException("world size " + worldSize + " must be >= 1");
        List<Integer> ranks = IntStream.range(0, worldSize).boxed().toList();
        RDD<Integer> rdd = spark.parallelize(ranks, worldSize).rdd();
        @SuppressWarnings("unchecked")
        ClassTag<Object> tag = (ClassTag<Object>) (ClassTag<?>) ClassTag$.MODULE$.apply(Object.class);
        Object collected = rdd.barrier().mapPartitions(new RankFunction<>(task, worldSize, timeout.toMillis()), false, tag).collect();
        return orderByRank(collected);
    }

    @SuppressWarnings("unchecked")
    private static <R extends Serializable> List<R> orderByRank(Object collected) {
        Object[] all = (Object[]) collected;
        Object[] byRank = new Object[all.length];
        for (Object o : all) {
            RankResult<R> r = (RankResult<R>) o;
            byRank[r.rank()] = r.result();
        }
        List<R> out = new ArrayList<>(byRank.length);
        for (Object o : byRank) out.add((R) o);
        return out;
    }

    record RankResult<R extends Serializable>(int rank, R result) implements Serializable {
    }

    /** The barrier task: rendezvous through Spark once, then c10d. */
    static final class RankFunction<R extends Serializable>
            extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<Object>> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final RankTask<R> task;
        private final int worldSize;
        private final long timeoutMillis;

        RankFunction(RankTask<R> task, int worldSize, long timeoutMillis) {
            this.task = task;
            this.worldSize = worldSize;
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        public scala.collection.Iterator<Object> apply(scala.collection.Iterator<Integer> partition) {
            BarrierTaskContext context = BarrierTaskContext.get();
            int rank = context.partitionId();
            String announce = "";
            if (rank == 0) {
                String address = context.getTaskInfos()[0].address();
                String host = address.contains(":") ? address.substring(0, address.lastIndexOf(':')) : address;
                announce = host + ":" + freePort();
            }
            String[] all = context.allGather(announce);
            URI rendezvous = URI.create("tcp://" + all[0]);
            try (C10dExchange exchange = C10dExchange.connect(rendezvous, rank, worldSize, Duration.ofMillis(timeoutMillis))) {
                R result = task.run(rank, worldSize, exchange);
                return CollectionConverters.asScala(List.<Object>of(new RankResult<>(rank, result)).iterator());
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("rank " + rank + " failed: " + e.getMessage(), e);
            }
        }

        private static int freePort() {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("no free port for the c10d rendezvous", e);
            }
        }
    }
}
