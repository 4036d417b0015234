package dev.gradclip.cli.npz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression tests of issue 8 §1 for archives built to hurt the reader. */
class HostileArchiveTest {
    @TempDir
    Path dir;

    /**
     * A non-recursive zip bomb (overlapping entries, after D. Fifield): one deflated .npy of
     * {@code floats} zero floats, and {@code entries} central-directory entries that all point at it.
     * Each entry is a valid array; together they declare {@code entries} times its size.
     */
    static byte[] overlappingBomb(int entries, int floats) {
        byte[] header = NpyFormat.header(NpyDtype.FLOAT32, new long[] {floats});
        long size = header.length + 4L * floats;
        CRC32 crc = new CRC32();
        crc.update(header);
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
        ByteArrayOutputStream deflated = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        byte[] zeros = new byte[1 << 20];
        deflater.setInput(header);
        drain(deflater, deflated, buf);
        for (long left = 4L * floats; left > 0; left -= zeros.length) {
            int n = (int) Math.min(left, zeros.length);
            crc.update(zeros, 0, n);
            deflater.setInput(zeros, 0, n);
            drain(deflater, deflated, buf);
        }
        deflater.finish();
        while (!deflater.finished()) {
            deflated.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        byte[] data = deflated.toByteArray();
        byte[] firstName = "a0.npy".getBytes(StandardCharsets.UTF_8);
        ByteBuffer z = ByteBuffer.allocate(30 + firstName.length + data.length + entries * 60 + 22).order(ByteOrder.LITTLE_ENDIAN);
        // the one local file header and its data
        z.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 8).putShort((short) 0).putShort((short) 0x21)
                .putInt((int) crc.getValue()).putInt(data.length).putInt((int) size)
                .putShort((short) firstName.length).putShort((short) 0).put(firstName).put(data);
        int cdStart = z.position();
        for (int i = 0; i < entries; i++) {
            byte[] name = ("a" + i + ".npy").getBytes(StandardCharsets.UTF_8);
            z.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 8)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue()).putInt(data.length).putInt((int) size)
                    .putShort((short) name.length).putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putInt(0).putInt(0).put(name);
        }
        int cdSize = z.position() - cdStart;
        z.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) entries).putShort((short) entries)
                .putInt(cdSize).putInt(cdStart).putShort((short) 0);
        byte[] out = new byte[z.position()];
        z.flip().get(out);
        return out;
    }

    private static void drain(Deflater d, ByteArrayOutputStream out, byte[] buf) {
        while (!d.needsInput()) {
            out.write(buf, 0, d.deflate(buf));
        }
    }

    /** The crafted archive is genuine: with room for it, every entry reads as a zero array. */
    @Test
    void theCraftedBombIsAValidArchive() throws Exception {
        Path small = dir.resolve("small-bomb.npz");
        Files.write(small, overlappingBomb(3, 1000));
        NpzArchive a = NpzReader.read(small);
        assertEquals(List.of("a0", "a1", "a2"), a.names());
        for (NamedArray x : a.arrays()) {
            assertEquals(1000, x.size());
            for (int i = 0; i < x.size(); i++) {
                assertEquals(0.0, x.getDouble(i));
            }
        }
    }

    /**
     * 1,024 entries of 32 MiB each declare 32 GiB in a file of about 100 KiB: inflating them cost tens
     * of seconds and gigabytes before the reader gave up. The declared total is checked against the
     * heap first, and the archive refused before anything is inflated.
     */
    @Test
    void zipBombIsRefusedBeforeInflating() throws Exception {
        Path bomb = dir.resolve("bomb.npz");
        Files.write(bomb, overlappingBomb(1024, 8 << 20));
        assertTrue(Files.size(bomb) < (1 << 20), "a small file: " + Files.size(bomb));
        long heapBefore = usedHeap();
        NpzException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(NpzException.class, () -> NpzReader.read(bomb)));
        assertTrue(e.getMessage().contains("the archive declares " + 1024L * (NpyFormat.header(NpyDtype.FLOAT32, new long[] {8 << 20}).length
                + (32L << 20)) + " bytes of uncompressed data"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was inflated"), e.getMessage());
        assertEquals(null, e.entry());
        assertTrue(usedHeap() - heapBefore < (256L << 20), "no array was allocated");
    }

    /** An explicit cap below the declared size refuses an archive that would otherwise fit. */
    @Test
    void explicitCapIsEnforced() throws Exception {
        Path small = dir.resolve("small-bomb.npz");
        Files.write(small, overlappingBomb(4, 1000));
        long total = 4L * (NpyFormat.header(NpyDtype.FLOAT32, new long[] {1000}).length + 4000);
        assertEquals(4, NpzReader.read(small, total).size());
        NpzException e = assertThrows(NpzException.class, () -> NpzReader.read(small, total - 1));
        assertTrue(e.getMessage().contains("declares " + total + " bytes"), e.getMessage());
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** The structured-dtype message printed Java object identities ({@code PyLiteral$Tuple@1b2c3d}). */
    @Test
    void structuredDtypeMessageShowsTheHeadersOwnText() {
        NpzException e = assertThrows(NpzException.class, () -> NpzReader.read(TestArchives.path("structured.npz")));
        assertTrue(e.getMessage().endsWith("structured (record) dtypes are not supported: descr [('x', '<f4'), ('y', '<f4')]"),
                e.getMessage());
        assertFalse(e.getMessage().contains("@"), e.getMessage());
    }

    @Test
    void reprIsPythonsRepr() throws Exception {
        Object v = PyLiteral.parse("{'a': [('x', '<f4', (2,)), ()], 'b': True, 'c': None, 'd': -3, 'e': 'it\\'s\\n'}");
        assertEquals("{'a': [('x', '<f4', (2,)), ()], 'b': True, 'c': None, 'd': -3, 'e': 'it\\'s\\n'}", PyLiteral.repr(v));
    }
}
