package dev.gradclip.monitor;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A small line chart drawn with Java2D (headless): a linear x axis, a linear or log10 y axis, series
 * as polylines broken at missing points, point markers, and a legend on the right.
 */
final class Chart {
    static final Color BLUE = new Color(0x1f77b4);
    static final Color ORANGE = new Color(0xff7f0e);
    static final Color GREEN = new Color(0x2ca02c);
    static final Color RED = new Color(0xd62728);
    static final Color PURPLE = new Color(0x9467bd);
    static final Color GREY = new Color(0x7f7f7f);
    static final Color DARK = new Color(0x222222);

    enum Marker { NONE, CIRCLE, TRIANGLE_TOP, CROSS, DASH }

    record Series(@Nullable String name, double[] x, double[] y, Color colour, float width, boolean dashed, Marker marker,
                  boolean line) { }

    final int width;
    final int height;
    final String title;
    final String xTitle;
    final String yTitle;
    final boolean logY;
    final List<Series> series = new ArrayList<>();
    @Nullable Double yMinFixed;
    @Nullable Double yMaxFixed;

    static final int LEFT = 95;
    static final int RIGHT = 230;
    static final int TOP = 48;
    static final int BOTTOM = 62;

    Chart(int width, int height, String title, String xTitle, String yTitle, boolean logY) {
        this.width = width;
        this.height = height;
        this.title = title;
        this.xTitle = xTitle;
        this.yTitle = yTitle;
        this.logY = logY;
    }

    void add(Series s) { series.add(s); }

    private boolean usable(double y) {
        return Double.isFinite(y) && (!logY || y > 0);
    }

