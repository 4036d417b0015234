package dev.gradclip.cli.npz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class NpzReaderTest {
    static final List<String> MIXED_NAMES = List.of("f2_2x3", "f4_5", "f8_2x2x2", "scalar_f8", "scalar_f4",
            "empty_0x3", "empty_0", "f4_2x3x4", "f4_1x1x1x1x5", "be_f4_3x2", "be_f8_4", "be_f2_3",
            "specials_f2", "specials_f4", "specials_f8");

    @ParameterizedTest
    @CsvSource({
        "numpy_savez.npz, false",
        "numpy_savez_compressed.npz, true",
        "mixed_stored.npz, false",
        "mixed_deflated.npz, true",
    })
    void readsNumpyArchives(String file, boolean compressed) throws Exception {
        NpzArchive a = NpzReader.read(TestArchives.path(file));
        assertEquals(compressed, a.compressed());
        assertEquals(MIXED_NAMES, a.names());

        assertRamp(a, "f2_2x3", NpyDtype.FLOAT16, 2, 3);
        assertRamp(a, "f4_5", NpyDtype.FLOAT32, 5);
        assertRamp(a, "f8_2x2x2", NpyDtype.FLOAT64, 2, 2, 2);
        assertRamp(a, "f4_2x3x4", NpyDtype.FLOAT32, 2, 3, 4);
        assertRamp(a, "f4_1x1x1x1x5", NpyDtype.FLOAT32, 1, 1, 1, 1, 5);
        assertRamp(a, "be_f4_3x2", NpyDtype.FLOAT32, 3, 2);
        assertRamp(a, "be_f8_4", NpyDtype.FLOAT64, 4);
        assertRamp(a, "be_f2_3", NpyDtype.FLOAT16, 3);

        NamedArray s8 = a.get("scalar_f8").orElseThrow();
        assertEquals(0, s8.rank());
        assertEquals(1, s8.size());
        assertArrayEquals(new double[] {3.5}, s8.doubleData());
        NamedArray s4 = a.get("scalar_f4").orElseThrow();
        assertArrayEquals(new long[0], s4.shape());
        assertArrayEquals(new float[] {-0.75f}, s4.floatData());

        NamedArray e = a.get("empty_0x3").orElseThrow();
        assertArrayEquals(new long[] {0, 3}, e.shape());
        assertEquals(0, e.size());
        assertEquals(NpyDtype.FLOAT32, e.dtype());
        NamedArray e0 = a.get("empty_0").orElseThrow();
        assertArrayEquals(new long[] {0}, e0.shape());
        assertEquals(NpyDtype.FLOAT16, e0.dtype());
        assertEquals(0, e0.halfBits().length);

        // 0, -0, 1, -2.5, nan, inf, -inf, max, tiny (smallest normal), smallest subnormal
        assertArrayEquals(new short[] {0, (short) 0x8000, 0x3C00, (short) 0xC100, 0x7E00, 0x7C00, (short) 0xFC00,
            0x7BFF, 0x0400, 0x0001}, a.get("specials_f2").orElseThrow().halfBits());
        float[] f4 = a.get("specials_f4").orElseThrow().floatData();
        float[] f4Expected = {0f, -0f, 1f, -2.5f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, Float.MIN_NORMAL, Float.MIN_VALUE};
        for (int i = 0; i < f4.length; i++) {
            assertEquals(Float.floatToIntBits(f4Expected[i]), Float.floatToIntBits(f4[i]), "specials_f4[" + i + "]");
        }
        double[] f8 = a.get("specials_f8").orElseThrow().doubleData();
        double[] f8Expected = {0d, -0d, 1d, -2.5d, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
            Double.MAX_VALUE, Double.MIN_NORMAL, Double.MIN_VALUE};
        for (int i = 0; i < f8.length; i++) {
            assertEquals(Double.doubleToLongBits(f8Expected[i]), Double.doubleToLongBits(f8[i]), "specials_f8[" + i + "]");
        }
    }

    static void assertRamp(NpzArchive a, String name, NpyDtype dtype, long... shape) {
        NamedArray arr = a.get(name).orElseThrow();
        assertEquals(dtype, arr.dtype(), name);
        assertEquals(dtype.id(), arr.dtypeName());
        assertArrayEquals(shape, arr.shape(), name);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        assertEquals(n, arr.size(), name);
        for (int i = 0; i < arr.size(); i++) {
            assertEquals(TestArchives.ramp(i), arr.getDouble(i), name + "[" + i + "]");
        }
    }

    @Test
    void readsVersion2And3Headers() throws Exception {
        NpzArchive v2 = NpzReader.read(TestArchives.path("npy_v2.npz"));
        assertRamp(v2, "a", NpyDtype.FLOAT32, 3, 2);
        NpzArchive v3 = NpzReader.read(TestArchives.path("npy_v3.npz"));
        assertRamp(v3, "a", NpyDtype.FLOAT64, 3, 2);
    }

    @Test
    void convertsFortranOrderToCOrder() throws Exception {
        NpzArchive a = NpzReader.read(TestArchives.path("fortran.npz"));
        assertEquals(List.of("f4_2x3", "f8_2x3x4", "f2_4"), a.names());
        // the generator wrote np.asfortranarray(ramp(shape)): the logical (C-order) values are the ramp
        assertRamp(a, "f4_2x3", NpyDtype.FLOAT32, 2, 3);
        assertRamp(a, "f8_2x3x4", NpyDtype.FLOAT64, 2, 3, 4);
        assertRamp(a, "f2_4", NpyDtype.FLOAT16, 4);
    }

    @Test
    void fortranToCByHand() {
        // shape (2, 3): C order [[0,1,2],[3,4,5]] is stored in Fortran order as 0,3,1,4,2,5
        float[] f = {0, 3, 1, 4, 2, 5};
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, (float[]) NpyFormat.fortranToC(f, new long[] {2, 3}, 6));
        // shape (2, 2, 2): element (i,j,k) at Fortran offset i + 2j + 4k, C offset 4i + 2j + k
        double[] src = new double[8];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                for (int k = 0; k < 2; k++) {
                    src[i + 2 * j + 4 * k] = 4 * i + 2 * j + k;
                }
            }
        }
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5, 6, 7}, (double[]) NpyFormat.fortranToC(src, new long[] {2, 2, 2}, 8));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "int32.npz            | ints.npy    | dtype '<i4': integer arrays are not supported",
        "complex64.npz        | c.npy       | dtype '<c8': complex arrays are not supported",
        "bool.npz             | b.npy       | dtype '|b1': boolean arrays are not supported",
        "object_pickled.npz   | o.npy       | dtype '|O': object arrays (pickled Python objects) are not supported",
        "structured.npz       | s.npy       | structured (record) dtypes are not supported",
        "truncated_entry.npz  | t.npy       | truncated data: shape (4, 4) of float32 needs 64 bytes, the entry has 54",
        "trailing_bytes.npz   | t.npy       | 4 unexpected bytes after the data",
        "bad_header.npz       | h.npy       | header does not parse",
        "bad_magic.npz        | m.npy       | not an .npy file (bad magic",
        "missing_key.npz      | k.npy       | expected exactly [descr, fortran_order, shape]",
        "overflow_shape.npz   | o.npy       | shape (4294967296, 4294967296) has more elements than a long can count",
        "too_many_elements.npz| big.npy     | shape (65536, 32768) has 2147483648 elements, more than a Java array can hold",
        "negative_dim.npz     | n.npy       | negative dimension in shape (-1, 3)",
        "unknown_version.npz  | u.npy       | unsupported .npy format version 9.0",
        "duplicate.npz        | a.npy       | duplicate array name 'a'",
        "not_npy_entry.npz    | readme.txt  | not an .npy entry",
        "bad_crc.npz          | c.npy       | CRC mismatch",
    })
    void rejectsBadEntries(String file, String entry, String fragment) {
        NpzException e = assertThrows(NpzException.class, () -> NpzReader.read(TestArchives.path(file)));
        assertEquals(entry, e.entry(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(e.getMessage().startsWith(TestArchives.path(file).toString() + ": entry '" + entry + "': "), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"truncated.npz", "garbage.npz", "empty_file.npz"})
    void rejectsCorruptZip(String file) {
        NpzException e = assertThrows(NpzException.class, () -> NpzReader.read(TestArchives.path(file)));
        assertEquals(null, e.entry());
        assertTrue(e.getMessage().contains("not a valid zip archive"), e.getMessage());
        assertTrue(e.getMessage().startsWith(TestArchives.path(file).toString() + ": "), e.getMessage());
    }

    @Test
    void rejectsMissingFileAndDirectory(@TempDir Path dir) {
        NpzException missing = assertThrows(NpzException.class, () -> NpzReader.read(dir.resolve("nope.npz")));
        assertEquals(dir.resolve("nope.npz") + ": no such file", missing.getMessage());
        NpzException isDir = assertThrows(NpzException.class, () -> NpzReader.read(dir));
        assertTrue(isDir.getMessage().contains("is a directory"), isDir.getMessage());
    }

    @Test
    void truncatedDeflatedEntryIsRejected(@TempDir Path dir) throws Exception {
        // cut a deflated archive just before its central directory: ZipFile cannot open it
        byte[] good = Files.readAllBytes(TestArchives.path("mixed_deflated.npz"));
        Path cut = dir.resolve("cut.npz");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length - 30));
        NpzException e = assertThrows(NpzException.class, () -> NpzReader.read(cut));
        assertTrue(e.getMessage().contains("not a valid zip archive"), e.getMessage());
    }

    @Test
    void emptyArchiveHasNoArrays(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("empty.npz");
        NpzWriter.write(p, List.of(), false);
        NpzArchive a = NpzReader.read(p);
        assertEquals(0, a.size());
        assertFalse(a.compressed());
    }

    @Test
    void headerParsing() throws Exception {
        NpyFormat.Header h = NpyFormat.parseHeader("{'descr': '>f8', 'fortran_order': True, 'shape': (3L, 4), }   \n");
        assertEquals(NpyDtype.FLOAT64, h.dtype);
        assertTrue(h.bigEndian);
        assertTrue(h.fortranOrder);
        assertArrayEquals(new long[] {3, 4}, h.shape);
        assertEquals(12, h.count);
        NpyFormat.Header h2 = NpyFormat.parseHeader("{\"shape\": (), \"descr\": \"<f2\", \"fortran_order\": False}");
        assertEquals(0, h2.shape.length);
        assertEquals(1, h2.count);
        assertEquals(NpyDtype.FLOAT32, NpyFormat.parseDescr("f4"));
        assertEquals(NpyDtype.FLOAT32, NpyFormat.parseDescr("|f4"));
        assertEquals(NpyDtype.FLOAT16, NpyFormat.parseDescr("=f2"));
        for (String bad : new String[] {"", "{", "{'descr': '<f4'", "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", "[1, 2]",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f16', 'fortran_order': False, 'shape': (2,)}"}) {
            assertThrows(NpyFormat.FormatException.class, () -> NpyFormat.parseHeader(bad), bad);
        }
    }
}
