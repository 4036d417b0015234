#!/usr/bin/env bash
# Builds target/gpu-kit: everything the GPU tests need on a lent GPU machine that has CUDA but no Java
# and no network: a jlink'd JRE, the gradclip jar (with libgradclip.so built by nvcc), the test classes,
# their dependencies and the JUnit console launcher, plus run-gpu-tests.sh. About 40-50 MiB, under the
# device tool's 64 MiB carry limit. Use:  scripts/gpu/make-kit.sh  then carry target/gpu-kit and run
#   bash target/gpu-kit/run-gpu-tests.sh "$OUT"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
KIT="$ROOT/target/gpu-kit"
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.10.2
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -B -ntp -q -DskipTests package >&2     # with nvcc present this builds libgradclip.so into the jar
fi
rm -rf "$KIT"
mkdir -p "$KIT/lib"
cp "$(ls target/gradclip-*.jar | grep -v -e sources -e tests | head -1)" "$KIT/lib/gradclip.jar"
(cd target/test-classes && "$JAVA_HOME/bin/jar" cf "$KIT/lib/gradclip-tests.jar" .)
mvn -B -ntp -q dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$KIT/lib" >&2
mvn -B -ntp -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory="$KIT/lib" >&2
if ! unzip -l "$KIT/lib/gradclip.jar" | grep -q 'backend/nativeapi/linux-x86_64/libgradclip.so'; then
  echo "warning: the jar holds no libgradclip.so (nvcc absent at build time): the CUDA tests will skip" >&2
fi
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.xml,java.naming,jdk.unsupported \
  --strip-debug --strip-native-debug-symbols=exclude-debuginfo-files --compress=2 \
  --no-header-files --no-man-pages --output "$KIT/jre"
cp scripts/gpu/run-gpu-tests.sh "$KIT/"
du -sh "$KIT" >&2
echo "$KIT"
