#!/usr/bin/env python3
"""The README's benchmark table, printed from one committed results file (bench/results/*.json).

    python3 bench/py/readme_table.py bench/results/vm-<date>.json
    python3 bench/py/readme_table.py --check README.md   (bench/run --self-test runs this)

Per large shape set and fp32: gradclip on JDK 17 without flags with heap arrays, its median call time
and its ratio to the better of PyTorch 1.13 and libtorch 2.10 (> 1: faster than both), and in
parentheses the worst ratio over every JVM configuration and layout measured. The numbers are the
report's own (`median_ms`, `vs_torch` of each record): this script only picks and formats them, so the
README cannot quote anything the results file does not hold. It refuses a run that is not quotable."""
import json
import os
import re
import sys

OPS = ["value-0", "value-5", "value-90", "norms", "clip", "noclip"]
SETS = ["gpt2-small", "bert-base", "resnet50", "one-large", "many-small"]


def table(doc):
    """The Markdown table (a list of lines) for the results document `doc`."""
    recs = [r for r in doc["records"] if r.get("impl") == "gradclip" and r.get("dtype") == "fp32"]
    lines = ["| shape set (fp32) | " + " | ".join(OPS) + " |", "|---|" + "---:|" * len(OPS)]
    for s in SETS:
        cells = []
        for op in OPS:
            mine = [r for r in recs if r["shapes"] == s and r["op"] == op]
            base = [r for r in mine if r["jvm"] == "jdk17" and r["layout"] == "heap"]
            ratios = [r["vs_torch"] for r in mine if r.get("vs_torch") is not None]
            if not base or base[0].get("vs_torch") is None or not ratios:
                cells.append("–")
                continue
            b = base[0]
            cells.append("%.1f ms, %.2f× (worst %.2f×)" % (b["median_ms"], b["vs_torch"], min(ratios)))
        if any(c != "–" for c in cells):
            lines.append("| %s | %s |" % (s, " | ".join(cells)))
    return lines


def load_quotable(path):
    """The results document at `path`; exits when it is not a quotable full run."""
    with open(path) as f:
        doc = json.load(f)
    if doc.get("mode") != "full" or not doc.get("quotable"):
        sys.exit("readme_table.py: %s is not a quotable full run; the README quotes only those" % path)
    return doc


def check_readme(readme):
    """Exits non-zero unless the README's benchmark table is the one its named run produces."""
    text = open(readme).read()
    start = text.find("\n## Benchmarks")
    if start < 0:
        sys.exit("readme_table.py: %s has no \"## Benchmarks\" section" % readme)
    end = text.find("\n## ", start + 1)
    section = text[start:] if end < 0 else text[start:end]
    named = re.findall(r"bench/results/(vm-[0-9T-]+)\.md", section)
    if len(set(named)) != 1:
        sys.exit("readme_table.py: the Benchmarks section must name exactly one run, found %s" % sorted(set(named)))
    path = os.path.join(os.path.dirname(os.path.abspath(readme)), "bench", "results", named[0] + ".json")
    missing = [row for row in table(load_quotable(path)) if row not in section]
    if missing:
        sys.exit("readme_table.py: the README's table differs from %s; expected rows:\n%s" % (path, "\n".join(missing)))
    print("readme_table.py: the README quotes %s exactly" % named[0])


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        check_readme(argv[2])
        return
    if len(argv) != 2:
        sys.exit("usage: readme_table.py bench/results/<run>.json | --check README.md")
    doc = load_quotable(argv[1])
    print("\n".join(table(doc)))
    print("\nload average before %s, after %s; started %s, finished %s" % (
        doc["load"]["before"], doc["load"]["after"], doc["started"], doc["finished"]))


if __name__ == "__main__":
    main(sys.argv)
