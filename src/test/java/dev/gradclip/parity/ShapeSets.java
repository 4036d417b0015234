package dev.gradclip.parity;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The parameter shapes of real models (src/test/resources/shapes), as element counts per tensor. */
public final class ShapeSets {
    public static final List<String> NAMES = List.of("gpt2-small", "bert-base", "resnet50", "imdb-lstm", "many-small",
            "one-large", "llama2-7b");

    private ShapeSets() {
    }

    /** Element counts of every tensor of the named set, in definition order. */
    public static long[] load(String name) {
        try (InputStream in = ShapeSets.class.getResourceAsStream("/shapes/" + name + ".txt")) {
            if (in == null) throw new IllegalArgumentException("no shape set " + name);
            List<Long> sizes = new ArrayList<>();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) continue;
                long n = 1;
                for (String d : line.split("x")) n = Math.multiplyExact(n, Long.parseLong(d.trim()));
                sizes.add(n);
            }
            return sizes.stream().mapToLong(Long::longValue).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The set scaled down so that it holds about {@code budget} elements in all: every tensor keeps its
     * place, sizes shrink by one common factor (at least 1 element each), so odd sizes stay odd-ish.
     */
    public static long[] scaled(String name, long budget) {
        long[] sizes = load(name);
        long total = 0;
        for (long s : sizes) total += s;
        if (total <= budget) return sizes;
        double f = (double) budget / total;
        long[] out = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) out[i] = Math.max(1, Math.round(sizes[i] * f));
        return out;
    }
}
