#!/usr/bin/python3
"""Turns one run folder of bench/run (fork JSON files, the native floor, plan.json) into
results/<machine>-<date>[-quick].{json,md} and prints the Markdown.

Per configuration (implementation, JVM, layout, shape set, dtype, operation) the reported time is the
median over forks of each fork's median; `spread` = (max - min) / median of those fork medians (the
run-to-run spread). Minimal bytes per element (issue #10): value 8 B (read + write in place), norms 4 B,
global clip 12 B when it clips (read for the norm, then read + write), 4 B when it does not; fp16/bf16
half of that. The floor time of an operation = its read-only bytes at the native read bandwidth + its
read-and-write bytes at the native in-place scale bandwidth, both measured over a buffer of the same
size (the best of 1 thread and all threads, of the floor runs at the start and the end of the run);
`% floor` = floor time / median time. `x torch` = the better (lower) median of PyTorch 1.13 and
libtorch 2.10 for the same shape set, dtype and operation, divided by this median (> 1: faster than
both). `vs heap` = this layout's median / the heap layout's median of the same JVM and case, minus 1.

Quotable: a full run is quotable when no fork failed and every fork and floor run recorded its foreign
CPU (the machine's non-idle CPU time during the fork that was neither the fork's own nor the driver's,
/proc/stat against rusage, as a share of cores x wall time) and every one stayed below
FOREIGN_CPU_LIMIT_PCT, and every fork's memory-bandwidth probe (probe.py: the host's other guests are
invisible to /proc/stat) stayed at or above probe.SLOW_RATIO x the run's reference probe. The load average
does not tell: the benchmark itself keeps both cores busy, so it is only recorded."""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402
import probe  # noqa: E402

WIDTH = {"fp32": 4, "bf16": 2, "fp16": 2}
# per element, in units of the element width: (read-only bytes, read-and-write-in-place bytes)
TRAFFIC = {"value": (0, 2), "norms": (1, 0), "clip": (1, 2), "noclip": (1, 0)}
LARGE = ("gpt2-small", "bert-base", "resnet50", "one-large")
OPS = ["value-0", "value-1", "value-5", "value-30", "value-90", "norms", "clip", "noclip"]
IMPLS = ["gradclip", "pytorch", "libtorch", "naive", "nd4j"]
JVMS = ["jdk17", "jdk17vec", "jdk25", "python"]
LAYOUTS = ["heap", "native", "direct", "torch", "nd4j"]
# a fork disturbed by more than this share of the machine's CPU (cores x wall) spent outside the benchmark
# makes the run not quotable (a 2-core machine: 5 % = 0.1 core on average over the fork)
FOREIGN_CPU_LIMIT_PCT = 5.0


def kind(op):
    return "value" if op.startswith("value-") else op


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    l3 = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        l3 = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("L3 cache")), "")
    except OSError:
        pass
    if not l3:
        try:
            with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
                l3 = f.read().strip()
        except OSError:
            l3 = "unknown"
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "l3": l3,
            "memory_gib": round(mem_kb / 2 ** 20, 1), "os": platform.platform()}


def ratio(v):
    return ("%.2f×" % v) if v >= 0.1 else ("%.3f×" % v)


