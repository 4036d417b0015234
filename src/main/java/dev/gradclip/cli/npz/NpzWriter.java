package dev.gradclip.cli.npz;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
        if (Files.isDirectory(out)) {
            throw new NpzException(label, null, "is a directory");
        }
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NpzException(label, null, "the directory " + dir + " does not exist");
        }
        Path tmp = null;
        try {
            FileChannel ch = null;
            for (int attempt = 0; ch == null; attempt++) {
                tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
                try {
                    // CREATE_NEW with default permissions (umask applies), unlike Files.createTempFile's 0600
                    ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
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
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot write (" + e + ")", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the destination is untouched either way
                }
            }
        }
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
