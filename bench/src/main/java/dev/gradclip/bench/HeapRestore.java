package dev.gradclip.bench;

/**
 * Restores a heap array from its pristine copy with plain stores, on every JVM.
 *
 * <p>{@code System.arraycopy} is not used for the restore: JDK 25 on an AVX-512 host ({@code UseAVX=3})
 * copies large arrays with non-temporal stores, which leave the copy in memory and not in the caches,
 * while JDK 17 and every other layout's restore (JavaCPP {@code put}, {@code FloatBuffer.put}), the peers'
 * {@code copy_} and the native floor's {@code memcpy} leave it in the caches. Measured here on resnet50
 * bf16 (51 MB, which fits the L3): JDK 25 heap norms 2.43 ms against 1.84 ms for JDK 25
 * {@code NativeBuffer}, the same kernels. A plain loop (vectorised by the JIT, ordinary stores) starts
 * every configuration from the same cache state as the floor (bench/NOTES.md, item 36).
 */
final class HeapRestore {
    private HeapRestore() {}

    /** Copies {@code src} into {@code dst} element by element; both are {@code float[]} or both {@code short[]}. */
    static void copy(Object src, Object dst) {
        if (src instanceof float[] s && dst instanceof float[] d) {
            if (s.length != d.length) throw new IllegalArgumentException("lengths " + s.length + " != " + d.length);
            for (int i = 0; i < s.length; i++) d[i] = s[i];
        } else if (src instanceof short[] s && dst instanceof short[] d) {
            if (s.length != d.length) throw new IllegalArgumentException("lengths " + s.length + " != " + d.length);
            for (int i = 0; i < s.length; i++) d[i] = s[i];
        } else {
            throw new IllegalArgumentException("not a float[] or short[] pair: " + src.getClass() + ", " + dst.getClass());
        }
    }
}
