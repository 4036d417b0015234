#!/usr/bin/python3
"""Plans and runs the gradclip benchmark (bench/run calls this after building): the native floor, then
every fork (one process per implementation x JVM configuration x layout x shape set x dtype, each
running every operation), fork after fork, then bench/py/report.py. Progress goes to stderr. Every
fork writes its own JSON file into the run folder (bench/results/tmp/<run-id>/); `bench/run --resume`
reruns only the forks whose file is missing (failed or not reached). A failed fork is reported loudly,
logged in failures.txt, and makes the run exit non-zero; the report still covers what completed."""
import argparse
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen  # noqa: E402

WIDTH = {"fp32": 4, "bf16": 2, "fp16": 2}
NOPS = 8
NFRACTIONS = 5


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
        """Bytes the fork needs: the pristine datasets, the working copy, and the peer's own copies."""
        b = self.bytes()
        need = b * (NFRACTIONS + 1)
        if self.impl == "pytorch":
            need += self.elements * 4 * 2   # fp32 generation temporaries
        return need + (512 << 20)


def estimate_s(job, q):
    """Rough seconds for one fork on a quiet 2-core machine (start-up, data generation, warm-up, measuring)."""
    b = job.bytes()
    start = {"gradclip": 1.0, "naive": 1.0, "nd4j": 5.0, "libtorch": 5.0, "pytorch": 3.0}[job.impl]
    gen_s = job.elements * NFRACTIONS * (3e-9 if job.impl != "pytorch" else 2.5e-8)
    slow = {"naive": 2.0, "nd4j": 4.0}.get(job.impl, 1.0)
    per_tensor = {"gradclip": 2e-6, "naive": 2e-7, "nd4j": 6e-5, "libtorch": 1.5e-5, "pytorch": 2e-5}[job.impl]
    round_s = NOPS * (b * 2 / 12e9 + slow * b * 2.5 / 15e9 + job.tensors * per_tensor + 2e-5)
    warm = max(q["warmup_s"], q["warmup_rounds"] * round_s)
    meas = max(q["measure_s"], min(q["max_rounds"], q["rounds"]) * round_s)
    return start + gen_s + warm + meas


def latest_unfinished(results, mode):
    tmp_root = os.path.join(results, "tmp")
    if not os.path.isdir(tmp_root):
        return None
    cands = sorted(d for d in os.listdir(tmp_root) if d.endswith("-" + mode)
                   and not os.path.exists(os.path.join(tmp_root, d, "DONE")))
    return os.path.join(tmp_root, cands[-1]) if cands else None


def run_child(cmd, env, cwd=None, stdout=None, timeout=None):
    """Runs one fork; if the driver is interrupted, the fork is stopped too (its file is then missing,
    so --resume reruns it). A fork running past its timeout is stopped and counts as failed (exit 124)."""
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
    jobs = []
    dtypes = a.dtypes.split(",")
    for fork in range(1, a.forks + 1):
        for shapes in shape_sets:
            sz = gen.sizes(a.shapes_dir, shapes)
            n, nt = sum(sz), len(sz)
            for dtype in dtypes:
                for jvm in jvms:
                    layouts = a.layouts.split(",") if dtype == "fp32" else a.half_layouts.split(",")
                    for layout in layouts:
                        if a.quick and (layout != "heap" and jvm != "jdk17"):
                            continue    # quick: the off-heap layouts on plain JDK 17 only
                        jobs.append(Job("gradclip", jvm, layout, shapes, dtype, fork, n, nt))
                peer_ok = not (a.quick and fork > 1)   # quick: the peers run once, gradclip twice
                if a.torch and peer_ok:
                    jobs.append(Job("pytorch", "python", "torch", shapes, dtype, fork, n, nt))
                if a.libtorch and peer_ok:
                    jobs.append(Job("libtorch", "jdk17", "torch", shapes, dtype, fork, n, nt))
                if dtype == "fp32" and a.naive and peer_ok:
                    jobs.append(Job("naive", "jdk17", "heap", shapes, dtype, fork, n, nt))
                if dtype == "fp32" and a.nd4j and peer_ok:
                    jobs.append(Job("nd4j", "jdk17", "nd4j", shapes, dtype, fork, n, nt))
    return jobs


def command(job, a, q, out):
    timing = ["--warmup-s", str(q["warmup_s"]), "--warmup-rounds", str(q["warmup_rounds"]),
              "--measure-s", str(q["measure_s"]), "--rounds", str(q["rounds"]), "--max-rounds", str(q["max_rounds"])]
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


