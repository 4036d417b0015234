package dev.gradclip.conformance;

import dev.gradclip.testing.MiniJson;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.conformance.FixtureReader.DType;
import dev.gradclip.conformance.FixtureReader.Fixture;
import dev.gradclip.conformance.FixtureReader.FixtureFile;
import dev.gradclip.conformance.FixtureReader.Values;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class FixtureReaderTest {

    private static final Set<String> OPS = Set.of("clip_grad_norm", "clip_grad_value", "clamp",
            "tf_clip_by_global_norm", "tf_clip_by_norm", "optax_clip_by_global_norm", "dl4j_clip_l2_per_layer",
            "dl4j_renormalize_l2_per_layer", "norms");

    @Test
    void everyFixtureFileParses() {
        List<String> index = FixtureReader.index();
        assertTrue(index.size() >= 10, "index lists " + index);
        int total = 0;
        for (String f : index) {
            FixtureFile file = FixtureReader.load(f);
            assertFalse(file.cases().isEmpty(), f + " has no cases");
            assertTrue(file.torchVersion().startsWith("1.13"), f + ": torch " + file.torchVersion());
            assertEquals("scripts/fixtures/make_fixtures.py", file.generator());
            Set<String> names = new HashSet<>();
            for (Fixture c : file.cases()) {
                assertTrue(names.add(c.name()), f + ": duplicate case " + c.name());
                assertTrue(OPS.contains(c.op()), c + ": op");
                assertTrue(c.source().equals("torch") || c.source().equals("formula"), c + ": source");
                assertEquals(f.startsWith("torch/") ? "torch" : "formula", c.source(), c + ": source vs folder");
                assertFalse(c.note().isBlank(), c + ": note");
                if (c.raised()) {
                    assertNull(c.outputs(), c + ": raised but has outputs");
                    assertNotNull(c.errorKind(), c + ": raised without error_kind");
                }
                if (c.hasParam("norm_type")) {
                    double p = c.normType();
                    assertTrue(p == 1 || p == 2 || p == 3 || p == Double.POSITIVE_INFINITY, c + ": norm_type " + p);
                }
                for (Values v : c.inputs()) {
                    assertEquals(c.dtype(), v.dtype());
                }
                total++;
            }
        }
        assertTrue(total > 500, "only " + total + " cases");
    }

    /** The index must list exactly the files present (when the resources are a plain directory). */
    @Test
    void indexMatchesTheResourceDirectory() throws IOException, URISyntaxException {
        URL url = FixtureReaderTest.class.getResource("/fixtures/index.txt");
        assertNotNull(url);
        if (!"file".equals(url.getProtocol())) {
            return; // inside a jar: nothing to list
        }
        Path root = Paths.get(url.toURI()).getParent();
        Set<String> present;
        try (Stream<Path> s = Files.walk(root)) {
            present = s.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.equals("index.txt"))
                    .filter(p -> !p.startsWith("policies/")) // the clipping-policy fixtures have their own format and reader
                    .collect(Collectors.toSet());
        }
        assertEquals(present, new HashSet<>(FixtureReader.index()));
    }

    @Test
    void torchNormAtThresholdDecodes() {
        Fixture c = FixtureReader.load("/fixtures/torch/clip_grad_norm.json").get("float32_p2_norm_equals_max");
        assertEquals("torch", c.source());
        assertEquals("clip_grad_norm", c.op());
        assertEquals(DType.FLOAT32, c.dtype());
        assertEquals(13.0, c.param("max_norm"));
        assertEquals(2.0, c.normType());
        assertFalse(c.flag("error_if_nonfinite"));
        assertArrayEquals(new float[] {3f, 4f}, c.inputs().get(0).f32());
        assertArrayEquals(new float[] {0f, -12f}, c.inputs().get(1).f32());
        assertEquals(13.0, c.totalNorm());
        assertArrayEquals(new double[] {5.0, 12.0}, c.tensorNorms());
        // torch: 13 / (13 + 1e-6) in fp32 is 0.99999994f, so even a norm equal to max_norm scales
        assertEquals((double) Math.nextDown(1.0f), c.clipCoef());
        assertArrayEquals(new int[] {0x403fffff, 0x407fffff}, c.outputs().get(0).bits32());
        assertEquals(Math.nextDown(3f), c.outputs().get(0).f32()[0]);
    }

    @Test
    void nanPayloadsAndSignedZerosRoundTrip() {
        Fixture c = FixtureReader.load("torch/clip_grad_norm_nonfinite.json").get("float32_p1_posinf_errorfalse");
        // inf total norm -> coefficient 0: finite entries become signed zeros, inf * 0 the x86 default NaN
        assertEquals(Double.POSITIVE_INFINITY, c.totalNorm());
        assertArrayEquals(new int[] {0x00000000, 0x80000000}, c.outputs().get(0).bits32());
        assertArrayEquals(new int[] {0x00000000, 0xffc00000, 0x80000000}, c.outputs().get(1).bits32());
        Fixture e = FixtureReader.load("torch/clip_grad_norm_nonfinite.json").get("float32_p1_nan_errortrue");
        assertTrue(e.raised());
        assertEquals("nonfinite", e.errorKind());
        assertNull(e.outputs());
        assertTrue(e.flag("error_if_nonfinite"));
    }

    @Test
    void clampWithSignedZeroBoundsKeepsTheInputsZeroSign() {
        Fixture c = FixtureReader.load("torch/clamp.json").get("float32_clamp_-0.0_0.0");
        assertEquals(-0.0, c.param("min"));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(c.param("min")));
        float[] in = c.inputs().get(0).f32();
        int[] out = c.outputs().get(0).bits32();
        for (int i = 0; i < in.length; i++) {
            if (in[i] == -1.0f) {
                assertEquals(0x80000000, out[i], "torch.clamp(-1, -0.0, 0.0) is -0.0");
            }
            if (in[i] == 1.0f) {
                assertEquals(0x00000000, out[i], "torch.clamp(1, -0.0, 0.0) is +0.0");
            }
        }
    }

    @Test
    void float16AndFloat64Decode() {
        Fixture h = FixtureReader.load("formulas/clip_value_float16.json").get("float16_clip_value_1.0");
        assertEquals(DType.FLOAT16, h.dtype());
        short[] bits = h.inputs().get(0).f16();
        assertEquals((short) 0x0000, bits[0]); // +0.0
        assertEquals((short) 0x8000, bits[1]); // -0.0
        assertEquals((short) 0x3c00, bits[2]); // 1.0
        assertEquals(1.0, h.inputs().get(0).get(2));
        assertEquals(0x3c00L, h.inputs().get(0).rawBits(2));

        Fixture d = FixtureReader.load("formulas/norms.json").get("float64_square_overflow_p2");
        assertEquals(DType.FLOAT64, d.dtype());
        assertArrayEquals(new double[] {1e160, -1e160, 3.0}, d.inputs().get(0).f64());
        assertEquals(Math.sqrt(2) * 1e160, d.totalNorm(), 1e145);
        assertTrue(d.flag("fp64_square_overflow"));
        assertNull(d.outputs());
    }

    @Test
    void multiChunkFixtureFromGzip() {
        Fixture c = FixtureReader.load("torch/clip_grad_norm_large.json.gz").get("float32_131073_p2_coef_half");
        assertEquals(131073, c.inputs().get(0).length());
        assertEquals(0.5, c.clipCoef());
        float[] in = c.inputs().get(0).f32();
        float[] out = c.outputs().get(0).f32();
        for (int i = 0; i < in.length; i++) {
            assertEquals(in[i] * 0.5f, out[i], "element " + i);
        }
        assertEquals(2 * c.param("max_norm"), c.totalNorm());
    }

    @Test
    void notRunListsTorchCpuFloat16Gaps() {
        FixtureFile f = FixtureReader.load("torch/clip_grad_value.json");
        List<Map<String, Object>> nr = f.notRun();
        assertTrue(nr.stream().anyMatch(m -> "float16".equals(m.get("dtype"))
                && String.valueOf(m.get("error")).contains("Half")), nr.toString());
    }

    @Test
    void halfConversionsAreExactAndRoundToNearestEven() {
        for (int b = 0; b < 0x10000; b++) {
            short h = (short) b;
            float f = FixtureReader.halfToFloat(h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(FixtureReader.halfToFloat(FixtureReader.floatToHalf(f))));
            } else {
                assertEquals(h, FixtureReader.floatToHalf(f), "bits " + Integer.toHexString(b));
            }
        }
        assertEquals((short) 0x3c00, FixtureReader.floatToHalf(1.0f + 0x1p-11f)); // tie -> even
        assertEquals((short) 0x3c02, FixtureReader.floatToHalf(1.0f + 3 * 0x1p-11f)); // tie -> even
        assertEquals((short) 0x7c00, FixtureReader.floatToHalf(65520f)); // rounds up to inf
        assertEquals((short) 0x7bff, FixtureReader.floatToHalf(65519f));
        assertEquals((short) 0x0001, FixtureReader.floatToHalf(0x1p-24f));
        assertEquals((short) 0x0000, FixtureReader.floatToHalf(0x1p-25f)); // tie -> even (0)
        assertEquals((short) 0x0001, FixtureReader.floatToHalf(Math.nextUp(0x1p-25f)));
        assertEquals((short) 0x8000, FixtureReader.floatToHalf(-1e-30f));
    }

    @Test
    void miniJsonParsesAndRejects() {
        Object v = MiniJson.parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\\u0041\\n\"], \"b\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2500.0, a.get(1));
        assertEquals(Boolean.TRUE, a.get(2));
        assertNull(a.get(4));
        assertEquals("xA\n", a.get(5));
        assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("[1,]"));
        assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("{\"a\":1,\"a\":2}"));
        assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("[1] x"));
        assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("\"unterminated"));
        assertThrows(IllegalArgumentException.class, () -> MiniJson.parse("01"));
    }
}
