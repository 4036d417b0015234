package dev.gradclip.cli;

import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormPartials;
import dev.gradclip.distributed.DistributedClipper;
import dev.gradclip.distributed.ExchangeConnection;
import dev.gradclip.distributed.ExchangeException;
import dev.gradclip.distributed.ExchangeProvider;
import dev.gradclip.distributed.ShardedGradientSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.jspecify.annotations.Nullable;

/**
 * {@code clip --op global-norm|norms} as one rank of a set sharded across processes: the global set is the
 * ranks' archives concatenated in rank order, and every rank gets the bits one {@code clip} of the
 * concatenated archive would give.
 *
 * <ol>
 *   <li>join the group through the {@link ExchangeProvider} on the class path (distributed/c10d);
 *   <li>all-gather the settings and array names ({@link RankManifest}): this rank's arrays are the
 *       global tensors {@code [offset, offset + n)}; different settings or a name in two archives fail
 *       every rank;
 *   <li>{@link DistributedClipper#globalPartials}: the exact canonical partials of every rank folded in
 *       global tensor order, {@code N = ‖(g_0, …, g_{T-1})‖_p};
 *   <li>global-norm: {@code g ← g · scale(N, M)} on this rank's arrays ({@link Clipper#clipWithTotalNorm}),
 *       the non-finite policy decided on the global N, so every rank throws or skips together.
 * </ol>
 *
 * The group is left before the caller writes OUT, so a failed exchange leaves every OUT unwritten.
 */
final class ShardedClip {
    /** What a rank reports: the values, the non-finite error under --nonfinite error (else null), and its layout. */
    record Outcome(ReportValues values, @Nullable String error, RankManifest.Layout layout, String exchange) {
    }

    private ShardedClip() {
    }

    /**
     * The exchange provider on the class path (the first that {@link ServiceLoader} finds).
     *
     * @throws Main.InputException if there is none: the distributed/c10d module is not on the class path
     */
    static ExchangeProvider provider() throws Main.InputException {
        try {
            Iterator<ExchangeProvider> it = ServiceLoader.load(ExchangeProvider.class).iterator();
            if (it.hasNext()) return it.next();
        } catch (ServiceConfigurationError e) {
            throw new Main.InputException("the exchange provider on the class path cannot be loaded: " + e.getMessage());
        }
        throw new Main.InputException("a clip sharded across processes (--rank/--world-size/--rendezvous) needs the distributed/c10d "
                + "module (PyTorch c10d through the JavaCPP presets), and no exchange provider is on the class path: run it "
                + "through bin/gradclip, which builds and adds the module, or add gradclip-c10d and its dependencies to the class path");
    }

    /**
     * Runs the sharded clip of {@code grads} (this rank's arrays, named {@code names}) in place.
     *
     * @param operation {@link ClipOperation.ByGlobalNorm} or {@link ClipOperation.Norms}
     * @param settings the clip options in a canonical text, equal on every rank that clips alike
     * @throws Main.InputException if the group cannot be formed or an exchange fails (a rank missing or
     *     dead, a timeout), the ranks' settings differ, or an array name is in two archives: nothing was modified
     */
    static Outcome run(ExchangeProvider provider, ShardOptions options, Clipper clipper, GradientSet grads, List<String> names,
                       ClipOperation operation, String settings) throws Main.InputException {
        try (ExchangeConnection exchange = open(provider, options)) {
            long[][] manifests = exchange.allGather(RankManifest.encode(settings, names));
            if (manifests == null || manifests.length != options.worldSize()) {
                throw new ExchangeException("the exchange returned " + (manifests == null ? "nothing" : manifests.length + " ranks")
                        + " for a world of " + options.worldSize());
            }
            RankManifest.Layout layout = RankManifest.layout(manifests, options.rank());
            int[] global = new int[grads.size()];
            for (int i = 0; i < global.length; i++) global[i] = layout.offset() + i;
            ShardedGradientSet sharded = ShardedGradientSet.wholeTensors(grads, global, layout.globalCount());
            DistributedClipper distributed = new DistributedClipper(clipper, exchange);
            if (operation instanceof ClipOperation.ByGlobalNorm g) {
                NormPartials partials = distributed.globalPartials(sharded, g.clip().normType());
                ClipReport local;
                String error = null;
                try {
                    local = clipper.clipWithTotalNorm(grads, g.clip(), partials.totalNorm());
                } catch (NonFiniteGradientException e) {
                    local = e.report();
                    error = e.getMessage();
                }
                ReportValues values = new ReportValues(local.backend(), true, partials.totalNorm(), local.scale(),
                        slice(partials, layout.offset(), grads.size()), local.clippedElements(), partials.nonFiniteElements(),
                        local.skipped(), local.tensorScales(), grads.totalElements());
                return new Outcome(values, error, layout, provider.name());
            }
            ClipOperation.Norms n = (ClipOperation.Norms) operation;
            NormPartials partials = distributed.globalPartials(sharded, n.normType());
            double total = partials.totalNorm();
            double[] ones = new double[grads.size()];
            Arrays.fill(ones, 1.0);
            ReportValues values = new ReportValues(clipper.backend().cliName(), true, total, 1.0,
                    slice(partials, layout.offset(), grads.size()), 0, partials.nonFiniteElements(), false, ones, grads.totalElements());
            // the message of Clipper.norms under ERROR, decided on the global total as one process decides it
            String error = n.nonFinite() == NonFinitePolicy.ERROR && !Double.isFinite(total)
                    ? "total " + n.normType() + "-norm is " + total : null;
            return new Outcome(values, error, layout, provider.name());
        } catch (ExchangeException e) {
            throw new Main.InputException(options.who() + ": " + e.getMessage() + "; nothing was written");
        }
    }

    private static ExchangeConnection open(ExchangeProvider provider, ShardOptions o) throws Main.InputException {
        try {
            return provider.open(o.rank(), o.worldSize(), o.rendezvous(), o.timeout());
        } catch (LinkageError e) {
            throw new Main.InputException(o.who() + ": the " + provider.name() + " exchange could not load its native libraries: " + e);
        }
    }

    /** The global tensor norms {@code [offset, offset + n)}: this rank's arrays' norms. */
    private static double[] slice(NormPartials global, int offset, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = global.tensorNorm(offset + i);
        return out;
    }
}
