package dev.gradclip.distributed;

import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.internal.CanonicalFold;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Folds the partials gathered from every rank into the partials of the unsharded model, in the canonical
 * order of docs/canonical-reduction.md: a global tensor's chunk partials by global chunk index, tensors
 * by global tensor index, never by rank or arrival. A pure function of the gathered arrays, so every rank
 * computes the same bits, or throws the same {@link ExchangeException}.
 */
final class GlobalCombine {
    private GlobalCombine() {
    }

    private record Held(int rank, PartialsMessage.Piece piece) {
    }

    static NormPartials combine(long[][] gathered) {
        if (gathered.length == 0) throw new ExchangeException("the exchange returned no ranks");
        PartialsMessage[] messages = new PartialsMessage[gathered.length];
        for (int r = 0; r < gathered.length; r++) messages[r] = PartialsMessage.decode(gathered[r], r);
        PartialsMessage first = messages[0];
        for (int r = 1; r < messages.length; r++) {
            if (Double.doubleToRawLongBits(messages[r].p) != Double.doubleToRawLongBits(first.p)) {
                throw new ExchangeException("ranks disagree on the norm type: rank 0 uses p = " + first.p + ", rank " + r
                        + " p = " + messages[r].p);
            }
            if (messages[r].globalTensorCount != first.globalTensorCount) {
                throw new ExchangeException("ranks disagree on the model: rank 0 has " + first.globalTensorCount
                        + " global tensors, rank " + r + " has " + messages[r].globalTensorCount);
            }
        }
        NormType p = NormType.of(first.p);
        boolean general = !(p.p() == 1.0 || p.p() == 2.0 || p.isInfinity());
        int n = first.globalTensorCount;
        List<List<Held>> byTensor = new ArrayList<>(n);
        for (int g = 0; g < n; g++) byTensor.add(new ArrayList<>());
        long nonFinite = 0;
        for (int r = 0; r < messages.length; r++) {
            nonFinite += messages[r].nonFinite;
            for (PartialsMessage.Piece piece : messages[r].pieces) byTensor.get(piece.globalIndex()).add(new Held(r, piece));
        }
        long[] sizes = new long[n];
        double[] tensorSums = new double[n];
        double[] maxAbs = general ? new double[n] : null;
        List<double[]> chunks = new ArrayList<>(n);
        long chunkCount = 0;
        double[] lanes = new double[CanonicalFold.LANES];
        for (int g = 0; g < n; g++) {
            List<Held> held = byTensor.get(g);
            if (held.isEmpty()) throw new ExchangeException("global tensor " + g + " is held by no rank");
            long size = held.get(0).piece().globalSize();
            for (Held h : held) {
                if (h.piece().globalSize() != size) {
                    throw new ExchangeException("ranks disagree on the size of global tensor " + g + ": rank " + held.get(0).rank()
                            + " says " + size + ", rank " + h.rank() + " says " + h.piece().globalSize());
                }
            }
            double[] tensorChunks;
            boolean replicated = held.get(0).piece().replicated();
            if (replicated) {
                Held one = held.get(0);
                for (Held h : held) {
                    if (!h.piece().replicated()) {
                        throw new ExchangeException("global tensor " + g + " is declared replicated on rank " + one.rank()
                                + " but not on rank " + h.rank());
                    }
                    if (!sameBits(one.piece(), h.piece())) {
                        throw new ExchangeException("the replicas of global tensor " + g + " differ between rank " + one.rank()
                                + " and rank " + h.rank() + " (their gradients are not identical)");
                    }
                }
                nonFinite += one.piece().nonFinite();
                tensorChunks = one.piece().chunkSums();
                if (general) maxAbs[g] = one.piece().maxAbs();
            } else {
                held.sort(Comparator.comparingLong((Held h) -> h.piece().offset()));
                long expected = 0;
                for (Held h : held) {
                    if (h.piece().replicated()) {
                        throw new ExchangeException("global tensor " + g + " is declared replicated on rank " + h.rank()
                                + " but not on rank " + held.get(0).rank());
                    }
                    if (h.piece().offset() != expected) {
                        throw new ExchangeException(h.piece().offset() < expected
                                ? "global tensor " + g + " is counted twice: elements from " + h.piece().offset() + " are held by rank "
                                        + h.rank() + " and another rank (declare identical copies as replicated)"
                                : "elements " + expected + " to " + h.piece().offset() + " of global tensor " + g + " are held by no rank");
                    }
                    expected += h.piece().localSize();
                }
                if (expected != size) {
                    throw new ExchangeException("elements " + expected + " to " + size + " of global tensor " + g + " are held by no rank");
                }
                if (general && held.size() > 1) {
                    throw new ExchangeException("global tensor " + g + " is split across ranks, and p = " + p
                            + " is a general p: its partials are scaled by the whole tensor's max|x|; split tensors "
                            + "support p = 1, 2 and inf");
                }
                if (general) maxAbs[g] = held.get(0).piece().maxAbs();
                int total = 0;
                for (Held h : held) total += h.piece().chunkSums().length;
                tensorChunks = new double[total];
                int at = 0;
                for (Held h : held) {
                    double[] s = h.piece().chunkSums();
                    System.arraycopy(s, 0, tensorChunks, at, s.length);
                    at += s.length;
                }
            }
            sizes[g] = size;
            tensorSums[g] = tensorChunks.length == 0 ? 0.0
                    : CanonicalFold.reduce(tensorChunks, 0, tensorChunks.length, p.isInfinity(), lanes);
            chunks.add(tensorChunks);
            chunkCount += tensorChunks.length;
        }
        if (chunkCount > Integer.MAX_VALUE - 8) throw new ExchangeException("the model has more than 2^31 chunks");
        double[] allChunks = new double[(int) chunkCount];
        int at = 0;
        for (double[] c : chunks) {
            System.arraycopy(c, 0, allChunks, at, c.length);
            at += c.length;
        }
        return NormPartials.of(p, allChunks, sizes, tensorSums, maxAbs, nonFinite);
    }

    private static boolean sameBits(PartialsMessage.Piece a, PartialsMessage.Piece b) {
        if (a.localSize() != b.localSize() || a.nonFinite() != b.nonFinite()
                || Double.doubleToRawLongBits(a.maxAbs()) != Double.doubleToRawLongBits(b.maxAbs())) {
            return false;
        }
        double[] x = a.chunkSums();
        double[] y = b.chunkSums();
        if (x.length != y.length) return false;
        for (int i = 0; i < x.length; i++) {
            if (Double.doubleToRawLongBits(x[i]) != Double.doubleToRawLongBits(y[i])) return false;
        }
        return true;
    }
}
