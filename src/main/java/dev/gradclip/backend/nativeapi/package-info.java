/**
 * The native backends (not API): {@link dev.gradclip.backend.nativeapi.NativeBackend} over the per-pass C
 * entry points of src/main/cpp/gradclip.h, and the JNI bindings in one place ({@code CudaLibrary} and
 * {@code EmulatedLibrary} declare the same natives for libgradclip and libgradclip-emu;
 * {@link dev.gradclip.backend.nativeapi.NativeApi} binds either). Enums cross JNI as the C enum values,
 * mapped by name.
 */
@NullMarked
package dev.gradclip.backend.nativeapi;

import org.jspecify.annotations.NullMarked;
