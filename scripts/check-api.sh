#!/usr/bin/env bash
# API compatibility of the working tree against an earlier version built locally from git (japicmp):
#   scripts/check-api.sh v0.1.0        # a tag, branch or commit
# Builds the baseline's main jar from a detached worktree, installs it into the local Maven repository as
# dev.gradclip:gradclip:apibase-<commit>, then runs the pom's japicmp execution against it: binary- or
# source-incompatible changes to the package dev.gradclip fail. Once a release is on Maven Central, the
# pom's gradclip.api.baseline (that release) and japicmp.skip=false make `mvn verify` do the same.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="${1:?usage: scripts/check-api.sh GIT_REF (the baseline: a tag, branch or commit)}"
cd "$ROOT"
commit=$(git rev-parse --short "$ref^{commit}")
read -r -a mvn_config <<< "$(cat .mvn/maven.config 2>/dev/null || true)"
mvn_q=(mvn -B -q -Dgradclip.nocuda -Dmaven.test.skip=true -Dmaven.javadoc.skip=true -Dmaven.source.skip=true ${mvn_config[@]+"${mvn_config[@]}"})
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
git worktree add -q --detach "$work/base" "$commit"
echo "building the baseline $ref ($commit) ..." >&2
(cd "$work/base" && "${mvn_q[@]}" -Djapicmp.skip=true package >&2)
base_jar=""
for f in "$work"/base/target/gradclip-*.jar; do
    case "$f" in *-sources.jar | *-javadoc.jar | *-tests.jar | *-linux-x86_64.jar) continue ;; esac
    base_jar="$f"
done
[ -n "$base_jar" ] || { echo "FAIL: the baseline built no main jar" >&2; exit 1; }
"${mvn_q[@]}" install:install-file -Dfile="$base_jar" -DgroupId=dev.gradclip -DartifactId=gradclip \
    -Dversion="apibase-$commit" -Dpackaging=jar >&2
echo "comparing the working tree with $ref ($commit) ..." >&2
"${mvn_q[@]}" package >&2
if mvn -B ${mvn_config[@]+"${mvn_config[@]}"} -Djapicmp.skip=false -Dgradclip.api.baseline="apibase-$commit" \
        japicmp:cmp@api-compatibility > "$work/cmp.log" 2>&1; then
    echo "API compatible with $ref ($commit); report: target/japicmp/api-compatibility.md"
else
    grep -E 'ERROR|incompatib' "$work/cmp.log" | head -20 >&2
    echo "FAIL: the API is not compatible with $ref ($commit); report: target/japicmp/api-compatibility.md" >&2
    exit 1
fi
