package dev.gradclip.cli.npz;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.LocalDateTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes .npz archives that {@code np.load} reads back with the same names, order, shapes, dtypes
 * and values: one {@code NAME.npy} entry per array, little-endian C-order data, entries stored
 * ({@code np.savez}) or deflated ({@code np.savez_compressed}).
 *
 * <p>The archive is written to a temporary file in the destination's directory, flushed to disk,
 * then renamed over the destination (atomically where the file system supports it), so the
 * destination never holds a partial archive; on any failure the temporary file is deleted and the
 * destination is left as it was. Entry timestamps are fixed (1980-01-01) so output is reproducible.
 *
 * <p>The destination is either missing or a regular file. A symbolic link is followed to its final
 * target, which is then replaced as above (the link itself stays a link); a link to a missing file is
 * refused, like an existing destination that is not a regular file (a directory, device such as
 * {@code /dev/null}, FIFO or socket, also when reached through a link such as {@code /dev/stdout}):
 * renaming a regular file over those would replace them. The check and the rename are not one atomic
 * step: a destination replaced by something else in between is not detected.
 *
 * <p>A temporary file is deleted when the JVM shuts down before the rename (SIGTERM, SIGINT, System.exit
 * from another thread): no hidden {@code .NAME.*.tmp} is left behind. Only SIGKILL and a crash of the
 * JVM itself can leave one.
 */
public final class NpzWriter {
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0, 0);

    private NpzWriter() {
    }

    /** Writes {@code archive}'s arrays, stored or deflated as {@link NpzArchive#compressed()} says. */
    public static void write(Path out, NpzArchive archive) throws NpzException {
        write(out, archive.arrays(), archive.compressed());
    }

    public static void write(Path out, List<NamedArray> arrays, boolean compressed) throws NpzException {
        String label = out.toString();
        Set<String> names = new HashSet<>();
        for (NamedArray a : arrays) {
            if (!names.add(a.name())) {
                throw new NpzException(label, null, "duplicate array name '" + a.name() + "'");
            }
        }
        Path abs = destination(out);
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            FileChannel ch = null;
            for (int attempt = 0; ch == null; attempt++) {
                tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
                try {
                    ch = TempFiles.create(tmp);
                } catch (FileAlreadyExistsException e) {
                    if (attempt > 100) {
                        throw e;
                    }
                }
            }
            try (FileChannel channel = ch) {
                OutputStream os = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
                ZipOutputStream zos = new ZipOutputStream(os);
                zos.setLevel(Deflater.DEFAULT_COMPRESSION);
                for (NamedArray a : arrays) {
                    writeEntry(zos, a, compressed);
                }
                zos.finish();
                zos.flush();
                channel.force(true);
            }
            TempFiles.moveOver(tmp, abs);
            tmp = null;
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot write (" + e + ")", e);
        } finally {
            if (tmp != null) {
                TempFiles.delete(tmp);
            }
        }
    }

    /**
     * The absolute path the archive replaces: {@code out} itself, or the final target of a symbolic
     * link; refuses destinations that are not regular files and dangling links.
     */
    public static Path destination(Path out) throws NpzException {
        String label = out.toString();
        Path abs = out.toAbsolutePath();
        if (Files.isSymbolicLink(abs)) {
            try {
                abs = abs.toRealPath();
            } catch (NoSuchFileException e) {
                throw new NpzException(label, null, "is a symbolic link to a missing file; refusing to write through it");
            } catch (IOException e) {
                throw new NpzException(label, null, "cannot follow the symbolic link (" + e.getMessage() + ")", e);
            }
        }
        BasicFileAttributes attrs = null;
        try {
            attrs = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            // a new file
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot inspect (" + e.getMessage() + ")", e);
        }
        if (attrs != null && attrs.isDirectory()) {
            throw new NpzException(label, null, "is a directory");
        }
        if (attrs != null && !attrs.isRegularFile()) {
            throw new NpzException(label, null, (abs.equals(out.toAbsolutePath()) ? "" : "(-> " + abs + ") ")
                    + "exists and is not a regular file (a device, FIFO or socket); refusing to replace it");
        }
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NpzException(label, null, "the directory " + dir + " does not exist");
        }
        return abs;
    }

    private static void writeEntry(ZipOutputStream zos, NamedArray a, boolean compressed) throws IOException {
        ZipEntry e = new ZipEntry(a.name() + ".npy");
        e.setTimeLocal(FIXED_TIME);
        if (compressed) {
            e.setMethod(ZipEntry.DEFLATED);
        } else {
            // a stored entry needs its size and CRC up front: a first pass computes them
            CRC32 crc = new CRC32();
            CountingOutputStream counter = new CountingOutputStream();
            try (CheckedOutputStream cos = new CheckedOutputStream(counter, crc)) {
                NpyFormat.write(cos, a);
            }
            e.setMethod(ZipEntry.STORED);
            e.setSize(counter.count);
            e.setCompressedSize(counter.count);
            e.setCrc(crc.getValue());
        }
        zos.putNextEntry(e);
        NpyFormat.write(zos, a);
        zos.closeEntry();
    }

    /** Serialises one array as a standalone .npy file's bytes (as {@code np.save} writes them). */
    public static void writeNpy(OutputStream os, NamedArray a) throws IOException {
        NpyFormat.write(os, a);
    }

    private static final class CountingOutputStream extends OutputStream {
        long count;

        @Override
        public void write(int b) {
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            count += len;
        }
    }
}
