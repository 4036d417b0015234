package dev.gradclip.backend;

import java.util.Locale;

/**
 * Why the native backends cannot load, in terms of artifacts: the main jar holds only classes and
 * runs everywhere on the CPU; the native libraries travel in the {@code linux-x86_64} classifier jar
 * (JavaCPP's convention) next to JavaCPP's own natives. Checked before JavaCPP tries to load anything,
 * so the reason names what to add rather than a JNI library name.
 */
final class NativeArtifacts {
    /** The one platform the native libraries are built for. */
    static final String PLATFORM = "linux-x86_64";

    private NativeArtifacts() {
    }

    /** JavaCPP's name for this JVM's platform, e.g. linux-x86_64, macosx-arm64, windows-x86_64. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") || os.startsWith("darwin") ? "macosx"
                : os.startsWith("windows") ? "windows" : os.replaceAll("[^a-z0-9]", "");
        String a = switch (arch) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "x86";
            default -> arch.replaceAll("[^a-z0-9_]", "");
        };
        return o + "-" + a;
    }

    /**
     * Null when the artifacts the native backends need are on the class path, else why not (what to
     * add). {@code emulatedJniClass} is the JavaCPP class of libgradclip-emu, whose JNI library the
     * natives jar always holds (JavaCPP's layout: {@code <package>/<platform>/libjni<Class>.so}).
     */
    static String missing(ClassLoader loader, String emulatedJniClass) {
        String platform = platform();
        if (!platform.equals(PLATFORM)) {
            return "no native libraries for " + platform + ": they are built for " + PLATFORM
                    + " only (the cpu backend runs everywhere)";
        }
        String version = NativeArtifacts.class.getPackage().getImplementationVersion();
        String v = version == null ? "VERSION" : version;
        if (loader.getResource("org/bytedeco/javacpp/Pointer.class") == null) {
            return "JavaCPP is not on the class path (add org.bytedeco:javacpp and its " + PLATFORM + " classifier)";
        }
        if (loader.getResource("org/bytedeco/javacpp/" + PLATFORM + "/libjnijavacpp.so") == null) {
            return "JavaCPP's natives for " + PLATFORM + " are not on the class path (add org.bytedeco:javacpp:...:" + PLATFORM + ")";
        }
        int dot = emulatedJniClass.lastIndexOf('.');
        String jni = emulatedJniClass.substring(0, dot).replace('.', '/') + "/" + PLATFORM + "/libjni"
                + emulatedJniClass.substring(dot + 1) + ".so";
        if (loader.getResource(jni) == null) {
            return "the natives jar is not on the class path (add dev.gradclip:gradclip:" + v + ":" + PLATFORM + ")";
        }
        return null; // a library missing from the natives jar (CUDA built without nvcc): the loader's message says so
    }
}
