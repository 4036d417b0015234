import dev.gradclip.internal.Memory;

/**
 * scripts/check-jar.sh, on the class path (where JPMS hides nothing): a user's class asks for
 * dev.gradclip.internal.Memory's capability. Prints "refused: ..." and exits 0 when it gets an
 * IllegalCallerException; exits 1 if it obtained the capability.
 */
public final class ClassPathIntruder {
    public static void main(String[] args) {
        try {
            Memory m = Memory.access();
            System.out.println("obtained " + m + ": address " + m.allocate(8));
            System.exit(1);
        } catch (IllegalCallerException expected) {
            System.out.println("refused: " + expected.getMessage());
        }
    }
}
