package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the native backends say when their artifacts are missing (the main jar alone, issue 8 §3). */
class NativeArtifactsTest {
    /** The emulated backend's JavaCPP class, as NativeBackends names it. */
    static final String EMU = "dev.gradclip.backend.nativeapi.EmulatedLibrary";

    @Test
    void thisBuildHasEverything() {
        assertEquals("linux-x86_64", NativeArtifacts.platform());
        assertNull(NativeArtifacts.missing(NativeArtifactsTest.class.getClassLoader(), EMU));
    }

    @Test
    void namesWhatIsMissing(@TempDir Path dir) throws Exception {
        try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
            assertTrue(NativeArtifacts.missing(empty, EMU).startsWith("JavaCPP is not on the class path"));
        }
        Path javacpp = dir.resolve("javacpp");
        Files.createDirectories(javacpp.resolve("org/bytedeco/javacpp"));
        Files.write(javacpp.resolve("org/bytedeco/javacpp/Pointer.class"), new byte[] {0});
        try (URLClassLoader classesOnly = new URLClassLoader(new URL[] {javacpp.toUri().toURL()}, null)) {
            assertTrue(NativeArtifacts.missing(classesOnly, EMU).startsWith("JavaCPP's natives for linux-x86_64 are not on the class path"));
        }
        Files.createDirectories(javacpp.resolve("org/bytedeco/javacpp/linux-x86_64"));
        Files.write(javacpp.resolve("org/bytedeco/javacpp/linux-x86_64/libjnijavacpp.so"), new byte[] {0});
        try (URLClassLoader noGradclipNatives = new URLClassLoader(new URL[] {javacpp.toUri().toURL()}, null)) {
            assertTrue(NativeArtifacts.missing(noGradclipNatives, EMU).startsWith("the natives jar is not on the class path (add dev.gradclip:gradclip:"));
        }
    }

    @Test
    void otherPlatformsAreNamed() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        try {
            System.setProperty("os.name", "Mac OS X");
            System.setProperty("os.arch", "aarch64");
            assertEquals("macosx-arm64", NativeArtifacts.platform());
            assertTrue(NativeArtifacts.missing(NativeArtifactsTest.class.getClassLoader(), EMU)
                    .startsWith("no native libraries for macosx-arm64: they are built for linux-x86_64 only"));
        } finally {
            System.setProperty("os.name", os);
            System.setProperty("os.arch", arch);
        }
    }
}
