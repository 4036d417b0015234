package dev.gradclip;

import dev.gradclip.internal.HalfFloats;

/** Short names for tests. */
final class HalfFloatsAccess {
    private HalfFloatsAccess() {
    }

    static short half(float f) { return HalfFloats.floatToHalf(f); }

    static short bf16(float f) { return HalfFloats.floatToBfloat16(f); }

    static float toFloat(short h) { return HalfFloats.halfToFloat(h); }
}
