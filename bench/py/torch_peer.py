#!/usr/bin/python3
"""PyTorch 1.13 peer (Debian python3-torch) of the gradclip benchmarks, one fork = one shape set and one
dtype, every operation, with the same protocol as dev.gradclip.bench.Harness: the same values
(the run's dataset cache written by dev.gradclip.bench.DataCache, loaded with --data; without it,
bench/py/gen.py, which mirrors Data.java bit for bit), the working gradients restored from the call's pristine
dataset before every timed call (untimed, also for the read-only operations), time.perf_counter() around
the call alone, operations round-robin with a rotating start, warm-up rounds then measured rounds.

Operations: value-F = torch.nn.utils.clip_grad_value_(params, 0.5) on the dataset with F % of the
elements outside [-0.5, 0.5]; norms = what clip_grad_norm_ computes before it scales (per-tensor
vector_norm, the norm of their stack, .item()); clip / noclip = clip_grad_norm_(params, M) with
M = 0.5 / 2 x the dataset's fp64 norm (torch multiplies by the clamped coefficient even when it is 1).
Writes one JSON object (the same schema as the Harness)."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
ALL_OPS = ["value-0", "value-1", "value-5", "value-30", "value-90", "norms", "clip", "noclip"]


def fraction_of(op):
    return int(op[6:]) if op.startswith("value-") else gen.BASE_FRACTION


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(s, p):
    pos = p * (len(s) - 1)
    lo, hi = int(pos), min(len(s) - 1, int(pos) + 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes-dir", required=True)
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--ops", default=",".join(ALL_OPS))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup-s", type=float, default=2)
    ap.add_argument("--warmup-rounds", type=int, default=3)
    ap.add_argument("--measure-s", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--max-rounds", type=int, default=400)
    ap.add_argument("--label", default="python")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help="the run's dataset cache folder of this shape set (else generate)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ops = a.ops.split(",")
    sizes = gen.sizes(a.shapes_dir, a.shapes)
    dt = DTYPES[a.dtype]
    label = "pytorch %s %s %s %s" % (torch.__version__, a.shapes, a.dtype, a.label)
    fractions = list(dict.fromkeys(fraction_of(op) for op in ops))
    log("%s: %s %d elements" % (label, "loading (%s)" % a.data if a.data else "generating", sum(sizes)))
    g0 = time.perf_counter()
    pristine, outside = {}, {}
    if a.data:
        # the run's cache (dev.gradclip.bench.DataCache): the same bits every JVM fork loads, checked on load
        cached, norm = gen.load_cached(a.data, a.shapes, sizes, a.dtype, fractions)
        for f, (x, out) in cached.items():
            flat = torch.from_numpy(x)
            if a.dtype == "bf16":
                flat = flat.view(torch.bfloat16)   # the int16 bits reinterpreted, no conversion
            pristine[f], outside[f] = list(torch.split(flat, sizes)), out
    else:
        norm2 = None
        for f in fractions + ([gen.BASE_FRACTION] if gen.BASE_FRACTION not in fractions else []):
            ts, out, s = [], 0, 0.0
            for t, n in enumerate(sizes):
                x, o = gen.values(t, n, f)
                xt = torch.from_numpy(x).to(dt)
                ts.append(xt)
                out += o
                if f == gen.BASE_FRACTION:   # fp64 norm of the stored values, in slices (no full fp64 copy)
                    for k in range(0, n, 1 << 24):
                        d = xt[k:k + (1 << 24)].double()
                        s += float(torch.dot(d, d))
            pristine[f], outside[f] = ts, out
            if f == gen.BASE_FRACTION:
                norm2 = s
        norm = norm2 ** 0.5
    gen_s = time.perf_counter() - g0
    clip_max, noclip_max = 0.5 * norm, 2.0 * norm
    # the parameters: their own storage is never touched (torch.empty leaves its pages unallocated)
    params = []
    for n in sizes:
        p = torch.nn.Parameter(torch.empty(n, dtype=dt))
        p.grad = torch.empty(n, dtype=dt)
        params.append(p)

    def restore(f):
        for p, q in zip(params, pristine[f]):
            p.grad.copy_(q)

    def norms():
        ns = [torch.linalg.vector_norm(p.grad.detach(), 2.0) for p in params]
        return torch.linalg.vector_norm(torch.stack(ns), 2.0).item()

    def call(op):
        if op == "norms":
            return norms()
        if op == "clip":
            return torch.nn.utils.clip_grad_norm_(params, clip_max).item()
        if op == "noclip":
            return torch.nn.utils.clip_grad_norm_(params, noclip_max).item()
        torch.nn.utils.clip_grad_value_(params, gen.BOUND)
        return None

    checks, samples, unsupported = {}, {op: [] for op in ops}, {}
    for op in ops:
        f = fraction_of(op)
        restore(f)
        try:
            r = call(op)
        except (RuntimeError, NotImplementedError) as e:
            unsupported[op] = "torch %s on the CPU: %s" % (torch.__version__, str(e).splitlines()[0])
            log("[check] %s %s: unsupported: %s" % (label, op, unsupported[op]))
            continue
        if op.startswith("value-"):
            at = sum(int((p.grad.float().abs() == gen.BOUND).sum()) for p in params)
            checks[op] = "%d elements at the bound after the clip (%d were outside)" % (at, outside[f])
            # every outside element is at the bound; in fp32 exactly those (bf16/fp16: inside ones may round to 0.5)
            if at != outside[f] if a.dtype == "fp32" else at < outside[f]:
                log("CHECK FAILED: %s %s: %s" % (label, op, checks[op]))
                sys.exit(3)
        elif op == "clip":
            checks[op] = "norm %r -> %r after the clip" % (r, norms())
        else:
            checks[op] = "norm %r" % r
        log("[check] %s %s: %s" % (label, op, checks[op]))
    live = [op for op in ops if op not in unsupported]

    def round_(k, timed):
        for i in range(len(live)):
            op = live[(i + k) % len(live)]
            restore(fraction_of(op))
            t0 = time.perf_counter()
            call(op)
            t1 = time.perf_counter()
            if timed:
                samples[op].append((t1 - t0) * 1e3)

    w0, rounds = time.perf_counter(), 0
    while live and (rounds < a.warmup_rounds or time.perf_counter() - w0 < a.warmup_s):
        round_(rounds, False)
        rounds += 1
    warm_s = time.perf_counter() - w0
    m0, measured = time.perf_counter(), 0
    while live and measured < a.max_rounds and (measured < a.rounds or time.perf_counter() - m0 < a.measure_s):
        round_(measured, True)
        measured += 1
    records = []
    for op in ops:
        if op in unsupported:
            records.append({"op": op, "median_ms": None, "unsupported": unsupported[op]})
            continue
        s = sorted(samples[op])
        rec = {"op": op, "median_ms": statistics.median(s), "min_ms": s[0], "p10_ms": pct(s, 0.1),
               "p90_ms": pct(s, 0.9), "samples": len(s), "outside": outside[fraction_of(op)] if op.startswith("value-") else -1,
               "check": checks[op]}
        records.append(rec)
        log("%s %-8s median %9.3f ms  (p10 %.3f, p90 %.3f, %d samples)" % (label, op, rec["median_ms"], rec["p10_ms"],
                                                                          rec["p90_ms"], len(s)))
    doc = {"impl": "pytorch", "layout": "torch", "jvm": a.label,
           "java": "python %s, torch %s, numpy %s" % (sys.version.split()[0], torch.__version__, np.__version__),
           "shapes": a.shapes, "dtype": a.dtype, "elements": sum(sizes), "tensors": len(sizes),
           "cores": os.cpu_count(), "describe": "PyTorch %s, %d threads" % (torch.__version__, torch.get_num_threads()),
           "data": "cache" if a.data else "generated", "generate_s": gen_s, "warmup_rounds": rounds, "warmup_s": warm_s, "rounds": measured,
           "measure_s": time.perf_counter() - m0, "max_norm_clip": clip_max, "max_norm_noclip": noclip_max,
           "records": records}
    tmp = a.out + ".part"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
