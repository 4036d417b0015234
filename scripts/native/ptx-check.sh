#!/usr/bin/env bash
# ptx-check.sh - "GPU truth without a GPU": what ptxas and the PTX say about the kernels, checked in CI.
#
#   scripts/native/ptx-check.sh [ARCH ...]     default: sm_90 (H100/H200); e.g. sm_75 sm_90 sm_120
#
# For each architecture the kernels (src/main/cuda/gradclip_kernels.cu, with the library's flags:
# --fmad=false, no fast-math) are compiled to a cubin with -Xptxas -v,-warn-lmem-usage,-warn-spills,
# and to PTX. It fails (exit 1) when
#   - any kernel has a stack frame, spill stores or spill loads, or ptxas warns about local memory
#     (per-element arrays that were not kept in registers);
#   - PTX outside libdevice (__internal_*/__nv_* functions: pow's own fma is its business) holds an fma
#     (a contraction of a*b + c would change the canonical roundings) or any .ftz (flushed subnormals);
#   - a streaming kernel (norm_partials, scale, clip_value) has no vector global load
#     (ld.global.cs.v4.f32 / .v2.f64 / .v2.u32): the loads-in-flight design depends on them;
#   - an fp16 kernel decodes in software instead of cvt.f32.f16.
# Without nvcc it says so and exits 0 (CI machines without the CUDA toolkit skip it); GC_PTX_REQUIRE=1
# makes a missing nvcc an error. Takes ~1 min per architecture on 2 busy cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NVCC="${NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}"
OUT="${PTX_CHECK_DIR:-$ROOT/build/ptx-check}"
ARCHS=("$@")
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=(sm_90)
if [ ! -x "$NVCC" ]; then
  echo "ptx-check: no nvcc at $NVCC: skipped" >&2
  [ "${GC_PTX_REQUIRE:-0}" = 1 ] && exit 1
  exit 0
fi
mkdir -p "$OUT"
SRC="$ROOT/src/main/cuda/gradclip_kernels.cu"
FLAGS=(-std=c++17 --fmad=false -I "$ROOT/src/main/cuda" -I "$ROOT/src/main/cpp")
rc=0
for arch in "${ARCHS[@]}"; do
  echo "== ptx-check $arch"
  "$NVCC" "${FLAGS[@]}" -arch="$arch" -cubin -Xptxas -v,-warn-lmem-usage,-warn-spills -o "$OUT/kernels-$arch.cubin" "$SRC" 2> "$OUT/ptxas-$arch.log" \
    || { cat "$OUT/ptxas-$arch.log" >&2; exit 1; }
  "$NVCC" "${FLAGS[@]}" -arch="$arch" -ptx -o "$OUT/kernels-$arch.ptx" "$SRC"
  python3 "$ROOT/scripts/native/ptx_lint.py" "$OUT/ptxas-$arch.log" "$OUT/kernels-$arch.ptx" || rc=1
done
exit $rc
