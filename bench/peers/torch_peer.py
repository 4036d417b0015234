#!/usr/bin/python3
"""PyTorch peer of the gradclip benchmarks (issue #4): clip_grad_value_, the norms that clip_grad_norm_
computes, and clip_grad_norm_ when it clips and when it does not, on the same shape sets and the same
values as the JMH benchmarks (dev.gradclip.bench.Data.value), with torch's thread count set to the
number of cores. Each configuration: untimed warm-up calls, then timed calls (time.perf_counter around
the call only); the operations that write get their gradients restored from a pristine copy before each
timed call, untimed, exactly as the JMH side does. Prints one JSON list of records."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

VALUE_BOUND = 0.99  # ~1% of the uniform [-1, 1) values are outside: the same as Data.VALUE_BOUND


IMPL_LABEL = "pytorch"

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


def values(t, n, block=1 << 24):
    """Element i of tensor t, bit for bit Data.value(t, i) of the Java side (uint32 arithmetic wraps)."""
    out = np.empty(n, dtype=np.float32)
    seed = np.uint32((t * 0x85EBCA6B) & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        for start in range(0, n, block):
            end = min(n, start + block)
            h = np.arange(start, end, dtype=np.uint32)
            h *= np.uint32(0x9E3779B1)
            h += seed
            h ^= h >> np.uint32(16)
            h *= np.uint32(0x7FEB352D)
            h ^= h >> np.uint32(15)
            out[start:end] = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1.0)
    return out


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def make_params(shape_sizes, dtype):
    params = []
    for t, n in enumerate(shape_sizes):
        g = torch.from_numpy(values(t, n)).to(DTYPES[dtype])
        # the parameter's own storage is never touched: torch.empty leaves its pages unallocated
        p = torch.nn.Parameter(torch.empty(n, dtype=DTYPES[dtype]))
        p.grad = g
        params.append(p)
    return params


def norms(params):
    # what clip_grad_norm_ computes before it scales (torch 1.13: per-tensor norms, then the norm of those)
    ns = [torch.linalg.vector_norm(p.grad.detach(), 2.0) for p in params]
    return torch.linalg.vector_norm(torch.stack(ns), 2.0).item()


def run_config(shape_name, shape_sizes, op, dtype, warmup_s, measure_s, min_reps, max_reps):
    params = make_params(shape_sizes, dtype)
    total = norms(params)
    writes = op in ("value", "clip")
    pristine = [p.grad.clone() for p in params] if writes else None
    max_norm = 0.5 * total if op == "clip" else 2.0 * total

    def call():
        if op == "value":
            torch.nn.utils.clip_grad_value_(params, VALUE_BOUND)
            return None
        if op == "norms":
            return norms(params)
        return torch.nn.utils.clip_grad_norm_(params, max_norm).item()

    def restore():
        if writes:
            for p, q in zip(params, pristine):
                p.grad.copy_(q)

    # check once that the case is what it claims
    call()
    check = ""
    if op == "clip":
        after = norms(params)
        check = "norm %.6g -> %.6g after the clip" % (total, after)
    elif op == "noclip":
        check = "norm %.6g, max_norm %.6g: coefficient clamped to 1 (torch still multiplies)" % (total, max_norm)
    elif op == "value":
        outside = sum(int((q.float().abs() > VALUE_BOUND).sum()) for q in pristine)
        check = "%d elements outside the bound" % outside
    else:
        check = "norm %.6g" % total
    restore()

    t_end = time.perf_counter() + warmup_s
    w = 0
    while w < 1 or (time.perf_counter() < t_end and w < 20):
        call()
        restore()
        w += 1
    samples = []
    t_end = time.perf_counter() + measure_s
    hard_end = t_end + 2 * measure_s  # slow configurations (fp16 on the CPU) stop at 3 samples
    while ((len(samples) < min_reps and (len(samples) < 3 or time.perf_counter() < hard_end))
           or (time.perf_counter() < t_end and len(samples) < max_reps)):
        restore()
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1e3)
    rec = {"shapes": shape_name, "op": op, "dtype": dtype, "impl": IMPL_LABEL,
           "median_ms": statistics.median(samples), "min_ms": min(samples), "samples": len(samples),
           "check": check}
    del params, pristine
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes-dir", default="shapes")
    ap.add_argument("--shapes", required=True, help="comma-separated shape sets")
    ap.add_argument("--ops", default="value,norms,clip,noclip")
    ap.add_argument("--dtypes", default="fp32")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup-s", type=float, default=1.0)
    ap.add_argument("--measure-s", type=float, default=3.0)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=500)
    ap.add_argument("--out", required=True)
    ap.add_argument("--impl-label", default="pytorch", help="impl name in the records (e.g. pytorch-1t)")
    a = ap.parse_args()
    global IMPL_LABEL
    IMPL_LABEL = a.impl_label
    torch.set_num_threads(a.threads)
    records = []
    for shape_name in a.shapes.split(","):
        ss = sizes(a.shapes_dir, shape_name)
        for dtype in a.dtypes.split(","):
            for op in a.ops.split(","):
                try:
                    rec = run_config(shape_name, ss, op, dtype, a.warmup_s, a.measure_s, a.min_reps, a.max_reps)
                except (RuntimeError, NotImplementedError) as e:
                    rec = {"shapes": shape_name, "op": op, "dtype": dtype, "impl": IMPL_LABEL, "median_ms": None,
                           "unsupported": "torch %s on the CPU: %s" % (torch.__version__, str(e).splitlines()[0])}
                rec["threads"] = torch.get_num_threads()
                print("[pytorch] %s %s %s: %s  %s" % (shape_name, op, dtype,
                      "%.3f ms" % rec["median_ms"] if rec.get("median_ms") is not None else "-",
                      rec.get("check", rec.get("unsupported", ""))), file=sys.stderr, flush=True)
                records.append(rec)
    with open(a.out, "w") as f:
        json.dump({"torch": torch.__version__, "numpy": np.__version__, "threads": torch.get_num_threads(),
                   "records": records}, f, indent=1)


if __name__ == "__main__":
    main()