def main():
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
    todo = [j for j in jobs if not (run_dir and os.path.exists(os.path.join(run_dir, j.key + ".json")))]
    floor_sizes = sorted({n * WIDTH[d] for s in shape_sets for n in [sum(gen.sizes(a.shapes_dir, s))]
                          for d in a.dtypes.split(",")})
    floor_s = 2 * 2 * (3 * (0.5 if a.quick else 1.5) + sum(3 * 12 * b / 12e9 for b in floor_sizes) * 0.2)
    est = sum(estimate_s(j, q) for j in todo) + floor_s
    log("== bench/run (%s): %d forks (%d to run) over %s; JVMs %s; dtypes %s; %d repetitions"
        % (mode, len(jobs), len(todo), ",".join(shape_sets), ",".join(jvms) or "-", a.dtypes, a.forks))
    log("== expected duration on a quiet %d-core machine: ~%.0f min (%s); machine load now %s"
        % (os.cpu_count(), est / 60, "a rough estimate from the bytes each fork moves, ±50 %", loadavg()))
    if a.dry_run:
        for j in todo:
            log("   %-60s ~%5.1f s, ~%.1f GiB" % (j.key, estimate_s(j, q), j.memory() / 2 ** 30))
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
                 "mode": mode, "load_before": loadavg(), "argv": sys.argv[1:], "timing": q}
        with open(os.path.join(run_dir, "plan.json"), "w") as f:
            json.dump(saved, f, indent=1)

    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(os.cpu_count())   # ND4J's and libtorch's OpenMP pools: one thread per core
    failures = []

    def run_floor(tag):
        for threads in sorted({1, os.cpu_count()}):
            out = os.path.join(run_dir, "floor-%s-%dt.json" % (tag, threads))
            if os.path.exists(out) or not floor_sizes:
                continue
            log("== native floor (%s, %d thread%s): read / copy / scale over %s bytes" % (
                tag, threads, "s" if threads > 1 else "", ", ".join(str(b) for b in floor_sizes)))
            e = dict(env, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="true")
            rc, stdout = run_child([a.floor_bin, "0.5" if a.quick else "1.5"] + [str(b) for b in floor_sizes],
                                   e, stdout=subprocess.PIPE)
            if rc != 0:
                failures.append("floor %s %dt: exit %d" % (tag, threads, rc))
                log("!! FAILED: native floor, exit %d" % rc)
                continue
            with open(out + ".part", "wb") as f:
                f.write(stdout)
            os.replace(out + ".part", out)

    t_start = time.time()
    run_floor("start")
    done_est, done_real = 0.0, 0.0
    for i, j in enumerate(todo, 1):
        out = os.path.join(run_dir, j.key + ".json")
        e_s = estimate_s(j, q)
        remaining = sum(estimate_s(x, q) for x in todo[i - 1:])
        factor = (done_real / done_est) if done_est > 0 else 1.0
        log("== [%d/%d] %s  (load %s; ~%.0f min left)" % (i, len(todo), j.key, loadavg(), remaining * factor / 60))
        if j.memory() > 0.9 * mem_available():
            msg = "%s: needs ~%.1f GiB, only %.1f GiB available now" % (j.key, j.memory() / 2 ** 30, mem_available() / 2 ** 30)
            log("!! SKIPPED " + msg)
            failures.append(msg)
            continue
        cmd = command(j, a, q, out)
        t0 = time.time()
        load0 = loadavg()
        rc, _ = run_child(cmd, env, cwd=BENCH, timeout=max(900.0, 20 * e_s))
        took = time.time() - t0
        done_est += e_s
        done_real += took
        if rc != 0 or not os.path.exists(out):
            msg = "%s: exit %d after %.0f s; rerun: %s" % (j.key, rc, took, " ".join(shlex.quote(c) for c in cmd))
            log("!! FAILED " + msg)
            failures.append(msg)
            continue
        with open(out) as f:
            doc = json.load(f)
        doc["fork"], doc["load_before"], doc["load_after"], doc["wall_s"] = j.fork, load0, loadavg(), took
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
    run_floor("end")
    saved["load_after"] = loadavg()
    saved["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    saved["wall_s"] = saved.get("wall_s", 0) + (time.time() - t_start)
    saved["failures"] = failures
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
    open(os.path.join(run_dir, "DONE"), "w").close()
    log("== done in %.1f min" % ((time.time() - t_start) / 60))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
