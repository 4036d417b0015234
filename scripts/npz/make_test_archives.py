#!/usr/bin/env python3
"""Generate the .npz test archives under src/test/resources/npz/.

The outputs are committed; the Java tests never run Python. Re-run with
    python3 scripts/npz/make_test_archives.py
from the repository root (needs numpy). Values come from the formula in ramp()
so the Java tests can recompute them. Output is byte-for-byte reproducible
except numpy_savez*.npz, which go through the real np.savez/np.savez_compressed
and so carry the current time in their zip headers.

Value formula (shared with NpzReaderTest): element i (C order) of a ramp array is
    (i * 0.25 - 1.5) cast to the dtype
which is exact in float16, float32 and float64 for the sizes used here.
"""
import io
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "src", "test", "resources", "npz")
EXAMPLES = os.path.join(ROOT, "examples")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def ramp(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float64) * 0.25 - 1.5).astype(dtype).reshape(shape)


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    """entries: list of (entry name, bytes). Fixed timestamps for reproducibility."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = compression
            zf.writestr(info, data)


def savez_like(path, arrays, compressed=False, version=None):
    """Like np.savez / np.savez_compressed but deterministic (fixed zip dates)."""
    entries = [(k + ".npy", npy_bytes(v, version)) for k, v in arrays.items()]
    write_zip(path, entries, zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED)


def specials(dtype):
    info = np.finfo(dtype)
    vals = [0.0, -0.0, 1.0, -2.5, np.nan, np.inf, -np.inf, float(info.max), float(info.tiny),
            float(info.smallest_subnormal)]
    return np.array(vals, dtype=dtype)


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda name: os.path.join(OUT, name)

    mixed = {
        "f2_2x3": ramp((2, 3), np.float16),
        "f4_5": ramp((5,), np.float32),
        "f8_2x2x2": ramp((2, 2, 2), np.float64),
        "scalar_f8": np.array(3.5, dtype=np.float64),
        "scalar_f4": np.array(-0.75, dtype=np.float32),
        "empty_0x3": np.zeros((0, 3), dtype=np.float32),
        "empty_0": np.zeros((0,), dtype=np.float16),
        "f4_2x3x4": ramp((2, 3, 4), np.float32),
        "f4_1x1x1x1x5": ramp((1, 1, 1, 1, 5), np.float32),
        "be_f4_3x2": ramp((3, 2), ">f4"),
        "be_f8_4": ramp((4,), ">f8"),
        "be_f2_3": ramp((3,), ">f2"),
        "specials_f2": specials(np.float16),
        "specials_f4": specials(np.float32),
        "specials_f8": specials(np.float64),
    }
    # The real numpy entry points (savez / savez_compressed) ...
    np.savez(p("numpy_savez.npz"), **mixed)
    np.savez_compressed(p("numpy_savez_compressed.npz"), **mixed)
    # ... and deterministic equivalents (the same bytes per entry, fixed zip dates).
    savez_like(p("mixed_stored.npz"), mixed)
    savez_like(p("mixed_deflated.npz"), mixed, compressed=True)

    # NPY format versions 2.0 and 3.0 (utf-8 header).
    savez_like(p("npy_v2.npz"), {"a": ramp((3, 2), np.float32)}, version=(2, 0))
    savez_like(p("npy_v3.npz"), {"a": ramp((3, 2), np.float64)}, version=(3, 0))

    # Fortran order (the reader converts to C order).
    savez_like(p("fortran.npz"), {
        "f4_2x3": np.asfortranarray(ramp((2, 3), np.float32)),
        "f8_2x3x4": np.asfortranarray(ramp((2, 3, 4), np.float64)),
        "f2_4": np.asfortranarray(ramp((4,), np.float16)),
    })

    # Rejections.
    savez_like(p("int32.npz"), {"ok": ramp((2,), np.float32), "ints": np.arange(6, dtype=np.int32)})
    savez_like(p("complex64.npz"), {"c": np.ones(3, dtype=np.complex64)})
    savez_like(p("bool.npz"), {"b": np.ones(3, dtype=bool)})
    obj = np.empty(2, dtype=object)
    obj[0] = {"a": 1}
    obj[1] = None
    savez_like(p("object_pickled.npz"), {"o": obj})
    savez_like(p("structured.npz"), {"s": np.zeros(2, dtype=[("x", "<f4"), ("y", "<f4")])})

    good = open(p("mixed_stored.npz"), "rb").read()
    with open(p("truncated.npz"), "wb") as f:  # cut in the middle: no central directory
        f.write(good[: len(good) // 2])
    with open(p("garbage.npz"), "wb") as f:
        f.write(b"this is not a zip archive at all\n" * 4)
    with open(p("empty_file.npz"), "wb") as f:
        pass

    full = npy_bytes(ramp((4, 4), np.float32))
    write_zip(p("truncated_entry.npz"), [("t.npy", full[:-10])])
    write_zip(p("trailing_bytes.npz"), [("t.npy", full + b"\0\0\0\0")])

    def raw_npy(header, data=b"", major=1):
        h = header.encode("latin1")
        pad = (64 - (10 + len(h) + 1) % 64) % 64
        h = h + b" " * pad + b"\n"
        return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<H", len(h)) + h + data

    write_zip(p("bad_header.npz"), [("h.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}"))])
    write_zip(p("bad_magic.npz"), [("m.npy", b"\x93NUMPZ\x01\x00" + full[8:])])
    write_zip(p("missing_key.npz"), [("k.npy", raw_npy("{'descr': '<f4', 'shape': (2,), }", b"\0" * 8))])
    write_zip(p("overflow_shape.npz"),
              [("o.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"))])
    write_zip(p("too_many_elements.npz"),
              [("big.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 32768), }"))])
    write_zip(p("negative_dim.npz"),
              [("n.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }"))])
    write_zip(p("unknown_version.npz"), [("u.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", major=9))])
    one = npy_bytes(ramp((2,), np.float32))
    with zipfile.ZipFile(p("duplicate.npz"), "w") as zf:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr(zipfile.ZipInfo("a.npy", date_time=FIXED_DATE), one)
            zf.writestr(zipfile.ZipInfo("a.npy", date_time=FIXED_DATE), one)
    write_zip(p("not_npy_entry.npz"), [("a.npy", one), ("readme.txt", b"hello")])
    # CRC mismatch inside a deflated entry: flip one byte of compressed data.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo("c.npy", date_time=FIXED_DATE), one)
    b = bytearray(buf.getvalue())
    b[30 + len("c.npy") + len(one) - 1] ^= 0xFF  # last data byte of the only entry
    with open(p("bad_crc.npz"), "wb") as f:
        f.write(bytes(b))

    # The example used by the README and the CLI tests: a few "layers" of gradients.
    rng = np.random.default_rng(20260101)
    example = {
        "embed.weight": (rng.standard_normal((16, 8)) * 0.5).astype(np.float32),
        "layer0.weight": (rng.standard_normal((8, 8)) * 2.0).astype(np.float32),
        "layer0.bias": (rng.standard_normal((8,)) * 0.1).astype(np.float32),
        "head.weight": (rng.standard_normal((4, 8)) * 3.0).astype(np.float16),
        "head.bias": (rng.standard_normal((4,))).astype(np.float64),
        "scale": np.array(0.25, dtype=np.float32),
    }
    savez_like(p("grads-small.npz"), example)
    os.makedirs(EXAMPLES, exist_ok=True)
    shutil.copyfile(p("grads-small.npz"), os.path.join(EXAMPLES, "grads-small.npz"))
    print("wrote", len(os.listdir(OUT)), "files to", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
