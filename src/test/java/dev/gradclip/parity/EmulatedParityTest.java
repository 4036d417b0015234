package dev.gradclip.parity;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;

/** CPU vs the CUDA kernels run by the host emulation layer: bit for bit. Runs everywhere (no GPU needed). */
class EmulatedParityTest extends AbstractParityTest {
    @Override
    Clipper openOther() {
        return Clipper.create(Backend.EMULATED); // fails the suite, with the reason, if libgradclip-emu is missing
    }
}
