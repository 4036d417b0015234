#!/usr/bin/env bash
# run-jmh.sh OUTDIR [BACKEND] - the JMH short mode of issue 13 (item 4): DeviceClipBenchmark (bench/jmh) on
# device-resident gradients: clipByGlobalNorm (sync), clipByGlobalNormAsync().get() (the fused path), norms;
# clipping and not clipping; on the default stream and on a caller stream; gpt2-small and many-small.
# 20 JMH forks of ~3-4 s each: about 2 minutes on the GPU machine. Results: OUTDIR/jmh.json (JMH's JSON),
# OUTDIR/jmh.txt. BACKEND: cuda (default), or emulated for the dry run (1/1000 sizes, 300 tensors, a subset).
#
# Two layouts: the GPU kit (target/gpu-kit: jre/, lib/, jmh/, shapes/ beside this script; no Java on the
# machine, the kit's jlink'd JRE runs it), or the source tree (java on PATH, bench/jmh/target built by
# `mvn -f bench/jmh/pom.xml package` after the core jar was installed).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: run-jmh.sh OUTDIR [cuda|emulated]}"
BACKEND="${2:-cuda}"
mkdir -p "$OUT"
if [ -d "$HERE/jre" ]; then                     # the kit
  JAVA="${JAVA:-$HERE/jre/bin/java}"
  CP="$HERE/jmh/*:$HERE/lib/*"
  SHAPES="$HERE/shapes"
else                                            # the source tree
  ROOT="$(cd "$HERE/../.." && pwd)"
  JAVA="${JAVA:-java}"
  CP="$ROOT/bench/jmh/target/gradclip-jmh.jar:$ROOT/bench/jmh/target/lib/*"
  SHAPES="$ROOT/src/test/resources/shapes"
fi
ARGS=(-f 1 -foe true -rf json -rff "$OUT/jmh.json" -p "backend=$BACKEND")
if [ "$BACKEND" = emulated ]; then  # the dry run: the code path, not a measurement
  ARGS+=(-wi 0 -i 1 -r 200ms -p shapes=many-small -p stream=caller -p scaleDown=1000 -p maxTensors=300)
  HEAP=-Xmx1g
else
  ARGS+=(-wi 1 -w 500ms -i 3 -r 500ms -p shapes=gpt2-small,many-small -p stream=default,caller)
  HEAP=-Xmx8g
fi
"$JAVA" -cp "$CP" org.openjdk.jmh.Main 'dev.gradclip.bench.jmh.DeviceClipBenchmark' "${ARGS[@]}" \
  -jvmArgsAppend "$HEAP -Dgradclip.jmh.shapes=$SHAPES" 2>&1 | tee "$OUT/jmh.txt" | grep -E '^(Benchmark|DeviceClipBenchmark|# Run complete)' 
exit "${PIPESTATUS[0]}"
