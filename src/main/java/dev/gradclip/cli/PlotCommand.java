package dev.gradclip.cli;

import dev.gradclip.monitor.LogFormatException;
import dev.gradclip.monitor.MonitorLog;
import dev.gradclip.monitor.MonitorPlots;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gradclip plot LOG.jsonl --out DIR [--title TEXT]}: the PNG plots of a monitor or
 * {@code replay} log ({@link MonitorLog}, {@link MonitorPlots}): DIR/norms.png (norm per step with
 * the threshold), DIR/clipped-fraction.png and, when the log has per-tensor norms,
 * DIR/tensor-norms.png (heat map).
 *
 * <p>The whole log is read and checked and every image rendered before DIR is created or anything is
 * written: a missing LOG, one that is not a regular file, malformed JSON, an empty log, or a DIR that
 * exists and is not a directory exit 2 with nothing written. stdout: one JSON object ({@code log},
 * {@code steps}, {@code tensors}, {@code alerts}, {@code written}).
 */
public final class PlotCommand {
    static final String USAGE = "gradclip plot LOG.jsonl --out DIR [--title TEXT]";

    private PlotCommand() { }

    /** Runs {@code plot} with the arguments after the command name; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            LogCommandArgs a = LogCommandArgs.parse("plot", args, List.of("--out", "--title"));
            if (!a.options.containsKey("--out")) throw new LogCommandArgs.BadArgs("plot needs --out DIR");
            Path log = a.log();
            Path dir = LogCommandArgs.path(a.options.get("--out"), "--out");
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new LogCommandArgs.BadArgs("--out " + dir + " exists and is not a directory");
            }
            MonitorLog parsed = MonitorLog.read(log);
            String title = a.options.getOrDefault("--title", log.getFileName().toString());
            List<Path> written;
            try {
                written = MonitorPlots.writeAll(parsed, dir, title);
            } catch (IOException e) {
                err.println("gradclip: plot: could not write to " + dir + ": " + e.getMessage());
                return Main.EXIT_INTERNAL;
            }
            List<String> files = new ArrayList<>();
            for (Path p : written) files.add(p.toString());
            out.println(Json.write(Json.object().put("log", log.toString()).put("steps", parsed.steps().size())
                    .put("tensors", parsed.tensorNames().size()).put("alerts", parsed.alerts().size())
                    .put("written", files)));
            out.flush();
            return Main.EXIT_OK;
        } catch (LogCommandArgs.BadArgs e) {
            err.println("gradclip: plot: " + e.getMessage() + " (usage: " + USAGE + ")");
            return Main.EXIT_USAGE;
        } catch (NoSuchFileException e) {
            err.println("gradclip: plot: no such file: " + e.getFile());
            return Main.EXIT_USAGE;
        } catch (LogFormatException e) {
            err.println("gradclip: plot: " + e.getMessage());
            return Main.EXIT_USAGE;
        } catch (IOException e) {
            err.println("gradclip: plot: cannot read the log: " + e);
            return Main.EXIT_USAGE;
        }
    }
}