    BufferedImage render() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            draw(g);
        } finally {
            g.dispose();
        }
        return img;
    }

    private void draw(Graphics2D g) {
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i])) continue;
                xMin = Math.min(xMin, s.x()[i]);
                xMax = Math.max(xMax, s.x()[i]);
                if (usable(s.y()[i])) {
                    double y = logY ? Math.log10(s.y()[i]) : s.y()[i];
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            }
        }
        if (!(xMin <= xMax)) { xMin = 0; xMax = 1; }
        if (xMin == xMax) { xMin -= 1; xMax += 1; }
        if (yMinFixed != null) yMin = logY ? Math.log10(yMinFixed) : yMinFixed;
        if (yMaxFixed != null) yMax = logY ? Math.log10(yMaxFixed) : yMaxFixed;
        if (!(yMin <= yMax)) { yMin = 0; yMax = 1; }
        if (yMin == yMax) { yMin -= logY ? 0.5 : Math.max(1e-12, Math.abs(yMin) * 0.1 + 0.5); yMax += logY ? 0.5 : Math.max(1e-12, Math.abs(yMax) * 0.1 + 0.5); }
        if (yMinFixed == null && yMaxFixed == null) {
            double pad = (yMax - yMin) * 0.04;
            yMin -= pad;
            yMax += pad;
        }
        int px0 = LEFT, px1 = width - RIGHT, py0 = TOP, py1 = height - BOTTOM;
        Axis xa = new Axis(xMin, xMax, px0, px1, false);
        Axis ya = new Axis(yMin, yMax, py1, py0, logY);

        Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        g.setFont(base.deriveFont(Font.BOLD, 15f));
        g.setColor(DARK);
        FontMetrics tm = g.getFontMetrics();
        g.drawString(title, Math.max(8, (px0 + px1 - tm.stringWidth(title)) / 2), 28);

        // grid and ticks
        g.setFont(base);
        FontMetrics fm = g.getFontMetrics();
        for (double t : ya.ticks()) {
            int y = (int) Math.round(ya.pixel(t));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(px0, y, px1, y);
            g.setColor(DARK);
            g.drawLine(px0 - 5, y, px0, y);
            String label = ya.label(t);
            g.drawString(label, px0 - 8 - fm.stringWidth(label), y + fm.getAscent() / 2 - 1);
        }
        for (double t : xa.ticks()) {
            int x = (int) Math.round(xa.pixel(t));
            g.setColor(DARK);
            g.drawLine(x, py1, x, py1 + 5);
            String label = xa.label(t);
            g.drawString(label, x - fm.stringWidth(label) / 2, py1 + 8 + fm.getAscent());
        }
        g.setColor(DARK);
        g.drawRect(px0, py0, px1 - px0, py1 - py0);
        g.drawString(xTitle, (px0 + px1 - fm.stringWidth(xTitle)) / 2, height - 16);
        Graphics2D gy = (Graphics2D) g.create();
        gy.rotate(-Math.PI / 2);
        gy.drawString(yTitle, -(py0 + py1 + fm.stringWidth(yTitle)) / 2, 20);
        gy.dispose();

        // series, clipped to the plot area
        Graphics2D gc = (Graphics2D) g.create();
        gc.clipRect(px0, py0 - 8, px1 - px0 + 1, py1 - py0 + 9);
        for (Series s : series) {
            gc.setColor(s.colour());
            gc.setStroke(stroke(s));
            if (s.line()) {
                Path2D.Double path = new Path2D.Double();
                boolean open = false;
                for (int i = 0; i < s.x().length; i++) {
                    double y = s.y()[i];
                    if (!usable(y) || !Double.isFinite(s.x()[i])) { open = false; continue; }
                    double px = xa.pixel(s.x()[i]);
                    double py = ya.pixel(logY ? Math.log10(y) : y);
                    if (open) path.lineTo(px, py); else path.moveTo(px, py);
                    open = true;
                }
                gc.draw(path);
            }
            if (s.marker() != Marker.NONE) {
                gc.setStroke(new BasicStroke(1.5f));
                for (int i = 0; i < s.x().length; i++) {
                    double y = s.y()[i];
                    double py;
                    if (s.marker() == Marker.TRIANGLE_TOP) py = py0 - 1;
                    else if (usable(y)) py = ya.pixel(logY ? Math.log10(y) : y);
                    else continue;
                    marker(gc, s.marker(), xa.pixel(s.x()[i]), py);
                }
            }
        }
        gc.dispose();

        // legend
        int lx = px1 + 16, ly = py0 + 6;
        g.setFont(base);
        for (Series s : series) {
            if (s.name() == null) continue;
            g.setColor(s.colour());
            if (s.line()) {
                g.setStroke(stroke(s));
                g.drawLine(lx, ly + 6, lx + 26, ly + 6);
            }
            if (s.marker() != Marker.NONE) {
                g.setStroke(new BasicStroke(1.5f));
                marker(g, s.marker(), lx + 13, ly + 6);
            }
            g.setStroke(new BasicStroke(1f));
            g.setColor(DARK);
            int lineY = ly + 6 + fm.getAscent() / 2 - 1;
            for (String part : wrap(s.name(), fm, RIGHT - 62)) {
                g.drawString(part, lx + 32, lineY);
                lineY += fm.getHeight();
                ly += fm.getHeight();
            }
            ly += 8;
        }
    }

    private static List<String> wrap(String text, FontMetrics fm, int width) {
        List<String> out = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && fm.stringWidth(line + " " + word) > width) {
                out.add(line.toString());
                line.setLength(0);
            }
            if (line.length() > 0) line.append(' ');
            line.append(word);
        }
        if (line.length() > 0) out.add(line.toString());
        return out;
    }

    private static Stroke stroke(Series s) {
        return s.dashed()
                ? new BasicStroke(s.width(), BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[]{9f, 5f}, 0f)
                : new BasicStroke(s.width(), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    }

    private static void marker(Graphics2D g, Marker m, double x, double y) {
        int ix = (int) Math.round(x), iy = (int) Math.round(y);
        switch (m) {
            case CIRCLE -> g.drawOval(ix - 4, iy - 4, 8, 8);
            case CROSS -> {
                g.drawLine(ix - 4, iy - 4, ix + 4, iy + 4);
                g.drawLine(ix - 4, iy + 4, ix + 4, iy - 4);
            }
            case DASH -> g.fillRect(ix - 5, iy - 1, 11, 3);
            case TRIANGLE_TOP -> g.fillPolygon(new int[]{ix - 5, ix + 5, ix}, new int[]{iy - 7, iy - 7, iy + 2}, 3);
            default -> { }
        }
    }

    /** A linear axis over [lo, hi] (in log10 units when {@code log}) mapped to pixels [p0, p1]. */
    record Axis(double lo, double hi, double p0, double p1, boolean log) {
        double pixel(double v) {
            return p0 + (v - lo) / (hi - lo) * (p1 - p0);
        }

        List<Double> ticks() {
            List<Double> out = new ArrayList<>();
            if (log && hi - lo >= 1.5) {
                int step = (int) Math.max(1, Math.ceil((hi - lo) / 9));
                for (double e = Math.ceil(lo); e <= hi + 1e-9; e += step) out.add(e);
                return out;
            }
            double span = hi - lo;
            double raw = span / 7;
            double mag = Math.pow(10, Math.floor(Math.log10(raw)));
            double nice = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
            for (double t = Math.ceil(lo / nice) * nice; t <= hi + nice * 1e-9; t += nice) {
                out.add(Math.abs(t) < nice * 1e-9 ? 0.0 : t);
            }
            return out;
        }

        String label(double t) {
            if (log) {
                if (Math.abs(t - Math.rint(t)) < 1e-9) {
                    int e = (int) Math.rint(t);
                    if (e >= -2 && e <= 4) return fmt(Math.pow(10, e));
                    return "1e" + e;
                }
                return fmt(Math.pow(10, t));
            }
            return fmt(t);
        }

        static String fmt(double v) {
            double a = Math.abs(v);
            if (v == 0) return "0";
            if (a >= 1e5 || a < 1e-3) return String.format(Locale.ROOT, "%.2g", v).replace("e+0", "e").replace("e+", "e")
                    .replace("e-0", "e-");
            if (v == Math.rint(v)) return String.format(Locale.ROOT, "%,d", (long) v);
            String s = String.format(Locale.ROOT, "%.4g", v);
            if (s.contains(".")) s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
            return s;
        }
    }
}
