#!/usr/bin/python3
"""bench/run --self-test: the Python side of the dataset cache gives the PyTorch 1.13 peer the data it
generated before the cache, bit for bit. For every dataset of a cache folder (written by
dev.gradclip.bench.DataCache), loaded with gen.load_cached (which checks sizes and CRC-32s):
  fp32 == gen.values (the numpy mirror of Data.java),
  fp16 == numpy's float32 -> float16 conversion of those values (IEEE round to nearest even),
  bf16 == the round-to-nearest-even of their top 16 bits,
and, where torch is installed, bf16/fp16 == torch's own .to(dtype) of the fp32 values (what
torch_peer.py did before the cache). Also: the outside counts, and the manifest's fp64 norm equals the
norm summed here in element order. Usage: check_cache.py SHAPES_DIR SHAPE_SET CACHE_DIR [DTYPES]"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402


def bf16_bits(x):
    b = x.view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16).view(np.int16)


def main():
    shapes_dir, shapes, folder = sys.argv[1:4]
    dtypes = (sys.argv[4] if len(sys.argv) > 4 else "fp32,bf16,fp16").split(",")
    try:
        import torch
    except ImportError:
        torch = None
    sizes = gen.sizes(shapes_dir, shapes)
    offsets = np.cumsum([0] + sizes)
    for dtype in dtypes:
        cached, norm = gen.load_cached(folder, shapes, sizes, dtype, gen.FRACTIONS)
        for f in gen.FRACTIONS:
            flat, outside = cached[f]
            total_out = 0
            for t, n in enumerate(sizes):
                x, o = gen.values(t, n, f)
                total_out += o
                got = flat[offsets[t]:offsets[t + 1]]
                if dtype == "fp32":
                    want = x.view(np.int32)
                    got = got.view(np.int32)
                elif dtype == "fp16":
                    want = x.astype(np.float16).view(np.int16)
                    got = got.view(np.int16)
                else:
                    want = bf16_bits(x)
                if not np.array_equal(got, want):
                    sys.exit("check_cache: %s %s value-%d tensor %d differs from gen.py" % (shapes, dtype, f, t))
                if torch is not None and dtype != "fp32":
                    tt = torch.from_numpy(x).to(torch.bfloat16 if dtype == "bf16" else torch.float16)
                    if not np.array_equal(tt.view(torch.int16).numpy(), got.view(np.int16)):
                        sys.exit("check_cache: %s %s value-%d tensor %d differs from torch's conversion" % (shapes, dtype, f, t))
            if total_out != outside:
                sys.exit("check_cache: %s %s value-%d: %d outside, the manifest says %d" % (shapes, dtype, f, total_out, outside))
        base = cached[gen.BASE_FRACTION][0]
        if dtype == "fp32":
            vals = base.astype(np.float64)
        elif dtype == "fp16":
            vals = base.astype(np.float64)
        else:
            vals = (base.view(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        s = 0.0
        for v in (vals * vals).tolist():   # element order, as DataCache sums
            s += v
        if math.sqrt(s) != norm:
            sys.exit("check_cache: %s %s: norm %r, the manifest says %r" % (shapes, dtype, math.sqrt(s), norm))
        print("check_cache %s %s: %d datasets identical to gen.py%s, norm %r" % (
            shapes, dtype, len(gen.FRACTIONS), " and torch %s" % torch.__version__ if torch is not None and dtype != "fp32"
            else "", norm))


if __name__ == "__main__":
    main()
