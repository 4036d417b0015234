package dev.gradclip.cli.npz;

import java.util.Locale;

/** The floating-point dtypes the .npz reader and writer support. */
public enum NpyDtype {
    FLOAT16("float16", 'f', 2),
    FLOAT32("float32", 'f', 4),
    FLOAT64("float64", 'f', 8);

    private final String id;
    private final char kind;
    private final int itemSize;

    NpyDtype(String id, char kind, int itemSize) {
        this.id = id;
        this.kind = kind;
        this.itemSize = itemSize;
    }

    /** The numpy name: {@code "float16"}, {@code "float32"} or {@code "float64"}. */
    public String id() {
        return id;
    }

    /** Bytes per element. */
    public int itemSize() {
        return itemSize;
    }

    /** The little-endian descr numpy writes for this dtype, e.g. {@code "<f4"}. */
    public String littleEndianDescr() {
        return "<" + kind + itemSize;
    }

    /** Looks up a dtype by its numpy name ({@code "float32"}), case-insensitively. */
    public static NpyDtype fromId(String id) {
        String lower = id.toLowerCase(Locale.ROOT);
        for (NpyDtype d : values()) {
            if (d.id.equals(lower)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unsupported dtype '" + id + "' (expected float16, float32 or float64)");
    }

    @Override
    public String toString() {
        return id;
    }
}
