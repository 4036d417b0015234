#!/usr/bin/env bash
# End-to-end smoke test of bin/gradclip on examples/grads-small.npz, checked with numpy.
# Manual check only (needs python3 with numpy); the Java tests do not need it.
#   scripts/npz/smoke_cli.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
GC="$ROOT/bin/gradclip"
IN="$ROOT/examples/grads-small.npz"

"$GC" info > "$TMP/info.json"
"$GC" clip --in "$IN" --out "$TMP/gn.npz" --op global-norm --max-norm 1 > "$TMP/gn.json"
"$GC" clip --in "$IN" --out "$TMP/v.npz" --op value --max 0.5 > "$TMP/v.json"
"$GC" clip --in "$IN" --op norms --norm-type inf > "$TMP/n.json"
set +e
"$GC" clip --in "$IN" --out "$TMP/bad.npz" --op global-norm --max-norm -1 > "$TMP/bad.out" 2> "$TMP/bad.err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "expected exit 2, got $rc" >&2; exit 1; }
[ ! -s "$TMP/bad.out" ] && [ ! -e "$TMP/bad.npz" ] || { echo "usage error wrote output" >&2; exit 1; }

python3 - "$IN" "$TMP" <<'PY'
import json, sys
import numpy as np
src, tmp = sys.argv[1], sys.argv[2]
a = np.load(src)
json.load(open(f"{tmp}/info.json"))
j = json.load(open(f"{tmp}/gn.json"))
b = np.load(f"{tmp}/gn.npz")
assert list(a.keys()) == list(b.keys()) == j["tensor_names"]
total = np.sqrt(sum(float((a[k].astype(np.float64) ** 2).sum()) for k in a))
assert abs(total - j["total_norm"]) <= 1e-12 * total, (total, j["total_norm"])
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    if a[k].dtype == np.float64:
        want = a[k] * j["scale"]
    else:
        want = (a[k].astype(np.float32) * np.float32(j["scale"])).astype(a[k].dtype)
    assert np.array_equal(want, b[k]), k
v = np.load(f"{tmp}/v.npz")
for k in a:
    assert np.array_equal(np.clip(a[k], a[k].dtype.type(-0.5), a[k].dtype.type(0.5)), v[k]), k
n = json.load(open(f"{tmp}/n.json"))
assert n["total_norm"] == max(float(np.abs(a[k].astype(np.float64)).max()) for k in a)
print("smoke ok:", j["backend"], "total_norm", j["total_norm"], "scale", j["scale"])
PY
