#!/usr/bin/env python3
"""ptx_lint.py PTXAS_LOG PTX - the checks of scripts/native/ptx-check.sh (see there). Exit 1 on a finding."""
import re
import sys


def demangle_kind(name):
    for k in ("norm_partials_kernel", "scale_kernel", "clip_value_kernel", "fold_tensors_kernel",
              "finalize_total_kernel", "finalize_tensors_kernel", "finalize_summary_kernel",
              "finalize_counts_kernel", "set_status_ok_kernel"):
        if k in name:
            return k
    return name


def main(log_path, ptx_path):
    problems = []
    log = open(log_path).read()
    # ptxas -v: "Compiling entry function 'X' for 'sm_90'" then "N bytes stack frame, S bytes spill stores, L bytes spill loads"
    entries = re.findall(r"Compiling entry function '([^']+)'.*?\n(?:.*\n)*?.*?(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", log)
    if not entries:
        problems.append("no kernels in the ptxas log")
    for name, stack, st, ld in entries:
        if int(stack) or int(st) or int(ld):
            problems.append(f"{name}: {stack} B stack frame, {st} B spill stores, {ld} B spill loads")
    for w in re.findall(r".*warning.*", log):
        if "lmem" in w or "spill" in w or "local memory" in w:
            problems.append("ptxas: " + w.strip())
    regs = re.findall(r"Compiling entry function '([^']+)'.*?\n(?:.*\n)*?.*?Used (\d+) registers", log)

    ptx = open(ptx_path).read()
    # split into functions: ".visible .entry NAME(" / ".func ... NAME(" headers
    heads = list(re.finditer(r"^(?:\.visible |\.weak )?\.(entry|func)\s+(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)\(", ptx, re.M))
    kernels = {}
    for i, h in enumerate(heads):
        body = ptx[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(ptx)]
        kind, name = h.group(1), h.group(2)
        libdevice = name.startswith("__internal_") or name.startswith("__nv_")
        if not libdevice:
            if re.search(r"\bfma\.", body):
                problems.append(f"{name}: fma outside libdevice (contraction changes the canonical roundings)")
            if ".ftz" in body:
                problems.append(f"{name}: .ftz outside libdevice (subnormals flushed)")
        if kind == "entry":
            kernels[name] = body
    if not kernels:
        problems.append("no .entry in the PTX")
    for name, body in kernels.items():
        k = demangle_kind(name)
        if k in ("norm_partials_kernel", "scale_kernel", "clip_value_kernel"):
            if not re.search(r"ld\.global\.cs\.v(4\.f32|2\.f64|2\.u32)", body):
                problems.append(f"{name}: streaming kernel without a vector global load")
            if ("3F16" in name) and "cvt.f32.f16" not in body:
                problems.append(f"{name}: fp16 kernel without the hardware conversion cvt.f32.f16")
    for p in problems:
        print("ptx-check: FAIL " + p)
    print(f"ptx-check: {len(entries)} kernels, max {max((int(r) for _, r in regs), default=0)} registers, "
          f"{len(kernels)} PTX entries: " + ("FAILED" if problems else "no stack, no spills, no fma/.ftz outside libdevice, vector loads present"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
