#!/usr/bin/env bash
# The jar alone, with no build tree: copies target/gradclip-*.jar and its runtime dependencies to an
# empty folder and checks that the native libraries load from the classpath (emulated must be available;
# CUDA must either be available or say why not).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
jar=$(ls target/gradclip-*.jar | grep -v -e sources -e tests | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$jar" "$work/gradclip.jar"
mvn -q -B -ntp dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib" >&2
cd "$work"
out=$(java -Dorg.bytedeco.javacpp.cachedir="$work/cache" -cp "gradclip.jar:lib/*" dev.gradclip.cli.Main info)
echo "$out"
echo "$out" | grep -q '"name":"emulated","available":true' || { echo "FAIL: libgradclip-emu did not load from the jar" >&2; exit 1; }
echo "$out" | grep -q '"name":"cuda","available":\(true\|false,"reason":"[^"]*CUDA error\)' \
  || echo "note: the CUDA backend's status does not name a CUDA error (library not built here?)" >&2
# libgradclip-cpu (the CPU backend's native kernels) loads from the jar too
java -Dorg.bytedeco.javacpp.cachedir="$work/cache" -cp "gradclip.jar:lib/*" dev.gradclip.backend.cpu.CpuBackend --require-native \
  || { echo "FAIL: libgradclip-cpu did not load from the jar" >&2; exit 1; }
echo "jar check passed: native libraries load from the classpath alone"
