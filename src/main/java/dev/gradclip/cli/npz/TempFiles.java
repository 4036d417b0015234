package dev.gradclip.cli.npz;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The writer's temporary files, deleted by a shutdown hook when the JVM exits before they are renamed
 * (SIGTERM or SIGINT during a write). Creation, rename and the hook's deletion hold one lock, so a file
 * is either renamed into place or deleted, never left behind, whichever comes first.
 */
final class TempFiles {
    private static final Object LOCK = new Object();
    private static final Set<Path> LIVE = new LinkedHashSet<>();
    private static boolean hookInstalled;
    private static boolean shuttingDown;

    private TempFiles() {
    }

    /** Creates {@code tmp} (CREATE_NEW, default permissions: the umask applies) and registers it. */
    static FileChannel create(Path tmp) throws IOException {
        synchronized (LOCK) {
            if (shuttingDown) {
                throw new IOException("the JVM is shutting down");
            }
            if (!hookInstalled) {
                Runtime.getRuntime().addShutdownHook(new Thread(TempFiles::deleteAll, "gradclip-tempfile-cleanup"));
                hookInstalled = true;
            }
            FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            LIVE.add(tmp);
            return ch;
        }
    }

    /** Renames {@code tmp} over {@code dest} (atomically where supported) and forgets it. */
    static void moveOver(Path tmp, Path dest) throws IOException {
        synchronized (LOCK) {
            if (shuttingDown) {
                throw new IOException("the JVM is shutting down");
            }
            try {
                Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dest, StandardCopyOption.REPLACE_EXISTING);
            }
            LIVE.remove(tmp);
        }
    }

    /** Deletes {@code tmp} (best effort) and forgets it. */
    static void delete(Path tmp) {
        synchronized (LOCK) {
            deleteQuietly(tmp);
            LIVE.remove(tmp);
        }
    }

    /** The temporary files not yet renamed or deleted (for tests). */
    static Set<Path> live() {
        synchronized (LOCK) {
            return Set.copyOf(LIVE);
        }
    }

    private static void deleteAll() {
        synchronized (LOCK) {
            shuttingDown = true;
            for (Path p : LIVE) {
                deleteQuietly(p);
            }
            LIVE.clear();
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the destination is untouched either way
        }
    }
}
