package dev.gradclip.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.bytedeco.javacpp.Loader;

/**
 * Loads the JavaCPP PyTorch presets' libtorch safely. Call {@link #load()} before the first use of any
 * {@code org.bytedeco.pytorch} class (every entry point of this module does).
 *
 * <p>Why: JavaCPP unpacks the presets' native libraries into its cache one by one as they are linked. On a machine
 * that also has a system libtorch (Debian's {@code libtorch1.13}, installed with {@code python3-torch}), the first
 * load into an empty cache resolved {@code libtorch.so}'s dependencies to the system's libraries before
 * {@code libtorch_cpu.so} was unpacked, and the JVM crashed, every time; and two JVMs loading for the first time
 * at once raced on the extraction. Unpacking the whole platform folder first ({@code Loader.cacheResources}) and
 * only then loading fixed both. The presets' libtorch (2.10) and DJL's (2.7.1) must never be loaded in the same
 * JVM: they are two builds of the same libraries.
 */
public final class Libtorch {
    private static volatile boolean loaded;

    private Libtorch() {
    }

    /** Unpacks the presets' native folder for this platform into the JavaCPP cache, then loads libtorch. Idempotent. */
    public static void load() {
        if (loaded) return;
        synchronized (Libtorch.class) {
            if (loaded) return;
            String folder = "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/";
            try {
                Loader.cacheResources(folder);
            } catch (IOException e) {
                throw new UncheckedIOException("could not unpack the PyTorch presets' native libraries from " + folder, e);
            }
            Loader.load(org.bytedeco.pytorch.global.torch.class);
            loaded = true;
        }
    }
}
