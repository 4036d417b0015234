#!/usr/bin/python3
"""Plans and runs the gradclip benchmark (bench/run calls this after building): the native floor, then
every fork (one process per implementation x JVM configuration x layout x shape set x dtype, each
running every operation), fork after fork, then bench/py/report.py. Progress goes to stderr. Every
fork writes its own JSON file into the run folder (bench/results/tmp/<run-id>/); `bench/run --resume`
reruns only the forks whose file is missing (failed or not reached). A failed fork is reported loudly,
logged in failures.txt, and makes the run exit non-zero; the report still covers what completed.

Shape set after shape set: before a set's first fork its datasets are generated once into the run
folder (data/<set>/, dev.gradclip.bench.DataCache, every dtype of the run) and every fork of the set
loads them (checked against their CRC-32s); when the set's last fork has run, the folder is deleted.
Within a set, every fork's first repetition runs before any second one. Around every fork the driver
records the machine's CPU time that is not the fork's (/proc/stat minus the fork's own rusage):
"foreign CPU %", which report.py uses to say whether the run is quotable."""
import argparse
import datetime
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen  # noqa: E402
import probe  # noqa: E402
from report import FOREIGN_CPU_LIMIT_PCT  # noqa: E402

WIDTH = {"fp32": 4, "bf16": 2, "fp16": 2}
NOPS = 8
NFRACTIONS = 5
# the peers 20-50x slower than the rest (ND4J's clip by value takes 0.2-0.8 s a call on bert-base): their
# measured phase needs this many rounds (not the normal minimum) besides the normal minimum time
SLOW_PEERS = ("nd4j", "naive")
SLOW_PEER_ROUNDS = 3
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Job:
    def __init__(self, impl, jvm, layout, shapes, dtype, fork, elements, tensors=1):
        self.impl, self.jvm, self.layout, self.shapes, self.dtype, self.fork = impl, jvm, layout, shapes, dtype, fork
        self.elements, self.tensors = elements, tensors

    @property
    def key(self):
        return "%s_%s_%s_%s_%s_f%d" % (self.impl, self.jvm, self.layout, self.shapes, self.dtype, self.fork)

    def bytes(self):
        return self.elements * WIDTH[self.dtype]

    def memory(self):
        """Bytes the fork needs: the pristine datasets (loaded from the cache) and the working copy."""
        b = self.bytes()
        need = b * (NFRACTIONS + 1)
        return need + (512 << 20)


def cpu_busy_s():
    """Non-idle CPU seconds of the whole machine so far (/proc/stat: user, nice, system, irq, softirq,
    steal; guest time is inside user), and the steal seconds alone."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    steal = v[7] if len(v) > 7 else 0
    return (v[0] + v[1] + v[2] + v[5] + v[6] + steal) / CLK_TCK, steal / CLK_TCK


def own_cpu_s():
    """CPU seconds of this driver and of its waited-for children (the forks) so far."""
    c, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return c.ru_utime + c.ru_stime + me.ru_utime + me.ru_stime


class CpuMeter:
    """Foreign CPU during one child: the machine's non-idle CPU time minus the child's and the driver's
    own, as a percentage of the machine's capacity over the wall time (cores x seconds)."""

    def __init__(self):
        self.t0, (self.busy0, self.steal0), self.own0 = time.time(), cpu_busy_s(), own_cpu_s()

    def done(self):
        wall = time.time() - self.t0
        busy, steal = cpu_busy_s()
        own = own_cpu_s() - self.own0
        busy -= self.busy0
        foreign = max(0.0, busy - own)
        cap = max(wall, 1e-9) * os.cpu_count()
        return {"wall_s": round(wall, 3), "fork_cpu_s": round(own, 3), "machine_cpu_s": round(busy, 3),
                "foreign_cpu_s": round(foreign, 3), "foreign_cpu_pct": round(100.0 * foreign / cap, 2),
                "steal_s": round(steal - self.steal0, 3)}


# ---- the estimate: calibrated on the quiet partial run of 2026-11-29 17:29 (bench-partial-s3: bert-base
# fp32/bf16/fp16 forks of every implementation; `driver.py --check-estimate RUN_DIR` compares this model
# with any run's walls). Per fork: start-up + the data (generated in the fork before the cache, loaded
# from it now) + the checks and allocations + warm-up + measured rounds.
START_S = {"gradclip": 0.7, "naive": 0.7, "nd4j": 4.0, "libtorch": 4.0, "pytorch": 3.5}
# seconds per GB of one dataset (the shape set in the fork's dtype): allocations, the one checked call of
# every operation and its check, the JVM's exit
# (refitted on the 348 forks of the full run of 2026-11-29 23:57 and the 100 of 2026-11-30 04:47: the
# model had said 73 minutes for a run whose forks took 84)
SETUP_S_PER_GB = {"gradclip": 25.0, "naive": 30.0, "nd4j": 30.0, "libtorch": 28.0, "pytorch": 58.0}
# ns per element per round of 8 operations, each after its restore (fp32, bf16/fp16)
ROUND_NS = {"gradclip": (3.6, 3.0), "naive": (5.4, 5.4), "nd4j": (22.7, 22.7), "libtorch": (4.4, 4.9),
            "pytorch": (3.0, 2.8)}
