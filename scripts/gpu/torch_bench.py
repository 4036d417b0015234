#!/usr/bin/env python3
"""torch_bench.py - PyTorch's own clipping on the same GPU, shapes and dtypes as gc_check --time:
torch.nn.utils.clip_grad_norm_ (foreach, clipping and not clipping), clip_grad_value_ (foreach), the
foreach norms alone, and a device-to-device copy of the same bytes; CUDA events, median of --reps after
two warm-up runs. Writes JSON (--json). --dry-run: parse the shapes and print the plan (no torch needed).
"""
import argparse
import json
import os
import sys


def read_shapes(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            n = 1
            for d in line.split("x"):
                n *= int(d)
            out.append(n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    sets = [("gpt2-small", read_shapes(os.path.join(a.shapes, "gpt2-small.txt"))),
            ("one-large-2^28", [1 << 28]),
            ("many-small", read_shapes(os.path.join(a.shapes, "many-small.txt"))),
            ("one-element", [1])]  # the fixed cost of a call
    ops = ["global-norm-clipping", "global-norm-not-clipping", "norms", "value-clipping", "d2d-copy"]
    if a.dry_run:
        for name, shapes in sets:
            print(f"  torch plan: {name}: {len(shapes)} tensors, {sum(shapes)} elements x fp32, bf16: {', '.join(ops)}")
        return 0
    import torch
    from torch.nn.utils import clip_grad_norm_, clip_grad_value_
    dev = torch.device("cuda")
    results = []
    for name, shapes in sets:
        for dtype, dname in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            params = []
            for n in shapes:
                p = torch.nn.Parameter(torch.empty(n, device=dev, dtype=dtype))
                p.grad = torch.randn(n, device=dev, dtype=dtype)
                params.append(p)
            grads = [p.grad for p in params]
            saved = [g.clone() for g in grads]
            elements = sum(shapes)
            nbytes = elements * grads[0].element_size()

            def timed(fn):
                ms = []
                for r in range(a.reps + 2):
                    for g, s in zip(grads, saved):  # same data every run (clipping changes it)
                        g.copy_(s)
                    torch.cuda.synchronize()
                    b, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    b.record()
                    fn()
                    e.record()
                    e.synchronize()
                    if r >= 2:
                        ms.append(b.elapsed_time(e))
                ms.sort()
                return ms[len(ms) // 2]

            cases = {
                "global-norm-clipping": (lambda: clip_grad_norm_(params, 1e-3, foreach=True), 3.0),
                "global-norm-not-clipping": (lambda: clip_grad_norm_(params, 1e30, foreach=True), 3.0),
                "norms": (lambda: torch._foreach_norm(grads, 2.0), 1.0),
                "value-clipping": (lambda: clip_grad_value_(params, 1e-3, foreach=True), 2.0),
            }
            for op, (fn, traffic) in cases.items():
                ms = timed(fn)
                results.append(dict(set=name, op=op, dtype=dname, path="torch", tensors=len(shapes), elements=elements,
                                    bytes=nbytes, ms=ms, gbps=traffic * nbytes / (ms * 1e6)))
            src = torch.empty(elements, device=dev, dtype=dtype)
            dst = torch.empty_like(src)
            ms = timed(lambda: dst.copy_(src))
            results.append(dict(set=name, op="d2d-copy", dtype=dname, path="torch", tensors=1, elements=elements, bytes=nbytes,
                                ms=ms, gbps=2.0 * nbytes / (ms * 1e6)))
            del params, grads, saved, src, dst
            torch.cuda.empty_cache()
    for r in results:
        print(f"  torch {r['set']:<16} {r['op']:<28} {r['dtype']:<5} {r['ms']:9.3f} ms {r['gbps']:8.1f} GB/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(torch=torch.__version__, cuda=torch.version.cuda, device=torch.cuda.get_device_name(0), timings=results), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
