/** scripts/check-jar.sh: a user's module that names gradclip's internal package (must not compile). */
module example.intruder {
    requires dev.gradclip;
}
