#!/usr/bin/env bash
# Runs on the GPU machine, from a carried target/gpu-kit: the CPU-vs-CUDA parity suite (bitwise), then the
# same suite under compute-sanitizer memcheck and racecheck. Logs and JUnit XML go to the folder given
# (default ./gpu-results). Needs nothing but the kit, a CUDA driver and compute-sanitizer on the PATH.
set -uo pipefail
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUTDIR="${1:-./gpu-results}"
mkdir -p "$OUTDIR"
JAVA="$KIT/jre/bin/java"
CP="$KIT/lib/*"
CASES="${GRADCLIP_PARITY_CASES:-1500}"
status=0
{
  echo "# gradclip GPU run, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  "$JAVA" -version 2>&1 | head -1
} | tee "$OUTDIR/machine.txt"

junit() { # $1 = report folder, rest = extra JVM args
  local reports="$1"; shift
  "$JAVA" -Xmx16g "$@" -cp "$CP" org.junit.platform.console.ConsoleLauncher execute \
    --select-class dev.gradclip.parity.CudaParityTest --reports-dir "$reports" --details=summary --disable-banner
}

echo "== info" | tee -a "$OUTDIR/summary.txt"
"$JAVA" -cp "$CP" dev.gradclip.cli.Main info | tee -a "$OUTDIR/summary.txt"

echo "== CPU vs CUDA parity ($CASES random cases)" | tee -a "$OUTDIR/summary.txt"
junit "$OUTDIR/parity" -Dgradclip.parity.cases="$CASES" 2>&1 | tee "$OUTDIR/parity.log" | tail -20 | tee -a "$OUTDIR/summary.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# on a GPU machine an aborted test (CUDA not available to the JVM) is a failure, not a skip
if nvidia-smi >/dev/null 2>&1 && grep -Eq '\b[1-9][0-9]* tests aborted' "$OUTDIR/parity.log"; then
  echo "CUDA parity tests aborted on a machine with a GPU: the JVM could not use CUDA (see info above)" | tee -a "$OUTDIR/summary.txt"
  status=1
fi

if [ "${GC_KIT_SANITIZERS:-1}" = 0 ]; then
  echo "compute-sanitizer runs skipped (GC_KIT_SANITIZERS=0; scripts/gpu/check runs them on the C++ driver)" | tee -a "$OUTDIR/summary.txt"
elif command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer --tool $tool (100 random cases)" | tee -a "$OUTDIR/summary.txt"
    compute-sanitizer --tool "$tool" --target-processes all --error-exitcode 99 \
      "$JAVA" -Xmx16g -Dgradclip.parity.cases=100 -cp "$CP" org.junit.platform.console.ConsoleLauncher execute \
      --select-class dev.gradclip.parity.CudaParityTest --reports-dir "$OUTDIR/$tool" --details=summary --disable-banner \
      > "$OUTDIR/$tool.log" 2>&1
    rc=$?
    grep -E "ERROR SUMMARY|tests (successful|failed|skipped)" "$OUTDIR/$tool.log" | tee -a "$OUTDIR/summary.txt"
    [ "$rc" -eq 0 ] || status=1
  done
else
  echo "compute-sanitizer not found" | tee -a "$OUTDIR/summary.txt"
fi
exit $status
