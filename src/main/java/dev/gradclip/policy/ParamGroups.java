package dev.gradclip.policy;

import dev.gradclip.Backend;
import dev.gradclip.ClipOperation;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Parameter groups: one call clips several disjoint groups of tensors, each by its own rule (for
 * example global norm 1.0 for the body, value 5 for the head, the embeddings excluded), one operation
 * — one pass over the group's memory, plus a write pass where it clips — and one report per group, in
 * order.
 *
 * <pre>{@code
 * List<ParamGroups.Report> r = ParamGroups.clip(clipper, List.of(
 *         new ParamGroups.Group("body", body, ParamGroups.Rule.of(new ClipOperation.ByGlobalNorm(NormClip.of(1.0)))),
 *         new ParamGroups.Group("head", head, ParamGroups.Rule.of(new ClipOperation.ByValue(ValueClip.symmetric(5)))),
 *         new ParamGroups.Group("embeddings", emb, ParamGroups.Rule.exclude())));
 * }</pre>
 * Before any group is touched the call checks that the group names are distinct, that no tensor (no
 * element) belongs to two groups, that every tensor is accessible, and that no device tensor meets a
 * CPU clipper; a bad call throws naming the problem and modifies nothing. (A rule's own failure later,
 * such as {@link dev.gradclip.NonFiniteGradientException} under ERROR, leaves the groups before it
 * clipped; order the groups accordingly.)
 */
public final class ParamGroups {
    private ParamGroups() {
    }

    /** How one group is clipped. */
    public sealed interface Rule permits Excluded, Operation, Policy {
        /** {@return the rule of a group left untouched and not measured} */
        static Rule exclude() {
            return new Excluded();
        }

        /**
         * {@return the rule that runs {@code op} on the group ({@link Clipper#apply})}
         *
         * @param op the stateless operation
         * @throws NullPointerException if {@code op} is null
         */
        static Rule of(ClipOperation op) {
            return new Operation(op);
        }

        /**
         * {@return the rule that runs one {@link TrainingClipper#step(Clipper, GradientSet)} of {@code clipper}
         * on the group} A stateful policy (schedules, AutoClip, ZClip, loss scale, spike skipping) with its
         * own state, which each call of {@link ParamGroups#clip} advances by one step.
         *
         * @param clipper the group's training clipper, with a threshold policy (not AGC)
         * @throws IllegalArgumentException if the clipper's policy is AGC
         */
        static Rule policy(TrainingClipper clipper) {
            return new Policy(clipper);
        }
    }

    /** See {@link Rule#exclude()}. */
    public record Excluded() implements Rule {
    }

    /**
     * See {@link Rule#of(ClipOperation)}.
     *
     * @param operation the stateless operation run on the group
     */
    public record Operation(ClipOperation operation) implements Rule {
        /**
         * Checks the operation.
         *
         * @param operation the stateless operation run on the group
         * @throws NullPointerException if {@code operation} is null
         */
        public Operation {
            Objects.requireNonNull(operation, "operation is null");
        }
    }

    /**
     * See {@link Rule#policy(TrainingClipper)}; AGC policies are not accepted here (they need parameters).
     *
     * @param clipper the group's training clipper, with a threshold policy
     */
    public record Policy(TrainingClipper clipper) implements Rule {
        /**
         * Checks the clipper's policy.
         *
         * @param clipper the group's training clipper, with a threshold policy
         * @throws NullPointerException if {@code clipper} is null
         * @throws IllegalArgumentException if its policy is AGC
         */
        public Policy {
            Objects.requireNonNull(clipper, "training clipper is null");
            if (!(clipper.policy() instanceof ThresholdPolicy)) {
                throw new IllegalArgumentException("a group policy must be a threshold policy, not " + clipper.policy().spec());
            }
        }
    }

    /**
     * A named group of gradient tensors and its rule.
     *
     * @param name the group's name, unique within one {@link ParamGroups#clip} call
     * @param grads the group's gradients, clipped in place
     * @param rule how the group is clipped
     */
    public record Group(String name, GradientSet grads, Rule rule) {
        /**
         * Checks the arguments.
         *
         * @param name the group's name
         * @param grads the group's gradients
         * @param rule how the group is clipped
         * @throws NullPointerException if an argument is null (naming the group when it has a name)
         */
        public Group {
            Objects.requireNonNull(name, "group name is null");
            Objects.requireNonNull(grads, "group " + name + ": gradient set is null");
            Objects.requireNonNull(rule, "group " + name + ": rule is null");
        }
    }

    /**
     * One group's outcome: {@code report} for an {@link Operation} rule, {@code record} for a
     * {@link Policy} rule, neither for an excluded group.
     *
     * @param name the group's name
     * @param rule the group's rule
     * @param report the operation's report for an {@link Operation} rule, else null
     * @param record the step's record for a {@link Policy} rule, else null
     */
    public record Report(String name, Rule rule, @Nullable ClipReport report, @Nullable StepRecord record) {
        /** {@return whether the group was excluded (its rule is {@link Excluded}): neither report nor record} */
        public boolean excluded() {
            return rule instanceof Excluded;
        }
    }

    /**
     * Clips every group by its rule, in order; see the class comment for the checks made first.
     *
     * @param clipper the clipper every group runs on
     * @param groups the groups, in the order they are clipped
     * @return one report per group, in the order of {@code groups}
     * @throws NullPointerException if an argument or a group is null (nothing modified)
     * @throws IllegalArgumentException if two groups share a name, groups overlap, or a group holds a device
     *     tensor and the clipper runs on the CPU (nothing modified)
     * @throws IllegalStateException if a tensor's memory was closed or freed (nothing modified)
     * @throws dev.gradclip.NonFiniteGradientException if a group's rule throws it under ERROR (the groups
     *     before it were clipped)
     */
    public static List<Report> clip(Clipper clipper, List<Group> groups) {
        Objects.requireNonNull(clipper, "clipper is null");
        Objects.requireNonNull(groups, "group list is null");
        Set<String> names = new HashSet<>();
        List<Tensor> all = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            Group g = Objects.requireNonNull(groups.get(i), "group " + i + " is null");
            if (!names.add(g.name())) throw new IllegalArgumentException("two groups are named '" + g.name() + "'");
            for (Tensor t : g.grads().tensors()) {
                if (t instanceof Tensor.Device && clipper.backend() == Backend.CPU) {
                    throw new IllegalArgumentException("group " + g.name() + " holds a device tensor, the clipper runs on the CPU");
                }
            }
            try {
                g.grads().checkAccessible();
            } catch (IllegalStateException e) {
                throw new IllegalStateException("group " + g.name() + ": " + e.getMessage(), e);
            }
            all.addAll(g.grads().tensors());
        }
        try {
            GradientSet.of(all);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("groups overlap (a tensor would be clipped twice): " + e.getMessage(), e);
        }
        List<Report> out = new ArrayList<>(groups.size());
        for (Group g : groups) {
            Rule r = g.rule();
            if (r instanceof Excluded) {
                out.add(new Report(g.name(), r, null, null));
            } else if (r instanceof Operation) {
                out.add(new Report(g.name(), r, clipper.apply(g.grads(), ((Operation) r).operation()), null));
            } else {
                out.add(new Report(g.name(), r, null, ((Policy) r).clipper().step(clipper, g.grads())));
            }
        }
        return out;
    }
}
