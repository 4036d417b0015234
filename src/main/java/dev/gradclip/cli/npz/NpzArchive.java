package dev.gradclip.cli.npz;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The arrays of one .npz archive in archive order, and whether its entries were deflated
 * ({@code np.savez_compressed}) or stored ({@code np.savez}). Names are unique.
 */
public final class NpzArchive {
    private final List<NamedArray> arrays;
    private final boolean compressed;

    public NpzArchive(List<NamedArray> arrays, boolean compressed) {
        this.arrays = List.copyOf(arrays);
        Set<String> seen = new HashSet<>();
        for (NamedArray a : this.arrays) {
            if (!seen.add(a.name())) {
                throw new IllegalArgumentException("duplicate array name '" + a.name() + "'");
            }
        }
        this.compressed = compressed;
    }

    /** The arrays, in archive order (unmodifiable). */
    public List<NamedArray> arrays() {
        return arrays;
    }

    /** True when the input's entries were deflated (np.savez_compressed); the writer matches it. */
    public boolean compressed() {
        return compressed;
    }

    public List<String> names() {
        List<String> names = new ArrayList<>(arrays.size());
        for (NamedArray a : arrays) {
            names.add(a.name());
        }
        return names;
    }

    public Optional<NamedArray> get(String name) {
        for (NamedArray a : arrays) {
            if (a.name().equals(name)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    public int size() {
        return arrays.size();
    }

    @Override
    public String toString() {
        return "NpzArchive" + arrays + (compressed ? " (deflated)" : " (stored)");
    }
}
