package dev.gradclip.distributed;

import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Clips a sharded model by its global norm with the bits of one process, whatever the sharding, the
 * rank count and the arrival order (docs/canonical-reduction.md, "Across processes"):
 *
 * <ol>
 *   <li>each rank computes the exact canonical partials of its pieces ({@link Clipper#partials}: fp64
 *       chunk partials, never a rounded norm);
 *   <li>one all-gather through a {@link GradientExchange} (an existing engine's collective);
 *   <li>every rank folds the gathered partials in the canonical order, by global tensor index and global
 *       chunk index (never by rank or arrival), counting replicated tensors once, into the partials of the
 *       unsharded model: {@code N = ‖(g_0, …, g_{n-1})‖_p};
 *   <li>{@code g ← g · scale(N, M)} on every rank's pieces ({@link Clipper#clipWithTotalNorm}); the
 *       non-finite policy is decided on the global N, so every rank throws or skips together.
 * </ol>
 *
 * A failed exchange throws {@link ExchangeException} before any gradient is modified. p = 1, 2 and ∞ work
 * for whole and split tensors; a general p for whole tensors only (its partials are scaled by the whole
 * tensor's max|x|). Not thread-safe: one instance per rank, used by that rank's thread.
 */
public final class DistributedClipper {
    private final Clipper clipper;
    private final GradientExchange exchange;

    /**
     * A rank's sharded clipper.
     *
     * @param clipper the local clipper (not closed by this object)
     * @param exchange this rank's endpoint of the collective
     */
    public DistributedClipper(Clipper clipper, GradientExchange exchange) {
        this.clipper = Objects.requireNonNull(clipper, "clipper is null");
        this.exchange = Objects.requireNonNull(exchange, "exchange is null");
    }

    /** {@return the rank of this endpoint, {@code exchange.rank()}} */
    public int rank() {
        return exchange.rank();
    }

    /**
     * The partials of the unsharded model (phases 1–3): {@code globalPartials().totalNorm()} is the global
     * norm and {@code tensorNorm(g)} the norm of global tensor g, identical on every rank. Writes nothing.
     * Every rank must call it (it runs one all-gather).
     *
     * @param grads this rank's pieces of the model
     * @param normType the p of the norm; every rank must use the same
     * @return the partials of the unsharded model, bit for bit those of one process holding every tensor
     * @throws IllegalStateException if the local clipper is closed or a local tensor's memory was closed or freed
     * @throws IllegalArgumentException if the local clipper cannot reach a local tensor
     * @throws ExchangeException if the exchange fails or the ranks' pieces do not tile the model exactly once
     */
    public NormPartials globalPartials(ShardedGradientSet grads, NormType normType) {
        Objects.requireNonNull(grads, "sharded gradient set is null");
        Objects.requireNonNull(normType, "norm type is null");
        long[] local = localMessage(grads, normType).encode();
        long[][] gathered = exchange.allGather(local);
        if (gathered == null || gathered.length != exchange.worldSize()) {
            throw new ExchangeException("the exchange returned " + (gathered == null ? "nothing" : gathered.length + " ranks")
                    + " for a world of " + exchange.worldSize());
        }
        return GlobalCombine.combine(gathered);
    }

    /**
     * Clip by global norm across every rank: {@code N} = the unsharded model's norm,
     * {@code g ← g · scale(N, M)} on this rank's pieces (semantics and policy of {@code clip}). Every rank
     * must call it with the same clip (it runs one all-gather).
     *
     * @param grads this rank's pieces of the model, scaled in place
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     * @return this rank's report (its tensors' norms are not measured again: NaN) and the global partials
     * @throws ExchangeException if the exchange fails (nothing modified on any rank)
     * @throws NonFiniteGradientException under ERROR when N is not finite (nothing modified on any rank)
     */
    public ShardedClipReport clipByGlobalNorm(ShardedGradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        NormPartials global = globalPartials(grads, clip.normType());
        ClipReport local = clipper.clipWithTotalNorm(grads.local(), clip, global.totalNorm());
        return new ShardedClipReport(local, global);
    }

    private PartialsMessage localMessage(ShardedGradientSet grads, NormType p) {
        GradientSet set = grads.local();
        List<ShardSpec> specs = grads.specs();
        List<Tensor> plain = new ArrayList<>();
        List<Integer> plainIndex = new ArrayList<>();
        for (int i = 0; i < set.size(); i++) {
            if (!specs.get(i).replicated()) {
                plain.add(set.get(i));
                plainIndex.add(i);
            }
        }
        PartialsMessage.Piece[] pieces = new PartialsMessage.Piece[set.size()];
        NormPartials own = clipper.partials(GradientSet.of(plain), p);
        for (int k = 0; k < plain.size(); k++) {
            int i = plainIndex.get(k);
            pieces[i] = piece(specs.get(i), set.get(i), own, k, -1);
        }
        // replicas are counted once, so their non-finite counts travel with them, one pass each
        for (int i = 0; i < set.size(); i++) {
            if (specs.get(i).replicated()) {
                NormPartials one = clipper.partials(GradientSet.of(set.get(i)), p);
                pieces[i] = piece(specs.get(i), set.get(i), one, 0, one.nonFiniteElements());
            }
        }
        return new PartialsMessage(p.p(), grads.globalTensorCount(), own.nonFiniteElements(), List.of(pieces));
    }

    private static PartialsMessage.Piece piece(ShardSpec spec, Tensor t, NormPartials partials, int k, long nonFinite) {
        double maxAbs = partials.hasMaxAbs() ? partials.maxAbs(k) : 0.0;
        return new PartialsMessage.Piece(spec.globalIndex(), spec.globalSize(), spec.offset(), t.size(), spec.replicated(),
                maxAbs, nonFinite, partials.chunkSums(k));
    }
}
