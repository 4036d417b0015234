package dev.gradclip.parity;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.Clipper;
import org.junit.jupiter.api.Tag;

/** CPU vs the CUDA kernels on a real GPU: bit for bit. Each test is skipped, with the reason, where no GPU is present. */
@Tag("gpu")
class CudaParityTest extends AbstractParityTest {
    private String reason;

    @Override
    Clipper openOther() {
        BackendStatus cuda = Clipper.availableBackends().stream().filter(s -> s.backend() == Backend.CUDA).findFirst().orElseThrow();
        if (!cuda.available()) {
            reason = "GPU parity skipped: the CUDA backend is unavailable here: " + cuda.detail();
            return null;
        }
        return Clipper.create(Backend.CUDA);
    }

    @Override
    String unavailableReason() {
        return reason;
    }
}
