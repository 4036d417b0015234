#!/usr/bin/python3
"""Joins the JMH results (one JSON file per JVM and suite) and the PyTorch peer's records into
results/<machine>-<date>.json and .md, and prints the table. Every time is a median; GB/s counts the
minimal bytes of DESIGN.md §6 (per element: value 2 reads/writes, norms 1 read, global-norm clip 3 when it
clips and 1 when it does not, times the element width); floor_fraction = the time the measured
bandwidth probe says those bytes need, over the median."""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import socket
import subprocess


def shape_elements(shapes_dir, name):
    n_total = 0
    count = 0
    with open(os.path.join(shapes_dir, name + ".txt")) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            n = 1
            for d in s.split("x"):
                n *= int(d)
            n_total += n
            count += 1
    return n_total, count


WIDTH = {"fp32": 4, "bf16": 2, "fp16": 2}
# (bytes read-only streamed, bytes read-and-written in place) per element, in units of the element width
TRAFFIC = {"value": (0, 2), "norms": (1, 0), "clip": (1, 2), "noclip": (1, 0)}


def machine(java_versions, torch_info):
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
        l3 = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        l3 = next((l.split(":", 1)[1].strip() for l in l3.splitlines() if l.startswith("L3 cache")), "")
    except OSError:
        pass
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "l3": l3,
            "memory_gib": round(mem_kb / 2 ** 20, 1), "os": platform.platform(), "jvms": java_versions,
            "torch": torch_info.get("torch"), "torch_threads": torch_info.get("threads"),
            "numpy": torch_info.get("numpy"), "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--shapes-dir", default="shapes")
    ap.add_argument("--out-dir", default="results")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    a = ap.parse_args()

    records = []
    bw = {}  # mode -> best GB/s over the JVMs
    bw_runs = []
    java_versions = {}
    for path in sorted(glob.glob(os.path.join(a.tmp, "jmh-*.json"))):
        jvm = re.match(r"jmh-([a-z0-9]+)-", os.path.basename(path)).group(1)
        try:
            with open(path) as f:
                results = json.load(f)
        except ValueError as e:
            print("collect: skipping %s (not a complete JMH result: %s)" % (path, e))
            continue
        for r in results:
            java_versions[jvm] = r.get("vmName", "") + " " + r.get("jdkVersion", "") + " (" + r.get("vmVersion", "") + ")"
            p = r.get("params", {})
            median = r["primaryMetric"]["scorePercentiles"]["50.0"]
            if r["benchmark"].endswith("Bandwidth.stream"):
                kind = "read" if p["mode"].startswith("read") else "rw"
                bytes_ = (1 << 28) * 4 * (1 if kind == "read" else 2)
                gbps = bytes_ / (median * 1e-3) / 1e9
                bw_runs.append({"jvm": jvm, "mode": p["mode"], "median_ms": median, "gbps": gbps})
                bw[kind] = max(bw.get(kind, 0), gbps)
                continue
            records.append({"shapes": p["shapes"], "op": p["op"], "dtype": p["dtype"], "impl": p["impl"],
                            "jvm": jvm, "median_ms": median})
    torch_info = {}
    for tp in sorted(glob.glob(os.path.join(a.tmp, "torch*.json"))):
        with open(tp) as f:
            info = json.load(f)
        if not torch_info or os.path.basename(tp) == "torch.json":
            torch_info = info
        for r in info["records"]:
            r = dict(r)
            r["jvm"] = None
            records.append(r)

    for rec in records:
        n, count = shape_elements(a.shapes_dir, rec["shapes"])
        rec["elements"] = n
        rec["tensors"] = count
        ro, rw = TRAFFIC[rec["op"]]
        w = WIDTH[rec["dtype"]]
        rec["bytes"] = n * w * (ro + rw)
        if rec.get("median_ms") is None or "read" not in bw or "rw" not in bw:
            rec["gbps"] = None
            rec["floor_fraction"] = None
            continue
        sec = rec["median_ms"] * 1e-3
        rec["gbps"] = rec["bytes"] / sec / 1e9
        floor_s = n * w * ro / (bw["read"] * 1e9) + n * w * rw / (bw["rw"] * 1e9)
        rec["floor_ms"] = floor_s * 1e3
        rec["floor_fraction"] = floor_s / sec

    # speed-ups against PyTorch, same shapes/op/dtype
    torch_ms = {(r["shapes"], r["op"], r["dtype"]): r["median_ms"] for r in records
                if r["impl"] == "pytorch" and r.get("median_ms")}
    for rec in records:
        t = torch_ms.get((rec["shapes"], rec["op"], rec["dtype"]))
        rec["vs_pytorch"] = (t / rec["median_ms"]) if (t and rec.get("median_ms") and rec["impl"] != "pytorch") else None

    now = datetime.datetime.now(datetime.timezone.utc)
    mach = machine(java_versions, torch_info)
    doc = {"date": now.isoformat(timespec="seconds"), "mode": a.mode, "machine": mach,
           "load": {"before": a.load_before, "after": a.load_after},
           "bandwidth_floor_gbps": bw, "bandwidth_runs": bw_runs,
           "bytes_model": "DESIGN.md §6 minimal bytes: value 2×width per element (read+write), norms 1×, "
                          "global-norm clip 3× when clipping, 1× when not",
           "records": records}
    os.makedirs(a.out_dir, exist_ok=True)
    name = "%s-%s%s" % (re.sub(r"[^A-Za-z0-9._-]", "_", mach["host"]), now.strftime("%Y-%m-%dT%H%M"),
                        "-quick" if a.mode == "quick" else "")
    jpath = os.path.join(a.out_dir, name + ".json")
    with open(jpath, "w") as f:
        json.dump(doc, f, indent=1)

    order_op = {"value": 0, "norms": 1, "clip": 2, "noclip": 3}
    order_impl = {"gradclip": 0, "gradclip-1t": 1, "naive": 2, "dl4j": 3, "pytorch": 4, "pytorch-1t": 5}
    records.sort(key=lambda r: (r["shapes"], WIDTH[r["dtype"]] * -1, r["dtype"], order_op[r["op"]],
                                order_impl.get(r["impl"], 9), r.get("jvm") or ""))

    def fmt(v, spec):
        return "-" if v is None else spec % v

    lines = []
    lines.append("# gradclip benchmarks (%s run), %s" % (a.mode, doc["date"]))
    lines.append("")
    lines.append("Machine: %s, %d cores, L3 %s, %.1f GiB; %s; torch %s (%s threads). Load (uptime) before: `%s`; after: `%s`."
                 % (mach["cpu"], mach["cores"], mach["l3"], mach["memory_gib"],
                    "; ".join("%s = %s" % kv for kv in sorted(java_versions.items())), mach["torch"],
                    mach["torch_threads"], a.load_before, a.load_after))
    lines.append("")
    lines.append("Bandwidth floor (Java, all cores, 1 GiB float[]): read %s GB/s, in-place read-write %s GB/s. "
                 "GB/s columns count DESIGN.md §6 minimal bytes; floor = those bytes at the probe's bandwidth; "
                 "× torch = PyTorch median / this median."
                 % (fmt(bw.get("read"), "%.1f"), fmt(bw.get("rw"), "%.1f")))
    lines.append("")
    lines.append("| shapes | dtype | op | impl | JVM | median ms | GB/s | % of floor | × torch |")
    lines.append("|---|---|---|---|---|---:|---:|---:|---:|")
    for r in records:
        if r.get("median_ms") is None:
            lines.append("| %s | %s | %s | %s | | n/a: %s | | | |" % (r["shapes"], r["dtype"], r["op"], r["impl"],
                                                               r.get("unsupported", "")))
            continue
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["shapes"], r["dtype"], r["op"], r["impl"], r.get("jvm") or "", fmt(r["median_ms"], "%.3f"),
            fmt(r.get("gbps"), "%.1f"), fmt(r["floor_fraction"] and 100 * r["floor_fraction"], "%.0f%%"),
            fmt(r.get("vs_pytorch"), "%.2f×")))
    md = "\n".join(lines) + "\n"
    with open(os.path.join(a.out_dir, name + ".md"), "w") as f:
        f.write(md)
    print(md)
    print("wrote %s and %s" % (jpath, os.path.join(a.out_dir, name + ".md")))


if __name__ == "__main__":
    main()
