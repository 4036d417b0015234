package dev.gradclip.cli.npz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NpzWriterTest {
    static final long[][] SHAPES = {{}, {0}, {0, 3}, {3, 0, 2}, {1}, {5}, {2, 3}, {2, 3, 4}, {1, 1, 1, 1, 5}, {70000}};

    /** Arrays of every dtype and shape, with distinct bit patterns (NaN payloads included). */
    static List<NamedArray> everyDtypeAndShape() {
        List<NamedArray> out = new ArrayList<>();
        for (NpyDtype dt : NpyDtype.values()) {
            for (long[] shape : SHAPES) {
                int n = (int) NamedArray.elementCount(shape);
                StringBuilder name = new StringBuilder(dt.id());
                for (long d : shape) {
                    name.append('_').append(d);
                }
                Object data;
                switch (dt) {
                    case FLOAT16: {
                        short[] s = new short[n];
                        for (int i = 0; i < n; i++) {
                            s[i] = (short) (i * 40503 + 7);
                        }
                        data = s;
                        break;
                    }
                    case FLOAT32: {
                        float[] f = new float[n];
                        for (int i = 0; i < n; i++) {
                            f[i] = Float.intBitsToFloat(i * 0x9E3779B1 + 12345);
                        }
                        data = f;
                        break;
                    }
                    default: {
                        double[] d = new double[n];
                        for (int i = 0; i < n; i++) {
                            d[i] = Double.longBitsToDouble(i * 0x9E3779B97F4A7C15L + 99);
                        }
                        data = d;
                        break;
                    }
                }
                out.add(new NamedArray(name.toString(), dt, shape, data));
            }
        }
        return out;
    }

    static void assertSameBits(NamedArray expected, NamedArray actual) {
        assertEquals(expected.name(), actual.name());
        assertEquals(expected.dtype(), actual.dtype(), expected.name());
        assertArrayEquals(expected.shape(), actual.shape(), expected.name());
        Object e = expected.rawData();
        Object a = actual.rawData();
        if (e instanceof float[]) {
            float[] ef = (float[]) e;
            float[] af = (float[]) a;
            assertEquals(ef.length, af.length);
            for (int i = 0; i < ef.length; i++) {
                assertEquals(Float.floatToRawIntBits(ef[i]), Float.floatToRawIntBits(af[i]), expected.name() + "[" + i + "]");
            }
        } else if (e instanceof double[]) {
            double[] ed = (double[]) e;
            double[] ad = (double[]) a;
            assertEquals(ed.length, ad.length);
            for (int i = 0; i < ed.length; i++) {
                assertEquals(Double.doubleToRawLongBits(ed[i]), Double.doubleToRawLongBits(ad[i]), expected.name() + "[" + i + "]");
            }
        } else {
            assertArrayEquals((short[]) e, (short[]) a, expected.name());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void roundTripsEveryDtypeAndShape(boolean compressed, @TempDir Path dir) throws Exception {
        List<NamedArray> arrays = everyDtypeAndShape();
        Path p = dir.resolve("out.npz");
        NpzWriter.write(p, arrays, compressed);
        NpzArchive back = NpzReader.read(p);
        assertEquals(compressed, back.compressed());
        assertEquals(arrays.size(), back.size());
        for (int i = 0; i < arrays.size(); i++) {
            assertSameBits(arrays.get(i), back.arrays().get(i));
            assertEquals(arrays.get(i), back.arrays().get(i));
        }
        try (ZipFile z = new ZipFile(p.toFile())) {
            Enumeration<? extends ZipEntry> en = z.entries();
            int i = 0;
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                assertEquals(arrays.get(i++).name() + ".npy", e.getName());
                assertEquals(compressed ? ZipEntry.DEFLATED : ZipEntry.STORED, e.getMethod());
            }
        }
        // also leave a copy where scripts/npz/verify_written.py can check it with numpy
        Path keep = Path.of("target", "npz-written");
        Files.createDirectories(keep);
        NpzWriter.write(keep.resolve(compressed ? "every_deflated.npz" : "every_stored.npz"), arrays, compressed);
    }

    @Test
    void writesTheBytesNumpyWrites(@TempDir Path dir) throws Exception {
        // every little-endian array of the numpy-written archive is re-encoded byte for byte
        Path src = TestArchives.path("mixed_stored.npz");
        NpzArchive a = NpzReader.read(src);
        Map<String, byte[]> numpyEntries = entries(src);
        int compared = 0;
        for (NamedArray arr : a.arrays()) {
            if (arr.name().startsWith("be_")) {
                continue; // converted to little-endian on output
            }
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            NpzWriter.writeNpy(bos, arr);
            assertArrayEquals(numpyEntries.get(arr.name() + ".npy"), bos.toByteArray(), arr.name());
            compared++;
        }
        assertEquals(12, compared);
        // and the whole archive round-trips, with the order kept, in both modes
        for (boolean compressed : new boolean[] {false, true}) {
            Path out = dir.resolve("copy" + compressed + ".npz");
            NpzWriter.write(out, a.arrays(), compressed);
            NpzArchive back = NpzReader.read(out);
            assertEquals(a.names(), back.names());
            for (int i = 0; i < a.size(); i++) {
                assertSameBits(a.arrays().get(i), back.arrays().get(i));
            }
            Path keep = Path.of("target", "npz-written");
            Files.createDirectories(keep);
            NpzWriter.write(keep.resolve(compressed ? "mixed_copy_deflated.npz" : "mixed_copy_stored.npz"), a.arrays(), compressed);
        }
    }

    @Test
    void keepsInputCompressionThroughArchive(@TempDir Path dir) throws Exception {
        for (String f : new String[] {"numpy_savez.npz", "numpy_savez_compressed.npz"}) {
            NpzArchive a = NpzReader.read(TestArchives.path(f));
            Path out = dir.resolve(f);
            NpzWriter.write(out, a);
            assertEquals(a.compressed(), NpzReader.read(out).compressed());
        }
    }

    static Map<String, byte[]> entries(Path p) throws Exception {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(p.toFile())) {
            Enumeration<? extends ZipEntry> en = z.entries();
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                m.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return m;
    }

    @Test
    void replacesExistingFileAndLeavesNoTemporaries(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.npz");
        Files.writeString(out, "old contents");
        NpzWriter.write(out, List.of(NamedArray.ofFloat32("x", new long[] {2}, new float[] {1, 2})), false);
        assertEquals(List.of("x"), NpzReader.read(out).names());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList());
        }
    }

    @Test
    void failureLeavesDestinationUntouched(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.npz");
        Files.writeString(out, "old contents");
        NamedArray x = NamedArray.ofFloat32("x", new long[] {1}, new float[] {1});
        NpzException dup = assertThrows(NpzException.class, () -> NpzWriter.write(out, List.of(x, x), true));
        assertTrue(dup.getMessage().contains("duplicate array name 'x'"), dup.getMessage());
        assertEquals("old contents", Files.readString(out));

        NpzException noDir = assertThrows(NpzException.class,
                () -> NpzWriter.write(dir.resolve("missing/out.npz"), List.of(x), false));
        assertTrue(noDir.getMessage().contains("does not exist"), noDir.getMessage());

        Path sub = Files.createDirectory(dir.resolve("sub.npz"));
        NpzException isDir = assertThrows(NpzException.class, () -> NpzWriter.write(sub, List.of(x), false));
        assertTrue(isDir.getMessage().contains("is a directory"), isDir.getMessage());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count()); // out.npz and sub.npz, no temporaries
        }
    }

    @Test
    void headerIsAlignedAndParsesBack() throws Exception {
        for (long[] shape : SHAPES) {
            for (NpyDtype dt : NpyDtype.values()) {
                byte[] h = NpyFormat.header(dt, shape);
                assertEquals(0, h.length % 64);
                assertEquals('\n', h[h.length - 1]);
                String text = new String(h, 10, h.length - 10, java.nio.charset.StandardCharsets.ISO_8859_1);
                NpyFormat.Header parsed = NpyFormat.parseHeader(text);
                assertEquals(dt, parsed.dtype);
                assertArrayEquals(shape, parsed.shape);
            }
        }
    }

    @Property(tries = 60)
    void randomArraysRoundTrip(@ForAll("arrays") List<NamedArray> arrays, @ForAll boolean compressed) throws Exception {
        Path dir = Files.createTempDirectory("npz-prop");
        try {
            Path p = dir.resolve("p.npz");
            NpzWriter.write(p, arrays, compressed);
            NpzArchive back = NpzReader.read(p);
            assertEquals(arrays.size(), back.size());
            for (int i = 0; i < arrays.size(); i++) {
                assertSameBits(arrays.get(i), back.arrays().get(i));
            }
        } finally {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    @Provide
    Arbitrary<List<NamedArray>> arrays() {
        Arbitrary<long[]> shapes = Arbitraries.longs().between(0, 6).array(long[].class).ofMaxSize(4);
        Arbitrary<NamedArray> one = Combinators.combine(shapes, Arbitraries.of(NpyDtype.values()), Arbitraries.longs())
                .as((shape, dt, seed) -> {
                    int n = (int) NamedArray.elementCount(shape);
                    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
                    Object data;
                    if (dt == NpyDtype.FLOAT16) {
                        short[] s = new short[n];
                        for (int i = 0; i < n; i++) {
                            s[i] = (short) r.nextInt();
                        }
                        data = s;
                    } else if (dt == NpyDtype.FLOAT32) {
                        float[] f = new float[n];
                        for (int i = 0; i < n; i++) {
                            f[i] = Float.intBitsToFloat(r.nextInt());
                        }
                        data = f;
                    } else {
                        double[] d = new double[n];
                        for (int i = 0; i < n; i++) {
                            d[i] = Double.longBitsToDouble(r.nextLong());
                        }
                        data = d;
                    }
                    return new NamedArray("a", dt, shape, data);
                });
        return one.list().ofMaxSize(5).map(list -> {
            List<NamedArray> named = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                NamedArray a = list.get(i);
                named.add(new NamedArray("arr" + i + (i % 2 == 0 ? ".w" : "/b"), a.dtype(), a.shape(), a.data()));
            }
            return named;
        });
    }
}
