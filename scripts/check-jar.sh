#!/usr/bin/env bash
# The packaged jars alone, with no build tree (run after mvn package/install):
#  1. main jar + natives jar (classifier linux-x86_64) + runtime dependencies in an empty folder: the native
#     libraries load from the classpath (emulated must be available; CUDA available or saying why not);
#  2. the main jar alone (with JavaCPP's classes, without any natives): the CPU backend clips an archive and
#     an off-heap tensor, and the native backends say which jar is missing;
#  3. the same off-heap clip on JDK 22+ (GRADCLIP_JDK25, default Temurin 25): the multi-release jar's FFM
#     version of internal.Memory runs and the JVM prints nothing on stderr (no sun.misc.Unsafe warning);
#  4. the module path, on JDK 17 and JDK 25: a user module (scripts/jar/modular/clip) clips on the CPU
#     through the API of the named module dev.gradclip, which exports exactly its API packages; a user
#     module naming dev.gradclip.internal does not compile, and reflection from a user module is refused;
#     on the class path a user class asking internal.Memory for its capability gets IllegalCallerException;
#     the native backends load on the module path from the natives jar (added with --add-modules).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
main=""
for f in target/gradclip-*.jar; do
    case "$f" in *-sources.jar | *-javadoc.jar | *-tests.jar | *-linux-x86_64.jar) continue ;; esac
    main="$f"
done
[ -n "$main" ] || { echo "FAIL: no main jar in target/ (run mvn package first)" >&2; exit 1; }
natives="${main%.jar}-linux-x86_64.jar"
[ -f "$natives" ] || { echo "FAIL: no natives jar $natives" >&2; exit 1; }
jdk25="${GRADCLIP_JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$main" "$work/gradclip.jar"
cp "$natives" "$work/gradclip-linux-x86_64.jar"
cp examples/grads-small.npz "$work/in.npz"
mvn -q -B -ntp dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib" >&2
javacpp=$(ls "$work"/lib/javacpp-*.jar | grep -v -e linux -e macosx -e windows -e android -e ios | head -1)
javac -d "$work/smoke" -cp "$work/gradclip.jar" scripts/jar/OffHeapClip.java
jspecify=$(ls "$work"/lib/jspecify-*.jar | head -1)
# users compile against the module with what Maven gives them: javacpp and jspecify (requires static transitive)
javac -d "$work/modclip" -p "$work/gradclip.jar:$javacpp:$jspecify" $(find scripts/jar/modular/clip -name '*.java')
javac -d "$work/cpintruder" -cp "$work/gradclip.jar" scripts/jar/ClassPathIntruder.java
intruder_sources=$(find "$ROOT/scripts/jar/modular/intruder" -name '*.java')
cd "$work"

echo "-- 1. main jar + natives jar + dependencies"
out=$(java -Dorg.bytedeco.javacpp.cachedir="$work/cache" -cp "gradclip.jar:gradclip-linux-x86_64.jar:lib/*" dev.gradclip.cli.Main info)
echo "$out"
echo "$out" | grep -q '"name":"emulated","available":true' || { echo "FAIL: libgradclip-emu did not load from the natives jar" >&2; exit 1; }
echo "$out" | grep -q '"name":"cuda","available":\(true\|false,"reason":"[^"]*CUDA error\)' \
  || echo "note: the CUDA backend's status does not name a CUDA error (library not built here?)" >&2
# libgradclip-cpu (the CPU backend's native kernels) loads from the natives jar too
java -Dorg.bytedeco.javacpp.cachedir="$work/cache" -cp "gradclip.jar:gradclip-linux-x86_64.jar:lib/*" dev.gradclip.backend.cpu.CpuBackend --require-native \
  || { echo "FAIL: libgradclip-cpu did not load from the natives jar" >&2; exit 1; }

echo "-- 2. the main jar alone (JavaCPP's classes, no natives)"
cp="gradclip.jar:$javacpp"
out=$(java -Dorg.bytedeco.javacpp.cachedir="$work/cache2" -cp "$cp" dev.gradclip.cli.Main info)
echo "$out"
echo "$out" | grep -q '"name":"emulated","available":false,"reason":"[^"]*JavaCPP.s natives for linux-x86_64 are not on the class path' \
  || { echo "FAIL: without natives, the emulated backend does not say what is missing" >&2; exit 1; }
clip=$(java -cp "$cp" dev.gradclip.cli.Main clip --in in.npz --out out.npz --op global-norm --max-norm 1 --backend cpu)
echo "$clip"
echo "$clip" | grep -q '"backend":"cpu"' && [ -s out.npz ] || { echo "FAIL: the CPU clip did not run from the main jar alone" >&2; exit 1; }
java -cp "$cp:smoke" OffHeapClip
out=$(java -cp "gradclip.jar:smoke" dev.gradclip.cli.Main info)
echo "$out" | grep -q '"name":"cpu","available":true' || { echo "FAIL: without JavaCPP the CPU backend is unavailable" >&2; exit 1; }

