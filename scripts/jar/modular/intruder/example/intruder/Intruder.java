package example.intruder;

import dev.gradclip.internal.Memory;

/** Must not compile on the module path: dev.gradclip does not export dev.gradclip.internal. */
public final class Intruder {
    public static void main(String[] args) {
        System.out.println(Memory.access().allocate(8));
    }
}
