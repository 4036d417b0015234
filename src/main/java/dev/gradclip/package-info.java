/**
 * gradclip: gradient clipping for JVM trainers, bit for bit the same on the CPU, the CUDA kernels and
 * their host emulation. This package is the core API (feature packages such as the training policies,
 * monitoring and sharded clipping build on it); the backend, CLI and internal packages are not API.
 *
 * <p><b>Entry point.</b> {@link dev.gradclip.Clipper} runs operations on a {@link dev.gradclip.GradientSet}
 * (views of tensors where they already live: {@link dev.gradclip.Tensor}) and returns a
 * {@link dev.gradclip.ClipReport}. Operations are values too ({@link dev.gradclip.ClipOperation}); a
 * two-phase clip uses {@link dev.gradclip.NormPartials}.
 *
 * <p><b>Contracts</b> (every class of this package):
 * <ul>
 *   <li>Nothing is null unless annotated {@code @Nullable} (JSpecify {@code @NullMarked}); a null argument
 *       throws {@link java.lang.NullPointerException} naming it.
 *   <li>Every operation validates all of its input before it touches any tensor: a bad argument, a closed
 *       buffer or a tensor the backend cannot reach throws (naming it) and nothing is modified.
 *   <li>Value types ({@link dev.gradclip.NormClip}, {@link dev.gradclip.ValueClip}, {@link dev.gradclip.NormType},
 *       {@link dev.gradclip.ClipReport}, {@link dev.gradclip.NormPartials}, the {@code ClipOperation} records)
 *       are immutable and thread-safe; arrays they return are copies.
 *   <li>Native resources ({@link dev.gradclip.Clipper}, {@link dev.gradclip.NativeBuffer},
 *       {@link dev.gradclip.DeviceBuffer}) are {@link java.lang.AutoCloseable}; closing a buffer waits for a
 *       running operation on its views. A Clipper is used by one thread at a time.
 *   <li>Sizes are 64-bit ({@code long}); tensors beyond 2^31 elements live off-heap.
 *   <li>Every operation's Javadoc gives its formula; the summation order is docs/canonical-reduction.md.
 * </ul>
 *
 * <p><b>Modules.</b> The jar is the named module {@code dev.gradclip} ({@code module-info}); it exports
 * this package and the feature packages {@code dev.gradclip.policy}, {@code dev.gradclip.monitor} and
 * {@code dev.gradclip.distributed}. The packages {@code dev.gradclip.backend} (the backend SPI),
 * {@code dev.gradclip.backend.*}, {@code dev.gradclip.cli} and {@code dev.gradclip.internal} are not
 * exported and not API: they may change in any release. On the class path, where the descriptor hides
 * nothing, they are still not API.
 */
@NullMarked
package dev.gradclip;

import org.jspecify.annotations.NullMarked;
