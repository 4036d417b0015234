package dev.gradclip;

/** Storage type of a gradient tensor. Every backend reads elements as fp32 (fp16/bf16 widen exactly) or fp64. */
public enum DType {
    /** IEEE 754 binary32. */
    FLOAT32(4),
    /** IEEE 754 binary64. */
    FLOAT64(8),
    /** IEEE 754 binary16, stored as raw bits in a {@code short}. */
    FLOAT16(2),
    /** bfloat16 (the upper half of a binary32), stored as raw bits in a {@code short}. */
    BFLOAT16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** {@return the bytes per element: 4 for FLOAT32, 8 for FLOAT64, 2 for FLOAT16 and BFLOAT16} */
    public int byteSize() {
        return byteSize;
    }

    /** {@return the lower-case name as NumPy and the command line spell it: float32, float64, float16 or bfloat16} */
    public String numpyName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
