package dev.gradclip.cli.npz;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
 * element count overflows or exceeds {@code Integer.MAX_VALUE}) is an {@link NpzException} naming
 * the archive, the entry and the problem. Fortran-order arrays are converted to C order; big-endian
 * arrays are converted to native values.
 */
public final class NpzReader {
    private NpzReader() {
    }

    public static NpzArchive read(Path path) throws NpzException {
        String label = path.toString();
        if (!Files.exists(path)) {
            throw new NpzException(label, null, "no such file");
        }
        if (Files.isDirectory(path)) {
            throw new NpzException(label, null, "is a directory, not an .npz archive");
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
            return read(label, zip);
        } catch (NpzException e) {
            throw e;
        } catch (IOException e) {
            throw new NpzException(label, null, "cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static NpzArchive read(String label, ZipFile zip) throws NpzException {
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
            throw new NpzException(label, e.getName(), "not enough memory for the array (raise -Xmx)");
        }
    }
}
