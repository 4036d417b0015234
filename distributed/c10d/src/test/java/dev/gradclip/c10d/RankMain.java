package dev.gradclip.c10d;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.distributed.DistributedClipper;
import dev.gradclip.distributed.ExchangeException;
import dev.gradclip.distributed.ShardedClipReport;
import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.net.URI;
import java.time.Duration;

/**
 * One rank in its own JVM: {@code RankMain PORT RANK WORLD SEED P MAXNORM TIMEOUT_MS OUT [POLICY [nan]]}. Clips its
 * shard of {@link Shards} (with the planted NaN when the last argument is {@code nan}) under the non-finite POLICY
 * (default PROPAGATE) through c10d and writes OUT: the outcome ("ok", "skipped", "nonfinite" or the exchange
 * failure's message), the global norm's and the scale's bits, then the bits of every element of its pieces.
 * Exit 0 (3 for "nonfinite"), or 2 on an exchange failure.
 */
public final class RankMain {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int rank = Integer.parseInt(args[1]);
        int world = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        NormType p = NormType.parse(args[4]);
        double maxNorm = Double.parseDouble(args[5]);
        Duration timeout = Duration.ofMillis(Long.parseLong(args[6]));
        NonFinitePolicy policy = args.length > 8 ? NonFinitePolicy.valueOf(args[8]) : NonFinitePolicy.PROPAGATE;
        Shards shards = new Shards(seed, world, args.length > 9 && args[9].equals("nan"));
        String outcome = "ok";
        double total = Double.NaN;
        double scale = Double.NaN;
        int rc = 0;
        try (Clipper clipper = Clipper.create(Backend.CPU);
             C10dExchange exchange = C10dExchange.connect(URI.create("tcp://127.0.0.1:" + port), rank, world, timeout)) {
            ShardedClipReport r = new DistributedClipper(clipper, exchange)
                    .clipByGlobalNorm(shards.rank(rank), NormClip.of(maxNorm).withNormType(p).withNonFinite(policy));
            total = r.totalNorm();
            scale = r.scale();
            if (r.local().skipped()) outcome = "skipped";
        } catch (NonFiniteGradientException e) {
            outcome = "nonfinite";
            rc = 3;
        } catch (ExchangeException e) {
            outcome = "exchange failed: " + e.getMessage();
            rc = 2;
        }
        try (DataOutputStream out = new DataOutputStream(new FileOutputStream(args[7]))) {
            out.writeUTF(outcome);
            out.writeLong(Double.doubleToRawLongBits(total));
            out.writeLong(Double.doubleToRawLongBits(scale));
            for (Shards.Piece piece : shards.ranks.get(rank)) {
                for (int i = piece.offset(); i < piece.offset() + piece.length(); i++) out.writeLong(shards.bits(piece.tensor(), i));
            }
        }
        System.exit(rc);
    }
}