PER_TENSOR_S = {"gradclip": 2e-6, "naive": 2e-7, "nd4j": 6e-5, "libtorch": 1.5e-5, "pytorch": 2e-5}
GEN_NS = {"java": 23.0, "pytorch": 53.0}     # ns per element and dataset, generating in the fork (before the cache)
LOAD_GBPS = {"java": 1.5, "pytorch": 1.0}    # loading the cache: read (page cache) + CRC-32 + copy, GB/s
CACHE_GEN_NS = 17.0                          # DataCache generate: ns per element and dataset, all dtypes, 2 threads
DISK_WRITE_GBPS = 0.12                       # its files are fsync'ed before the forks: the disk's write speed
PROBE_S = 0.5                                # the bandwidth probe after every fork (probe.py), with its start-up


def estimate_parts(job, q, data="cache"):
    """Rough seconds for one fork on a quiet 2-core machine: (start, data, setup, warm-up, measure)."""
    b = job.bytes()
    lang = "pytorch" if job.impl == "pytorch" else "java"
    if data == "cache":
        data_s = b * NFRACTIONS / (LOAD_GBPS[lang] * 1e9)
    else:
        data_s = job.elements * NFRACTIONS * GEN_NS[lang] * 1e-9
    setup = SETUP_S_PER_GB[job.impl] * b / 1e9
    ns = ROUND_NS[job.impl][0 if job.dtype == "fp32" else 1]
    round_s = job.elements * ns * 1e-9 + NOPS * job.tensors * PER_TENSOR_S[job.impl] + NOPS * 2e-5
    warm = max(q["warmup_s"], q["warmup_rounds"] * round_s)
    rounds = SLOW_PEER_ROUNDS if job.impl in SLOW_PEERS else q["rounds"]
    # at least `rounds` rounds and measure_s seconds, at most max_rounds rounds (small sets stop there),
    # + the round that crosses the time
    meas = min(max(q["measure_s"], rounds * round_s), q["max_rounds"] * round_s) + round_s
    return START_S[job.impl], data_s, setup, warm, meas


def estimate_s(job, q, data="cache"):
    return sum(estimate_parts(job, q, data))


def generate_estimate_s(elements, dtypes):
    """DataCache generate for one shape set: compute on 2 threads, or the disk's write speed."""
    written = elements * NFRACTIONS * sum(WIDTH[d] for d in dtypes)
    return 1.0 + max(elements * NFRACTIONS * CACHE_GEN_NS * 1e-9, written / (DISK_WRITE_GBPS * 1e9))


FLOOR_MIN_S = {"full": 0.25, "quick": 0.1}
FLOOR_MIN_PASSES = {"full": 15, "quick": 5}


def floor_estimate_s(sizes, mode, threads):
    """One floor run (stream): per size, the buffers' first touch, then 3 kernels of timed passes, each
    after an untimed restore (a copy), at ~40 GB/s on 2 threads (22 GB/s on 1) for large sizes."""
    gbps = 40e9 if threads > 1 else 22e9
    total = 0.0
    for b in sizes:
        total += 3 * b / 4e9                                   # first touch of pristine, b and c
        for moved in (1, 2, 2):                                # read, copy, scale (bytes moved per byte)
            pass_s = (moved * b + 2 * b) / gbps                # the pass + the restore before it
            reps = max(FLOOR_MIN_PASSES[mode], min(2000, FLOOR_MIN_S[mode] / max(moved * b / gbps, 1e-7)))
            total += reps * pass_s
    return FLOOR_CALIBRATION * total + 0.2


# this model gave 3.6 min for the floor of the partial run of 2026-11-29 (1.5 s per kernel); it took ~5
FLOOR_CALIBRATION = 1.4


def latest_unfinished(results, mode):
    tmp_root = os.path.join(results, "tmp")
    if not os.path.isdir(tmp_root):
        return None
    cands = sorted(d for d in os.listdir(tmp_root) if d.endswith("-" + mode)
                   and not os.path.exists(os.path.join(tmp_root, d, "DONE")))
    return os.path.join(tmp_root, cands[-1]) if cands else None


