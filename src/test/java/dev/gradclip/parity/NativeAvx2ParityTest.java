package dev.gradclip.parity;

/** Java reference vs the native CPU kernels' avx2 path (skipped where this CPU lacks it). */
class NativeAvx2ParityTest extends NativeCpuParityTest {
    @Override
    String isa() {
        return "avx2";
    }
}
