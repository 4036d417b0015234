/**
 * The backend SPI (not API for trainers): {@link dev.gradclip.backend.ClipBackend} is a set of primitive
 * passes over a {@link dev.gradclip.GradientSet} returning plain values ({@link dev.gradclip.backend.ClampCounts},
 * {@link dev.gradclip.NormPartials}, counts); {@link dev.gradclip.Clipper} alone composes operations from
 * them, applies the non-finite policies, builds reports and throws. {@link dev.gradclip.backend.Backends}
 * finds and opens the backends (and logs the choice through {@link java.lang.System.Logger} "dev.gradclip").
 * The layering is one-way: this package depends on the API package, never the reverse except through
 * these interfaces.
 */
@NullMarked
package dev.gradclip.backend;

import org.jspecify.annotations.NullMarked;
