package dev.gradclip.cli;

import dev.gradclip.testing.MiniJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void escapesStrings() {
        assertEquals("\"plain\"", Json.quote("plain"));
        assertEquals("\"a\\\"b\\\\c\"", Json.quote("a\"b\\c"));
        assertEquals("\"\\n\\r\\t\\b\\f\"", Json.quote("\n\r\t\b\f"));
        assertEquals("\"\\u0000\\u0001\\u001f\\u007f\"", Json.quote("\u0000\u0001\u001f\u007f"));
        assertEquals("\"\\u2028\\u2029\"", Json.quote("\u2028\u2029"));
        assertEquals("\"/ é 中 \uD83D\uDE00\"", Json.quote("/ é 中 \uD83D\uDE00"));
        assertEquals("\"\\ud800x\\udc00\"", Json.quote("\uD800x\uDC00")); // lone surrogates
        assertEquals("\"\"", Json.quote(""));
    }

    @Test
    void writesNumbers() {
        assertEquals("1.0", Json.number(1.0));
        assertEquals("-0.0", Json.number(-0.0));
        assertEquals("0.1", Json.number(0.1));
        assertEquals("1.0E-7", Json.number(1e-7));
        assertEquals("4.9E-324", Json.number(Double.MIN_VALUE));
        assertEquals("1.7976931348623157E308", Json.number(Double.MAX_VALUE));
        assertEquals("\"NaN\"", Json.number(Double.NaN));
        assertEquals("\"Infinity\"", Json.number(Double.POSITIVE_INFINITY));
        assertEquals("\"-Infinity\"", Json.number(Double.NEGATIVE_INFINITY));
        assertEquals("9223372036854775807", Json.write(Long.MAX_VALUE));
        assertEquals("42", Json.write(42));
        assertEquals("-7", Json.write((short) -7));
        assertEquals("0.10000000149011612", Json.write(0.1f)); // floats widened exactly
        assertEquals("\"NaN\"", Json.write(Float.NaN));
        assertEquals("\"-Infinity\"", Json.write(Float.NEGATIVE_INFINITY));
        assertEquals("123456789012345678901234567890", Json.write(new BigInteger("123456789012345678901234567890")));
        assertEquals("1.50", Json.write(new BigDecimal("1.50")));
    }

    @Property(tries = 2000)
    void doublesRoundTrip(@ForAll double d) {
        String s = Json.number(d);
        if (Double.isFinite(d)) {
            assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits((Double) MiniJson.parse(s)));
        } else {
            Object parsed = MiniJson.parse(s);
            assertEquals(Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity", parsed);
        }
    }

    @Property(tries = 500)
    void stringsRoundTrip(@ForAll String s) {
        assertEquals(s, MiniJson.parse(Json.quote(s)));
    }

    @Test
    void writesStructures() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("z", 1);
        m.put("a", List.of(true, false));
        m.put("n", null);
        m.put("arr", new double[] {1.5, Double.NaN, Double.NEGATIVE_INFINITY});
        m.put("longs", new long[] {1, -2});
        m.put("strs", new String[] {"x", "y\"z"});
        m.put("empty", Map.of());
        m.put("enum", Thread.State.NEW);
        assertEquals("{\"z\":1,\"a\":[true,false],\"n\":null,\"arr\":[1.5,\"NaN\",\"-Infinity\"],\"longs\":[1,-2],"
                + "\"strs\":[\"x\",\"y\\\"z\"],\"empty\":{},\"enum\":\"NEW\"}", Json.write(m));
        String obj = Json.object().put("backend", "cpu").put("total_norm", Double.POSITIVE_INFINITY)
                .put("tensor_norms", Arrays.asList(1.0, 2.0)).put("count", 3L).toString();
        assertEquals("{\"backend\":\"cpu\",\"total_norm\":\"Infinity\",\"tensor_norms\":[1.0,2.0],\"count\":3}", obj);
        assertEquals(MiniJson.parse(obj), MiniJson.parse(Json.write(Json.object().put("backend", "cpu")
                .put("total_norm", Double.POSITIVE_INFINITY).put("tensor_norms", new double[] {1, 2}).put("count", 3))));
    }

    @Test
    void rejectsWhatItCannotWrite() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> Json.object().put("a", 1).put("a", 2));
        assertThrows(IllegalArgumentException.class, () -> Json.object().put(null, 1));
        List<Object> cyclic = new java.util.ArrayList<>();
        cyclic.add(cyclic);
        assertThrows(IllegalArgumentException.class, () -> Json.write(cyclic));
    }
}
