"""The benchmark's gradient values, bit for bit dev.gradclip.bench.Data (see its Javadoc): dataset
value-f has exactly f % of the elements of every full block of 100 outside [-0.5, 0.5], at positions
chosen by one of 4,096 pseudo-random permutations per block; inside magnitudes in [0, 0.5), outside in
[0.75, 1), random signs. uint32 arithmetic wraps as Java's int does."""
import os
import zlib

import numpy as np

BOUND = 0.5
FRACTIONS = (0, 1, 5, 30, 90)
BASE_FRACTION = 5
BLOCK = 100
PERMS = 4096
M = 0xFFFFFFFF


def _mix_int(h):
    h &= M
    h ^= h >> 16
    h = (h * 0x7FEB352D) & M
    h ^= h >> 15
    h = (h * 0x846CA68B) & M
    h ^= h >> 16
    return h


def _mix(h):
    """numpy uint32 array version of _mix_int (in place on a copy)."""
    h = h.astype(np.uint32, copy=True)
    with np.errstate(over="ignore"):
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x7FEB352D)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x846CA68B)
        h ^= h >> np.uint32(16)
    return h


def _ranks():
    rank = np.empty((PERMS, BLOCK), dtype=np.uint8)
    for p in range(PERMS):
        perm = list(range(BLOCK))
        for k in range(BLOCK - 1):
            r = _mix_int(p * 0x9E3779B1 + k * 0x85EBCA6B + 0x1B873593)
            j = k + r % (BLOCK - k)
            perm[k], perm[j] = perm[j], perm[k]
        for k in range(BLOCK):
            rank[p, perm[k]] = k
    return rank


RANK = _ranks()


def sizes(shapes_dir, name):
    out = []
    with open(os.path.join(shapes_dir, name + ".txt")) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            n = 1
            for d in s.split("x"):
                n *= int(d)
            out.append(n)
    return out


RANK_FLAT = RANK.reshape(-1)
POS = np.arange(BLOCK, dtype=np.int64)


def values(t, n, fraction, block=BLOCK << 16):
    """Tensor t of dataset value-fraction as float32; returns (array, number of elements outside)."""
    out = np.empty(n, dtype=np.float32)
    outside = 0
    tb = np.uint32((t * 0x85EBCA6B) & M)
    with np.errstate(over="ignore"):
        for start in range(0, n, block):   # start is a multiple of BLOCK
            end = min(n, start + block)
            i = np.arange(start, end, dtype=np.uint32)
            h = _mix(i * np.uint32(0x9E3779B1) + tb)
            b = np.arange(start // BLOCK, (end + BLOCK - 1) // BLOCK, dtype=np.uint32)
            p = (_mix(b * np.uint32(0x9E3779B1) + tb + np.uint32(0x68E31DA4)) & np.uint32(PERMS - 1)).astype(np.int64)
            idx = (p[:, None] * BLOCK + POS[None, :]).reshape(-1)[:end - start]
            out_mask = RANK_FLAT[idx] < fraction
            mag = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -25)
            mag[out_mask] = np.float32(0.75) + (h[out_mask] >> np.uint32(10)).astype(np.float32) * np.float32(2.0 ** -24)
            np.negative(mag, out=mag, where=(h & np.uint32(1)) != 0)
            out[start:end] = mag
            outside += int(np.count_nonzero(out_mask))
    return out, outside


# ---- the run's dataset cache, written by dev.gradclip.bench.DataCache (see its Javadoc for the format)
CACHE_FORMAT = "gradclip-bench-data 1"
CACHE_DTYPES = {"fp32": "<f4", "bf16": "<i2", "fp16": "<f2"}   # bf16 as its int16 bits (numpy has no bf16)


def read_manifest(folder):
    path = os.path.join(folder, "manifest.txt")
    if not os.path.exists(path):
        raise ValueError("no dataset cache in %s (no manifest.txt)" % folder)
    m = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 2:
                continue
            key = ("data", p[1], int(p[2])) if p[0] == "data" else (("norm", p[1]) if p[0] == "norm" else p[0])
            m[key] = p
    return m


def sizes_crc(sizes):
    return zlib.crc32(",".join(str(n) for n in sizes).encode("ascii"))


def load_cached(folder, shapes, sizes, dtype, fractions):
    """The datasets of `fractions` in `dtype` from the cache in `folder`, checked like DataCache.load
    (format, shape set, counts, CRC-32 of the sizes, file sizes, CRC-32 of the bytes): returns
    ({fraction: (flat little-endian numpy array of every tensor concatenated, elements outside)},
    the fp64 norm of the base dataset in that dtype). Raises ValueError when anything differs."""
    m = read_manifest(folder)
    if " ".join(m.get("format", ["format"])[1:]) != CACHE_FORMAT:
        raise ValueError("%s: not a %s cache" % (folder, CACHE_FORMAT))
    elements = sum(sizes)
    if (m["shapes"][1] != shapes or int(m["tensors"][1]) != len(sizes) or int(m["elements"][1]) != elements
            or int(m["sizes-crc32"][1], 16) != sizes_crc(sizes)):
        raise ValueError("%s: the cache was generated for another shape set or shape file" % folder)
    np_dtype = np.dtype(CACHE_DTYPES[dtype])
    out = {}
    for f in fractions:
        if f in out:
            continue
        line = m.get(("data", dtype, f))
        if line is None:
            raise ValueError("%s: no %s value-%d dataset" % (folder, dtype, f))
        nbytes, crc, outside = int(line[3]), int(line[4], 16), int(line[5])
        path = os.path.join(folder, "%s-value-%d.bin" % (dtype, f))
        if nbytes != elements * np_dtype.itemsize or os.path.getsize(path) != nbytes:
            raise ValueError("%s: %d bytes, expected %d" % (path, os.path.getsize(path), elements * np_dtype.itemsize))
        x = np.fromfile(path, dtype=np_dtype)
        got = zlib.crc32(x.view(np.uint8))
        if got != crc:
            raise ValueError("%s: CRC-32 %x, the manifest says %x (damaged or stale cache)" % (path, got, crc))
        out[f] = (x, outside)
    return out, float.fromhex(m[("norm", dtype)][2])


if __name__ == "__main__":
    # python3 gen.py T N F...: the same lines as `java dev.gradclip.bench.Data T N F...`
    import sys
    t, n = int(sys.argv[1]), int(sys.argv[2])
    for f in sys.argv[3:]:
        x, out = values(t, n, int(f))
        h = 0
        for v in x.view(np.int32).tolist():
            h = (h * 31 + v) & 0xFFFFFFFFFFFFFFFF
        print(int(f), out, h - (1 << 64) if h >= (1 << 63) else h)
