package dev.gradclip.policy;

import java.util.Locale;

/**
 * A clipping policy as the command line spells it (immutable configuration):
 * <pre>
 *   fixed:M | linear:M0:M1:N | cosine:M0:M1:N | autoclip:P[:W] | zclip:Z[:ALPHA[:WARMUP]] | agc:LAMBDA[:EPS]
 * </pre>
 * Every policy except AGC decides one global-norm threshold per step ({@link ThresholdPolicy}); AGC
 * ({@link AdaptiveGradClip}) clips each unit of each tensor against its parameter's norm. The library
 * also reads {@code stepdecay:M0:GAMMA:N[:FLOOR]} ({@link StepDecaySchedule}), which is not part of the
 * pinned command-line grammar.
 */
public sealed interface ClipPolicy permits ThresholdPolicy, AdaptiveGradClip {

    /** {@return the command-line spelling, which {@link #parse} reads back to an equal policy} */
    String spec();

    /**
     * Parses the grammar above. Numbers are decimal; M, M0, M1 finite and ≥ 0; N, W, WARMUP positive
     * integers; P in [0, 100]; Z and LAMBDA finite and &gt; 0; ALPHA in [0, 1); EPS finite and ≥ 0. The
     * policy name is read ignoring case; omitted optional fields take the defaults of {@link AutoClip}
     * (whole history), {@link ZClip} and {@link AdaptiveGradClip} (PyTorch unit layout).
     *
     * @param spec the policy, for example {@code "fixed:1.0"} or {@code "zclip:2.5:0.97:25"}
     * @return the immutable policy it spells
     * @throws IllegalArgumentException naming the problem (null, unknown policy, wrong field count, bad number)
     */
    static ClipPolicy parse(String spec) {
        if (spec == null) throw new IllegalArgumentException("policy is null");
        String[] f = spec.trim().split(":", -1);
        String name = f[0].toLowerCase(Locale.ROOT);
        switch (name) {
            case "fixed":
                arity(spec, f, 2, 2);
                return new FixedThreshold(num(spec, f[1]));
            case "linear":
                arity(spec, f, 4, 4);
                return new LinearSchedule(num(spec, f[1]), num(spec, f[2]), integer(spec, f[3]));
            case "cosine":
                arity(spec, f, 4, 4);
                return new CosineSchedule(num(spec, f[1]), num(spec, f[2]), integer(spec, f[3]));
            case "autoclip":
                arity(spec, f, 2, 3);
                if (f.length > 2 && integer(spec, f[2]) < 1) {
                    throw new IllegalArgumentException("policy '" + spec + "': AutoClip window W must be >= 1");
                }
                return new AutoClip(num(spec, f[1]), f.length > 2 ? (int) integer(spec, f[2]) : 0);
            case "zclip": {
                arity(spec, f, 2, 4);
                double z = num(spec, f[1]);
                double alpha = f.length > 2 ? num(spec, f[2]) : ZClip.DEFAULT_ALPHA;
                int warmup = f.length > 3 ? (int) integer(spec, f[3]) : ZClip.DEFAULT_WARMUP;
                return new ZClip(z, alpha, warmup);
            }
            case "stepdecay":
                arity(spec, f, 4, 5);
                return new StepDecaySchedule(num(spec, f[1]), num(spec, f[2]), integer(spec, f[3]),
                        f.length > 4 ? num(spec, f[4]) : 0.0);
            case "agc":
                arity(spec, f, 2, 3);
                return new AdaptiveGradClip(num(spec, f[1]), f.length > 2 ? num(spec, f[2]) : AdaptiveGradClip.DEFAULT_EPS,
                        UnitLayout.PYTORCH);
            default:
                throw new IllegalArgumentException("unknown policy '" + f[0] + "' in '" + spec
                        + "' (expected fixed, linear, cosine, autoclip, zclip or agc)");
        }
    }

    private static void arity(String spec, String[] f, int min, int max) {
        if (f.length < min || f.length > max) {
            String form;
            switch (f[0].toLowerCase(Locale.ROOT)) {
                case "fixed": form = "fixed:M"; break;
                case "linear": form = "linear:M0:M1:N"; break;
                case "cosine": form = "cosine:M0:M1:N"; break;
                case "autoclip": form = "autoclip:P[:W]"; break;
                case "zclip": form = "zclip:Z[:ALPHA[:WARMUP]]"; break;
                case "stepdecay": form = "stepdecay:M0:GAMMA:N[:FLOOR]"; break;
                default: form = "agc:LAMBDA[:EPS]"; break;
            }
            throw new IllegalArgumentException("policy '" + spec + "' has " + (f.length - 1) + " field(s); expected " + form);
        }
    }

    private static double num(String spec, String text) {
        String t = text.trim();
        if (!t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) {
            throw new IllegalArgumentException("policy '" + spec + "': '" + text + "' is not a finite decimal number");
        }
        return Double.parseDouble(t);
    }

    private static long integer(String spec, String text) {
        String t = text.trim();
        if (!t.matches("\\d{1,9}")) {
            throw new IllegalArgumentException("policy '" + spec + "': '" + text + "' is not a positive integer");
        }
        return Long.parseLong(t);
    }
}
