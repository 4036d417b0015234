package dev.gradclip.distributed;

import java.util.ArrayList;
import java.util.List;

/**
 * The wire form of one rank's exact canonical partials, as the {@code long[]} an exchange all-gathers
 * (doubles travel as their raw IEEE bits, so nothing is rounded or canonicalised on the way).
 *
 * <pre>
 * header : MAGIC, bits(p), globalTensorCount, nonFinite (of the rank's non-replicated pieces), pieceCount
 * piece  : globalIndex, globalSize, offset, localSize, replicated (0/1), bits(maxAbs) (0 unless general p),
 *          nonFinite (replicas only, else -1), chunkCount, bits(chunkSum[0]) … bits(chunkSum[chunkCount-1])
 * </pre>
 */
final class PartialsMessage {
    static final long MAGIC = 0x6763_7368_6172_6401L; // "gcshard" v1

    record Piece(int globalIndex, long globalSize, long offset, long localSize, boolean replicated, double maxAbs,
                 long nonFinite, double[] chunkSums) {
    }

    final double p;
    final int globalTensorCount;
    final long nonFinite;
    final List<Piece> pieces;

    PartialsMessage(double p, int globalTensorCount, long nonFinite, List<Piece> pieces) {
        this.p = p;
        this.globalTensorCount = globalTensorCount;
        this.nonFinite = nonFinite;
        this.pieces = pieces;
    }

    long[] encode() {
        int size = 5;
        for (Piece piece : pieces) size += 8 + piece.chunkSums.length;
        long[] out = new long[size];
        int k = 0;
        out[k++] = MAGIC;
        out[k++] = Double.doubleToRawLongBits(p);
        out[k++] = globalTensorCount;
        out[k++] = nonFinite;
        out[k++] = pieces.size();
        for (Piece piece : pieces) {
            out[k++] = piece.globalIndex;
            out[k++] = piece.globalSize;
            out[k++] = piece.offset;
            out[k++] = piece.localSize;
            out[k++] = piece.replicated ? 1 : 0;
            out[k++] = Double.doubleToRawLongBits(piece.maxAbs);
            out[k++] = piece.nonFinite;
            out[k++] = piece.chunkSums.length;
            for (double s : piece.chunkSums) out[k++] = Double.doubleToRawLongBits(s);
        }
        return out;
    }

    /** Decodes rank {@code rank}'s message; a malformed one is an {@link ExchangeException}. */
    static PartialsMessage decode(long[] in, int rank) {
        try {
            int k = 0;
            if (in[k++] != MAGIC) throw new ExchangeException("rank " + rank + " sent something that is not gradclip partials (v1)");
            double p = Double.longBitsToDouble(in[k++]);
            long count = in[k++];
            long nonFinite = in[k++];
            long pieceCount = in[k++];
            if (count < 0 || count > Integer.MAX_VALUE || pieceCount < 0 || pieceCount > in.length || nonFinite < 0) {
                throw new ExchangeException("rank " + rank + " sent a malformed header");
            }
            List<Piece> pieces = new ArrayList<>((int) pieceCount);
            for (long i = 0; i < pieceCount; i++) {
                long globalIndex = in[k++];
                long globalSize = in[k++];
                long offset = in[k++];
                long localSize = in[k++];
                boolean replicated = in[k++] != 0;
                double maxAbs = Double.longBitsToDouble(in[k++]);
                long pieceNonFinite = in[k++];
                long chunks = in[k++];
                if (globalIndex < 0 || globalIndex >= count || globalSize < 0 || offset < 0 || localSize < 0
                        || offset + localSize > globalSize || chunks != (localSize + ShardSpec.CHUNK - 1) / ShardSpec.CHUNK
                        || chunks > in.length - k) {
                    throw new ExchangeException("rank " + rank + " sent a malformed piece " + i);
                }
                double[] sums = new double[(int) chunks];
                for (int c = 0; c < sums.length; c++) sums[c] = Double.longBitsToDouble(in[k++]);
                pieces.add(new Piece((int) globalIndex, globalSize, offset, localSize, replicated, maxAbs, pieceNonFinite, sums));
            }
            if (k != in.length) throw new ExchangeException("rank " + rank + " sent " + (in.length - k) + " trailing words");
            return new PartialsMessage(p, (int) count, nonFinite, pieces);
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new ExchangeException("rank " + rank + " sent a truncated message", e);
        }
    }
}
