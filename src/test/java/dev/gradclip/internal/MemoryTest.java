package dev.gradclip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both versions of {@link Memory} keep one contract ({@link MemoryContract}): the build's JDK runs the
 * Unsafe version; a JDK 22+ (GRADCLIP_JDK25, default Temurin 25) runs the FFM version from
 * {@code META-INF/versions/22}, put first on its class path as the multi-release jar would, and must
 * print nothing on stderr (no Unsafe deprecation or restricted-method warning).
 */
class MemoryTest {
    @TempDir
    Path dir;

    @Test
    void unsafeVersionKeepsTheContract() {
        Assumptions.assumeTrue(Runtime.version().feature() < 22, "this JVM would pick the FFM version from a jar");
        MemoryContract.run();
    }

    @Test
    void ffmVersionKeepsTheContractOnJdk25WithoutWarnings() throws Exception {
        String home = System.getenv().getOrDefault("GRADCLIP_JDK25", "/usr/lib/jvm/temurin-25-jdk-amd64");
        Path java = Path.of(home, "bin", "java");
        assertTrue(Files.isExecutable(java), "a JDK 22+ is needed for this test at " + java + " (set GRADCLIP_JDK25)");
        Path classes = Path.of("target", "classes").toAbsolutePath();
        Path versioned = classes.resolve("META-INF/versions/22");
        assertTrue(Files.isRegularFile(versioned.resolve("dev/gradclip/internal/Memory.class")),
                "the FFM version was compiled into " + versioned);
        Path testClasses = Path.of("target", "test-classes").toAbsolutePath();
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-cp",
                versioned + File.pathSeparator + classes + File.pathSeparator + testClasses,
                MemoryContract.class.getName()));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished");
        String stdout = Files.readString(out);
        String stderr = Files.readString(err);
        assertEquals(0, p.exitValue(), stdout + stderr);
        assertTrue(stdout.startsWith("ok ") && stdout.contains("versions/22"), "the FFM version ran: " + stdout);
        assertEquals("", stderr, "nothing on stderr");
    }
}
