#!/usr/bin/env python3
"""Check with numpy the archives the Java writer tests leave in target/npz-written/.

Run after `mvn test -Dtest='dev.gradclip.cli.**'` from the repository root (needs numpy):
    python3 scripts/npz/verify_written.py
A manual cross-check only; the Java tests do not need Python.
"""
import os
import sys
import zipfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
W = os.path.join(ROOT, "target", "npz-written")
R = os.path.join(ROOT, "src", "test", "resources", "npz")


def same(a, b, name):
    assert a.shape == b.shape, (name, a.shape, b.shape)
    assert a.dtype.newbyteorder("<") == b.dtype.newbyteorder("<"), (name, a.dtype, b.dtype)
    assert b.dtype.byteorder in ("<", "="), (name, b.dtype)  # the writer is little-endian
    av = a.astype(a.dtype.newbyteorder("<")).view(f"u{a.dtype.itemsize}")
    bv = b.view(f"u{b.dtype.itemsize}")
    assert np.array_equal(av, bv), name  # bit-identical, NaN payloads included


def compress_types(path):
    with zipfile.ZipFile(path) as z:
        return {i.compress_type for i in z.infolist()}


def main():
    ref = np.load(os.path.join(R, "mixed_stored.npz"))
    for f, ct in (("mixed_copy_stored.npz", zipfile.ZIP_STORED), ("mixed_copy_deflated.npz", zipfile.ZIP_DEFLATED)):
        p = os.path.join(W, f)
        got = np.load(p)
        assert list(got.keys()) == list(ref.keys()), (f, list(got.keys()))
        for k in ref.keys():
            same(ref[k], got[k], f + ":" + k)
        assert compress_types(p) == {ct}, (f, compress_types(p))
        print("ok", f, len(ref.keys()), "arrays")

    for f, ct in (("every_stored.npz", zipfile.ZIP_STORED), ("every_deflated.npz", zipfile.ZIP_DEFLATED)):
        p = os.path.join(W, f)
        got = np.load(p)
        names = list(got.keys())
        for k in names:
            a = got[k]
            parts = k.split("_")
            assert str(a.dtype) == parts[0], (k, a.dtype)
            assert a.shape == tuple(int(x) for x in parts[1:]), (k, a.shape)
            n = a.size
            i = np.arange(n, dtype=np.uint64)
            if a.dtype == np.float16:
                exp = ((i * 40503 + 7) & 0xFFFF).astype(np.uint16)
            elif a.dtype == np.float32:
                exp = ((i * 0x9E3779B1 + 12345) & 0xFFFFFFFF).astype(np.uint32)
            else:
                with np.errstate(over="ignore"):
                    exp = i * np.uint64(0x9E3779B97F4A7C15) + np.uint64(99)
            assert np.array_equal(a.reshape(-1).view(exp.dtype), exp), k
        assert compress_types(p) == {ct}, (f, compress_types(p))
        print("ok", f, len(names), "arrays")
    print("all written archives verified with numpy", np.__version__)


if __name__ == "__main__":
    sys.exit(main())
