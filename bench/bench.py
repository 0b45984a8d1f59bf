#!/usr/bin/python3
"""bench.py -- nanobragg against the reference nanoBragg, side by side, on the reference workloads.

usage: NB_BENCH_REF=/path/to/nanoBragg bench/bench.py [--bin PATH] [--only a,b,c,d]
           [--variants ref,exact,fast,single] [--threads 1,2] [--repeat R] [--quick]
       bench/bench.py --quick                   # smoke test: small sizes, one repeat, seconds
       bench/bench.py --only c --repeat 1 --threads 1
       NB_BENCH_OTHER=/path/to/second/binary bench/bench.py   # also time a second binary
       bench/bench.py --ranks 1,2 --only c      # MPI speedup: np=1 vs np=2 (1 thread/rank)

Workloads: (a) cubic 1024^2, (b) triclinic 512^2 with misset, (c) (a) with mosaic x phi x
oversample (210 M terms), (d) the supervisor_roi command of the golden set over the whole
2463 x 2527 detector (needs the golden inputs, ../shared/golden or $NB_GOLDEN_DIR; skipped
without them).  --quick shrinks them (256^2, 128^2, 256^2, and (d) the golden 256^2 ROI).

Variants, each run in its own fresh folder with the same command line:
  ref     the reference binary named by $NB_BENCH_REF (omitted when unset).  If it is an
          OpenMP build (it links libgomp/libomp) it runs with OMP_NUM_THREADS=T like ours;
          if not, it is single-threaded and its "T threads" rows are one single-threaded
          process (the header says which).  How to build it: docs/performance.md.
  exact   ours, --math=exact (the reference arithmetic; the in-run baseline)
  fast    ours, default arithmetic (double)
  single  ours, --precision=single
  other   the binary named by $NB_BENCH_OTHER, if set (run like ref)
Ours also get --device=cpu: this is a benchmark of the CPU back-end.

Interleaved: for each workload, every repeat runs every (variant, threads) cell once, the
order rotated by one cell per repeat; each cell reports the median wall time of its runs.
A "term" (evaluation) is one term of the pixel loop: rendered pixels x layers x oversample^2 x
sources x phi steps x mosaic domains, counted from the program's own summary lines.
Columns: median seconds, spread (max-min)/median, terms/s, terms/s per core (terms/s / cores,
cores = threads, 1 for a single-threaded reference), peak RSS in MB of the program alone (the
largest of its runs; GNU /usr/bin/time's wait4 of it, see GNU_TIME below), ref/this and
exact/this (ratios of median times: > 1 means this variant is faster), and the float image
against the exact run of the same thread count: rel-Linf = max|x-y| / max|y| (y = exact), and
for single also the correlation and the sum ratio sum(x)/sum(y).
Then thread scaling (time at the first thread count / time at each other; whether our exact
images are identical across thread counts), and a "goals" block: each goal of the CPU-speed
issue, the measured ratio, PASS/MISS.  Progress goes to stderr, the tables to stdout.

The reference with several threads departs from serial semantics where a phi sweep starts at
0 (the golden README), as in (c) and (d): a small nonzero ref rel-Linf at T > 1 is expected.
Run times, default sizes, 2 cores: the reference takes some 25-30 s on (c) and 11 s on (d) on
one thread; the default run (a-d, 4 variants, threads 1,2, 3 repeats) takes 10-15 minutes
while our fast and single paths are no faster than the reference.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

A = ("-default_F 100 -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -distance 100 "
     "-detpixels 1024 -pixel 0.1")
WORKLOADS = {
    "a": ("cubic 1024^2, N=5", A),
    "b": ("triclinic 512^2, N=8, misset",
          "-cell 70 80 90 85 95 105 -default_F 100 -lambda 1.5 -N 8 -misset 10 5 3 "
          "-detpixels 512 -distance 100"),
    "c": ("(a) + mosaic 10 x phi 5 x oversample 2 (210 M)",
          A + " -mosaic 0.5 -mosaic_dom 10 -phisteps 5 -osc 0.5 -oversample 2"),
    "d": ("supervisor_roi, whole 2463x2527 detector", None),
}
# --quick: the same workloads, smaller (detector side, or (d) restricted to the golden ROI)
QUICK = {"a": ("cubic 256^2, N=5 (quick)", {"-detpixels": "256"}),
         "b": ("triclinic 128^2, N=8, misset (quick)", {"-detpixels": "128"}),
         "c": ("(a) 256^2 + mosaic 10 x phi 5 x os 2 (13 M, quick)", {"-detpixels": "256"}),
         "d": ("supervisor_roi, golden 256x256 ROI (quick)", None)}

OURS = {"exact": ["--math=exact"], "fast": [], "single": ["--precision=single"]}
OUR_COMMON = ["--device=cpu"]
ALL_VARIANTS = ["ref", "exact", "fast", "single", "other"]

# The goals of the CPU-speed issue: (workload, variant, threads, compared with, threshold).
# "ref" goals are ref_time / variant_time at the same thread count; "scaling" is
# time(1 thread) / time(2 threads) of the variant.
GOALS = [
    ("c", "fast", 1, "ref", 20.0, "(c) 1 thread, double: >= 20x the reference"),
    ("c", "single", 1, "ref", 40.0, "(c) 1 thread, single: >= 40x the reference"),
    ("c", "fast", 2, "scaling", 1.9, "(c) 2 threads >= 1.9x 1 thread (double)"),
    ("d", "fast", 2, "ref", 15.0, "(d) full supervisor image, 2 threads: >= 15x the "
                                  "reference with 2 threads"),
]


def golden_dir():
    g = os.environ.get("NB_GOLDEN_DIR") or os.path.join(ROOT, "..", "shared", "golden")
    return g if os.path.isdir(os.path.join(g, "inputs")) else None


def workload_title(key, quick=False):
    return QUICK[key][0] if quick else WORKLOADS[key][0]


def workload_args(key, quick=False):
    title, args = WORKLOADS[key]
    if key != "d":
        toks = args.split()
        if quick:
            for flag, value in QUICK[key][1].items():
                toks[toks.index(flag) + 1] = value
        return toks
    g = golden_dir()
    if not g:
        return None
    toks = open(os.path.join(g, "cases", "supervisor_roi", "cmd.txt")).read().split()
    out = []
    i = 0
    while i < len(toks):  # drop "-roi x0 x1 y0 y1" (kept with --quick) and the output names
        if toks[i] == "-roi" and not quick:
            i += 5
            continue
        if toks[i] in ("-floatfile", "-intfile"):
            i += 2
            continue
        out.append(toks[i])
        i += 1
    return out


def evaluations(stdout):
    def grab(pat, default=1):
        m = re.search(pat, stdout, re.M)
        return int(m.group(1)) if m else default
    layers = grab(r"^\s*sensor is \S+ m thick in (\d+) layers")
    sources = grab(r"^\s*(\d+) sources$")
    domains = grab(r"^\s*(\d+) mosaic domains over")
    phis = grab(r"^\s*(\d+) phi steps from")
    os_ = grab(r"^\s*(\d+)x\d+ pixel oversample steps")
    m = re.search(r"^\s*roi: (-?\d+) < x < (-?\d+) && (-?\d+) < y < (-?\d+)", stdout, re.M)
    pm = re.search(r"\((\d+)x(\d+) pixels\)", stdout)
    fp, sp = int(pm.group(1)), int(pm.group(2))
    x0, x1, y0, y1 = (int(v) for v in m.groups())
    px = (min(x1, fp - 1) - x0 + 1) * (min(y1, sp - 1) - y0 + 1)
    return px * layers * os_ * os_ * sources * phis * domains


def _probe_gnu_time():
    """/usr/bin/time if it is GNU time (-f %M -o FILE), else None."""
    t = "/usr/bin/time"
    if not os.access(t, os.X_OK):
        return None
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "m")
        try:
            p = subprocess.run([t, "-f", "%M", "-o", f, "true"], capture_output=True)
            return t if p.returncode == 0 and open(f).read().strip().isdigit() else None
        except OSError:
            return None


# Peak RSS.  The ru_maxrss that os.wait4 reports for a child of this script is at least this
# script's own RSS at the fork (Linux carries the pre-exec memory's high-water mark across
# exec), so numpy alone would add some 30 MB to every run.  A child forked by a small process
# starts afresh: GNU time forks the program, waits for it with wait4 and prints its ru_maxrss
# (%M).  Without GNU time, the wait4 figure of the direct child is used (an upper bound).
GNU_TIME = _probe_gnu_time()


def run_measured(binary, args, workdir, threads, ranks=0, pre=()):
    """Run one command in workdir; return (wall seconds, stdout, peak RSS in MB of the child)."""
    g = golden_dir()
    if g and not os.path.exists(os.path.join(workdir, "inputs")):
        os.symlink(os.path.join(g, "inputs"), os.path.join(workdir, "inputs"))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    launcher = [os.environ.get("MPIEXEC", "mpiexec"), "-np", str(ranks)] if ranks else []
    cmd = launcher + [binary] + list(pre) + args + [
        "-nonoise", "-nopgm", "-noprogress", "-floatfile", "float.bin", "-intfile", "int.img"]
    rss_path = os.path.join(workdir, "maxrss.txt")
    if GNU_TIME:
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_path] + cmd
    out_path, err_path = os.path.join(workdir, "stdout.txt"), os.path.join(workdir, "stderr.txt")
    with open(out_path, "w") as fo, open(err_path, "w") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=fo, stderr=fe)
        _, status, usage = os.wait4(p.pid, 0)   # resource usage of this child only
        dt = time.perf_counter() - t0
    p.returncode = rc = os.waitstatus_to_exitcode(status)
    rss_kb = usage.ru_maxrss
    if GNU_TIME:
        try:
            rss_kb = int(open(rss_path).read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    fdump = os.path.join(workdir, "Fdump.bin")  # the reference's HKL cache: no run reuses it
    if os.path.exists(fdump):
        os.remove(fdump)
    stdout = open(out_path).read()
    if rc != 0:
        raise RuntimeError("%s failed (%d): %s" % (binary, rc, open(err_path).read().strip()
                                                   [-500:] or stdout.strip()[-500:]))
    return dt, stdout, rss_kb / 1024.0


def run(binary, args, workdir, threads, ranks=0):
    dt, stdout, _ = run_measured(binary, args, workdir, threads, ranks)
    return dt, stdout


def read_float(path):
    try:
        import numpy as np
        return np.fromfile(path, dtype="<f4").astype(float)
    except ImportError:
        import array
        a = array.array("f")
        with open(path, "rb") as fh:
            a.frombytes(fh.read())
        return a


def compare(f1, f2):
    """Image f1 against the baseline image f2: (rel-Linf, corr, sum ratio); None when absent."""
    if not (os.path.exists(f1) and os.path.exists(f2)):
        return None
    a, b = read_float(f1), read_float(f2)
    if len(a) != len(b):
        return float("inf"), float("nan"), float("nan")
    try:
        import numpy as np
        m = float(np.max(np.abs(b))) or 1.0
        rel = float(np.max(np.abs(a - b))) / m
        sa, sb = float(np.sum(a)), float(np.sum(b))
        corr = float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else \
            (1.0 if np.array_equal(a, b) else float("nan"))
    except ImportError:
        m = max((abs(y) for y in b), default=0.0) or 1.0
        rel = max((abs(x - y) for x, y in zip(a, b)), default=0.0) / m
        sa, sb = sum(a), sum(b)
        n = len(a) or 1
        ma, mb = sa / n, sb / n
        cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
        va = sum((x - ma) ** 2 for x in a)
        vb = sum((y - mb) ** 2 for y in b)
        corr = cov / (va * vb) ** 0.5 if va > 0 and vb > 0 else float("nan")
    return rel, corr, (sa / sb if sb else float("nan"))


def max_rel(f1, f2):
    return compare(f1, f2)[0]


def uses_openmp(binary):
    """Whether binary is an OpenMP build (calls into libgomp or LLVM's libomp)."""
    try:
        data = open(binary, "rb").read()
    except OSError:
        return False
    return any(s in data for s in (b"GOMP_parallel", b"__kmpc_fork_call", b"omp_get_num_threads"))


def variant_command(v, opt):
    """(binary, flags put before the workload arguments, threaded?) of a variant."""
    if v in OURS:
        return opt.bin, OUR_COMMON + OURS[v], True
    path = os.environ.get("NB_BENCH_REF" if v == "ref" else "NB_BENCH_OTHER")
    return path, [], uses_openmp(path)


def fmt(x, f):
    return (f % x) if x is not None else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nanobragg"))
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated OMP_NUM_THREADS values (default 1,2)")
    ap.add_argument("--only", default="a,b,c,d")
    ap.add_argument("--variants", default="",
                    help="comma-separated, of ref,exact,fast,single,other (default: all that "
                         "are available; ref needs $NB_BENCH_REF, other $NB_BENCH_OTHER)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per cell, interleaved; the median counts (default 3; 1 with "
                         "--quick or --ranks)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    ap.add_argument("--ranks", default="",
                    help="comma-separated MPI rank counts to compare (e.g. 1,2)")
    opt = ap.parse_args()
    opt.thread_list = [int(t) for t in opt.threads.split(",")]
    for key in opt.only.split(","):
        if key not in WORKLOADS:
            ap.error("unknown workload %r (a, b, c, d)" % key)
    if opt.repeat is None:
        opt.repeat = 1 if opt.quick or opt.ranks else 3
    if opt.ranks:
        return mpi_speedup(opt)

    have = {"ref": bool(os.environ.get("NB_BENCH_REF")),
            "other": bool(os.environ.get("NB_BENCH_OTHER"))}
    if opt.variants:
        variants = opt.variants.split(",")
        for v in variants:
            if v not in ALL_VARIANTS:
                ap.error("unknown variant %r (ref, exact, fast, single, other)" % v)
            if v in have and not have[v]:
                ap.error("variant %s needs $%s" % (v, "NB_BENCH_REF" if v == "ref"
                                                   else "NB_BENCH_OTHER"))
    else:
        variants = [v for v in ALL_VARIANTS if have.get(v, True)]
    for v in variants:
        b = variant_command(v, opt)[0]
        if not os.access(b, os.X_OK):
            ap.error("%s: %s is not an executable" % (v, b))

    print("nanobragg benchmark: %s%s, OMP_NUM_THREADS in {%s}, median of %d interleaved "
          "run(s) per cell" % (opt.bin, " (--quick sizes)" if opt.quick else "", opt.threads,
                               opt.repeat))
    print("peak RSS: %s" % ("of the program alone (GNU time %M, its wait4)" if GNU_TIME else
                            "os.wait4 of the child; includes this script's RSS at the fork "
                            "(no GNU /usr/bin/time)"))
    print("ours: %s; variants exact = --math=exact (baseline), fast = default double, "
          "single = --precision=single" % " ".join(OUR_COMMON))
    for v in ("ref", "other"):
        if v in variants:
            b, _, omp = variant_command(v, opt)
            print("%-5s: %s -- %s" % (v, b, "OpenMP build: runs with OMP_NUM_THREADS=T like "
                                      "ours" if omp else "no OpenMP: single-threaded; its "
                                      "'T threads' rows are one single-threaded process "
                                      "(cores = 1)"))
    if "ref" not in variants:
        print("no reference (set NB_BENCH_REF=/path/to/nanoBragg for the ref columns)")

    results = {}   # (workload, variant, threads) -> dict
    for key in opt.only.split(","):
        args = workload_args(key, opt.quick)
        title = workload_title(key, opt.quick)
        if args is None:
            print("\n(%s) %s: skipped (golden inputs not found)" % (key, title))
            continue
        bench_workload(key, title, args, variants, opt, results)
    scaling(results, variants, opt)
    goals(results, opt)


def bench_workload(key, title, args, variants, opt, results):
    cells = [(v, t) for t in opt.thread_list for v in variants]
    times = {c: [] for c in cells}
    rss = {c: 0.0 for c in cells}
    failed = {}
    terms = None
    with tempfile.TemporaryDirectory(prefix="nb_bench_") as top:
        dirs = {}
        for v, t in cells:
            dirs[(v, t)] = os.path.join(top, "%s_T%d" % (v, t))
            os.mkdir(dirs[(v, t)])
        for r in range(opt.repeat):
            k = r % len(cells)
            for v, t in cells[k:] + cells[:k]:
                if (v, t) in failed:
                    continue
                binary, pre, _ = variant_command(v, opt)
                try:
                    dt, out, mb = run_measured(binary, args, dirs[(v, t)], t, pre=pre)
                except RuntimeError as e:
                    failed[(v, t)] = str(e)
                    print("(%s) %s T=%d FAILED: %s" % (key, v, t, e), file=sys.stderr)
                    continue
                times[(v, t)].append(dt)
                rss[(v, t)] = max(rss[(v, t)], mb)
                if terms is None or v in OURS:
                    terms = evaluations(out)
                print("(%s) repeat %d/%d  %-6s T=%d  %8.2f s  %7.1f MB" %
                      (key, r + 1, opt.repeat, v, t, dt, mb), file=sys.stderr, flush=True)
        print("\n(%s) %s: %s terms" % (key, title, terms if terms is not None else "?"))
        print("%3s %-6s %9s %6s %10s %10s %8s %8s %8s %9s %9s %9s" % (
            "T", "", "median s", "spread", "terms/s", "/core", "peak MB", "ref/this",
            "ex/this", "rel-Linf", "corr", "sum ratio"))
        for t in opt.thread_list:
            med = {v: statistics.median(times[(v, t)]) for v in variants if times[(v, t)]}
            for v in variants:
                c = (v, t)
                if c in failed or not times[c]:
                    print("%3d %-6s failed: %s" % (t, v, failed.get(c, "no run")[:90]))
                    continue
                m = med[v]
                spread = (max(times[c]) - min(times[c])) / m if m > 0 else 0.0
                cores = t if variant_command(v, opt)[2] else 1
                tps = terms / m if terms and m > 0 else None
                cmp_ = None
                if v != "exact" and "exact" in med:
                    cmp_ = compare(os.path.join(dirs[c], "float.bin"),
                                   os.path.join(dirs[("exact", t)], "float.bin"))
                rel = cmp_[0] if cmp_ else None
                corr = cmp_[1] if cmp_ and v == "single" else None
                sratio = cmp_[2] if cmp_ and v == "single" else None
                print("%3d %-6s %9.3f %5.0f%% %10s %10s %8.1f %8s %8s %9s %9s %9s" % (
                    t, v, m, 100 * spread, fmt(tps, "%.4g"),
                    fmt(tps / cores if tps else None, "%.4g"), rss[c],
                    fmt(med["ref"] / m if "ref" in med else None, "%.2f"),
                    fmt(med["exact"] / m if "exact" in med else None, "%.2f"),
                    fmt(rel, "%.2g"), fmt(corr, "%.7f"), fmt(sratio, "%.6f")), flush=True)
                results[(key, v, t)] = {"median": m, "rel": rel, "terms": terms}
        # our exact images must not depend on the thread count
        ex = [os.path.join(dirs[("exact", t)], "float.bin") for t in opt.thread_list
              if ("exact", t) in dirs and times[("exact", t)]]
        if len(ex) > 1:
            same = all(open(f, "rb").read() == open(ex[0], "rb").read() for f in ex[1:])
            results[(key, "exact-threads-identical")] = same
            print("    exact images identical across thread counts: %s" %
                  ("yes" if same else "NO"))


def scaling(results, variants, opt):
    if len(opt.thread_list) < 2:
        return
    t0 = opt.thread_list[0]
    others = opt.thread_list[1:]
    print("\nthread scaling: time(T=%d) / time(T=n), n = %s" %
          (t0, ",".join(str(t) for t in others)))
    keys = sorted({k[0] for k in results if len(k) == 3})
    for key in keys:
        parts = []
        for v in variants:
            if (key, v, t0) not in results:
                continue
            rs = ["%.2f" % (results[(key, v, t0)]["median"] / results[(key, v, t)]["median"])
                  if (key, v, t) in results else "-" for t in others]
            parts.append("%s %s" % (v, "/".join(rs)))
        print("(%s) %s" % (key, "   ".join(parts)))


def goals(results, opt):
    print("\ngoals%s:" % (" (--quick sizes: indicative only; the goals are for the full "
                          "sizes)" if opt.quick else ""))
    for key, v, t, vs, thr, text in GOALS:
        cur = results.get((key, v, t))
        if vs == "scaling":
            base = results.get((key, v, 1))
            why = "needs --threads 1,%d and variant %s on (%s)" % (t, v, key)
        else:
            base = results.get((key, vs, t))
            why = "needs %s and %s at T=%d on (%s)" % (vs, v, t, key)
        if not cur or not base:
            print("  %-78s     n/a   (%s)" % (text, why))
            continue
        ratio = base["median"] / cur["median"]
        acc = ""
        if cur.get("rel") is not None:
            acc = "  [rel-Linf vs exact %.2g]" % cur["rel"]
        print("  %-78s %7.2fx  %s%s" % (text, ratio, "PASS" if ratio >= thr else "MISS", acc))


def mpi_speedup(opt):
    ranks = [int(r) for r in opt.ranks.split(",")]
    threads = opt.thread_list[0]
    print("nanobragg MPI speedup: %s, OMP_NUM_THREADS=%d per rank, best of %d" %
          (opt.bin, threads, opt.repeat))
    print("%-3s %-46s %12s %s" % ("", "workload", "evals",
                                 " ".join("%9s" % ("np=%d s" % r) for r in ranks)) +
          "   speedup vs np=%d   identical" % ranks[0])
    for key in opt.only.split(","):
        args = workload_args(key, opt.quick)
        if args is None:
            print("%-3s %-46s skipped (golden inputs not found)" % (key, WORKLOADS[key][0]))
            continue
        times, images, n = [], [], 0
        for r in ranks:
            with tempfile.TemporaryDirectory() as d:
                best = None
                for _ in range(opt.repeat):
                    dt, out = run(opt.bin, args, d, threads, r)
                    best = dt if best is None else min(best, dt)
                n = evaluations(out)
                times.append(best)
                images.append(open(os.path.join(d, "float.bin"), "rb").read())
        speed = " ".join("%.2f" % (times[0] / t) for t in times[1:])
        same = all(img == images[0] for img in images[1:])
        print("%-3s %-46s %12d %s   %-17s   %s" % (
            key, workload_title(key, opt.quick), n, " ".join("%9.2f" % t for t in times),
            speed, "yes" if same else "NO"), flush=True)


if __name__ == "__main__":
    sys.exit(main())