def disturbed(path, ref=None):
    """True when the result file at `path` recorded foreign CPU at or above the quotable limit (another
    process disturbed it), or its bandwidth probe fell below probe.SLOW_RATIO x `ref`, the run's median
    probe (another VM on the host took memory bandwidth): measured again, then by --resume."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return False
    pct = (doc.get("cpu") or {}).get("foreign_cpu_pct")
    return (pct is not None and pct >= FOREIGN_CPU_LIMIT_PCT) or probe.is_slow(doc, ref)


def run_child(cmd, env, cwd=None, stdout=None, timeout=None):
    """Runs one fork; if the driver is interrupted, the fork is stopped too (its file is then missing,
    so --resume reruns it). A fork running past its timeout is stopped and counts as failed (exit 124).
    Returns (exit code, stdout, the CpuMeter record of the fork)."""
    meter = CpuMeter()
    rc, out = _run_child(cmd, env, cwd, stdout, timeout)
    return rc, out, meter.done()


def _run_child(cmd, env, cwd, stdout, timeout):
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout)
    try:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            log("!! fork still running after %.0f s: stopping it" % timeout)
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            return 124, None
        return p.returncode, out
    except BaseException:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        raise


def plan(a, shape_sets, jvms):
    """Shape set after shape set (each set's dataset cache lives only while its forks run); within a
    set, every fork's first repetition before any second one. Within a set, each repetition runs the
    dtypes in turn, and each dtype's block (every gradclip configuration, then the peers) runs forwards in
    odd repetitions and backwards in even ones (A B ... B A): a drift of the host's speed that is linear
    over the block then moves every implementation's mean position, and so the median of its two forks,
    by the same amount, instead of favouring whoever runs first (bench/NOTES.md item 29)."""
    jobs = []
    dtypes = a.dtypes.split(",")
    for shapes in shape_sets:
        sz = gen.sizes(a.shapes_dir, shapes)
        n, nt = sum(sz), len(sz)
        for fork in range(1, a.forks + 1):
            for dtype in dtypes:
                block = []
                for jvm in jvms:
                    layouts = a.layouts.split(",") if dtype == "fp32" else a.half_layouts.split(",")
                    for layout in layouts:
                        if a.quick and (layout != "heap" and jvm != "jdk17"):
                            continue    # quick: the off-heap layouts on plain JDK 17 only
                        block.append(Job("gradclip", jvm, layout, shapes, dtype, fork, n, nt))
                peer_ok = not (a.quick and fork > 1)   # quick: the peers run once, gradclip twice
                if a.torch and peer_ok:
                    block.append(Job("pytorch", "python", "torch", shapes, dtype, fork, n, nt))
                if a.libtorch and peer_ok:
                    block.append(Job("libtorch", "jdk17", "torch", shapes, dtype, fork, n, nt))
                if dtype == "fp32" and a.naive and peer_ok:
                    block.append(Job("naive", "jdk17", "heap", shapes, dtype, fork, n, nt))
                if dtype == "fp32" and a.nd4j and peer_ok:
                    block.append(Job("nd4j", "jdk17", "nd4j", shapes, dtype, fork, n, nt))
                jobs.extend(block if fork % 2 == 1 else reversed(block))
    return jobs


def command(job, a, q, out, data_dir):
    rounds = SLOW_PEER_ROUNDS if job.impl in SLOW_PEERS else q["rounds"]
    timing = ["--warmup-s", str(q["warmup_s"]), "--warmup-rounds", str(q["warmup_rounds"]),
              "--measure-s", str(q["measure_s"]), "--rounds", str(rounds), "--max-rounds", str(q["max_rounds"]),
              "--data", data_dir]
    if job.impl == "pytorch":
        return [a.python, os.path.join(HERE, "torch_peer.py"), "--shapes-dir", a.shapes_dir, "--shapes", job.shapes,
                "--dtype", job.dtype, "--threads", str(a.torch_threads), "--label", "python", "--out", out] + timing
    java = {"jdk17": a.java17, "jdk17vec": a.java17, "jdk25": a.java25}[job.jvm]
    heap_bytes = job.bytes() * (NFRACTIONS + (1 if job.layout == "heap" else 0))
    xmx = max(1 << 30, int(heap_bytes * 1.25) + (768 << 20))
    args = [java, "-Xms%dm" % (min(xmx, heap_bytes + (256 << 20)) >> 20), "-Xmx%dm" % (xmx >> 20),
            "-XX:+UseParallelGC", "-XX:MaxDirectMemorySize=%dm" % ((job.bytes() + (1 << 30)) >> 20),
            "-Dorg.bytedeco.javacpp.maxbytes=%d" % (job.bytes() * 2 + (4 << 30)),
            "-Dorg.bytedeco.javacpp.maxphysicalbytes=%d" % (xmx + job.bytes() * 2 + (4 << 30)),
            "-Dgradclip.bench.shapes=" + a.shapes_dir]
    if job.jvm == "jdk17vec":
        args += ["--add-modules", "jdk.incubator.vector"]
    args += ["-cp", a.classpath, "dev.gradclip.bench.Harness", "--impl", job.impl, "--layout", job.layout,
             "--shapes", job.shapes, "--dtype", job.dtype, "--label", job.jvm, "--out", out] + timing
    return args


def check_estimate(run_dir):
    """Compares the model with the walls of the forks in a run folder (the forks record whether they
    generated their data or loaded the cache); prints every fork and the total error."""
    with open(os.path.join(run_dir, "plan.json")) as f:
        q = json.load(f)["timing"]
    tot_est = tot_real = 0.0
    for path in sorted(os.listdir(run_dir)):
        if not path.endswith(".json") or path.startswith("floor-") or path.startswith("data-") or path == "plan.json":
            continue
        with open(os.path.join(run_dir, path)) as f:
            d = json.load(f)
        if "wall_s" not in d:
            continue
        j = Job(d["impl"], d["jvm"], d["layout"], d["shapes"], d["dtype"], d.get("fork", 1), d["elements"], d["tensors"])
        parts = estimate_parts(j, q, d.get("data", "generated"))
        e = sum(parts)
        tot_est += e
        tot_real += d["wall_s"]
        print("%-50s wall %6.1f s  model %6.1f s (%+4.0f %%)  [start %.1f, data %.1f, setup %.1f, warm %.1f, measure %.1f]"
              % (path[:-5], d["wall_s"], e, 100 * (e / d["wall_s"] - 1), *parts))
    if tot_real:
        print("total: wall %.1f min, model %.1f min (%+.1f %%)" % (tot_real / 60, tot_est / 60, 100 * (tot_est / tot_real - 1)))
    return 0


def check_plan(shapes_dir):
    """bench/run --self-test: every fork is planned once; within a set, every first repetition comes
    before any second; and each (set, dtype) block of the second repetition is the first one's reverse."""
    a = argparse.Namespace(dtypes="fp32,bf16", forks=2, layouts="heap,native,direct", half_layouts="heap,native",
                           quick=False, torch=True, libtorch=True, naive=True, nd4j=True, shapes_dir=shapes_dir)
    sets = ["imdb-lstm", "resnet50"]
    jobs = plan(a, sets, ["jdk17", "jdk25"])
    keys = [j.key for j in jobs]
    # per dtype and repetition: 2 JVMs x the layouts, PyTorch, libtorch, and fp32's naive loop and ND4J
    expected = len(sets) * a.forks * ((2 * 3 + 4) + (2 * 2 + 2))
    if len(keys) != len(set(keys)) or len(keys) != expected:
        sys.exit("plan: %d forks, %d distinct, %d expected" % (len(keys), len(set(keys)), expected))
    for s_ in sets:
        forks = [j.fork for j in jobs if j.shapes == s_]
        if forks != sorted(forks):
            sys.exit("plan: %s runs a second repetition before a first one" % s_)
        for d in a.dtypes.split(","):
            def order(fork):
                return [(j.impl, j.jvm, j.layout) for j in jobs if j.shapes == s_ and j.dtype == d and j.fork == fork]
            if order(2) != order(1)[::-1]:
                sys.exit("plan: %s %s: the second repetition is not the first one backwards" % (s_, d))
    print("plan self-test: %d forks over %d sets, each second repetition the first one backwards" % (len(keys), len(sets)))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-estimate":
        return check_estimate(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--check-plan":
        return check_plan(sys.argv[2])
    # SIGTERM/SIGHUP raise SystemExit, so that run_child stops the running fork before the driver exits
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--shapes", default=None, help="comma-separated shape sets (default: every set that fits)")
    ap.add_argument("--dtypes", default=None)
    ap.add_argument("--forks", type=int, default=None, help="repetitions of every fork (the spread needs 2+)")
    ap.add_argument("--layouts", default="heap,native,direct", help="layouts of the fp32 gradclip forks")
    ap.add_argument("--half-layouts", default="heap,native", help="layouts of the bf16/fp16 gradclip forks")
    ap.add_argument("--jvms", default="jdk17,jdk17vec,jdk25")
    ap.add_argument("--no-torch", dest="torch", action="store_false")
    ap.add_argument("--no-libtorch", dest="libtorch", action="store_false")
    ap.add_argument("--no-nd4j", dest="nd4j", action="store_false")
    ap.add_argument("--no-naive", dest="naive", action="store_false")
    ap.add_argument("--only", default=None, help="run only these implementations (comma-separated)")
    ap.add_argument("--resume", action="store_true", help="continue the latest unfinished run of this mode")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and the estimate, run nothing")
    ap.add_argument("--java17", required=True)
    ap.add_argument("--java25", default="")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--floor-bin", required=True)
    ap.add_argument("--shapes-dir", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--torch-threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    mode = "quick" if a.quick else "full"
    if a.quick:
        q = {"warmup_s": 0.3, "warmup_rounds": 1, "measure_s": 1.0, "rounds": 5, "max_rounds": 200}
        a.shapes = a.shapes or "gpt2-small,many-small"
        a.dtypes = a.dtypes or "fp32"
        a.forks = a.forks or 2
    else:
        q = {"warmup_s": 2.0, "warmup_rounds": 2, "measure_s": 3.0, "rounds": 8, "max_rounds": 400}
        a.dtypes = a.dtypes or "fp32,bf16,fp16"
        a.forks = a.forks or 2
    if a.only:
        only = set(a.only.split(","))
        a.torch, a.libtorch, a.nd4j, a.naive = ("pytorch" in only, "libtorch" in only, "nd4j" in only, "naive" in only)
        gradclip_on = "gradclip" in only
    else:
        gradclip_on = True
    jvms = [j for j in a.jvms.split(",") if j]
    if "jdk25" in jvms and not (a.java25 and os.access(a.java25, os.X_OK)):
        log("!! no JDK 25 at %r: the jdk25 configuration is left out (set JDK25_HOME or --jdk25 PATH)" % a.java25)
        jvms.remove("jdk25")
    if not gradclip_on:
        jvms = []

    all_sets = sorted(f[:-4] for f in os.listdir(a.shapes_dir) if f.endswith(".txt"))
    wanted = a.shapes.split(",") if a.shapes else all_sets
    avail = mem_available()
    shape_sets = []
    for s in wanted:
        if s not in all_sets:
            sys.exit("bench/run: unknown shape set %s (have %s)" % (s, ", ".join(all_sets)))
        n = sum(gen.sizes(a.shapes_dir, s))
        need = Job("gradclip", "", "", s, "fp32", 1, n).memory() + n * 4 * 2
        if need > 0.85 * avail:
            log("!! shape set %s left out: %s elements need ~%.1f GiB per fork (6 copies in fp32), %.1f GiB available"
                % (s, "{:,}".format(n), need / 2 ** 30, avail / 2 ** 30))
            continue
        shape_sets.append(s)
    jobs = plan(a, shape_sets, jvms)

    run_dir = latest_unfinished(a.results, mode) if a.resume else None
    if a.resume and run_dir is None:
        sys.exit("bench/run --resume: no unfinished %s run in %s" % (mode, os.path.join(a.results, "tmp")))
    # to run: every fork without a result file, and (resuming) every fork another process disturbed
    ref0 = probe.reference_gbps(probe.fork_docs(run_dir)) if run_dir else None
    todo = [j for j in jobs if not (run_dir and os.path.exists(os.path.join(run_dir, j.key + ".json"))
                                    and not disturbed(os.path.join(run_dir, j.key + ".json"), ref0))]
    floor_sizes = sorted({n * WIDTH[d] for s in shape_sets for n in [sum(gen.sizes(a.shapes_dir, s))]
                          for d in a.dtypes.split(",")})
    floor_runs = [(tag, t) for tag in ("start", "end") for t in sorted({1, os.cpu_count()})]
    floor_s = sum(floor_estimate_s(floor_sizes, mode, t) for _, t in floor_runs)
    gen_sets = {j.shapes: j.elements for j in todo}
    gen_s = sum(generate_estimate_s(n, a.dtypes.split(",")) for n in gen_sets.values())
    fork_s = sum(estimate_s(j, q) + PROBE_S for j in todo)
    est = fork_s + floor_s + gen_s
    log("== bench/run (%s): %d forks (%d to run) over %s; JVMs %s; dtypes %s; %d repetitions"
        % (mode, len(jobs), len(todo), ",".join(shape_sets), ",".join(jvms) or "-", a.dtypes, a.forks))
    log("== expected duration on a quiet %d-core machine: ~%.0f min (forks %.0f, datasets %.1f, floor %.1f; "
        "the model of driver.py, calibrated on the full runs; waits for a slow host and re-measures come on "
        "top); machine load now %s"
        % (os.cpu_count(), est / 60, fork_s / 60, gen_s / 60, floor_s / 60, loadavg()))
    if a.dry_run:
        for j in todo:
            log("   %-60s ~%5.1f s, ~%.1f GiB" % (j.key, estimate_s(j, q), j.memory() / 2 ** 30))
        for s_, n in gen_sets.items():
            log("   datasets %-51s ~%5.1f s, %.1f GB on disk" % (s_, generate_estimate_s(n, a.dtypes.split(",")),
                                                               n * NFRACTIONS * sum(WIDTH[d] for d in a.dtypes.split(",")) / 1e9))
        return 0

    # the run folder: new, or the latest unfinished one of this mode
    tmp_root = os.path.join(a.results, "tmp")
    if run_dir:
        with open(os.path.join(run_dir, "plan.json")) as f:
            saved = json.load(f)
        log("== resuming %s (started %s)" % (run_dir, saved["started"]))
    else:
        os.makedirs(tmp_root, exist_ok=True)
        run_dir = os.path.join(tmp_root, datetime.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + mode)
        os.makedirs(run_dir)
        saved = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "mode": mode, "load_before": loadavg(), "argv": sys.argv[1:], "timing": q,
                 "slow_peers": {"impls": list(SLOW_PEERS), "min_rounds": SLOW_PEER_ROUNDS},
                 "floor": {"min_s": FLOOR_MIN_S[mode], "min_passes": FLOOR_MIN_PASSES[mode]},
                 "estimate_min": round(est / 60, 1)}
        with open(os.path.join(run_dir, "plan.json"), "w") as f:
            json.dump(saved, f, indent=1)

    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(os.cpu_count())   # ND4J's and libtorch's OpenMP pools: one thread per core
    failures = []

    def run_floor(tag):
        for threads in sorted({1, os.cpu_count()}):
            out = os.path.join(run_dir, "floor-%s-%dt.json" % (tag, threads))
            if (os.path.exists(out) and not disturbed(out)) or not floor_sizes:
                continue
            log("== native floor (%s, %d thread%s): read / copy / scale over %s bytes" % (
                tag, threads, "s" if threads > 1 else "", ", ".join(str(b) for b in floor_sizes)))
            e = dict(env, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="true")
            rc, stdout, cpu = run_child([a.floor_bin, str(FLOOR_MIN_S[mode]), str(FLOOR_MIN_PASSES[mode])]
                                        + [str(b) for b in floor_sizes], e, stdout=subprocess.PIPE)
            if rc != 0:
                failures.append("floor %s %dt: exit %d" % (tag, threads, rc))
                log("!! FAILED: native floor, exit %d" % rc)
                continue
            doc = json.loads(stdout)
            doc["cpu"] = cpu
            with open(out + ".part", "w") as f:
                json.dump(doc, f)
            os.replace(out + ".part", out)

    data_root = os.path.join(run_dir, "data")

    def ensure_data(shapes):
        """The shape set's dataset cache: generated (every dtype of the run) unless a complete one is there."""
        d = os.path.join(data_root, shapes)
        if os.path.exists(os.path.join(d, "manifest.txt")):
            return d, None
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        n = sum(gen.sizes(a.shapes_dir, shapes))
        need = n * NFRACTIONS * sum(WIDTH[x] for x in a.dtypes.split(","))
        free = shutil.disk_usage(d).free
        if need > free - (2 << 30):
            return None, "datasets of %s: %.1f GB needed on disk, %.1f GB free in %s" % (shapes, need / 1e9, free / 1e9, d)
        log("== datasets of %s: %s elements x %d fractions in %s, written to %s (~%.0f s)"
            % (shapes, "{:,}".format(n), NFRACTIONS, a.dtypes, d, generate_estimate_s(n, a.dtypes.split(","))))
        cmd = [a.java17, "-Xmx2g", "-Dgradclip.bench.shapes=" + a.shapes_dir, "-cp", a.classpath,
               "dev.gradclip.bench.DataCache", "generate", "--shapes", shapes, "--dtypes", a.dtypes,
               "--out", d, "--threads", str(os.cpu_count())]
        rc, _, cpu = run_child(cmd, env, cwd=BENCH, timeout=3600)
        if rc != 0:
            return None, "datasets of %s: exit %d; rerun: %s" % (shapes, rc, " ".join(shlex.quote(c) for c in cmd))
        with open(os.path.join(run_dir, "data-%s.json" % shapes), "w") as f:
            json.dump({"shapes": shapes, "dtypes": a.dtypes, "elements": n, "cpu": cpu}, f)
        return d, None

    data_dirs = {}
    last_probe = [None]   # the probe after the previous fork: the next fork's "before" when nothing ran between

    seen = []   # every probe's in-place GB/s so far (resuming: the recorded forks' probes)
    for d in probe.fork_docs(run_dir):
        seen += [x["scale_gbps"] for x in ((d.get("probe") or {}).get("before"), (d.get("probe") or {}).get("after"))
                 if x and x.get("scale_gbps")]
    waits = []
    extra_wait_s = [0.0]   # wait budget added by the re-measure rounds at the end

    def take_probe():
        """The bandwidth probe (probe.py): `stream probe` on all cores; None (logged) if it fails."""
        e = dict(env, OMP_NUM_THREADS=str(os.cpu_count()), OMP_PROC_BIND="true")
        rc, stdout, _ = run_child([a.floor_bin, "probe", str(probe.PROBE_BYTES)], e, stdout=subprocess.PIPE, timeout=120)
        if rc != 0:
            log("!! the bandwidth probe failed (exit %d)" % rc)
            return None
        doc = json.loads(stdout)
        seen.append(doc["scale_gbps"])
        return doc

    def settled_probe(p, key):
        """The probe to start fork `key` with: while the machine's memory is slow (below SLOW_RATIO x the
        75th percentile of the probes so far), wait and probe again, up to WAIT_MAX_S (logged, recorded)."""
        ref = probe.percentile75(seen) if len(seen) >= probe.MIN_PROBES else None
        t0 = time.time()
        budget = probe.WAIT_TOTAL_MAX_S + extra_wait_s[0] - sum(w["waited_s"] for w in waits)
        while (ref and p and p["scale_gbps"] < probe.SLOW_RATIO * ref and time.time() - t0 < probe.WAIT_MAX_S
               and time.time() - t0 < budget):
            log("   memory slow before %s: probe %.1f GB/s < %.0f %% of %.1f; waiting %d s"
                % (key, p["scale_gbps"], 100 * probe.SLOW_RATIO, ref, probe.WAIT_STEP_S))
            time.sleep(probe.WAIT_STEP_S)
            p = take_probe()
        if time.time() - t0 >= 1:
            waits.append({"fork": key, "waited_s": round(time.time() - t0, 1), "probe_gbps": p and p["scale_gbps"]})
        return p

    done_est, done_real = [0.0], [0.0]

    def run_jobs(todo):
        last_of_set = {j.shapes: i for i, j in enumerate(todo)}
        for i, j in enumerate(todo, 1):
            out = os.path.join(run_dir, j.key + ".json")
            e_s = estimate_s(j, q)
            remaining = (sum(estimate_s(x, q) for x in todo[i - 1:]) + floor_s / 2
                         + sum(generate_estimate_s(n, a.dtypes.split(",")) for s_, n in gen_sets.items() if s_ not in data_dirs))
            factor = (done_real[0] / done_est[0]) if done_est[0] > 0 else 1.0
            if j.shapes not in data_dirs:
                g0 = time.time()
                data_dirs[j.shapes], err = ensure_data(j.shapes)
                last_probe[0] = None
                if err:
                    log("!! FAILED " + err)
                    failures.append(err)
                done_est[0] += generate_estimate_s(j.elements, a.dtypes.split(","))
                done_real[0] += time.time() - g0
            log("== [%d/%d] %s  (load %s; ~%.0f min left)" % (i, len(todo), j.key, loadavg(), remaining * factor / 60))
            if data_dirs[j.shapes] is None:
                failures.append("%s: no datasets (their generation failed)" % j.key)
            elif j.memory() > 0.9 * mem_available():
                msg = "%s: needs ~%.1f GiB, only %.1f GiB available now" % (j.key, j.memory() / 2 ** 30, mem_available() / 2 ** 30)
                log("!! SKIPPED " + msg)
                failures.append(msg)
            else:
                cmd = command(j, a, q, out, data_dirs[j.shapes])
                before = settled_probe(last_probe[0] or take_probe(), j.key)
                load0 = loadavg()
                rc, _, cpu = run_child(cmd, env, cwd=BENCH, timeout=max(900.0, 20 * e_s))
                after = take_probe()
                ref = probe.percentile75(seen) if len(seen) >= probe.MIN_PROBES else None
                if ref and after and after["scale_gbps"] < probe.SLOW_RATIO * ref:
                    again = take_probe()   # a single slow probe may be a blip: keep the faster of two
                    if again and again["scale_gbps"] > after["scale_gbps"]:
                        after = again
                last_probe[0] = after
                took = cpu["wall_s"]
                done_est[0] += e_s
                done_real[0] += took
                if rc != 0 or not os.path.exists(out):
                    msg = "%s: exit %d after %.0f s; rerun: %s" % (j.key, rc, took, " ".join(shlex.quote(c) for c in cmd))
                    log("!! FAILED " + msg)
                    failures.append(msg)
                else:
                    with open(out) as f:
                        doc = json.load(f)
                    doc["fork"], doc["load_before"], doc["load_after"], doc["wall_s"] = j.fork, load0, loadavg(), took
                    doc["cpu"] = cpu
                    doc["probe"] = {"before": before, "after": after}
                    with open(out, "w") as f:
                        json.dump(doc, f, indent=1)
                    busy = cpu["foreign_cpu_pct"] >= FOREIGN_CPU_LIMIT_PCT
                    g = probe.fork_probe_gbps(doc)
                    log("   %.1f s (model %.1f s); foreign CPU %.1f %% of the machine; probe %s GB/s%s" % (
                        took, e_s, cpu["foreign_cpu_pct"], "%.1f" % g if g else "-",
                        "  !! another process was busy: not quotable" if busy else ""))
            if last_of_set[j.shapes] == i - 1 and data_dirs.get(j.shapes):
                shutil.rmtree(data_dirs.pop(j.shapes), ignore_errors=True)   # the set's last fork has run
                last_probe[0] = None
                log("== datasets of %s deleted" % j.shapes)

    t_start = time.time()
    run_floor("start")
    run_jobs(todo)
    # forks disturbed by another process or by a slow machine (probe.py) are measured again here, in up to
    # probe.REMEASURE_ROUNDS rounds, while they are few (many: the machine is not quiet, and --resume is the
    # better moment) and each round leaves fewer than the last. Each round may wait probe.REMEASURE_WAIT_S
    # more for the machine's memory (the run's own wait budget is often spent by then). Which forks are
    # measured again depends only on the probes and the foreign CPU, never on the times they measured.
    previous = None
    for round_no in range(1, probe.REMEASURE_ROUNDS + 1):
        ref = probe.reference_gbps(probe.fork_docs(run_dir))
        again = [j for j in jobs if disturbed(os.path.join(run_dir, j.key + ".json"), ref)]
        if not again or len(again) > max(4, len(jobs) // 6) or (previous is not None and len(again) >= previous):
            break
        previous = len(again)
        extra_wait_s[0] += probe.REMEASURE_WAIT_S
        log("== measuring %d disturbed fork(s) again, round %d of at most %d (reference probe %.1f GB/s): %s"
            % (len(again), round_no, probe.REMEASURE_ROUNDS, ref or 0,
               ", ".join(j.key for j in again[:6]) + (", ..." if len(again) > 6 else "")))
        run_jobs(again)
    run_floor("end")
    saved["load_after"] = loadavg()
    saved["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    saved["wall_s"] = saved.get("wall_s", 0) + (time.time() - t_start)
    saved["failures"] = failures
    saved["probe_waits"] = saved.get("probe_waits", []) + waits
    with open(os.path.join(run_dir, "plan.json"), "w") as f:
        json.dump(saved, f, indent=1)
    if failures:
        with open(os.path.join(run_dir, "failures.txt"), "a") as f:
            f.write("\n".join(failures) + "\n")
    r = subprocess.run([a.python, os.path.join(HERE, "report.py"), "--run-dir", run_dir, "--shapes-dir", a.shapes_dir,
                        "--out-dir", a.results])
    if failures:
        log("!! %d fork(s) failed or were skipped (listed in %s/failures.txt); `bench/run %s--resume` reruns them"
            % (len(failures), run_dir, "--quick " if a.quick else ""))
        return 1
    ref = probe.reference_gbps(probe.fork_docs(run_dir))
    redo = [p[:-5] for p in sorted(os.listdir(run_dir)) if p.endswith(".json") and p != "plan.json"
            and not p.startswith("data-") and disturbed(os.path.join(run_dir, p), ref)]
    if redo:
        # not DONE: `--resume` finds this run and measures exactly these again
        log("!! %d fork(s) or floor run(s) ran while other processes used >= %.0f %% of the CPU or the machine's "
            "memory was slow (probe below %.0f %% of the run's reference) (%s): the run is not "
            "quotable; `bench/run %s--resume` measures them again" % (len(redo), FOREIGN_CPU_LIMIT_PCT, 100 * probe.SLOW_RATIO,
                                                                        ", ".join(redo[:5]) + (", ..." if len(redo) > 5 else ""),
                                                                        "--quick " if a.quick else ""))
        return 1
    open(os.path.join(run_dir, "DONE"), "w").close()
    log("== done in %.1f min" % ((time.time() - t_start) / 60))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
