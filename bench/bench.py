#!/usr/bin/python3
"""bench.py -- evaluations per second of nanobragg on the four reference workloads.

usage: bench/bench.py [--bin PATH] [--threads N] [--only a,b,c,d] [--repeat R]
       NB_BENCH_OTHER=/path/to/second/binary bench/bench.py   # time it side by side
       bench/bench.py --ranks 1,2 --only c      # MPI speedup: np=1 vs np=2 (1 thread/rank)

An "evaluation" is one term of the pixel loop: rendered pixels x layers x oversample^2 x
sources x phi steps x mosaic domains, counted from the program's own summary lines.  Both
binaries run the same command line in fresh folders, one after the other, in one run of this
script; the ratio column is other_time / our_time.  The float images of the two runs are
compared too (max relative difference), so a fast wrong answer is visible.
Workload (d) needs the golden inputs (../shared/golden or $NB_GOLDEN_DIR); it is skipped
without them.
"""
import argparse
import os
import re
import shutil
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


def golden_dir():
    g = os.environ.get("NB_GOLDEN_DIR") or os.path.join(ROOT, "..", "shared", "golden")
    return g if os.path.isdir(os.path.join(g, "inputs")) else None


def workload_args(key):
    title, args = WORKLOADS[key]
    if key != "d":
        return args.split()
    g = golden_dir()
    if not g:
        return None
    toks = open(os.path.join(g, "cases", "supervisor_roi", "cmd.txt")).read().split()
    out = []
    i = 0
    while i < len(toks):  # drop "-roi x0 x1 y0 y1" and the output names
        if toks[i] == "-roi":
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


def run(binary, args, workdir, threads, ranks=0):
    g = golden_dir()
    if g and not os.path.exists(os.path.join(workdir, "inputs")):
        os.symlink(os.path.join(g, "inputs"), os.path.join(workdir, "inputs"))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    launcher = [os.environ.get("MPIEXEC", "mpiexec"), "-np", str(ranks)] if ranks else []
    cmd = launcher + [binary] + args + ["-nonoise", "-nopgm", "-noprogress", "-floatfile",
                                        "float.bin", "-intfile", "int.img"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (binary, p.returncode, p.stderr.strip()))
    return dt, p.stdout


def max_rel(f1, f2):
    try:
        import numpy as np
        a = np.fromfile(f1, dtype="<f4").astype(float)
        b = np.fromfile(f2, dtype="<f4").astype(float)
        if a.shape != b.shape:
            return float("inf")
        m = np.max(np.abs(b)) or 1.0
        return float(np.max(np.abs(a - b)) / m)
    except ImportError:
        pass
    import array
    a, b = array.array("f"), array.array("f")
    with open(f1, "rb") as fh:
        a.frombytes(fh.read())
    with open(f2, "rb") as fh:
        b.frombytes(fh.read())
    if len(a) != len(b):
        return float("inf")
    m = max((abs(x) for x in b), default=0.0) or 1.0
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0) / m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nanobragg"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="a,b,c,d")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--ranks", default="",
                    help="comma-separated MPI rank counts to compare (e.g. 1,2)")
    opt = ap.parse_args()
    if opt.ranks:
        return mpi_speedup(opt)
    other = os.environ.get("NB_BENCH_OTHER")
    print("nanobragg benchmark: %s, OMP_NUM_THREADS=%d, best of %d" %
          (opt.bin, opt.threads, opt.repeat))
    if other:
        print("second binary (NB_BENCH_OTHER): %s (same thread setting)" % other)
    hdr = "%-3s %-46s %12s %9s %12s" % ("", "workload", "evals", "ours s", "ours eval/s")
    if other:
        hdr += " %9s %12s %7s %9s" % ("other s", "other eval/s", "ratio", "max rel")
    print(hdr)
    for key in opt.only.split(","):
        args = workload_args(key)
        if args is None:
            print("%-3s %-46s skipped (golden inputs not found)" % (key, WORKLOADS[key][0]))
            continue
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            best, out = None, ""
            for _ in range(opt.repeat):
                dt, out = run(opt.bin, args, d1, opt.threads)
                best = dt if best is None else min(best, dt)
            n = evaluations(out)
            line = "%-3s %-46s %12d %9.2f %12.4g" % (key, WORKLOADS[key][0], n, best, n / best)
            if other:
                obest = None
                for _ in range(opt.repeat):
                    dt, _ = run(other, args, d2, opt.threads)
                    obest = dt if obest is None else min(obest, dt)
                rel = max_rel(os.path.join(d1, "float.bin"), os.path.join(d2, "float.bin"))
                line += " %9.2f %12.4g %7.2f %9.2g" % (obest, n / obest, obest / best, rel)
            print(line, flush=True)


def mpi_speedup(opt):
    ranks = [int(r) for r in opt.ranks.split(",")]
    print("nanobragg MPI speedup: %s, OMP_NUM_THREADS=%d per rank, best of %d" %
          (opt.bin, opt.threads, opt.repeat))
    print("%-3s %-46s %12s %s" % ("", "workload", "evals",
                                 " ".join("%9s" % ("np=%d s" % r) for r in ranks)) +
          "   speedup vs np=%d   identical" % ranks[0])
    for key in opt.only.split(","):
        args = workload_args(key)
        if args is None:
            print("%-3s %-46s skipped (golden inputs not found)" % (key, WORKLOADS[key][0]))
            continue
        times, images, n = [], [], 0
        for r in ranks:
            with tempfile.TemporaryDirectory() as d:
                best = None
                for _ in range(opt.repeat):
                    dt, out = run(opt.bin, args, d, opt.threads, r)
                    best = dt if best is None else min(best, dt)
                n = evaluations(out)
                times.append(best)
                images.append(open(os.path.join(d, "float.bin"), "rb").read())
        speed = " ".join("%.2f" % (times[0] / t) for t in times[1:])
        same = all(img == images[0] for img in images[1:])
        print("%-3s %-46s %12d %s   %-17s   %s" % (
            key, WORKLOADS[key][0], n, " ".join("%9.2f" % t for t in times), speed,
            "yes" if same else "NO"), flush=True)


if __name__ == "__main__":
    sys.exit(main())
