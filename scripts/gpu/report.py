#!/usr/bin/env python3
"""report.py OUTDIR DEVICE - merges gc_check.json, torch.json and jmh/jmh.json of a scripts/gpu/check run into
OUTDIR/gpu-<device>-<date>.json and .md (the library next to torch and a device-to-device copy, and the
JVM-visible cost per call that JMH measured)."""
import datetime
import json
import os
import re
import sys


def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(outdir, device):
    gc = load(os.path.join(outdir, "gc_check.json")) or {}
    tc = load(os.path.join(outdir, "torch.json")) or {}
    jmh = load(os.path.join(outdir, "jmh", "jmh.json")) or []
    steps = {}
    sp = os.path.join(outdir, "steps.txt")
    if os.path.exists(sp):
        for line in open(sp):
            k, _, v = line.strip().partition(" ")
            steps[k] = v
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-") or "unknown"
    base = os.path.join(outdir, f"gpu-{slug}-{date}")
    doc = dict(device=device, date=date, steps=steps, gradclip=gc, torch=tc, jmh=jmh)
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    ours = {(t["set"], t["op"], t["dtype"], t["path"]): t for t in gc.get("timings", [])}
    theirs = {(t["set"], t["op"], t["dtype"]): t for t in tc.get("timings", [])}
    lines = [f"# GPU check: {device}, {date}", "",
             f"gradclip checks: {gc.get('checks', '?')}, failures: {gc.get('failures', '?')}; torch {tc.get('torch', 'not run')}", "",
             "| step | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in steps.items()]
    lines += ["", "| set | dtype | op | gradclip ms | GB/s | % of copy | torch ms | torch / gradclip |", "|---|---|---|---|---|---|---|---|"]
    for (s, op, dt, path), t in ours.items():
        if op == "d2d-copy":
            continue
        copy = ours.get((s, "d2d-copy", dt, "copy"))
        pct = f"{100 * t['gbps'] / copy['gbps']:.0f} %" if copy and copy["gbps"] else "-"
        th = theirs.get((s, op.replace("-async", ""), dt))
        ratio = f"{th['ms'] / t['ms']:.2f}x" if th and t["ms"] else "-"
        lines.append(f"| {s} | {dt} | {op} ({path}) | {t['ms']:.3f} | {t['gbps']:.0f} | {pct} | {th['ms']:.3f} | {ratio} |" if th else
                     f"| {s} | {dt} | {op} ({path}) | {t['ms']:.3f} | {t['gbps']:.0f} | {pct} | - | - |")
    if jmh:
        lines += ["", "JMH (the Java API end to end: JNI, launches, report read-back), average time per call:", "",
                  "| benchmark | set | stream | mode | µs/call | ± |", "|---|---|---|---|---|---|"]
        for b in jmh:
            p = b.get("params", {})
            m = b.get("primaryMetric", {})
            err = m.get("scoreError")
            err = f"{err:.1f}" if isinstance(err, (int, float)) and err == err else "-"
            lines.append(f"| {b['benchmark'].rsplit('.', 1)[-1]} ({p.get('backend', '?')}) | {p.get('shapes', '?')} | {p.get('stream', '?')} | "
                         f"{p.get('mode', '-')} | {m.get('score', float('nan')):.1f} {m.get('scoreUnit', '')} | {err} |")
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(base + ".json")
    print(base + ".md")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
