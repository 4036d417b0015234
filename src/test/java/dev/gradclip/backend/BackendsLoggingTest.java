package dev.gradclip.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** Backend selection and AUTO's fallback are logged at DEBUG through System.Logger "dev.gradclip" (JUL by default). */
class BackendsLoggingTest {
    @Test
    void selectionAndFallbackAreLogged() {
        Logger jul = Logger.getLogger("dev.gradclip");
        List<String> messages = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                messages.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level before = jul.getLevel();
        jul.addHandler(h);
        jul.setLevel(Level.ALL);
        try {
            try (Clipper auto = Clipper.create()) {
                String expected = "FINE gradclip backend " + auto.backend().cliName() + " (AUTO: ";
                assertTrue(messages.stream().anyMatch(m -> m.startsWith(expected)), messages.toString());
                if (auto.backend() == Backend.CPU) {
                    assertTrue(messages.stream().anyMatch(m -> m.contains("CUDA unavailable")), messages.toString());
                }
            }
            try (Clipper cpu = Clipper.create(Backend.CPU)) {
                assertEquals(Backend.CPU, cpu.backend());
                assertTrue(messages.stream().anyMatch(m -> m.startsWith("FINE gradclip backend cpu (requested)")), messages.toString());
            }
            if (!Clipper.availableBackends().get(1).available()) {
                messages.clear();
                assertThrows(IllegalStateException.class, () -> Clipper.create(Backend.CUDA));
                assertTrue(messages.stream().anyMatch(m -> m.startsWith("FINE gradclip backend cuda unavailable: ")), messages.toString());
            }
        } finally {
            jul.removeHandler(h);
            jul.setLevel(before);
        }
    }
}
