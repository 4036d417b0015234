/**
 * gradclip: gradient clipping for JVM trainers, bit for bit the same on the CPU, the CUDA kernels and
 * their host emulation.
 *
 * <p>Exported (the API): {@code dev.gradclip} (clipper, tensors, operations, reports),
 * {@code dev.gradclip.policy} (threshold policies, AGC, loss scaling, parameter groups),
 * {@code dev.gradclip.monitor} (gradient monitoring and its writers and plots) and
 * {@code dev.gradclip.distributed} (sharded clipping and its exchange SPI). Not exported: the backends
 * and their SPI ({@code dev.gradclip.backend}, {@code .backend.cpu}, {@code .backend.nativeapi}), the
 * command line ({@code dev.gradclip.cli}, which runs as
 * {@code java -p ... -m dev.gradclip/dev.gradclip.cli.Main}) and {@code dev.gradclip.internal} (raw
 * off-heap memory among others).
 *
 * <p>The native backends and the CPU backend's native kernels are JavaCPP libraries: on the module path
 * they need the natives jar and JavaCPP's natives as modules too, resolved with
 * {@code --add-modules dev.gradclip.linux.x86_64,org.bytedeco.javacpp.linux.x86_64} (nothing requires
 * them, as nothing requires a platform's natives); without them the CPU backend runs its Java kernels.
 */
module dev.gradclip {
    exports dev.gradclip;
    exports dev.gradclip.policy;
    exports dev.gradclip.monitor;
    exports dev.gradclip.distributed;

    // clip --rank/--world-size/--rendezvous: the command line finds the exchange (e.g. distributed/c10d's
    // provider) with ServiceLoader, which a named module may only do for a service it declares
    uses dev.gradclip.distributed.ExchangeProvider;

    // JavaCPP loads the JNI libraries of the native backends and of the CPU backend's kernels; transitive:
    // the API takes JavaCPP pointers (Tensor.of(Pointer, DType), Tensor.onDevice, Clipper.onStream)
    requires transitive org.bytedeco.javacpp;
    // internal.Memory on JDK 17-21 (sun.misc.Unsafe); the JDK 22+ version in the multi-release jar uses the FFM API
    requires jdk.unsupported;
    // monitor: PNG plots; transitive: MonitorPlots returns java.awt.image.BufferedImage
    requires transitive java.desktop;
    // nullness annotations (JSpecify) on the API: static, no jar needed at run time; transitive, so that
    // users' compilers see them (the POM passes the jspecify jar on to users' builds)
    requires static transitive org.jspecify;
    // not required: jdk.incubator.vector (the CPU backend's SIMD loops). When the JVM runs with
    // --add-modules jdk.incubator.vector, backend.cpu.ChunkKernels adds the read edge itself; the build
    // compiles with --add-reads dev.gradclip=jdk.incubator.vector (pom.xml)
}
