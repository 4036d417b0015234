package dev.gradclip.cli.npz;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads .npz archives written by {@code np.savez} (stored entries) and {@code np.savez_compressed}
 * (deflated entries), in pure Java.
 *
 * <p>Every entry must be {@code NAME.npy} holding a float16, float32 or float64 array; the array is
 * named {@code NAME}, and arrays keep the archive's (central directory) order. Anything else
 * (another dtype, a pickled object array, a structured dtype, a non-.npy entry, a duplicate name, a
 * corrupt or truncated archive or entry, a CRC mismatch, a header that does not parse, a shape whose
 * element count overflows or exceeds {@code Integer.MAX_VALUE}, an archive declaring more data than the
 * heap can hold, a path that is not a regular file) is an {@link NpzException} naming the archive, the
 * entry and the problem. Fortran-order arrays are converted to C order; big-endian
 * arrays are converted to native values.
 */
public final class NpzReader {
    /** How to give the command line more memory. */
    public static final String MEMORY_HINT = "raise the heap limit, e.g. GRADCLIP_JAVA_OPTS=-Xmx8g for bin/gradclip, or java -Xmx8g";

    private NpzReader() {
    }

    /** Reads {@code path} with the {@linkplain #heapBudget() free Java heap} as the limit on declared data. */
    public static NpzArchive read(Path path) throws NpzException {
        return read(path, heapBudget());
    }

    /**
     * The bytes of array data this JVM can still hold: the maximum heap less what is in use now. The
     * reader refuses an archive whose entries declare more uncompressed bytes than this, before it
     * inflates anything (a zip bomb is refused in the time it takes to read the central directory).
     */
    public static long heapBudget() {
        Runtime rt = Runtime.getRuntime();
        return Math.max(0, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()));
    }

    /**
     * Reads {@code path}, refusing it before inflating anything when its entries together declare more
     * than {@code maxDataBytes} uncompressed bytes (the sizes in the zip central directory, which every
     * entry is then held to).
     */
    public static NpzArchive read(Path path, long maxDataBytes) throws NpzException {
        String label = path.toString();
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NpzException(label, null, "no such file");
        } catch (AccessDeniedException e) {
            throw new NpzException(label, null, "permission denied", e);
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot open (" + e.getMessage() + ")", e);
        }
        if (attrs.isDirectory()) {
            throw new NpzException(label, null, "is a directory, not an .npz archive");
        }
        if (!attrs.isRegularFile()) {
            // opening a FIFO would block until a writer appears; a device or socket is no archive either
            throw new NpzException(label, null, "is not a regular file (a FIFO, device or socket); "
                    + "an .npz archive must be a file (write a stream to a file first)");
        }
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (NoSuchFileException e) {
            throw new NpzException(label, null, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new NpzException(label, null, "permission denied", e);
        } catch (ZipException e) {
            throw new NpzException(label, null, "not a valid zip archive (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot open (" + e.getMessage() + ")", e);
        }
        try (zip) {
            return read(label, zip, maxDataBytes);
        } catch (NpzException e) {
            throw e;
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static NpzArchive read(String label, ZipFile zip, long maxDataBytes) throws NpzException {
        List<ZipEntry> entries = new ArrayList<>();
        Map<String, String> entryForName = new LinkedHashMap<>();
        Enumeration<? extends ZipEntry> en = zip.entries();
        while (en.hasMoreElements()) {
            ZipEntry e = en.nextElement();
            String entryName = e.getName();
            if (entryName.equals(".npy")) {
                throw new NpzException(label, entryName, "empty array name");
            }
            if (e.isDirectory() || !entryName.endsWith(".npy")) {
                throw new NpzException(label, entryName,
                        "not an .npy entry (np.savez archives hold only NAME.npy entries)");
            }
            String name = arrayName(entryName);
            String previous = entryForName.putIfAbsent(name, entryName);
            if (previous != null) {
                throw new NpzException(label, entryName, "duplicate array name '" + name + "'"
                        + (previous.equals(entryName) ? " (the entry appears twice)" : " (also entry '" + previous + "')"));
            }
            entries.add(e);
        }
        long declared = 0;
        for (ZipEntry e : entries) {
            long size = e.getSize();
            if (size < 0) {
                throw new NpzException(label, e.getName(), "the zip directory does not give the entry's uncompressed size");
            }
            declared = declared > Long.MAX_VALUE - size ? Long.MAX_VALUE : declared + size;
        }
        if (declared > maxDataBytes) {
            throw new NpzException(label, null, "the archive declares " + declared + " bytes of uncompressed data, more than the "
                    + maxDataBytes + " bytes of Java heap available for it; nothing was inflated "
                    + "(if the archive is genuine, give the JVM more memory: " + MEMORY_HINT + ")");
        }
        List<NamedArray> arrays = new ArrayList<>(entries.size());
        boolean compressed = false;
        for (ZipEntry e : entries) {
            int method = e.getMethod();
            if (method == ZipEntry.DEFLATED) {
                compressed = true;
            } else if (method != ZipEntry.STORED) {
                throw new NpzException(label, e.getName(), "unsupported zip compression method " + method
                        + " (only stored and deflated, as np.savez and np.savez_compressed write)");
            }
            arrays.add(readEntry(label, zip, e));
        }
        return new NpzArchive(arrays, compressed);
    }

    /** {@code NAME.npy} gives {@code NAME}. */
    static String arrayName(String entryName) {
        return entryName.substring(0, entryName.length() - 4);
    }

    private static NamedArray readEntry(String label, ZipFile zip, ZipEntry e) throws NpzException {
        CRC32 crc = new CRC32();
        try (InputStream raw = zip.getInputStream(e);
             CheckedInputStream in = new CheckedInputStream(raw, crc)) {
            NamedArray a;
            try {
                a = NpyFormat.read(arrayName(e.getName()), in, e.getSize());
            } catch (NpyFormat.FormatException fe) {
                throw new NpzException(label, e.getName(), fe.getMessage(), fe);
            }
            if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
                throw new NpzException(label, e.getName(), String.format(
                        "CRC mismatch (the archive says %08x, the data gives %08x): the archive is corrupt",
                        e.getCrc(), crc.getValue()));
            }
            return a;
        } catch (NpzException ex) {
            throw ex;
        } catch (ZipException ex) {
            throw new NpzException(label, e.getName(), "corrupt zip entry (" + ex.getMessage() + ")", ex);
        } catch (IOException ex) {
            throw new NpzException(label, e.getName(), "cannot read (" + ex.getMessage() + ")", ex);
        } catch (OutOfMemoryError oom) {
            throw new NpzException(label, e.getName(), "not enough memory for the array (" + MEMORY_HINT + ")");
        }
    }
}