def fmt(v, spec):
    return "–" if v is None else spec % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--shapes-dir", required=True)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    with open(os.path.join(a.run_dir, "plan.json")) as f:
        plan = json.load(f)
    mode = plan["mode"]
    # a full run restricted by a coverage option (--shapes, --dtypes, --jvms, --only, ...) is a partial run:
    # reported as such and never quotable
    RESTRICTING = ("--shapes", "--dtypes", "--jvms", "--only", "--layouts", "--half-layouts", "--forks",
                   "--no-torch", "--no-libtorch", "--no-nd4j", "--no-naive")
    restricted = [o for o in plan.get("argv", []) if o in RESTRICTING]
    if mode == "full" and restricted:
        mode = "partial"

    # ---- the native floor: best bandwidth per buffer size over every floor run
    floor = {}
    floor_runs = []
    floor_cpu = []   # (foreign CPU %, which floor run): the floor is a measurement too
    floor_restores = set()  # who restored the floor's buffer before each pass (absent: all threads, before item 25)
    for path in sorted(glob.glob(os.path.join(a.run_dir, "floor-*.json"))):
        with open(path) as f:
            doc = json.load(f)
        tag = os.path.basename(path)[6:-5]
        floor_cpu.append(((doc.get("cpu") or {}).get("foreign_cpu_pct"), "floor " + tag))
        floor_restores.add(doc.get("restore", "all threads"))
        for s in doc["sizes"]:
            floor_runs.append(dict(s, run=tag, threads=doc["threads"]))
            b = floor.setdefault(s["bytes"], {"read_gbps": 0, "copy_gbps": 0, "scale_gbps": 0})
            for k in ("read_gbps", "copy_gbps", "scale_gbps"):
                b[k] = max(b[k], s[k])

    def floor_ms(n, dtype, op):
        size = n * WIDTH[dtype]
        bw = floor.get(size // 4 * 4)
        if not bw or not bw["read_gbps"] or not bw["scale_gbps"]:
            return None
        ro, rw = TRAFFIC[kind(op)]
        return (size * ro / (bw["read_gbps"] * 1e9) + size * rw / (bw["scale_gbps"] * 1e9)) * 1e3

    # ---- forks
    forks = []
    for path in sorted(glob.glob(os.path.join(a.run_dir, "*.json"))):
        base = os.path.basename(path)
        if base.startswith("floor-") or base.startswith("data-") or base == "plan.json":
            continue
        with open(path) as f:
            forks.append(json.load(f))
    groups = {}
    loads = []
    versions = {}
    for fk in forks:
        versions[fk["jvm"]] = fk["java"]
        if fk.get("load_before"):
            loads.append(float(fk["load_before"].split()[0]))
        for r in fk["records"]:
            key = (fk["impl"], fk["jvm"], fk["layout"], fk["shapes"], fk["dtype"], r["op"])
            g = groups.setdefault(key, {"elements": fk["elements"], "tensors": fk["tensors"], "medians": [],
                                        "unsupported": None, "checks": [], "describe": fk.get("describe", "")})
            if r.get("median_ms") is None:
                g["unsupported"] = r.get("unsupported")
            else:
                g["medians"].append(r["median_ms"])
                g["checks"].append(r.get("check"))
    records = []
    for key, g in groups.items():
        impl, jvm, layout, shapes, dtype, op = key
        rec = {"impl": impl, "jvm": jvm, "layout": layout, "shapes": shapes, "dtype": dtype, "op": op,
               "elements": g["elements"], "tensors": g["tensors"], "describe": g["describe"],
               "fork_medians_ms": g["medians"], "check": g["checks"][0] if g["checks"] else None}
        if not g["medians"]:
            rec.update(median_ms=None, unsupported=g["unsupported"])
            records.append(rec)
            continue
        m = statistics.median(g["medians"])
        rec["median_ms"] = m
        rec["spread"] = (max(g["medians"]) - min(g["medians"])) / m if len(g["medians"]) > 1 else None
        ro, rw = TRAFFIC[kind(op)]
        rec["min_bytes"] = g["elements"] * WIDTH[dtype] * (ro + rw)
        rec["gbps"] = rec["min_bytes"] / (m * 1e-3) / 1e9
        fm = floor_ms(g["elements"], dtype, op)
        rec["floor_ms"] = fm
        rec["floor_fraction"] = fm / m if fm else None
        records.append(rec)
    by = {(r["impl"], r["jvm"], r["layout"], r["shapes"], r["dtype"], r["op"]): r for r in records}
    for r in records:
        if r.get("median_ms") is None:
            continue
        peers = [x for x in records if x["impl"] in ("pytorch", "libtorch") and x["shapes"] == r["shapes"]
                 and x["dtype"] == r["dtype"] and x["op"] == r["op"] and x.get("median_ms")]
        if peers and r["impl"] not in ("pytorch", "libtorch"):
            best = min(peers, key=lambda x: x["median_ms"])
            r["best_torch"] = best["impl"]
            r["vs_torch"] = best["median_ms"] / r["median_ms"]
        if r["impl"] == "gradclip" and r["layout"] != "heap":
            h = by.get(("gradclip", r["jvm"], "heap", r["shapes"], r["dtype"], r["op"]))
            if h and h.get("median_ms"):
                r["vs_heap"] = r["median_ms"] / h["median_ms"] - 1

    # ---- targets of issue #10: the worst case of each
    gc = [r for r in records if r["impl"] == "gradclip" and r.get("median_ms") is not None]
    targets = []

    def worst(name, rows, field, goal, higher=True, show=ratio):
        rows = [r for r in rows if r.get(field) is not None]
        if not rows:
            targets.append((name, "not measured in this run", "–"))
            return
        w = min(rows, key=lambda r: r[field]) if higher else max(rows, key=lambda r: abs(r[field]))
        v = w[field]
        ok = (v >= goal) if higher else (abs(v) <= goal)
        where = "%s %s %s %s %s" % (w["shapes"], w["dtype"], w["op"], w["jvm"], w["layout"])
        targets.append((name, "worst %s (%s; %d cases)" % (show(v), where, len(rows)), "met" if ok else "**missed**"))

    large32 = [r for r in gc if r["shapes"] in LARGE and r["dtype"] == "fp32"]
    worst("norms ≥ 1.3× torch (large sets, fp32)", [r for r in large32 if r["op"] == "norms"], "vs_torch", 1.3)
    worst("global clip, clipping ≥ 1.2×", [r for r in large32 if r["op"] == "clip"], "vs_torch", 1.2)
    worst("global clip, not clipping ≥ 2.5×", [r for r in large32 if r["op"] == "noclip"], "vs_torch", 2.5)
    worst("clip by value ≥ 1.0× at every fraction", [r for r in large32 if kind(r["op"]) == "value"], "vs_torch", 1.0)
    pct = lambda v: "%.0f%%" % (100 * v)
    worst("≥ 85 % of the floor (large sets, fp32)", large32, "floor_fraction", 0.85, show=pct)
    worst("≥ 70 % of the floor (large sets, bf16/fp16)",
          [r for r in gc if r["shapes"] in LARGE and r["dtype"] != "fp32"], "floor_fraction", 0.70, show=pct)
    worst("many-small ≥ 60 % of the floor", [r for r in gc if r["shapes"] == "many-small"], "floor_fraction", 0.60, show=pct)
    worst("off-heap within 5 % of heap", [r for r in gc if r.get("vs_heap") is not None], "vs_heap", 0.05, higher=False,
          show=lambda v: "%+.1f%%" % (100 * v))
    worst("run-to-run spread of the medians ≤ 10 %", [r for r in records if r.get("spread") is not None], "spread", 0.10,
          higher=False, show=pct)

    fails = plan.get("failures", [])
    # ---- quotable? foreign CPU per fork (not the load average: the benchmark itself loads every core)
    foreign = [((fk.get("cpu") or {}).get("foreign_cpu_pct"), "%s %s %s %s %s f%s" % (
        fk["impl"], fk["jvm"], fk["layout"], fk["shapes"], fk["dtype"], fk.get("fork"))) for fk in forks] + floor_cpu
    unrecorded = [k for v, k in foreign if v is None]
    over = sorted(((v, k) for v, k in foreign if v is not None and v >= FOREIGN_CPU_LIMIT_PCT), reverse=True)
    recorded = [v for v, _ in foreign if v is not None]
    quiet = {"limit_pct": FOREIGN_CPU_LIMIT_PCT, "max_pct": max(recorded) if recorded else None,
             "median_pct": statistics.median(recorded) if recorded else None,
             "forks_over_limit": [{"fork": k, "foreign_cpu_pct": v} for v, k in over], "forks_unrecorded": len(unrecorded)}
    ref = probe.reference_gbps(forks)
    slow = sorted(((probe.fork_probe_gbps(fk), "%s %s %s %s %s f%s" % (fk["impl"], fk["jvm"], fk["layout"], fk["shapes"],
                                                                        fk["dtype"], fk.get("fork")))
                   for fk in forks if probe.is_slow(fk, ref)))
    unprobed = [fk for fk in forks if probe.fork_probe_gbps(fk) is None]
    probes = [g for g in (probe.fork_probe_gbps(fk) for fk in forks) if g is not None]
    quiet["probe"] = {"reference_scale_gbps": ref, "slow_ratio": probe.SLOW_RATIO,
                      "min_scale_gbps": min(probes) if probes else None, "max_scale_gbps": max(probes) if probes else None,
                      "forks_slow": [{"fork": k, "probe_scale_gbps": g} for g, k in slow], "forks_unprobed": len(unprobed)}
    interrupted = not plan.get("finished")   # the driver records "finished" only after its last fork
    quiet["quotable"] = (bool(forks) and not unrecorded and not over and not fails and mode == "full"
                         and not slow and not unprobed and not interrupted)

    now = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    doc = {"date": now.isoformat(timespec="seconds"), "mode": mode, "machine": mach, "versions": versions,
           "started": plan.get("started"), "finished": plan.get("finished"), "wall_s": plan.get("wall_s"),
           "load": {"before": plan.get("load_before"), "after": plan.get("load_after"),
                    "per_fork_1min": {"min": min(loads) if loads else None, "max": max(loads) if loads else None}},
           "foreign_cpu": quiet, "quotable": quiet["quotable"],
           "timing": plan.get("timing"), "failures": fails,
           "floor": {str(k): v for k, v in sorted(floor.items())}, "floor_restore": sorted(floor_restores),
           "floor_runs": floor_runs,
           "bytes_model": "per element: value 8 B, norms 4 B, global clip 12 B clipping / 4 B not; fp16/bf16 half",
           "targets": [{"target": t, "measured": m, "verdict": v} for t, m, v in targets],
           "records": records, "forks": forks}
    os.makedirs(a.out_dir, exist_ok=True)
    stamp = datetime.datetime.fromisoformat(plan["started"]).strftime("%Y-%m-%dT%H%M")
    name = "%s-%s%s" % (re.sub(r"[^A-Za-z0-9._-]", "_", mach["host"]), stamp, ("-" + mode) if mode in ("quick", "partial") else "")
    jpath = os.path.join(a.out_dir, name + ".json")
    with open(jpath, "w") as f:
        json.dump(doc, f, indent=1)

    L = []
    L.append("# gradclip benchmark, %s run of %s" % (mode, plan.get("started")))
    L.append("")
    L.append("Machine: %s, %d cores, L3 %s, %.1f GiB, %s. Load average (1, 5, 15 min) before: **%s**, after: **%s**; "
             "1-minute load at the start of the forks: %s–%s. Wall time %.1f min.%s"
             % (mach["cpu"], mach["cores"], mach["l3"], mach["memory_gib"], mach["host"], plan.get("load_before"),
                plan.get("load_after"), fmt(doc["load"]["per_fork_1min"]["min"], "%.2f"),
                fmt(doc["load"]["per_fork_1min"]["max"], "%.2f"), (plan.get("wall_s") or 0) / 60,
                (" **%d fork(s) failed or were skipped** (see the JSON)." % len(fails)) if fails else ""))
    L.append("")
    L.append("Foreign CPU (the machine's CPU time spent outside the benchmark during each fork, share of cores × "
             "wall): median %s, max %s; limit %.0f %%." % (fmt(quiet["median_pct"], "%.1f %%"), fmt(quiet["max_pct"], "%.1f %%"),
                                                          FOREIGN_CPU_LIMIT_PCT))
    pr = quiet["probe"]
    if ref:
        L.append("")
        waits = plan.get("probe_waits") or []
        L.append("Memory-bandwidth probe between forks (128 MiB in-place scale, all cores; a fork's probe is the lower "
                 "of the probes before and after it, a slow \"after\" confirmed by a second probe): reference (75th percentile) %.1f GB/s, forks %.1f–%.1f GB/s; "
                 "limit %.0f %% of the reference. Waits for the machine's memory before a fork: %d (%.1f min in all)."
                 % (ref, pr["min_scale_gbps"], pr["max_scale_gbps"], 100 * probe.SLOW_RATIO, len(waits),
                    sum(w["waited_s"] for w in waits) / 60))
    L.append("")
    if quiet["quotable"]:
        L.append("**Quotable: a full run in which every fork's and floor run's foreign CPU stayed below %.0f %% and "
                 "every fork's bandwidth probe at or above %.0f %% of the run's reference.**"
                 % (FOREIGN_CPU_LIMIT_PCT, 100 * probe.SLOW_RATIO))
    else:
        why = []
        if mode == "partial":
            why.append("a partial run (%s)" % " ".join(restricted))
        elif mode != "full":
            why.append("a %s run (reduced coverage and timing)" % mode)
        if unrecorded:
            why.append("%d fork(s) or floor run(s) did not record their foreign CPU (a harness older than this rule)"
                       % len(unrecorded))
        if over:
            why.append("%d fork(s) or floor run(s) ran while other processes used ≥ %.0f %% of the machine (worst %.1f %%: %s)"
                       % (len(over), FOREIGN_CPU_LIMIT_PCT, over[0][0], over[0][1]))
        if interrupted:
            why.append("an interrupted run (reported from the forks it completed; `bench/run --resume` finishes it)")
        if unprobed:
            why.append("%d fork(s) have no bandwidth probe (a harness older than this rule)" % len(unprobed))
        if slow:
            why.append("%d fork(s) ran while the machine's memory was slow (probe below %.0f %% of the reference; worst "
                       "%.1f GB/s: %s)" % (len(slow), 100 * probe.SLOW_RATIO, slow[0][0], slow[0][1]))
        if fails:
            why.append("%d fork(s) failed or were skipped" % len(fails))
        if mode == "partial" and len(why) == 1:
            L.append("**Not quotable: %s. Every fork's foreign CPU stayed below %.0f %%, so these are quiet-machine "
                     "measurements of what they cover; the README quotes only full runs.**" % (why[0], FOREIGN_CPU_LIMIT_PCT))
        else:
            L.append("**Not quotable: %s. These numbers prove only that the harness works.**" % "; ".join(why))
    L.append("")
    L.append("Runtimes: " + "; ".join("%s = %s" % kv for kv in sorted(versions.items())))
    L.append("")
    tm = plan.get("timing") or {}
    slow = plan.get("slow_peers")
    fl = plan.get("floor")
    L.append("Method: bench/NOTES.md. Fresh gradients restored before every timed call (untimed); %s. Warm-up ≥ %s rounds and %s s, "
             "measured ≥ %s rounds and %s s per fork%s. Time = median over forks of each fork's median call; spread "
             "= (max − min) / median of the fork medians; %% floor = the op's minimal bytes at the native floor's "
             "bandwidth / time%s; × torch = min(PyTorch 1.13, libtorch 2.10) / time; vs heap = off-heap time / heap "
             "time − 1." % (
                 "every fork loaded the run's datasets (generated once per shape set, CRC-checked)"
                 if all(fk.get("data") == "cache" for fk in forks) else "datasets generated in the forks",
                 tm.get("warmup_rounds", "?"), tm.get("warmup_s", "?"), tm.get("rounds", "?"), tm.get("measure_s", "?"),
                 (" (%s, 20–50× slower: ≥ %d rounds and %s s)" % (" and ".join(slow["impls"]), slow["min_rounds"],
                                                                  tm.get("measure_s", "?"))) if slow else "",
                 (" (median of ≥ %d passes and ≥ %s s per kernel, best of the runs)" % (fl["min_passes"], fl["min_s"]))
                 if fl else ""))
    L.append("")
    L.append("## Native floor (STREAM-style, C++/OpenMP, best of 1 thread and all threads; the buffer restored "
             "by %s before every pass)" % (" or ".join(sorted(floor_restores)) or "?"))
    L.append("")
    L.append("| bytes | read GB/s | copy GB/s | scale in place GB/s |")
    L.append("|---:|---:|---:|---:|")
    for b, v in sorted(floor.items()):
        L.append("| %s | %.1f | %.1f | %.1f |" % ("{:,}".format(b), v["read_gbps"], v["copy_gbps"], v["scale_gbps"]))
    L.append("")
    L.append("## Targets of issue #10 (worst case over every configuration measured)")
    L.append("")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    for t, m, v in targets:
        L.append("| %s | %s | %s |" % (t, m, v))
    # headline tables: per shape set and dtype, ops x implementations (heap layout for gradclip)
    L.append("")
    L.append("## Median ms per call (× the better torch), heap arrays for gradclip")
    combos = sorted({(r["shapes"], r["dtype"]) for r in records},
                    key=lambda sd: (sd[0], -WIDTH[sd[1]], sd[1]))
    for shapes, dtype in combos:
        cols = []
        for impl in IMPLS:
            for jvm in JVMS:
                layout = "heap" if impl in ("gradclip", "naive") else ("torch" if impl in ("pytorch", "libtorch") else "nd4j")
                if any((impl, jvm, layout, shapes, dtype, op) in by for op in OPS):
                    cols.append((impl, jvm, layout))
        if not cols:
            continue
        r0 = next(r for r in records if r["shapes"] == shapes and r["dtype"] == dtype)
        L.append("")
        L.append("### %s, %s (%s elements, %d tensors)" % (shapes, dtype, "{:,}".format(r0["elements"]), r0["tensors"]))
        L.append("")
        L.append("| op | " + " | ".join("%s %s" % (i, j if i != "pytorch" else "1.13") if i != "libtorch" else "libtorch 2.10"
                                        for i, j, _ in cols) + " | native floor |")
        L.append("|---|" + "---:|" * (len(cols) + 1))
        for op in OPS:
            cells = []
            fm = None
            for c in cols:
                r = by.get(c + (shapes, dtype, op))
                if r is None:
                    cells.append("")
                elif r.get("median_ms") is None:
                    cells.append("n/a")
                else:
                    fm = r.get("floor_ms") or fm
                    cells.append(fmt(r["median_ms"], "%.3f") + (" (%s)" % ratio(r["vs_torch"]) if r.get("vs_torch") else ""))
            L.append("| %s | %s | %s |" % (op, " | ".join(cells), fmt(fm, "%.3f")))
    L.append("")
    L.append("## Every configuration")
    L.append("")
    L.append("| shapes | dtype | op | impl | JVM | layout | median ms | spread | GB/s | % floor | × torch | vs heap |")
    L.append("|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    order = lambda r: (r["shapes"], -WIDTH[r["dtype"]], r["dtype"], OPS.index(r["op"]), IMPLS.index(r["impl"]),
                       JVMS.index(r["jvm"]) if r["jvm"] in JVMS else 9, LAYOUTS.index(r["layout"]))
    for r in sorted(records, key=order):
        if r.get("median_ms") is None:
            L.append("| %s | %s | %s | %s | %s | %s | n/a: %s | | | | | |" % (r["shapes"], r["dtype"], r["op"], r["impl"],
                                                                           r["jvm"], r["layout"], r.get("unsupported")))
            continue
        L.append("| %s | %s | %s | %s | %s | %s | %.3f | %s | %.1f | %s | %s | %s |" % (
            r["shapes"], r["dtype"], r["op"], r["impl"], r["jvm"], r["layout"], r["median_ms"],
            fmt(r.get("spread") and 100 * r["spread"], "%.1f%%") if r.get("spread") is not None else "–", r["gbps"],
            fmt(r.get("floor_fraction") and 100 * r["floor_fraction"], "%.0f%%"),
            ratio(r["vs_torch"]) if r.get("vs_torch") else "–",
            fmt(r.get("vs_heap") is not None and 100 * r["vs_heap"] or None, "%+.1f%%") if r.get("vs_heap") is not None else ""))
    L.append("")
    L.append("Checks (first fork of each configuration, gradclip heap on JDK 17 and the peers):")
    L.append("")
    for r in sorted(records, key=order):
        if r.get("check") and r["layout"] in ("heap", "torch", "nd4j") and r["jvm"] in ("jdk17", "python"):
            L.append("- %s %s %s %s: %s" % (r["impl"], r["shapes"], r["dtype"], r["op"], r["check"]))
    md = "\n".join(L) + "\n"
    with open(os.path.join(a.out_dir, name + ".md"), "w") as f:
        f.write(md)
    print(md)
    print("wrote %s and %s" % (jpath, os.path.join(a.out_dir, name + ".md")), file=sys.stderr)


if __name__ == "__main__":
    main()
