package dev.gradclip.bench;

/**
 * The loop a Java user would write, one thread, fp32 heap arrays: clip by value
 * {@code a[i] = Math.min(Math.max(a[i], -c), c)}; norms with one {@code double} accumulator per tensor;
 * the global clip computes the norm, then scales only when the coefficient is below 1.
 */
final class NaiveImpl implements Harness.Impl {
    private final float[][] data;
    private final double clipMax, noclipMax;

    NaiveImpl(long[] sizes, String dtype, double clipMax, double noclipMax) {
        Harness.requireFp32("naive", dtype);
        data = new float[sizes.length][];
        for (int t = 0; t < sizes.length; t++) data[t] = new float[Math.toIntExact(sizes[t])];
        this.clipMax = clipMax;
        this.noclipMax = noclipMax;
    }

    @Override
    public String describe() {
        return "naive Java loop, 1 thread, float[]";
    }

    @Override
    public void restore(Object[] pristine) {
        for (int t = 0; t < data.length; t++) HeapRestore.copy(pristine[t], data[t]);
    }

    private static double sumSquares(float[] a) {
        double s = 0;
        for (float x : a) s += (double) x * x;
        return s;
    }

    @Override
    public Object run(String op) {
        switch (op) {
            case "norms": {
                double[] norms = new double[data.length];
                double total = 0;
                for (int t = 0; t < data.length; t++) {
                    double s = sumSquares(data[t]);
                    norms[t] = Math.sqrt(s);
                    total += s;
                }
                return new double[] {Math.sqrt(total), 1.0};
            }
            case "clip":
            case "noclip": {
                double total = 0;
                for (float[] a : data) total += sumSquares(a);
                double norm = Math.sqrt(total);
                double coef = (op.equals("clip") ? clipMax : noclipMax) / (norm + 1e-6);
                if (coef < 1.0) {
                    float s = (float) coef;
                    for (float[] a : data) {
                        for (int i = 0; i < a.length; i++) a[i] *= s;
                    }
                }
                return new double[] {norm, Math.min(coef, 1.0)};
            }
            default: {
                float c = Data.BOUND;
                for (float[] a : data) {
                    for (int i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i], -c), c);
                }
                return data;
            }
        }
    }

    @Override
    public String check(String op, Object result, long expectedOutside) {
        if (result instanceof double[] d) return "norm " + d[0] + ", scale " + d[1];
        long atBound = 0;
        for (float[] a : data) for (float x : a) if (Math.abs(x) == Data.BOUND) atBound++;
        return Harness.requireAtBound(op, atBound, expectedOutside, true);
    }
}
