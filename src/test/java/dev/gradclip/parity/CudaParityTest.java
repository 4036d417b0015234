package dev.gradclip.parity;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.Clipper;
import org.junit.jupiter.api.Tag;

/** CPU vs the CUDA kernels on a real GPU: bit for bit. Skipped, with the reason, where no GPU is present. */
@Tag("gpu")
class CudaParityTest extends AbstractParityTest {
    @Override
    Clipper openOther() {
        BackendStatus cuda = Clipper.availableBackends().stream().filter(s -> s.backend() == Backend.CUDA).findFirst().orElseThrow();
        assumeTrue(cuda.available(), "GPU parity skipped: the CUDA backend is unavailable here: " + cuda.detail());
        return Clipper.create(Backend.CUDA);
    }
}
