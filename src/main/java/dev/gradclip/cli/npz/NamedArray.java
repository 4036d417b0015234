package dev.gradclip.cli.npz;

import java.util.Arrays;
import java.util.Objects;

/**
 * One named array of an .npz archive: name, dtype, shape (C order) and data.
 *
 * <p>The shape and data are copied on the way in (public constructors and factories) and on the way
 * out ({@link #shape()}, {@link #data()}, {@link #floatData()} ...); the one exception is
 * {@link #sharedData()}, the backing array itself, through which the command line clips an archive's
 * arrays in place instead of holding a second copy of every array. Data is held as
 * {@code float[]} for float32, {@code double[]} for float64 and {@code short[]} (raw IEEE 754 half
 * bits) for float16, in C (row-major) order. A 0-d array has shape {@code []} and one element; an
 * array with a 0 in its shape has no elements.
 */
public final class NamedArray {
    private final String name;
    private final NpyDtype dtype;
    private final long[] shape;
    private final Object data;

    /**
     * @param data a {@code float[]}, {@code double[]} or {@code short[]} matching {@code dtype}, whose
     *     length is the product of {@code shape}; copied
     */
    public NamedArray(String name, NpyDtype dtype, long[] shape, Object data) {
        this(name, dtype, shape.clone(), copyData(data), true);
    }

    /** Does not copy {@code shape} or {@code data}; the caller hands over ownership. */
    private NamedArray(String name, NpyDtype dtype, long[] shape, Object data, boolean validate) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("array name must not be empty");
        }
        long count = elementCount(shape);
        int length = dataLength(data);
        Class<?> expected = arrayClass(dtype);
        if (data.getClass() != expected) {
            throw new IllegalArgumentException("array '" + name + "': dtype " + dtype + " needs "
                    + expected.getSimpleName() + " data, got " + data.getClass().getSimpleName());
        }
        if (count != length) {
            throw new IllegalArgumentException("array '" + name + "': shape " + shapeString(shape) + " has "
                    + count + " elements but the data has " + length);
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /** Takes ownership of {@code shape} and {@code data} without copying (reader use). */
    static NamedArray wrap(String name, NpyDtype dtype, long[] shape, Object data) {
        return new NamedArray(name, dtype, shape, data, true);
    }

    public static NamedArray ofFloat32(String name, long[] shape, float[] data) {
        return new NamedArray(name, NpyDtype.FLOAT32, shape, data);
    }

    public static NamedArray ofFloat64(String name, long[] shape, double[] data) {
        return new NamedArray(name, NpyDtype.FLOAT64, shape, data);
    }

    /** @param halfBits raw IEEE 754 binary16 bit patterns */
    public static NamedArray ofFloat16(String name, long[] shape, short[] halfBits) {
        return new NamedArray(name, NpyDtype.FLOAT16, shape, halfBits);
    }

    /** The same name, dtype and shape with new data (copied) of the same type and length. */
    public NamedArray withData(Object newData) {
        return new NamedArray(name, dtype, shape.clone(), copyData(newData), true);
    }

    public String name() {
        return name;
    }

    public NpyDtype dtype() {
        return dtype;
    }

    /** {@code "float16"}, {@code "float32"} or {@code "float64"}. */
    public String dtypeName() {
        return dtype.id();
    }

    /** A copy of the shape; empty for a 0-d array. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements (1 for a 0-d array). */
    public int size() {
        return dataLength(data);
    }

    /** A copy of the data: {@code float[]}, {@code double[]} or {@code short[]} per the dtype. */
    public Object data() {
        return copyData(data);
    }

    /** A copy of float32 data; throws {@link IllegalStateException} for other dtypes. */
    public float[] floatData() {
        requireDtype(NpyDtype.FLOAT32);
        return ((float[]) data).clone();
    }

    /** A copy of float64 data; throws {@link IllegalStateException} for other dtypes. */
    public double[] doubleData() {
        requireDtype(NpyDtype.FLOAT64);
        return ((double[]) data).clone();
    }

    /** A copy of float16 data as raw half bits; throws {@link IllegalStateException} for other dtypes. */
    public short[] halfBits() {
        requireDtype(NpyDtype.FLOAT16);
        return ((short[]) data).clone();
    }

    /** Element {@code i} (C order) widened exactly to double. */
    public double getDouble(int i) {
        switch (dtype) {
            case FLOAT16:
                return Half.toFloat(((short[]) data)[i]);
            case FLOAT32:
                return ((float[]) data)[i];
            default:
                return ((double[]) data)[i];
        }
    }

    /**
     * The backing array itself, not a copy: {@code float[]}, {@code double[]} or {@code short[]} (half
     * bits) per the dtype. Writes to it change this array (and what a writer then writes); its length
     * is fixed.
     */
    public Object sharedData() {
        return data;
    }

    /** The backing array, not copied; for this package's writer only. */
    Object rawData() {
        return data;
    }

    private void requireDtype(NpyDtype d) {
        if (dtype != d) {
            throw new IllegalStateException("array '" + name + "' is " + dtype + ", not " + d);
        }
    }

    /** Equal when name, dtype, shape and data bits (NaN payloads aside, per Arrays.equals) agree. */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NamedArray)) {
            return false;
        }
        NamedArray other = (NamedArray) o;
        return name.equals(other.name) && dtype == other.dtype && Arrays.equals(shape, other.shape)
                && Arrays.deepEquals(new Object[] {data}, new Object[] {other.data});
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), Arrays.deepHashCode(new Object[] {data}));
    }

    @Override
    public String toString() {
        return name + ": " + dtype + shapeString(shape);
    }

    /** Python-style shape text: {@code ()}, {@code (3,)}, {@code (2, 3)}. */
    public static String shapeString(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        if (shape.length == 1) {
            sb.append(',');
        }
        return sb.append(')').toString();
    }

    /**
     * Product of the dimensions. Throws {@link IllegalArgumentException} for a negative dimension, a
     * product that overflows a long, or more than {@code Integer.MAX_VALUE} elements (the most a Java
     * array holds).
     */
    public static long elementCount(long[] shape) {
        long count = 1;
        boolean zero = false;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + shapeString(shape));
            }
            if (d == 0) {
                zero = true;
            }
        }
        if (zero) {
            return 0;
        }
        for (long d : shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + shapeString(shape) + " has more elements than a long can count");
            }
        }
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + shapeString(shape) + " has " + count
                    + " elements, more than a Java array can hold (" + Integer.MAX_VALUE + ")");
        }
        return count;
    }

    static Class<?> arrayClass(NpyDtype dtype) {
        switch (dtype) {
            case FLOAT16:
                return short[].class;
            case FLOAT32:
                return float[].class;
            default:
                return double[].class;
        }
    }

    private static int dataLength(Object data) {
        if (data instanceof float[]) {
            return ((float[]) data).length;
        } else if (data instanceof double[]) {
            return ((double[]) data).length;
        } else if (data instanceof short[]) {
            return ((short[]) data).length;
        }
        throw new IllegalArgumentException("data must be float[], double[] or short[], got "
                + (data == null ? "null" : data.getClass().getName()));
    }

    private static Object copyData(Object data) {
        if (data instanceof float[]) {
            return ((float[]) data).clone();
        } else if (data instanceof double[]) {
            return ((double[]) data).clone();
        } else if (data instanceof short[]) {
            return ((short[]) data).clone();
        }
        throw new IllegalArgumentException("data must be float[], double[] or short[], got "
                + (data == null ? "null" : data.getClass().getName()));
    }
}
