package dev.gradclip.cli;

import dev.gradclip.monitor.LogFormatException;
import dev.gradclip.monitor.MonitorLog;
import dev.gradclip.monitor.ThresholdSuggestion;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code gradclip suggest LOG.jsonl [--percentile P] [--warmup N]}: a fixed clipping threshold from a
 * warm-up log ({@link ThresholdSuggestion}: the P-th percentile, default 90, of the finite pre-clip
 * total norms of the first N steps, default all).
 *
 * <p>stdout: one JSON object ({@code threshold}, {@code policy} (e.g. {@code fixed:1.25}, for
 * {@code replay --policy}), {@code percentile}, {@code steps_read}, {@code steps_used},
 * {@code median}, {@code min}, {@code max}, {@code would_clip}, {@code rationale}); stderr: the
 * rationale as sentences. Bad input (missing or non-regular LOG, malformed JSON, empty log, no finite
 * norm, bad option): exit 2, nothing on stdout.
 */
public final class SuggestCommand {
    static final String USAGE = "gradclip suggest LOG.jsonl [--percentile P] [--warmup N]";

    private SuggestCommand() { }

    /** Runs {@code suggest} with the arguments after the command name; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            LogCommandArgs a = LogCommandArgs.parse("suggest", args, List.of("--percentile", "--warmup"));
            double p = a.number("--percentile", ThresholdSuggestion.DEFAULT_PERCENTILE, 0, 100);
            int warmup = a.count("--warmup", 0);
            Path log = a.log();
            MonitorLog parsed = MonitorLog.read(log);
            ThresholdSuggestion s;
            try {
                s = ThresholdSuggestion.of(parsed.steps(), p, warmup);
            } catch (IllegalArgumentException e) {
                err.println("gradclip: suggest: " + log + ": " + e.getMessage());
                return Main.EXIT_USAGE;
            }
            out.println(Json.write(Json.object().put("log", log.toString()).put("threshold", s.threshold())
                    .put("policy", s.policy()).put("percentile", s.percentile()).put("steps_read", s.stepsRead())
                    .put("steps_used", s.stepsUsed()).put("median", s.median()).put("min", s.min())
                    .put("max", s.max()).put("would_clip", s.wouldClip()).put("rationale", s.rationale())));
            out.flush();
            for (String line : s.rationale()) err.println(line);
            err.println("Suggested: --policy " + s.policy());
            return Main.EXIT_OK;
        } catch (LogCommandArgs.BadArgs e) {
            err.println("gradclip: suggest: " + e.getMessage() + " (usage: " + USAGE + ")");
            return Main.EXIT_USAGE;
        } catch (NoSuchFileException e) {
            err.println("gradclip: suggest: no such file: " + e.getFile());
            return Main.EXIT_USAGE;
        } catch (LogFormatException e) {
            err.println("gradclip: suggest: " + e.getMessage());
            return Main.EXIT_USAGE;
        } catch (IOException e) {
            err.println("gradclip: suggest: cannot read the log: " + e);
            return Main.EXIT_USAGE;
        }
    }
}
