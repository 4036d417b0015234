"""The memory-bandwidth probe between forks (bench/run): a quiet machine by CPU time is not enough.

On a VM the host's other guests share the memory controllers, and their traffic is invisible to
/proc/stat: in the partial run of 2026-11-29 20:25 every fork of one minute (libtorch and gradclip alike)
ran ~30 % slower with 0 % foreign CPU, and the run-to-run spread came out at 25-45 %. So between forks
the driver runs `stream probe` (128 MiB, 15 timed read and in-place scale passes on all cores, ~0.3 s):
a fork's probe is the slower of the probe just before it (taken after any wait for the machine, see
below) and the probe just after it, where a slow "after" probe is taken again at once and the faster of
the two kept: a single probe is sometimes slow by itself (1 in ~15 probes on the quiet machine ran at
~45 % for its ~0.3 s), which a second probe filters, while a slowdown that lasts (as the minute of 20:25)
stays slow. Until the full run of 2026-11-29 20:58 the faster of "before" and "after" was used, which
missed forks during which a slowdown began (gradclip jdk17 native bert-base fp32 f1: probes 84.3 / 52.7
GB/s, value-30 15.9 ms against 10.6 in its second fork). A fork whose probe's in-place scale bandwidth is
below SLOW_RATIO x the run's reference (the 75th percentile of every probe of the run: the machine's usual
speed when it is not disturbed, which a median would not be when it is slow for half the run, as it was
at 20:45 that day, between 55 and 135 GB/s) is "slow-machine": measured again automatically (up to REMEASURE_ROUNDS rounds), then by
`bench/run --resume`, and it keeps the run from being quotable. A slowdown that starts and ends within
one fork is not seen: the spread target remains the check for that."""
import json
import os
import statistics

PROBE_BYTES = 128 << 20
SLOW_RATIO = 0.80
# before a fork, while the probe is below SLOW_RATIO x the reference so far (known after MIN_PROBES
# probes), the driver waits WAIT_STEP_S and probes again, for at most WAIT_MAX_S, then runs the fork anyway;
# a run waits WAIT_TOTAL_MAX_S in all at most (a host that stays busy makes the run unquotable, not endless)
MIN_PROBES = 6
WAIT_STEP_S = 20
WAIT_MAX_S = 300
WAIT_TOTAL_MAX_S = 1200
# after the run, disturbed forks are measured again in up to REMEASURE_ROUNDS rounds, each of which may wait
# REMEASURE_WAIT_S more (driver.py)
REMEASURE_ROUNDS = 3
REMEASURE_WAIT_S = 300


def fork_probe_gbps(doc):
    """The fork's probe: the lower in-place scale GB/s of the probes before and after it (None if absent)."""
    p = doc.get("probe") or {}
    vals = [x["scale_gbps"] for x in (p.get("before"), p.get("after")) if x and x.get("scale_gbps")]
    return min(vals) if vals else None


def reference_gbps(docs):
    """The 75th percentile of every probe recorded by the forks `docs` (each probe once per fork side)."""
    vals = []
    for d in docs:
        p = d.get("probe") or {}
        vals += [x["scale_gbps"] for x in (p.get("before"), p.get("after")) if x and x.get("scale_gbps")]
    return percentile75(vals)


def percentile75(vals):
    """The 75th percentile (linear interpolation) of a list of numbers; None when empty."""
    if not vals:
        return None
    if len(vals) == 1:
        return vals[0]
    return statistics.quantiles(vals, n=4, method="inclusive")[2]


def is_slow(doc, ref):
    """True when the fork's probe is below SLOW_RATIO x the reference."""
    g = fork_probe_gbps(doc)
    return g is not None and ref is not None and g < SLOW_RATIO * ref


def fork_docs(run_dir):
    """Every fork result of a run folder (not the floor, datasets or plan files)."""
    docs = []
    for p in sorted(os.listdir(run_dir)):
        if p.endswith(".json") and p != "plan.json" and not p.startswith(("floor-", "data-")):
            try:
                with open(os.path.join(run_dir, p)) as f:
                    docs.append(json.load(f))
            except (OSError, ValueError):
                pass
    return docs


def self_test(probe_file):
    """bench/run --self-test: the probe's output parses, and the rule flags exactly the slow forks."""
    with open(probe_file) as f:
        p = json.load(f)
    assert p["scale_gbps"] > 0 and p["read_gbps"] > 0 and p["bytes"] == 16 << 20, p
    fast, slow = {"scale_gbps": 100.0}, {"scale_gbps": 50.0}
    forks = [{"probe": {"before": fast, "after": fast}}] * 5 + [
        {"probe": {"before": fast, "after": fast}},   # (an "after" blip was probed again: the driver kept the faster)
        {"probe": {"before": fast, "after": slow}},   # slow after the fork, confirmed: slow
        {"probe": {"before": None, "after": slow}},   # one probe failed, the other slow: slow
        {}]                                           # no probe: never slow, counted as unprobed by report.py
    ref = reference_gbps(forks)
    assert ref == 100.0, ref
    assert percentile75([50.0, 60.0, 100.0, 110.0, 120.0]) == 110.0
    assert [is_slow(d, ref) for d in forks] == [False] * 6 + [True, True, False]
    assert fork_probe_gbps(forks[-1]) is None
    print("probe self-test: %.1f GB/s in place (%.1f read) over 16 MiB; the rule flags 2 of 9 made-up forks"
          % (p["scale_gbps"], p["read_gbps"]))


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        self_test(sys.argv[2])
    else:
        sys.exit("usage: probe.py --self-test PROBE_JSON")
