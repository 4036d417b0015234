package dev.gradclip.monitor;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.imageio.ImageIO;
import org.jspecify.annotations.Nullable;

/**
 * PNG plots of a monitored run, drawn with {@code java.awt} (works headless:
 * {@code -Djava.awt.headless=true}; needs no display, only the JDK's fonts) and written with
 * {@code javax.imageio}:
 *
 * <ul>
 *   <li>{@value #NORMS}: the total gradient norm per step before clipping (and after, when known) on
 *       a log axis, the threshold per step (dashed; it moves for schedules and adaptive policies),
 *       skipped steps (×), steps with non-finite gradients (▼ at the top edge) and exploding alerts
 *       (○);
 *   <li>{@value #CLIPPED}: the fraction of gradient elements clipping changed per step and its moving
 *       average, and the moving fraction of steps clipped (for logs without per-element fractions,
 *       such as {@code replay}'s, only the latter);
 *   <li>{@value #HEAT_MAP}: a heat map of each tensor's (layer's) norm before clipping per step,
 *       colour = log10 of the norm (steps binned into at most 1,200 columns, the mean of log10 over the
 *       bin's positive norms), magenta where a bin holds a non-finite norm, black where its norms are
 *       all exactly 0, grey where the log has no value.
 * </ul>
 *
 * Each file is written to a temporary file in the same folder and then moved into place, so a
 * reader never sees half a PNG.
 */
public final class MonitorPlots {
    /** File name of the norm plot. */
    public static final String NORMS = "norms.png";
    /** File name of the clipped-fraction plot. */
    public static final String CLIPPED = "clipped-fraction.png";
    /** File name of the per-tensor heat map. */
    public static final String HEAT_MAP = "tensor-norms.png";

    private static final int WIDTH = 1200;
    private static final int HEIGHT = 600;

    private MonitorPlots() { }

