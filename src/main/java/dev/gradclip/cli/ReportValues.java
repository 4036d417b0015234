package dev.gradclip.cli;

import dev.gradclip.ClipReport;

/**
 * The values of a {@code clip} report that the JSON prints, taken from a {@link ClipReport} or, for a
 * clip sharded across processes, assembled from this rank's report and the global partials. The arrays
 * are copied in and not copied out (package-private, read by the JSON writer only).
 *
 * @param backend the backend's command-line name
 * @param hasNorms whether norms were measured (false for --op value)
 * @param totalNorm the total norm N (NaN when not measured)
 * @param scale the applied scale (the smallest per-tensor scale)
 * @param tensorNorms each array's norm, in archive order
 * @param clippedElements elements written
 * @param nonFiniteElements NaN and infinite elements found
 * @param skipped whether the step was skipped (--nonfinite skip)
 * @param tensorScales each array's applied scale, in archive order
 * @param totalElements the elements of the arrays
 */
record ReportValues(String backend, boolean hasNorms, double totalNorm, double scale, double[] tensorNorms, long clippedElements,
                    long nonFiniteElements, boolean skipped, double[] tensorScales, long totalElements) {
    ReportValues {
        tensorNorms = tensorNorms.clone();
        tensorScales = tensorScales.clone();
    }

    static ReportValues of(ClipReport r) {
        return new ReportValues(r.backend(), r.hasNorms(), r.totalNorm(), r.scale(), r.tensorNorms(), r.clippedElements(),
                r.nonFiniteElements(), r.skipped(), r.tensorScales(), r.totalElements());
    }

    /** {@code clippedElements / totalElements}, 0 for no elements (as {@link ClipReport#clippedFraction()}). */
    double clippedFraction() {
        return totalElements == 0 ? 0.0 : (double) clippedElements / totalElements;
    }
}
