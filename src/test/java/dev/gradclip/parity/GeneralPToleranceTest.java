package dev.gradclip.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The general-p element tolerance of {@link ParitySuite}: as loose as the report's, and no looser. */
class GeneralPToleranceTest {

    @Test
    void acceptsTheH200sThreeUlpElement() {
        // random #108 [FLOAT64, HUGE] per-tensor p=3 TF, CPU vs CUDA on the H200 (2026-11-30): 3 ulp apart
        double cpu = 1.750320207141826E199;
        double cuda = 1.7503202071418265E199;
        assertEquals(3, Double.doubleToRawLongBits(cuda) - Double.doubleToRawLongBits(cpu));
        assertTrue(ParitySuite.generalPClose(cpu, cuda));
    }

    @Test
    void refusesWhatTheReportWouldRefuse() {
        assertFalse(ParitySuite.generalPClose(1.0, 1.0 + 1e-12));
        assertFalse(ParitySuite.generalPClose(1.0, -1.0));
        assertFalse(ParitySuite.generalPClose(1e300, Double.POSITIVE_INFINITY));
        assertFalse(ParitySuite.generalPClose(Double.NaN, Double.NaN));
        assertFalse(ParitySuite.generalPClose(0.0, 1e-300));
    }

    @Test
    void acceptsRoundingNoiseAndSubnormalTails() {
        assertTrue(ParitySuite.generalPClose(1.0, 1.0 + 1e-14));
        assertTrue(ParitySuite.generalPClose(Double.MIN_VALUE, 2 * Double.MIN_VALUE));
        assertTrue(ParitySuite.generalPClose(0.0, -0.0));
    }
}
