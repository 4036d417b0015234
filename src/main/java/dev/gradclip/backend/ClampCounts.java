package dev.gradclip.backend;

/**
 * What a clamp pass counted.
 *
 * @param clipped elements with {@code x < lo || x > hi} (written, and only those)
 * @param nonFinite NaN or ±∞ elements
 */
public record ClampCounts(long clipped, long nonFinite) {
}
