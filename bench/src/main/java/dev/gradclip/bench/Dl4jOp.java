package dev.gradclip.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Deeplearning4j/ND4J peer, written with ND4J's public operations the way DL4J's gradient
 * normalisation works: per tensor {@code norm2Number()}, then an in-place {@code muli} (ClipL2PerLayer
 * does this per layer; the global-norm clip combines the per-tensor norms first), and the
 * {@code clipbyvalue} op in place for ClipElementWiseAbsoluteValue. ND4J's own thread count follows
 * OMP_NUM_THREADS (bench/run sets it to the number of cores). Kept in its own class so that ND4J is
 * loaded only when this peer runs.
 */
final class Dl4jOp implements ClipBench.Op {
    private final INDArray[] data;
    private final INDArray[] pristine;
    private final String op;
    private final double maxNorm;

    static Dl4jOp create(long[] sizes, String dtype, String op, boolean writes) {
        if (!dtype.equals("fp32")) throw new IllegalArgumentException("dl4j peer: fp32 only in this benchmark");
        return new Dl4jOp(sizes, op, writes);
    }

    private Dl4jOp(long[] sizes, String op, boolean writes) {
        this.op = op;
        data = new INDArray[sizes.length];
        pristine = writes ? new INDArray[sizes.length] : null;
        for (int t = 0; t < sizes.length; t++) {
            data[t] = Nd4j.createFromArray(Data.floats(t, sizes[t]));
            if (data[t].dataType() != DataType.FLOAT) throw new IllegalStateException("not fp32: " + data[t].dataType());
            if (writes) pristine[t] = data[t].dup();
        }
        maxNorm = ClipBench.maxNormFor(op, norm());
    }

    @Override
    public double norm() {
        double total = 0;
        for (INDArray a : data) {
            double n = a.norm2Number().doubleValue();
            total += n * n;
        }
        return Math.sqrt(total);
    }

    @Override
    public Object run() {
        switch (op) {
            case "value": {
                double c = Data.VALUE_BOUND;
                for (INDArray a : data) {
                    ClipByValue clip = new ClipByValue(a, -c, c);
                    clip.addOutputArgument(a);
                    Nd4j.getExecutioner().exec(clip);
                }
                return data;
            }
            case "norms": {
                double[] norms = new double[data.length];
                double total = 0;
                for (int t = 0; t < data.length; t++) {
                    norms[t] = data[t].norm2Number().doubleValue();
                    total += norms[t] * norms[t];
                }
                return Math.sqrt(total);
            }
            default: {
                double total = 0;
                for (INDArray a : data) {
                    double n = a.norm2Number().doubleValue();
                    total += n * n;
                }
                double norm = Math.sqrt(total);
                double coef = maxNorm / (norm + 1e-6);
                if (coef < 1.0) {
                    for (INDArray a : data) a.muli(coef);
                }
                return new double[] {norm, Math.min(coef, 1.0)};
            }
        }
    }

    @Override
    public void restore() {
        if (pristine == null) return;
        for (int t = 0; t < data.length; t++) data[t].assign(pristine[t]);
    }

    @Override
    public String describe(Object result) {
        if (result instanceof double[] d) return "norm " + d[0] + ", scale " + d[1] + ", " + Nd4j.getBackend().getClass().getSimpleName();
        if (result instanceof Double d) return "norm " + d;
        long outside = 0;
        double c = Data.VALUE_BOUND;
        for (INDArray a : pristine) {
            outside += a.gt(c).castTo(DataType.INT64).sumNumber().longValue() + a.lt(-c).castTo(DataType.INT64).sumNumber().longValue();
        }
        long atBound = 0;
        for (INDArray a : data) atBound += a.eq(c).castTo(DataType.INT64).sumNumber().longValue();
        return outside + " elements were outside the bound; after the clip " + atBound + " equal +bound";
    }
}