echo "-- 3. JDK 22+: the FFM version of internal.Memory, nothing on stderr"
# --enable-native-access: JavaCPP's System.loadLibrary (the CPU backend's optional native kernels, the
# native backends) is a restricted method on JDK 24+, warned about without it; the Unsafe deprecation
# warning that this check is about has no such switch and must not appear at all
if [ -x "$jdk25/bin/java" ]; then
    "$jdk25/bin/java" -cp "$cp:smoke" OffHeapClip 2> stderr.txt
    if grep -q 'sun.misc.Unsafe' stderr.txt; then
        echo "FAIL: JDK 25 warned about sun.misc.Unsafe:" >&2
        cat stderr.txt >&2
        exit 1
    fi
    "$jdk25/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp:smoke" OffHeapClip 2> stderr.txt
    if [ -s stderr.txt ]; then
        echo "FAIL: JDK 25 printed on stderr:" >&2
        cat stderr.txt >&2
        exit 1
    fi
    "$jdk25/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" dev.gradclip.cli.Main clip --in in.npz --out out25.npz --op global-norm --max-norm 1 --backend cpu >/dev/null 2> stderr.txt
    [ ! -s stderr.txt ] || { echo "FAIL: the CLI on JDK 25 printed on stderr:" >&2; cat stderr.txt >&2; exit 1; }
    cmp -s out.npz out25.npz || { echo "FAIL: JDK 17 and JDK 25 wrote different archives" >&2; exit 1; }
else
    echo "FAIL: no JDK 22+ at $jdk25 (set GRADCLIP_JDK25)" >&2
    exit 1
fi
echo "-- 4. the module path (JDK 17 and JDK 25), and internal.Memory out of reach"
for jdk in "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" "$jdk25"; do
    v=$("$jdk/bin/java" -version 2>&1 | head -1)
    echo "   $v"
    # JavaCPP's Loader (module org.bytedeco.javacpp) calls System.load, a restricted method on JDK 24+
    flags=()
    [ "$jdk" = "$jdk25" ] && flags=(--enable-native-access=org.bytedeco.javacpp,dev.gradclip)
    out=$("$jdk/bin/java" ${flags[@]+"${flags[@]}"} -Dorg.bytedeco.javacpp.cachedir="$work/cache3" \
        -p "gradclip.jar:$javacpp:modclip" -m example.clip/example.clip.ModularClip 2> stderr.txt)
    echo "$out"
    echo "$out" | grep -q '^ok 13.0 on cpu from module dev.gradclip' || { echo "FAIL: the module-path clip did not run" >&2; cat stderr.txt >&2; exit 1; }
    [ "$(echo "$out" | grep -c '^refused: ')" = 2 ] || { echo "FAIL: reflection into dev.gradclip.internal was not refused twice" >&2; exit 1; }
    [ ! -s stderr.txt ] || { echo "FAIL: the module-path clip printed on stderr ($v):" >&2; cat stderr.txt >&2; exit 1; }
    # the Java kernels' SIMD loops: dev.gradclip does not require jdk.incubator.vector, it adds the read edge
    "$jdk/bin/java" ${flags[@]+"${flags[@]}"} --add-modules jdk.incubator.vector -Dgradclip.cpu.native=false \
        -p "gradclip.jar:$javacpp:modclip" -m example.clip/example.clip.ModularClip 2>/dev/null | grep -q '^ok 13.0 on cpu' \
        || { echo "FAIL: the module-path clip with jdk.incubator.vector (Vector API loops) did not run ($v)" >&2; exit 1; }
    if "$jdk/bin/javac" -d intruder -p "gradclip.jar:$javacpp:$jspecify" $intruder_sources 2> javac.txt; then
        echo "FAIL: a user module compiled against dev.gradclip.internal ($v)" >&2; exit 1
    fi
    grep -q 'package dev.gradclip.internal is not visible' javac.txt && grep -q 'does not export it' javac.txt \
        || { echo "FAIL: unexpected javac error for the intruder module:" >&2; cat javac.txt >&2; exit 1; }
    echo "   a user module naming dev.gradclip.internal does not compile: $(grep -m1 'does not export' javac.txt | sed 's/^ *//')"
    out=$("$jdk/bin/java" -cp "gradclip.jar:$javacpp:cpintruder" ClassPathIntruder) \
        || { echo "FAIL: on the class path a user class obtained internal.Memory ($v): $out" >&2; exit 1; }
    echo "   class path: $out"
    echo "$out" | grep -q '^refused: dev.gradclip.internal.Memory is internal to gradclip and not available to ClassPathIntruder' \
        || { echo "FAIL: unexpected class-path refusal" >&2; exit 1; }
    # the command line as the module's main class, with the natives as modules
    out=$("$jdk/bin/java" ${flags[@]+"${flags[@]}"} -Dorg.bytedeco.javacpp.cachedir="$work/cache4" \
        -p "gradclip.jar:gradclip-linux-x86_64.jar:lib" --add-modules dev.gradclip.linux.x86_64,org.bytedeco.javacpp.linux.x86_64 \
        -m dev.gradclip/dev.gradclip.cli.Main info)
    echo "$out" | grep -q '"name":"emulated","available":true' \
        || { echo "FAIL: on the module path libgradclip-emu did not load from the natives jar ($v): $out" >&2; exit 1; }
    echo "   module path with the natives jar: the emulated backend loads"
    # the command line's ServiceLoader lookup of an ExchangeProvider works in the named module (module-info
    # "uses" it): with no provider, a clean exit 2 instead of a ServiceConfigurationError
    code=0
    "$jdk/bin/java" -p "gradclip.jar:$javacpp" -m dev.gradclip/dev.gradclip.cli.Main clip --in in.npz --out sharded.npz \
        --op global-norm --max-norm 1 --backend cpu --rank 0 --world-size 1 --rendezvous tcp://127.0.0.1:1 2> stderr.txt || code=$?
    [ "$code" = 2 ] && grep -q 'no exchange provider' stderr.txt && [ ! -e sharded.npz ] \
        || { echo "FAIL: module path, sharded clip without a provider: exit $code" >&2; cat stderr.txt >&2; exit 1; }
done
echo "jar check passed: natives load from the natives jar (class path and module path); the main jar alone clips on the CPU (JDK 17 and 25, no warnings, class path and module path); internal.Memory is out of reach"
