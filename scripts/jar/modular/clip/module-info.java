/** scripts/check-jar.sh: a user's module that clips through gradclip's API on the module path. */
module example.clip {
    requires dev.gradclip;
}
