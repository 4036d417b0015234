package dev.gradclip.c10d;

import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import dev.gradclip.distributed.ShardSpec;
import dev.gradclip.distributed.ShardedGradientSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A deterministic model and its sharding, rebuilt identically by the test JVM and by every rank JVM. */
final class Shards {
    static final int CHUNK = 65_536;

    record Piece(int tensor, int offset, int length, boolean replicated) {
    }

    final DType[] dtypes;
    final Object[] arrays;
    final List<List<Piece>> ranks = new ArrayList<>();

    Shards(long seed, int world) {
        this(seed, world, false);
    }

    /**
     * @param withNaN plant a NaN with a payload (quiet for fp32/fp64, signalling for 16-bit) in tensor 0 at element
     *                {@code CHUNK + 5}: on rank 1 when the world has two ranks or more, else on rank 0
     */
    Shards(long seed, int world, boolean withNaN) {
        Random rnd = new Random(seed);
        int n = 6 + rnd.nextInt(6);
        DType[] types = {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16};
        dtypes = new DType[n];
        arrays = new Object[n];
        for (int t = 0; t < n; t++) {
            int size = t == 0 ? 2 * CHUNK + 777 : rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(20_000);
            DType d = types[rnd.nextInt(types.length)];
            dtypes[t] = d;
            switch (d) {
                case FLOAT32 -> {
                    float[] a = new float[size];
                    for (int i = 0; i < size; i++) a[i] = (float) rnd.nextGaussian();
                    arrays[t] = a;
                }
                case FLOAT64 -> {
                    double[] a = new double[size];
                    for (int i = 0; i < size; i++) a[i] = rnd.nextGaussian() * 3;
                    arrays[t] = a;
                }
                default -> {
                    short[] a = new short[size];
                    int exp = d == DType.FLOAT16 ? 0x7c00 : 0x7f80;
                    for (int i = 0; i < size; i++) {
                        int b = rnd.nextInt(1 << 16);
                        if ((b & exp) == exp) b &= ~0x4000;
                        a[i] = (short) b;
                    }
                    arrays[t] = a;
                }
            }
        }
        if (withNaN) {
            int i = CHUNK + 5;
            switch (dtypes[0]) {
                case FLOAT32 -> ((float[]) arrays[0])[i] = Float.intBitsToFloat(0xffc0_1234);
                case FLOAT64 -> ((double[]) arrays[0])[i] = Double.longBitsToDouble(0x7ff8_0000_dead_beefL);
                case FLOAT16 -> ((short[]) arrays[0])[i] = (short) 0x7d23;
                default -> ((short[]) arrays[0])[i] = (short) 0xff91;
            }
        }
        for (int r = 0; r < world; r++) ranks.add(new ArrayList<>());
        for (int t = 0; t < n; t++) {
            int size = length(t);
            if (t == 0 && world > 1) { // split at a chunk boundary across ranks 0 and 1
                ranks.get(0).add(new Piece(t, 0, CHUNK, false));
                ranks.get(1).add(new Piece(t, CHUNK, size - CHUNK, false));
            } else if (t == 1) { // replicated everywhere
                for (int r = 0; r < world; r++) ranks.get(r).add(new Piece(t, 0, size, true));
            } else {
                ranks.get(rnd.nextInt(world)).add(new Piece(t, 0, size, false));
            }
        }
    }

    int length(int t) {
        Object a = arrays[t];
        return a instanceof float[] f ? f.length : a instanceof double[] d ? d.length : ((short[]) a).length;
    }

    Tensor view(int t, int offset, int length) {
        Object a = arrays[t];
        if (a instanceof float[] f) return Tensor.of(f, offset, length);
        if (a instanceof double[] d) return Tensor.of(d, offset, length);
        return Tensor.of((short[]) a, offset, length, dtypes[t]);
    }

    GradientSet whole() {
        List<Tensor> ts = new ArrayList<>();
        for (int t = 0; t < arrays.length; t++) ts.add(view(t, 0, length(t)));
        return GradientSet.of(ts);
    }

    ShardedGradientSet rank(int r) {
        List<Tensor> ts = new ArrayList<>();
        List<ShardSpec> specs = new ArrayList<>();
        for (Piece p : ranks.get(r)) {
            ts.add(view(p.tensor(), p.offset(), p.length()));
            specs.add(new ShardSpec(p.tensor(), length(p.tensor()), p.offset(), p.replicated()));
        }
        return ShardedGradientSet.of(GradientSet.of(ts), specs, arrays.length);
    }

    long bits(int t, int i) {
        Object a = arrays[t];
        if (a instanceof float[] f) return Float.floatToRawIntBits(f[i]);
        if (a instanceof double[] d) return Double.doubleToRawLongBits(d[i]);
        return ((short[]) a)[i];
    }
}
