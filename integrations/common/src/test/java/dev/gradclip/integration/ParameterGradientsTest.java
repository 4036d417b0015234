package dev.gradclip.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParameterGradientsTest {

    @Test
    void namesAreCopiedAndMatchTheGradients() {
        List<String> names = new ArrayList<>(List.of("w", "b"));
        ParameterGradients p = new ParameterGradients(names, GradientSet.of(Tensor.of(new float[3]), Tensor.of(new float[1])));
        names.set(0, "changed");
        assertEquals(List.of("w", "b"), p.names());
        assertThrows(UnsupportedOperationException.class, () -> p.names().add("x"));
        assertEquals(2, p.gradients().size());
    }

    @Test
    void mismatchesAndNullsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ParameterGradients(List.of("w"), GradientSet.of(Tensor.of(new float[3]), Tensor.of(new float[1]))));
        assertTrue(e.getMessage().contains("1 names for 2 gradients"), e.getMessage());
        assertThrows(NullPointerException.class, () -> new ParameterGradients(null, GradientSet.empty()));
        assertThrows(NullPointerException.class, () -> new ParameterGradients(List.of(), null));
        assertThrows(NullPointerException.class,
                () -> new ParameterGradients(Arrays.asList((String) null), GradientSet.of(Tensor.of(new float[1]))));
    }
}
