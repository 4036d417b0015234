#!/usr/bin/env bash
# sanitize.sh - build the emulated backend and the C++ harness with ASan + UBSan and run the harness.
#
#   scripts/native/sanitize.sh              configure, build, run; exit status != 0 on any finding
#   scripts/native/sanitize.sh --print-lib  configure + build only, then print the sanitized
#                                           libgradclip-emu.so path (for the Java parity suite)
#   scripts/native/sanitize.sh --print-preload  print the libasan path to LD_PRELOAD into a JVM
#
# Environment: BUILD_DIR (default build/native-asan), JOBS (default 2), GC_TEST_* (see harness.cpp).
# Running the Java suite against the sanitized library, e.g.:
#   LD_PRELOAD="$(scripts/native/sanitize.sh --print-preload)" \
#   ASAN_OPTIONS=detect_leaks=0:handle_segv=0:halt_on_error=1 \
#   mvn test -Dgradclip.emu.library="$(scripts/native/sanitize.sh --print-lib)"
# (the JVM itself uses SIGSEGV and leaks by design: leave handle_segv=0 and detect_leaks=0 there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build/native-asan}"
JOBS="${JOBS:-2}"
MODE="${1:-run}"

build() {
  cmake -S "$ROOT/cmake" -B "$BUILD_DIR" -DGRADCLIP_SANITIZE=ON -DGRADCLIP_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" >&2
}

case "$MODE" in
  --print-preload)
    gcc -print-file-name=libasan.so
    exit 0 ;;
  --print-lib)
    build
    echo "$BUILD_DIR/libgradclip-emu.so"
    exit 0 ;;
  run|--run) ;;
  *) echo "usage: $0 [--run|--print-lib|--print-preload]" >&2; exit 2 ;;
esac

build
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_init_order=1:check_initialization_order=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="exitcode=88${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# the 67M-element case is skipped (GC_TEST_QUICK=1) unless asked for; the leak loop runs in full
export GC_TEST_QUICK="${GC_TEST_QUICK:-1}"
# 3 x 10^4 calls are plenty for LeakSanitizer (each call now launches ~8 emulated kernels)
export GC_TEST_LEAK_ITERS="${GC_TEST_LEAK_ITERS:-30000}"
log="$BUILD_DIR/sanitize.log"
set +e
"$BUILD_DIR/gradclip_test" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# libgradclip-cpu's SIMD kernels against their C++ reference, on every ISA path this CPU has
if [ "$rc" -eq 0 ] && [ -x "$BUILD_DIR/gradclip_cpu_test" ]; then
  "$BUILD_DIR/gradclip_cpu_test" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
fi
# the planted schedule bugs, the device-guard decisions and the launch plans, under the same sanitizers
for t in emu_schedule_test device_guard_test kernel_test; do
  if [ -x "$BUILD_DIR/$t" ]; then "$BUILD_DIR/$t" 2>&1 | tee -a "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1; fi
done
set -e
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log"; then
  echo "sanitize.sh: sanitizer findings (see $log)" >&2
  [ "$rc" -ne 0 ] || rc=1
fi
if [ "$rc" -ne 0 ]; then
  echo "sanitize.sh: FAILED (exit $rc)" >&2
  exit "$rc"
fi
echo "sanitize.sh: clean under ASan + UBSan + LSan; sanitized library: $BUILD_DIR/libgradclip-emu.so"
