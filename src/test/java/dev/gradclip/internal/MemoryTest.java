package dev.gradclip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Memory} is a capability handed only to gradclip's own classes, and both of its versions keep one
 * contract ({@link MemoryContract}).
 *
 * <p>The contract runs from a multi-release jar built here from the library's classes (with
 * {@code META-INF/versions/22}) and {@code MemoryContract} itself, so that the contract class is, like the
 * library's classes, loaded from the jar that holds Memory: on this JDK (17: the {@code Unsafe} version) and
 * on a JDK 22+ (GRADCLIP_JDK25, default Temurin 25: the FFM version), which must print nothing on stderr.
 *
 * <p>The refusals run in this JVM: this test class is in {@code target/test-classes}, another code
 * source than the library's {@code target/classes}, although its package is {@code dev.gradclip.internal}
 * (on the class path, a package name is no protection; the code source is).
 */
class MemoryTest {
    @TempDir
    Path dir;

    private static final Path CLASSES = Path.of("target", "classes").toAbsolutePath();
    private static final Path TEST_CLASSES = Path.of("target", "test-classes").toAbsolutePath();

    /** The build's JDK (17: the Unsafe version; a JDK 22+ running the build picks the FFM version). */
    @Test
    void theVersionForThisJdkKeepsTheContract() throws Exception {
        String expected = Runtime.version().feature() >= 22 ? "ffm" : "unsafe";
        String stdout = runContract(Path.of(System.getProperty("java.home"), "bin", "java"));
        assertTrue(stdout.startsWith("ok " + expected + " version from ") && stdout.contains("contract.jar"), stdout);
    }

    @Test
    void ffmVersionKeepsTheContractOnJdk25WithoutWarnings() throws Exception {
        String home = System.getenv().getOrDefault("GRADCLIP_JDK25", "/usr/lib/jvm/temurin-25-jdk-amd64");
        Path java = Path.of(home, "bin", "java");
        assertTrue(Files.isExecutable(java), "a JDK 22+ is needed for this test at " + java + " (set GRADCLIP_JDK25)");
        assertTrue(Files.isRegularFile(CLASSES.resolve("META-INF/versions/22/dev/gradclip/internal/Memory.class")),
                "the FFM version was compiled into target/classes/META-INF/versions/22");
        String stdout = runContract(java);
        assertTrue(stdout.startsWith("ok ffm version from ") && stdout.contains("contract.jar"), stdout);
    }

    /** A class outside gradclip's code source cannot obtain the capability, whatever its package. */
    @Test
    void classesOutsideGradclipAreRefused() {
        IllegalCallerException e = assertThrows(IllegalCallerException.class, () -> Memory.access());
        assertTrue(e.getMessage().startsWith("dev.gradclip.internal.Memory is internal to gradclip and not available to "
                + MemoryTest.class.getName()), e.getMessage());
        assertTrue(e.getMessage().contains("test-classes") && e.getMessage().contains("gradclip is "), e.getMessage());
    }

    /** Reflection and method handles find the real caller: refused the same way. */
    @Test
    void reflectionAndMethodHandlesAreRefusedToo() throws Exception {
        Method access = Memory.class.getMethod("access");
        InvocationTargetException viaReflection = assertThrows(InvocationTargetException.class, () -> access.invoke(null));
        assertInstanceOf(IllegalCallerException.class, viaReflection.getCause());
        java.lang.invoke.MethodHandle mh = java.lang.invoke.MethodHandles.publicLookup()
                .findStatic(Memory.class, "access", java.lang.invoke.MethodType.methodType(Memory.class));
        assertThrows(IllegalCallerException.class, () -> {
            Object unused = mh.invoke();
            throw new AssertionError("obtained " + unused);
        });
    }

    /** The library's classes got it (their static initializers ran without an IllegalCallerException). */
    @Test
    void theLibrarysOwnClassesHaveIt() {
        try (dev.gradclip.NativeBuffer b = dev.gradclip.NativeBuffer.allocate(dev.gradclip.DType.FLOAT32, 4)) {
            b.putFloat(3, 2.5f);
            assertEquals(2.5f, b.getFloat(3));
        }
    }

    /** Runs the contract from a jar of the library's classes and the contract's; returns its stdout. */
    private String runContract(Path java) throws Exception {
        Path jar = dir.resolve("contract.jar");
        writeJar(jar);
        // no --enable-native-access on JDK 25: the contract touches only memory that Memory allocated or a
        // direct buffer's, which need no restricted method, so stderr must stay empty
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-cp", jar.toString(), MemoryContract.class.getName()));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished");
        String stdout = Files.readString(out);
        String stderr = Files.readString(err);
        assertEquals(0, p.exitValue(), stdout + stderr);
        assertEquals("", stderr, "nothing on stderr");
        return stdout;
    }

    /** A multi-release jar: the library's classes (base and versions/22) and the contract's classes. */
    private static void writeJar(Path jar) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MULTI_RELEASE, "true");
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(os, m)) {
            addClasses(out, CLASSES, p -> !p.endsWith("module-info.class"));
            addClasses(out, TEST_CLASSES, p -> p.getFileName().toString().startsWith("MemoryContract"));
        }
    }

    private static void addClasses(JarOutputStream out, Path root, java.util.function.Predicate<Path> keep) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                if (!f.toString().endsWith(".class") || !keep.test(f)) continue;
                out.putNextEntry(new JarEntry(root.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
