package dev.gradclip.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.c10d.ShardsAccess;
import dev.gradclip.distributed.DistributedClipper;
import dev.gradclip.distributed.ShardedClipReport;
import java.time.Duration;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The c10d equality test again, with the ranks started as the tasks of Spark barrier stages in local mode:
 * one c10d rank per task, the rendezvous all-gathered through Spark once.
 */
class SparkRanksTest {
    private static JavaSparkContext spark;

    @BeforeAll
    static void start() {
        SparkConf conf = new SparkConf().setMaster("local[4]").setAppName("gradclip-spark-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        for (scala.Tuple2<String, String> kv : SparkRanks.recommendedConf(Duration.ofSeconds(60))) conf.set(kv._1(), kv._2());
        spark = new JavaSparkContext(conf);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    /** What a rank sends back: the global norm's and scale's bits and its clipped elements' bits. */
    record Outcome(long totalBits, long scaleBits, long[] elementBits) implements java.io.Serializable {
    }

    @Test
    void barrierStageRanksGetTheBitsOfOneProcess() {
        for (int world = 1; world <= 3; world++) {
            long seed = 500L + world;
            String p = world == 2 ? "inf" : "2";
            ShardsAccess single = new ShardsAccess(seed, world);
            NormPartials ref;
            ClipReport refReport;
            double maxNorm;
            try (Clipper c = Clipper.create(Backend.CPU)) {
                ref = c.partials(single.whole(), NormType.parse(p));
                maxNorm = ref.totalNorm() / 5;
                refReport = c.clipByGlobalNorm(single.whole(), NormClip.of(maxNorm).withNormType(NormType.parse(p)));
            }
            double m = maxNorm;
            int w = world;
            List<Outcome> outcomes = SparkRanks.run(spark, world, Duration.ofSeconds(60), (rank, size, exchange) -> {
                ShardsAccess mine = new ShardsAccess(seed, w);
                try (Clipper c = Clipper.create(Backend.CPU)) {
                    ShardedClipReport r = new DistributedClipper(c, exchange)
                            .clipByGlobalNorm(mine.rank(rank), NormClip.of(m).withNormType(NormType.parse(p)));
                    return new Outcome(Double.doubleToRawLongBits(r.totalNorm()), Double.doubleToRawLongBits(r.scale()), mine.rankBits(rank));
                }
            });
            assertEquals(world, outcomes.size());
            for (int r = 0; r < world; r++) {
                String what = "world " + world + " rank " + r;
                assertEquals(Double.doubleToRawLongBits(ref.totalNorm()), outcomes.get(r).totalBits(), what + ": global norm bits");
                assertEquals(Double.doubleToRawLongBits(refReport.scale()), outcomes.get(r).scaleBits(), what + ": scale bits");
                long[] expected = single.rankBits(r);
                long[] got = outcomes.get(r).elementBits();
                assertEquals(expected.length, got.length, what);
                for (int i = 0; i < expected.length; i++) {
                    if (expected[i] != got[i]) throw new AssertionError(what + ": element " + i + " differs");
                }
            }
        }
    }

    @Test
    void aFailingRankFailsTheStage() {
        Exception e = assertThrows(Exception.class, () -> SparkRanks.run(spark, 2, Duration.ofSeconds(5), (rank, size, exchange) -> {
            if (rank == 1) throw new IllegalStateException("rank 1 lost its data");
            return rank;
        }));
        assertTrue(String.valueOf(e.getMessage()).contains("rank 1 lost its data")
                || String.valueOf(e.getCause()).contains("rank 1 lost its data"), String.valueOf(e));
    }
}
