package dev.gradclip.parity;

/** Java reference vs the native CPU kernels' avx512 path (skipped where this CPU lacks it). */
class NativeAvx512ParityTest extends NativeCpuParityTest {
    @Override
    String isa() {
        return "avx512";
    }
}
