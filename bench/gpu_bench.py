#!/usr/bin/python3
"""gpu_bench.py -- the GPU benchmarks of bench/gpu_check.sh (python3 standard library only).

usage: gpu_bench.py --bin build-gpu/nanobragg [--repeat 3] [--quick] [--cpu-exafel] [--two-gpus]

Workloads (bench.py's (c) and (d), plus an ExaFEL-class image):
  c  (a) 1024^2 + mosaic 10 x phi 5 x oversample 2 (210 M evaluations)
  d  the supervisor_roi command over the whole 2463 x 2527 detector (needs the golden inputs:
     $NB_GOLDEN_DIR, which gpu_check.sh points at the build's unpacked copy)
  x  ExaFEL-class: 4096 x 4096 pixels x 100 sources x 25 mosaic domains (4.2e10 evaluations)
Variants: cuda double, cuda single, and the CPU back-end in double on every core of this
machine for (c) and (d) (and (x) with --cpu-exafel: some tens of seconds).
Each cell: the median of --repeat runs of the whole program (process start, set-up, scene
upload, kernels, copies back, images written: "end to end"), the median render time the
program reports (NB_TIMING=1: the back-end's create + band render on rank 0), evaluations
(pixels x layers x oversample^2 x sources x phi steps x domains, from the program's summary
lines) per second of render, and the float image against the CPU's double image of the same
workload: the number of pixels that differ and rel-Linf = max|x - y| / max|y|.
Prints one line per cell, fields separated by '|': bench|<workload> <variant>|<text>.
--two-gpus: also (x) in double with mpiexec -np 1 and -np 2 (one GPU per rank), and the
speedup of np=2 over np=1 (end to end, and render).
--quick: small sizes (a dry run of the script, e.g. on the CPU grid emulator).
"""
import argparse
import array
import os
import re
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (workloads, evaluation count, measured runs)

EXAFEL = ("-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 25 -lambda 1.3 -dispersion 2 "
          "-dispsteps 100 -mosaic 0.05 -mosaic_domains 25 -distance 120 -detpixels 4096 "
          "-pixel 0.05 -oversample 1")


def floats(path):
    a = array.array("f")
    with open(path, "rb") as fh:
        a.frombytes(fh.read())
    return a


def compare(x, y):
    if x is None or y is None or len(x) != len(y):
        return "n/a"
    diff = sum(1 for u, v in zip(x, y) if u != v)
    m = max((abs(v) for v in y), default=0.0)
    rel = max((abs(u - v) for u, v in zip(x, y)), default=0.0) / m if m > 0 else 0.0
    return "%d px differ, rel-Linf %.1e" % (diff, rel)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cpu-exafel", action="store_true")
    ap.add_argument("--two-gpus", action="store_true")
    o = ap.parse_args()
    o.bin = os.path.abspath(o.bin)
    os.environ["NB_TIMING"] = "1"
    cores = os.cpu_count() or 1
    work = [("c", bench.workload_title("c", o.quick), bench.workload_args("c", o.quick)),
            ("d", bench.workload_title("d", o.quick), bench.workload_args("d", o.quick))]
    x = EXAFEL.split()
    if o.quick:
        x[x.index("-detpixels") + 1] = "256"
        x[x.index("-pixel") + 1] = "0.8"
    work.append(("x", "ExaFEL-class %s^2 x 100 sources x 25 domains" %
                 x[x.index("-detpixels") + 1], x))
    variants = [("cpu double", ["--device=cpu"], cores),
                ("cuda double", ["--device=cuda"], 1),
                ("cuda single", ["--device=cuda", "--precision=single"], 1)]
    for key, title, args in work:
        if args is None:
            print("bench|(%s) %s|skipped: no golden inputs (NB_GOLDEN_DIR)" % (key, title))
            continue
        ref = None
        for name, flags, threads in variants:
            if name.startswith("cpu") and key == "x" and not o.cpu_exafel and not o.quick:
                continue
            times, renders, evals, img = [], [], 0, None
            try:
                for _ in range(o.repeat):
                    with tempfile.TemporaryDirectory() as d:
                        dt, out, _rss = bench.run_measured(o.bin, flags + args, d, threads)
                        m = re.search(r"^TIMING: render ([0-9.]+) s.*band ([0-9.]+) s", out,
                                      re.M)
                        times.append(dt)
                        if m:
                            renders.append(float(m.group(1)))
                        evals = bench.evaluations(out)
                        img = floats(os.path.join(d, "float.bin"))
            except RuntimeError as e:
                print("bench|(%s) %s|FAILED: %s" % (key, name, str(e).splitlines()[0][:200]))
                continue
            t = statistics.median(times)
            r = statistics.median(renders) if renders else float("nan")
            if name == "cpu double":
                ref = img
            vs = "" if name == "cpu double" else "; vs cpu double: " + compare(img, ref)
            print("bench|(%s) %s|end to end %.3f s, render %.3f s, %.3g evaluations, "
                  "%.3g evaluations/s%s%s" % (
                      key, name, t, r, evals, evals / r if r > 0 else float("nan"),
                      " (%d threads)" % threads if threads > 1 else "", vs))
            sys.stdout.flush()
    if o.two_gpus:
        key, title, args = work[-1]
        res = {}
        for np_ in (1, 2):
            times, renders = [], []
            try:
                for _ in range(o.repeat):
                    with tempfile.TemporaryDirectory() as d:
                        dt, out, _rss = bench.run_measured(o.bin, ["--device=cuda"] + args, d, 1,
                                                           ranks=np_)
                        m = re.search(r"^TIMING: render ([0-9.]+) s", out, re.M)
                        times.append(dt)
                        renders.append(float(m.group(1)) if m else float("nan"))
            except RuntimeError as e:
                print("bench|(%s) np=%d|FAILED: %s" % (key, np_, str(e).splitlines()[0][:200]))
                return 1
            res[np_] = (statistics.median(times), statistics.median(renders))
        print("bench|(%s) np=2 on 2 GPUs|end to end %.3f s vs %.3f s at np=1: %.2fx; render "
              "%.3f s vs %.3f s: %.2fx" % (key, res[2][0], res[1][0], res[1][0] / res[2][0],
                                          res[2][1], res[1][1], res[1][1] / res[2][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