    /**
     * Writes {@value #NORMS}, {@value #CLIPPED} and, when the steps carry per-tensor norms,
     * {@value #HEAT_MAP} into {@code dir} (created if missing). Every image is rendered before
     * anything is written.
     *
     * @param steps the steps, in order
     * @param tensorNames the tensors' names, in the order of the steps' per-tensor norms
     * @param alerts alerts to mark (exploding ones are circled); may be empty
     * @param dir the folder to write into
     * @param title a prefix for the plot titles (e.g. the run's name), may be empty
     * @return the files written
     * @throws IllegalArgumentException if {@code steps} is empty (nothing written)
     * @throws IOException if the folder or a file cannot be written
     */
    public static List<Path> writeAll(List<StepObservation> steps, List<String> tensorNames, List<Alert> alerts,
                                      Path dir, String title) throws IOException {
        List<BufferedImage> images = new ArrayList<>();
        List<String> names = new ArrayList<>();
        images.add(normChart(steps, alerts, title));
        names.add(NORMS);
        images.add(clippedChart(steps, title));
        names.add(CLIPPED);
        if (hasTensorNorms(steps)) {
            images.add(tensorHeatMap(steps, tensorNames, title));
            names.add(HEAT_MAP);
        }
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Path p = dir.resolve(names.get(i));
            writePng(images.get(i), p);
            written.add(p);
        }
        return written;
    }

    /**
     * {@link #writeAll(List, List, List, Path, String)} for a log read back.
     *
     * @param log the log
     * @param dir the folder to write into
     * @param title a prefix for the plot titles, may be empty
     * @return the files written
     * @throws IOException if the folder or a file cannot be written
     */
    public static List<Path> writeAll(MonitorLog log, Path dir, String title) throws IOException {
        return writeAll(log.steps(), log.tensorNames(), log.alerts(), dir, title);
    }

    /**
     * {@link #writeAll(List, List, List, Path, String)} for a monitor's steps and alerts so far.
     *
     * @param monitor the monitor (open or closed)
     * @param dir the folder to write into
     * @param title a prefix for the plot titles, may be empty
     * @return the files written
     * @throws IllegalArgumentException if the monitor has observed no step (nothing written)
     * @throws IOException if the folder or a file cannot be written
     */
    public static List<Path> writeAll(GradientMonitor monitor, Path dir, String title) throws IOException {
        List<StepObservation> obs = new ArrayList<>();
        for (MonitoredStep s : monitor.steps()) obs.add(s.observation());
        return writeAll(obs, monitor.tensorNames(), monitor.alerts(), dir, title);
    }

    /**
     * Writes only the norm plot to {@code png} (e.g. {@code DIR/norms.png} of {@code replay}), creating its
     * parent folders.
     *
     * @param steps the steps, in order
     * @param png the file to write
     * @param title a prefix for the plot title, may be empty
     * @return {@code png}
     * @throws IllegalArgumentException if {@code steps} is empty (nothing written)
     * @throws IOException if the folder or the file cannot be written
     */
    public static Path writeNormPlot(List<StepObservation> steps, Path png, String title) throws IOException {
        BufferedImage img = normChart(steps, List.of(), title);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        writePng(img, png);
        return png;
    }

    static boolean hasTensorNorms(List<StepObservation> steps) {
        for (StepObservation s : steps) {
            if (s.tensorCount() > 0) return true;
        }
        return false;
    }

    private static String prefix(String title) {
        return title == null || title.isBlank() ? "" : title + ": ";
    }

    private static void checkSteps(List<StepObservation> steps) {
        Objects.requireNonNull(steps, "steps");
        if (steps.isEmpty()) throw new IllegalArgumentException("no steps to plot");
    }

    /**
     * {@return the norm plot (see the class comment), 1200 × 600 pixels}
     *
     * @param steps the steps, in order
     * @param alerts alerts to mark (exploding ones are circled); may be empty
     * @param title a prefix for the plot title, may be empty
     * @throws IllegalArgumentException if {@code steps} is empty
     */
    public static BufferedImage normChart(List<StepObservation> steps, List<Alert> alerts, String title) {
        checkSteps(steps);
        int n = steps.size();
        double[] x = new double[n], before = new double[n], after = new double[n], thr = new double[n];
        List<double[]> skipped = new ArrayList<>(), nonFinite = new ArrayList<>();
        boolean anyAfter = false, anyThreshold = false;
        for (int i = 0; i < n; i++) {
            StepObservation s = steps.get(i);
            x[i] = s.step();
            before[i] = s.totalNorm();
            after[i] = s.totalNormAfter();
            thr[i] = s.threshold();
            anyAfter |= Double.isFinite(after[i]) && !s.skipped() && after[i] != before[i];
            anyThreshold |= s.hasThreshold();
            if (s.skipped()) skipped.add(new double[]{s.step(), s.totalNorm()});
            if (s.foundInf() || !Double.isFinite(s.totalNorm())) nonFinite.add(new double[]{s.step(), Double.NaN});
        }
        Chart c = new Chart(WIDTH, HEIGHT, prefix(title) + "gradient norm per step", "step",
                "total gradient norm (log scale)", true);
        if (anyAfter) {
            c.add(new Chart.Series("after clipping", x, after, Chart.GREEN, 1.2f, false, Chart.Marker.NONE, true));
        }
        c.add(new Chart.Series("before clipping", x, before, Chart.BLUE, 1.2f, false, Chart.Marker.NONE, true));
        if (anyThreshold) {
            c.add(new Chart.Series("threshold (when set)", x, thr, Chart.ORANGE, 2.2f, true, Chart.Marker.NONE, true));
            // a threshold set on isolated steps only (ZClip sets one when it clips) is a tick, not a line
            List<double[]> isolated = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                boolean prev = i > 0 && !Double.isNaN(thr[i - 1]), next = i + 1 < n && !Double.isNaN(thr[i + 1]);
                if (!Double.isNaN(thr[i]) && !prev && !next) isolated.add(new double[]{x[i], thr[i]});
            }
            if (!isolated.isEmpty()) {
                Chart.Series t = points(null, isolated, Chart.ORANGE, Chart.Marker.DASH);
                c.add(t);
            }
        }
        if (!skipped.isEmpty()) c.add(points("skipped step", skipped, Chart.DARK, Chart.Marker.CROSS));
        if (!nonFinite.isEmpty()) c.add(points("non-finite gradients", nonFinite, Chart.RED, Chart.Marker.TRIANGLE_TOP));
        List<double[]> exploding = new ArrayList<>();
        for (Alert a : alerts) {
            if (a.kind() == Alert.Kind.EXPLODING) exploding.add(new double[]{a.step(), a.value()});
        }
        if (!exploding.isEmpty()) c.add(points("exploding alert", exploding, Chart.RED, Chart.Marker.CIRCLE));
        return c.render();
    }

    private static Chart.Series points(@Nullable String name, List<double[]> pts, Color colour, Chart.Marker marker) {
        double[] x = new double[pts.size()], y = new double[pts.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = pts.get(i)[0];
            y[i] = pts.get(i)[1];
        }
        return new Chart.Series(name, x, y, colour, 1f, false, marker, false);
    }

    /**
     * {@return the clipped-fraction plot (see the class comment), 1200 × 600 pixels}
     *
     * @param steps the steps, in order
     * @param title a prefix for the plot title, may be empty
     * @throws IllegalArgumentException if {@code steps} is empty
     */
    public static BufferedImage clippedChart(List<StepObservation> steps, String title) {
        checkSteps(steps);
        int n = steps.size();
        int window = Math.max(1, Math.min(100, n / 40));
        double[] x = new double[n], frac = new double[n], fracAvg = new double[n], stepsAvg = new double[n];
        boolean anyFraction = false;
        double fSum = 0, cSum = 0;
        int fCount = 0;
        for (int i = 0; i < n; i++) {
            StepObservation s = steps.get(i);
            x[i] = s.step();
            frac[i] = s.clippedFraction();
            anyFraction |= !Double.isNaN(frac[i]);
            if (!Double.isNaN(frac[i])) { fSum += frac[i]; fCount++; }
            cSum += s.clipped() ? 1 : 0;
            if (i >= window) {
                double old = steps.get(i - window).clippedFraction();
                if (!Double.isNaN(old)) { fSum -= old; fCount--; }
                cSum -= steps.get(i - window).clipped() ? 1 : 0;
            }
            fracAvg[i] = fCount == 0 ? Double.NaN : fSum / fCount;
            stepsAvg[i] = cSum / Math.min(i + 1, window);
        }
        Chart c = new Chart(WIDTH, HEIGHT, prefix(title) + "clipping per step", "step", "fraction", false);
        c.yMinFixed = 0.0;
        c.yMaxFixed = 1.02;
        if (anyFraction) {
            c.add(new Chart.Series("fraction of elements clipped", x, frac, new Color(0x9ecae1), 1f, false,
                    Chart.Marker.NONE, true));
            c.add(new Chart.Series("same, moving average over " + window + " steps", x, fracAvg, Chart.BLUE, 2.2f,
                    false, Chart.Marker.NONE, true));
        }
        c.add(new Chart.Series("fraction of steps clipped, moving average over " + window + " steps", x, stepsAvg,
                Chart.ORANGE, 2.2f, true, Chart.Marker.NONE, true));
        return c.render();
    }

    /**
     * {@return the per-tensor heat map (see the class comment)}
     *
     * @param steps the steps, in order
     * @param tensorNames the tensors' names, one row each, in the order of the steps' per-tensor norms
     * @param title a prefix for the plot title, may be empty
     * @throws IllegalArgumentException if {@code steps} is empty or no step carries per-tensor norms
     */
    public static BufferedImage tensorHeatMap(List<StepObservation> steps, List<String> tensorNames, String title) {
        checkSteps(steps);
        if (!hasTensorNorms(steps)) throw new IllegalArgumentException("the steps carry no per-tensor norms");
        int rows = tensorNames.size();
        int n = steps.size();
        int cols = Math.min(n, 1200);
        double[][] cell = new double[rows][cols];
        boolean[][] bad = new boolean[rows][cols];
        boolean[][] zero = new boolean[rows][cols];
        int[][] count = new int[rows][cols];
        for (int i = 0; i < n; i++) {
            int col = (int) ((long) i * cols / n);
            StepObservation s = steps.get(i);
            for (int t = 0; t < Math.min(rows, s.tensorCount()); t++) {
                double v = s.tensorNorm(t);
                if (Double.isNaN(v) && !s.foundInf() && Double.isFinite(s.totalNorm())) continue; // not in this step
                if (!Double.isFinite(v)) { bad[t][col] = true; continue; }
                if (v == 0) { zero[t][col] = true; continue; }
                cell[t][col] += Math.log10(v);
                count[t][col]++;
            }
        }
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < rows; t++) {
            for (int j = 0; j < cols; j++) {
                if (count[t][j] > 0) {
                    cell[t][j] /= count[t][j];
                    lo = Math.min(lo, cell[t][j]);
                    hi = Math.max(hi, cell[t][j]);
                } else {
                    cell[t][j] = Double.NaN;
                }
            }
        }
        if (!(lo <= hi)) { lo = 0; hi = 1; }
        if (lo == hi) { lo -= 0.5; hi += 0.5; }

        int rowH = Math.max(1, Math.min(22, 560 / Math.max(1, rows)));
        int left = 170, right = 130, top = 48, bottom = 62;
        int plotW = Math.max(cols, 900);
        int plotH = rowH * rows;
        int w = left + plotW + right;
        int h = top + plotH + bottom;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            for (int t = 0; t < rows; t++) {
                for (int j = 0; j < cols; j++) {
                    int x0 = left + (int) ((long) j * plotW / cols);
                    int x1 = left + (int) ((long) (j + 1) * plotW / cols);
                    Color col = bad[t][j] ? NON_FINITE : !Double.isNaN(cell[t][j]) ? viridis((cell[t][j] - lo) / (hi - lo))
                            : zero[t][j] ? ZERO : MISSING;
                    g.setColor(col);
                    g.fillRect(x0, top + t * rowH, Math.max(1, x1 - x0), rowH);
                }
            }
            Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            g.setFont(base.deriveFont(Font.BOLD, 15f));
            g.setColor(Chart.DARK);
            String head = prefix(title) + "per-tensor gradient norm before clipping (colour: log10 norm)";
            g.drawString(head, Math.max(8, left + (plotW - g.getFontMetrics().stringWidth(head)) / 2), 28);
            g.setFont(base.deriveFont(rowH >= 11 ? 12f : 10f));
            FontMetrics fm = g.getFontMetrics();
            int every = Math.max(1, (int) Math.ceil((double) fm.getHeight() / rowH));
            for (int t = 0; t < rows; t += every) {
                String name = tensorNames.get(t);
                while (fm.stringWidth(name) > left - 12 && name.length() > 4) name = "…" + name.substring(2);
                g.drawString(name, left - 8 - fm.stringWidth(name), top + t * rowH + rowH / 2 + fm.getAscent() / 2 - 1);
            }
            g.setFont(base);
            fm = g.getFontMetrics();
            g.drawRect(left, top, plotW, plotH);
            // step ticks
            double first = steps.get(0).step(), last = steps.get(n - 1).step();
            Chart.Axis xa = new Chart.Axis(0, n, left, left + plotW, false);
            for (double tick : xa.ticks()) {
                int idx = (int) Math.min(n - 1, Math.max(0, Math.round(tick)));
                int x = (int) Math.round(xa.pixel(idx));
                g.drawLine(x, top + plotH, x, top + plotH + 5);
                String label = Chart.Axis.fmt(steps.get(idx).step());
                g.drawString(label, x - fm.stringWidth(label) / 2, top + plotH + 8 + fm.getAscent());
            }
            String xt = "step (" + Chart.Axis.fmt(first) + " to " + Chart.Axis.fmt(last)
                    + (cols < n ? ", " + n + " steps in " + cols + " columns" : "") + ")";
            g.drawString(xt, left + (plotW - fm.stringWidth(xt)) / 2, h - 16);
            // colour bar
            int bx = left + plotW + 30, bw = 18, by0 = top, by1 = top + Math.max(plotH, 120);
            if (by1 > h - bottom) by1 = h - bottom;
            for (int y = by0; y < by1; y++) {
                g.setColor(viridis(1 - (double) (y - by0) / Math.max(1, by1 - by0 - 1)));
                g.drawLine(bx, y, bx + bw, y);
            }
            g.setColor(Chart.DARK);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(bx, by0, bw, by1 - by0);
            Chart.Axis ca = new Chart.Axis(lo, hi, by1, by0, true);
            for (double tick : ca.ticks()) {
                int y = (int) Math.round(ca.pixel(tick));
                g.drawLine(bx + bw, y, bx + bw + 4, y);
                g.drawString(ca.label(tick), bx + bw + 7, y + fm.getAscent() / 2 - 1);
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    static final Color NON_FINITE = new Color(0xff00ff);
    static final Color ZERO = Color.BLACK;
    static final Color MISSING = new Color(0xd9d9d9);

    private static final int[] VIRIDIS = {
        0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e, 0x1f9e89, 0x35b779, 0x6ece58, 0xb5de2b, 0xfde725
    };

    /** A perceptually uniform colour ramp (viridis, 10 anchors, linear in between) at u in [0, 1]. */
    static Color viridis(double u) {
        double v = Math.max(0, Math.min(1, u)) * (VIRIDIS.length - 1);
        int i = Math.min(VIRIDIS.length - 2, (int) Math.floor(v));
        double f = v - i;
        int a = VIRIDIS[i], b = VIRIDIS[i + 1];
        int r = (int) Math.round(((a >> 16) & 255) * (1 - f) + ((b >> 16) & 255) * f);
        int gr = (int) Math.round(((a >> 8) & 255) * (1 - f) + ((b >> 8) & 255) * f);
        int bl = (int) Math.round((a & 255) * (1 - f) + (b & 255) * f);
        return new Color(r, gr, bl);
    }

    /** Writes {@code img} as PNG through a temporary file in the same folder, then an atomic move. */
    static void writePng(BufferedImage img, Path png) throws IOException {
        Path dir = png.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + png.getFileName(), ".tmp");
        try {
            if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer in this JDK");
            try {
                Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

}
