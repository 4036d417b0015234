package dev.gradclip.internal;

import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether a class belongs to gradclip itself, for the capabilities of this package that must not
 * reach user code ({@link Memory}). In a named module (the module path), a class belongs to gradclip when
 * it is in gradclip's module; on the class path, when it was loaded by the same class loader from the same
 * code source (the same jar, or the same classes folder) as {@code owner}. A class of another jar or
 * folder does not belong, whatever its package is called.
 */
final class LibraryCallers {
    private LibraryCallers() {
    }

    /**
     * Throws unless {@code caller} belongs to gradclip (see the class comment).
     *
     * @param caller the class asking for the capability
     * @param owner the class that hands the capability out
     * @throws IllegalCallerException when {@code caller} is not a class of gradclip
     */
    static void require(Class<?> caller, Class<?> owner) {
        if (!belongs(caller, owner)) {
            throw new IllegalCallerException(owner.getName() + " is internal to gradclip and not available to "
                    + caller.getName() + " (loaded from " + origin(caller) + "; gradclip is " + origin(owner) + ")");
        }
    }

    private static boolean belongs(Class<?> caller, Class<?> owner) {
        Module module = owner.getModule();
        if (module.isNamed()) {
            return caller.getModule() == module;
        }
        if (caller.getClassLoader() != owner.getClassLoader()) {
            return false;
        }
        String ours = location(owner);
        return ours != null && ours.equals(location(caller));
    }

    private static String origin(Class<?> c) {
        if (c.getModule().isNamed()) {
            return "module " + c.getModule().getName();
        }
        String where = location(c);
        return where == null ? "an unknown code source" : where;
    }

    /** The code source's URL as text (compared as text: URL.equals may resolve host names). */
    private static @Nullable String location(Class<?> c) {
        ProtectionDomain pd = c.getProtectionDomain();
        CodeSource cs = pd == null ? null : pd.getCodeSource();
        URL url = cs == null ? null : cs.getLocation();
        return url == null ? null : url.toExternalForm();
    }
}
