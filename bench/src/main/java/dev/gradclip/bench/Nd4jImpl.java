package dev.gradclip.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Deeplearning4j/ND4J peer (ND4J 1.0.0-M2.1, its native CPU backend), fp32, one INDArray per
 * tensor, with ND4J's public operations the way DL4J's gradient normalisation works: per tensor
 * {@code norm2Number()}, then an in-place {@code muli} by the global coefficient when it is below 1
 * (ClipL2PerLayer does this per layer), and the {@code clipbyvalue} op in place
 * (ClipElementWiseAbsoluteValue). ND4J's threads follow OMP_NUM_THREADS (the driver sets the core count).
 * In its own class so that ND4J loads only when this peer runs.
 */
final class Nd4jImpl implements Harness.Impl {
    private final INDArray[] data;
    private final double clipMax, noclipMax;

    static Nd4jImpl create(long[] sizes, String dtype, double clipMax, double noclipMax) {
        Harness.requireFp32("nd4j", dtype);
        return new Nd4jImpl(sizes, clipMax, noclipMax);
    }

    private Nd4jImpl(long[] sizes, double clipMax, double noclipMax) {
        data = new INDArray[sizes.length];
        for (int t = 0; t < sizes.length; t++) {
            data[t] = Nd4j.create(DataType.FLOAT, sizes[t]);
        }
        this.clipMax = clipMax;
        this.noclipMax = noclipMax;
    }

    @Override
    public String describe() {
        return "ND4J " + Nd4j.getBackend().getClass().getSimpleName() + ", OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS");
    }

    /** One bulk copy per tensor into the array's native memory (ND4J's {@code setData(float[])} puts element
     * by element: 0.4 s per restore of bert-base, untimed but a third of the fork's wall time). */
    @Override
    public void restore(Object[] pristine) {
        for (int t = 0; t < data.length; t++) {
            float[] src = (float[]) pristine[t];
            if (data[t].length() != src.length) throw new IllegalArgumentException("tensor " + t + ": length " + src.length);
            new FloatPointer(data[t].data().addressPointer()).put(src, 0, src.length);
        }
    }

    @Override
    public Object run(String op) {
        switch (op) {
            case "norms": {
                double[] norms = new double[data.length];
                double total = 0;
                for (int t = 0; t < data.length; t++) {
                    norms[t] = data[t].norm2Number().doubleValue();
                    total += norms[t] * norms[t];
                }
                return new double[] {Math.sqrt(total), 1.0};
            }
            case "clip":
            case "noclip": {
                double total = 0;
                for (INDArray a : data) {
                    double n = a.norm2Number().doubleValue();
                    total += n * n;
                }
                double norm = Math.sqrt(total);
                double coef = (op.equals("clip") ? clipMax : noclipMax) / (norm + 1e-6);
                if (coef < 1.0) {
                    for (INDArray a : data) a.muli(coef);
                }
                return new double[] {norm, Math.min(coef, 1.0)};
            }
            default: {
                double c = Data.BOUND;
                for (INDArray a : data) {
                    ClipByValue clip = new ClipByValue(a, -c, c);
                    clip.addOutputArgument(a);
                    Nd4j.getExecutioner().exec(clip);
                }
                return data;
            }
        }
    }

    @Override
    public String check(String op, Object result, long expectedOutside) {
        if (result instanceof double[] d) return "norm " + d[0] + ", scale " + d[1];
        long atBound = 0;
        float[] buf = new float[1 << 20];
        for (INDArray a : data) {   // read back in bulk copies, counted here (ND4J's eq/cast/sum allocates ~1 GB a call)
            FloatPointer p = new FloatPointer(a.data().addressPointer());
            long n = a.length();
            for (long at = 0; at < n; at += buf.length) {
                int len = (int) Math.min(buf.length, n - at);
                p.position(at).get(buf, 0, len);
                for (int i = 0; i < len; i++) if (Math.abs(buf[i]) == Data.BOUND) atBound++;
            }
        }
        return Harness.requireAtBound(op, atBound, expectedOutside, true);
    }
}
