package dev.gradclip.cli.npz;

import java.io.IOException;

/**
 * An .npz archive, or one .npy entry in it, that cannot be read or written. The message names the
 * archive (when known), the entry (when the problem is in one) and the problem, e.g.
 * {@code grads.npz: entry 'w.npy': truncated data: expected 48 bytes, got 38}.
 */
public class NpzException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String archive;
    private final String entry;
    private final String problem;

    public NpzException(String archive, String entry, String problem, Throwable cause) {
        super(format(archive, entry, problem), cause);
        this.archive = archive;
        this.entry = entry;
        this.problem = problem;
    }

    public NpzException(String archive, String entry, String problem) {
        this(archive, entry, problem, null);
    }

    private static String format(String archive, String entry, String problem) {
        StringBuilder sb = new StringBuilder();
        if (archive != null) {
            sb.append(archive).append(": ");
        }
        if (entry != null) {
            sb.append("entry '").append(entry).append("': ");
        }
        return sb.append(problem).toString();
    }

    /** The archive's path as given, or null. */
    public String archive() {
        return archive;
    }

    /** The zip entry the problem is in, or null when it concerns the archive as a whole. */
    public String entry() {
        return entry;
    }

    /** The problem alone, without archive and entry. */
    public String problem() {
        return problem;
    }
}
