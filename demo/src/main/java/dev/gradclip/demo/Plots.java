package dev.gradclip.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The seed's plots with XChart: one colour per run, train solid, validation dashed. */
public final class Plots {
    private Plots() { }

    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b)
    };

    static Color colour(int run) { return PALETTE[run % PALETTE.length]; }

    private static XYChart chart(String title, String x, String y, boolean logY) {
        XYChart c = new XYChartBuilder().width(1150).height(600).title(title).xAxisTitle(x).yAxisTitle(y).build();
        org.knowm.xchart.style.XYStyler s = c.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setLegendLayout(Styler.LegendLayout.Vertical);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(0xdddddd));
        s.setChartTitleFont(s.getChartTitleFont().deriveFont(16f));
        c.getStyler().setYAxisLogarithmic(logY);
        c.getStyler().setMarkerSize(6);
        c.getStyler().setXAxisTickMarkSpacingHint(90);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        return c;
    }

    private record Points(double[] x, double[] y) { }

    /** Drops non-finite points (and non-positive ones on a log axis). */
    private static Points finite(List<Double> xs, List<Double> ys, boolean logY) {
        List<double[]> keep = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) {
            Double v = ys.get(i);
            if (v != null && Double.isFinite(v) && (!logY || v > 0)) keep.add(new double[]{xs.get(i), v});
        }
        double[] x = new double[keep.size()];
        double[] y = new double[keep.size()];
        for (int i = 0; i < x.length; i++) { x[i] = keep.get(i)[0]; y[i] = keep.get(i)[1]; }
        return new Points(x, y);
    }

    private static void add(XYChart c, String name, Points p, Color colour, boolean dashed, boolean markers) {
        if (p.x().length == 0) return;
        XYSeries s = c.addSeries(name, p.x(), p.y());
        s.setLineColor(colour);
        s.setMarkerColor(colour);
        s.setLineStyle(dashed ? SeriesLines.DASH_DASH : SeriesLines.SOLID);
        s.setMarker(markers ? (dashed ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE) : SeriesMarkers.NONE);
        s.setLineWidth(markers ? 2.2f : 1.0f);
    }

    /** Train (solid) and validation (dashed) per epoch for every run. */
    public static Path perEpoch(Path dir, String file, String title, String yTitle, List<Trainer.Run> runs,
                                Function<Trainer.Epoch, Double> train, Function<Trainer.Epoch, Double> val,
                                boolean logY) throws IOException {
        // A diverged run's losses (1e18, 1e50, NaN...) would squash every other curve into the bottom edge:
        // they are drawn at a ceiling 100x above the highest loss of the runs that did not diverge.
        double ceiling = Double.NaN;
        for (Trainer.Run run : runs) {
            if (run.diverged()) continue;
            for (Trainer.Epoch e : run.epochs()) {
                for (Double v : new Double[]{train.apply(e), val.apply(e)}) {
                    if (v != null && Double.isFinite(v)) ceiling = Double.isNaN(ceiling) ? v : Math.max(ceiling, v);
                }
            }
        }
        ceiling *= logY ? 100 : 1.5;
        XYChart c = chart(title, "epoch", yTitle, logY);
        for (int r = 0; r < runs.size(); r++) {
            Trainer.Run run = runs.get(r);
            List<Double> xs = new ArrayList<>();
            List<Double> tr = new ArrayList<>();
            List<Double> va = new ArrayList<>();
            boolean clamped = false;
            for (Trainer.Epoch e : run.epochs()) {
                xs.add((double) e.epoch());
                Double t = train.apply(e);
                Double v = val.apply(e);
                if (run.diverged() && Double.isFinite(ceiling)) {
                    if (t != null && !(t <= ceiling)) { t = ceiling; clamped = true; }
                    if (v != null && !(v <= ceiling)) { v = ceiling; clamped = true; }
                }
                tr.add(t);
                va.add(v);
            }
            String suffix = run.diverged() ? (clamped ? " (diverged: off scale, at top)" : " (diverged)") : "";
            add(c, run.clip().label() + " train" + suffix, finite(xs, tr, logY), colour(r), false, true);
            add(c, run.clip().label() + " validation" + suffix, finite(xs, va, logY), colour(r), true, true);
        }
        c.getStyler().setXAxisDecimalPattern("0");
        return save(c, dir, file);
    }

    /**
     * Total gradient norm (batch-mean units, before clipping) per step for every run, log scale, with each
     * norm-clipping run's threshold in its colour, dashed: a constant line, or for a policy (AutoClip, ZClip) the
     * threshold it set at each step.
     */
    public static Path gradNorms(Path dir, String file, String title, List<Trainer.Run> runs) throws IOException {
        XYChart c = chart(title, "step", "total L2 norm of the gradient before clipping (batch mean)", true);
        c.getStyler().setXAxisTickMarkSpacingHint(250);
        int maxStep = 1;
        for (int r = 0; r < runs.size(); r++) {
            List<StepRecord> steps = runs.get(r).steps();
            maxStep = Math.max(maxStep, steps.size());
            int stride = Math.max(1, steps.size() / 4000);
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int i = 0; i < steps.size(); i += stride) {
                xs.add((double) (i + 1));
                ys.add(steps.get(i).totalNorm());
            }
            String suffix = runs.get(r).diverged() ? " (diverged, stopped)" : "";
            add(c, runs.get(r).clip().label() + suffix, finite(xs, ys, true), colour(r), false, false);
        }
        for (int r = 0; r < runs.size(); r++) {
            ClipSpec clip = runs.get(r).clip();
            if (!clip.kind().isNorm()) continue;
            XYSeries s;
            if (clip.adaptive()) {
                // the policy's threshold per step (steps without one, e.g. ZClip's warm-up, are left out)
                List<StepRecord> steps = runs.get(r).steps();
                int stride = Math.max(1, steps.size() / 4000);
                List<Double> xs = new ArrayList<>();
                List<Double> ys = new ArrayList<>();
                for (int i = 0; i < steps.size(); i += stride) {
                    xs.add((double) (i + 1));
                    ys.add(steps.get(i).threshold());
                }
                Points p = finite(xs, ys, true);
                if (p.x().length == 0) continue;
                s = c.addSeries("threshold of " + clip.label() + " (per step, where set)", p.x(), p.y());
            } else {
                s = c.addSeries("threshold of " + clip.label(), new double[]{1, maxStep},
                        new double[]{clip.threshold(), clip.threshold()});
            }
            s.setLineColor(colour(r).darker());
            s.setLineStyle(new BasicStroke(2.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{10f, 6f}, 0f));
            s.setMarker(SeriesMarkers.NONE);
        }
        stepAxis(c, maxStep);
        return save(c, dir, file);
    }

    /** Fraction of gradient elements changed by clipping per step, as a moving average. */
    public static Path clippedFraction(Path dir, String file, String title, List<Trainer.Run> runs, int window)
            throws IOException {
        XYChart c = chart(title + " (moving average over " + window + " steps)", "step",
                "fraction of gradient elements clipped", false);
        c.getStyler().setXAxisTickMarkSpacingHint(250);
        for (int r = 0; r < runs.size(); r++) {
            List<StepRecord> steps = runs.get(r).steps();
            int stride = Math.max(1, steps.size() / 4000);
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            double sum = 0;
            for (int i = 0; i < steps.size(); i++) {
                sum += steps.get(i).clippedFraction();
                if (i >= window) sum -= steps.get(i - window).clippedFraction();
                if (i % stride == 0) {
                    xs.add((double) (i + 1));
                    ys.add(sum / Math.min(i + 1, window));
                }
            }
            add(c, runs.get(r).clip().label(), finite(xs, ys, false), colour(r), false, false);
        }
        int maxStep = 1;
        for (Trainer.Run run : runs) maxStep = Math.max(maxStep, run.steps().size());
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(1.0);
        stepAxis(c, maxStep);
        return save(c, dir, file);
    }

    /**
     * XChart puts a tick every few dozen steps whatever the spacing hint; label only round multiples of about an
     * eighth of the range so the labels stay readable.
     */
    private static void stepAxis(XYChart c, int maxStep) {
        c.getStyler().setXAxisMin(0.0);
        double raw = maxStep / 8.0;
        double mag = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
        double label = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
        c.setCustomXAxisTickLabelsFormatter(x -> Math.abs(x / label - Math.rint(x / label)) < 1e-9
                ? String.format(java.util.Locale.ROOT, "%,d", Math.round(x)) : "");
    }

    private static Path save(XYChart c, Path dir, String file) throws IOException {
        Path p = dir.resolve(file);
        BitmapEncoder.saveBitmapWithDPI(c, p.toString(), BitmapEncoder.BitmapFormat.PNG, 110);
        return p;
    }
}
