package dev.gradclip.parity;

import dev.gradclip.Clipper;
import dev.gradclip.TestClippers;
import dev.gradclip.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;

/**
 * The Java reference CPU backend against the native CPU kernels forced to one instruction-set path, on
 * the whole parity suite (with EmulatedParityTest, native CPU vs emulated, and JavaEmulatedParityTest,
 * Java vs emulated: three-way parity). Subclasses name the path; a path this CPU lacks is reported as
 * skipped with the reason. The path is global to the JVM, so it is restored after the class.
 */
abstract class NativeCpuParityTest extends AbstractParityTest {
    private String previous;

    abstract String isa();

    /** At most 300 random cases per path (NativeKernelsParityTest compares every pass of every path too). */
    @Override
    int randomCaseCount() {
        return Math.min(super.randomCaseCount(), 300);
    }

    @Override
    Clipper openCpu() {
        return TestClippers.using(new CpuBackend(2, CpuBackend.Kernels.JAVA));
    }

    @Override
    Clipper openOther() {
        if (!CpuBackend.nativeIsaSupported(isa())) return null;
        previous = CpuBackend.nativeIsa();
        if (!CpuBackend.selectNativeIsa(isa())) return null;
        return TestClippers.using(new CpuBackend(2, CpuBackend.Kernels.NATIVE));
    }

    @Override
    String unavailableReason() {
        String why = CpuBackend.nativeUnavailableReason();
        return why != null ? "native CPU kernels unavailable: " + why : "this CPU has no " + isa() + " path";
    }

    @AfterAll
    void restoreIsa() {
        if (previous != null) CpuBackend.selectNativeIsa(previous);
    }
}
