#!/usr/bin/env bash
# Builds target/gpu-kit: everything the GPU tests need on a lent GPU machine that has CUDA but no Java
# and no network: a jlink'd JRE, the gradclip jars (classes, and the natives jar with libgradclip.so built
# by nvcc), the test classes, their dependencies and the JUnit console launcher, plus run-gpu-tests.sh;
# and the JMH benchmarks (bench/jmh: jmh/ with the benchmark jar and JMH, shapes/, run-jmh.sh). About
# 45-55 MiB, under the device tool's 64 MiB carry limit. Use:  scripts/gpu/make-kit.sh  then carry
# target/gpu-kit and run  bash target/gpu-kit/run-gpu-tests.sh "$OUT"  and  bash target/gpu-kit/run-jmh.sh "$OUT/jmh"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
KIT="$ROOT/target/gpu-kit"
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.10.2
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -B -ntp -q -DskipTests install >&2     # with nvcc present this builds libgradclip.so into the natives jar
  mvn -B -ntp -q -f bench/jmh/pom.xml package >&2   # the JMH benchmarks, against the installed jars
fi
rm -rf "$KIT"
mkdir -p "$KIT/lib"
# the classes jar and the natives jar (gradclip-VERSION-linux-x86_64.jar sorts before the classes jar)
cp "$(ls target/gradclip-*.jar | grep -v -e sources -e tests -e javadoc -e linux- | head -1)" "$KIT/lib/gradclip.jar"
cp "$(ls target/gradclip-*-linux-x86_64.jar | head -1)" "$KIT/lib/gradclip-natives.jar"
(cd target/test-classes && "$JAVA_HOME/bin/jar" cf "$KIT/lib/gradclip-tests.jar" .)
mvn -B -ntp -q dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$KIT/lib" >&2
mvn -B -ntp -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory="$KIT/lib" >&2
if ! unzip -l "$KIT/lib/gradclip-natives.jar" | grep -q 'backend/nativeapi/linux-x86_64/libgradclip.so'; then
  echo "warning: the jar holds no libgradclip.so (nvcc absent at build time): the CUDA tests will skip" >&2
fi
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.management,java.xml,java.naming,jdk.unsupported \
  --strip-debug --strip-native-debug-symbols=exclude-debuginfo-files --compress=2 \
  --no-header-files --no-man-pages --output "$KIT/jre"
cp scripts/gpu/run-gpu-tests.sh scripts/gpu/run-jmh.sh "$KIT/"
# JMH: the benchmark jar and JMH's own jars (the gradclip jars are in lib/ already)
mkdir -p "$KIT/jmh" "$KIT/shapes"
cp bench/jmh/target/gradclip-jmh.jar "$KIT/jmh/"
cp bench/jmh/target/lib/jmh-core-*.jar bench/jmh/target/lib/jopt-simple-*.jar bench/jmh/target/lib/commons-math3-*.jar "$KIT/jmh/"
cp src/test/resources/shapes/gpt2-small.txt src/test/resources/shapes/many-small.txt "$KIT/shapes/"
du -sh "$KIT" >&2
echo "$KIT"
