package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A NaN partial is the canonical quiet NaN whatever NaN the backend's sums returned (docs/canonical-reduction.md). */
class NormPartialsCanonicalNaNTest {
    private static final long CANONICAL = 0x7ff8000000000000L;

    @Test
    void nanPartialsSumsAndMaximaLoseTheirPayloadAndSign() {
        double payload = Double.longBitsToDouble(0xfffd20f320000000L);
        double gpu = Double.longBitsToDouble(0x7fffffffffffffffL);
        NormPartials p = NormPartials.of(NormType.L2, new double[] {1.0, payload, gpu}, new long[] {70_000, 5},
                new double[] {payload, gpu}, null, 2);
        assertEquals(Double.doubleToRawLongBits(1.0), Double.doubleToRawLongBits(p.chunkSums(0)[0]));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.chunkSums(0)[1]));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.chunkSums(1)[0]));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.tensorSum(0)));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.tensorSum(1)));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.tensorNorm(0)));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(p.totalNorm()));
        NormPartials g = NormPartials.of(NormType.of(3), new double[] {0.0}, new long[] {3}, new double[] {0.0},
                new double[] {payload}, 1);
        assertEquals(CANONICAL, Double.doubleToRawLongBits(g.maxAbs(0)));
        assertEquals(CANONICAL, Double.doubleToRawLongBits(g.tensorNorm(0)));
        assertEquals(p, NormPartials.of(NormType.L2, new double[] {1.0, Double.NaN, Double.NaN}, new long[] {70_000, 5},
                new double[] {Double.NaN, Double.NaN}, null, 2), "equal bit for bit to the canonical form");
    }
}
