package dev.gradclip.parity;

/** Java reference vs the native CPU kernels' scalar path (skipped where this CPU lacks it). */
class NativeScalarParityTest extends NativeCpuParityTest {
    @Override
    String isa() {
        return "scalar";
    }
}
