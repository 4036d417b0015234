/**
 * Not API: the canonical fold, raw off-heap memory access and fp16/bf16 conversions shared by the API
 * package and the backends. May change or disappear in any release; do not use it from outside gradclip.
 */
@NullMarked
package dev.gradclip.internal;

import org.jspecify.annotations.NullMarked;
