#!/usr/bin/python3
"""series_bench.py -- what a series costs (docs/performance.md, "Series").

usage: bench/series_bench.py [--bin PATH] [--mpiexec PATH] [--frames N] [--quick]

Measured side by side in one run of this script, one after the other, in fresh folders:

1. Frames per second of an N-frame (default 100) 1024 x 1024 sweep into one NXmx file, at
   np = 1, 2 and 4 (4 oversubscribes a 2-core machine), whole frames per rank.
2. Overhead per frame: a series of 20 frames of 10 phi steps each against ONE plain run of
   200 phi steps over the same pixels (the same evaluations), both -nonoise, both writing
   their float images (the series' 20 frames, the plain run's one) to an NXmx file, one
   process.  Overhead per frame = (t_series - t_plain) / 20 / (t_plain / 20).
3. Inputs read once: a 100-frame series of a small detector with a 58 k-line HKL file,
   against 100 separate plain runs (one process each, the same frames: -phi and -seed as the
   series gives them), both one process at a time.
4. The grouping at np = 2: whole frames per rank (B = 1) against each frame split in 2 bands.
Every timing is the best of --repeat runs (default 1; --quick: smaller sizes).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")


LAST_STDOUT = [""]


def timed(cmd, cwd):
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    dt = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-1500:]))
    LAST_STDOUT[0] = p.stdout
    return dt


def breakdown(stdout):
    """The program's own 'NOTE: series time on rank 0' line, as {part: percent}."""
    import re
    m = re.search(r"NOTE: series time on rank 0: ([0-9.]+) s: (.*)", stdout)
    if not m:
        return {}
    return {k.strip(): float(v) for v, k in
            ((x.split()[-1].rstrip("%"), " ".join(x.split()[:-1])) for x in m.group(2).split(", "))}


def fresh(base, name):
    d = os.path.join(base, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def best(fn, repeat):
    return min(fn() for _ in range(repeat))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nanobragg"))
    ap.add_argument("--mpiexec", default=shutil.which("mpiexec") or "")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    b = os.path.abspath(a.bin)
    N = 20 if a.quick else a.frames
    px = "256" if a.quick else "1024"
    base = tempfile.mkdtemp(prefix="nb_series_bench_")
    print("nanobragg: %s; %d cores" % (b, os.cpu_count()))

    # 1. frames per second
    sweep = ("-default_F 100 -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -distance 100 "
             "-pixel 0.1 -osc 0.1 -seed 1 -noprogress").split() + ["-detpixels", px]
    print("\n1. %d-frame %sx%s sweep into one NXmx file (noise counts, no compression)"
          % (N, px, px))
    print("   %-6s %10s %12s %10s" % ("ranks", "time (s)", "frames/s", "vs np=1"))
    t1, parts = None, {}
    for np_ in (1, 2, 4):
        if np_ > 1 and not a.mpiexec:
            break
        d = fresh(base, "sweep%d" % np_)
        cmd = ([a.mpiexec, "-np", str(np_)] if np_ > 1 else []) + [b] + sweep + [
            "--frames", str(N), "--hdf5", "s.h5"]
        t = best(lambda: timed(cmd, d), a.repeat)
        if np_ == 1:
            parts = breakdown(LAST_STDOUT[0])
        t1 = t1 or t
        print("   %-6d %10.2f %12.1f %9.2fx" % (np_, t, N / t, t1 / t))
    if parts:
        own = sum(v for k, v in parts.items()
                  if k in ("frame set-up", "status and flush", "waiting for other ranks", "the rest"))
        print("   np=1, the program's own account: " + ", ".join("%s %.1f %%" % kv for kv in parts.items()))
        print("   the series' own work (frame set-up, status and flush, waiting, the rest): "
              "%.1f %% (goal < 2 %%); rendering, images and their HDF5 writes are the frames'" % own)

    # 2. overhead per frame
    n2, steps = (10, 10) if a.quick else (20, 10)
    common = ("-default_F 100 -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -distance 100 "
              "-pixel 0.1 -nonoise -noprogress -phi 0").split() + ["-detpixels", px]
    d = fresh(base, "overhead_series")
    ts = best(lambda: timed([b] + common + ["-osc", "1", "-phisteps", str(steps), "--frames",
                                            str(n2), "--hdf5", "s.h5", "--hdf5-float"], d),
              a.repeat)
    d = fresh(base, "overhead_plain")
    tp = best(lambda: timed([b] + common + ["-osc", str(n2), "-phisteps", str(n2 * steps),
                                            "--hdf5", "p.h5"], d), a.repeat)
    print("\n2. %d frames x %d phi steps against ONE frame of %d steps (the same evaluations)"
          % (n2, steps, n2 * steps))
    print("   series %.2f s, one long frame %.2f s: %+.1f %% (each frame also pays its per-pixel "
          "geometry, statistics and image writes)" % (ts, tp, 100.0 * (ts - tp) / tp))

    # 3. inputs read once
    d = fresh(base, "inputs")
    with open(os.path.join(d, "F.hkl"), "w") as fp:
        n = 0
        for h in range(-25, 26):
            for k in range(-25, 26):
                for l in range(-25, 26):
                    if h * h + k * k + l * l <= 24 * 24 and n < 128000:
                        fp.write("%d %d %d %.2f\n" % (h, k, l, 100.0 + ((h * 7 + k * 13 + l) % 50)))
                        n += 1
    n3 = 20 if a.quick else 100
    small = ("-hkl F.hkl --no-fdump -cell 60 60 60 90 90 90 -lambda 1 -N 5 -distance 100 "
             "-detpixels 64 -pixel 0.4 -osc 0.1 -seed 1 -noprogress -nopgm").split()
    tser = best(lambda: timed([b] + small + ["--frames", str(n3), "-noisefile", "s_###.img"], d),
                a.repeat)

    def separate():
        t = 0.0
        for i in range(n3):
            t += timed([b] + small + ["-phi", "%.15g" % (0.1 * i), "-seed", str(1 + i),
                                      "-noisefile", "p.img", "-floatfile", "p.bin",
                                      "-intfile", "p_int.img"], d)
        return t
    tsep = best(separate, a.repeat)
    print("\n3. inputs read once: %d frames with a %d-line HKL file (64x64 pixels)" % (n3, n))
    print("   one series %.2f s, %d separate runs %.2f s: %.1fx faster"
          % (tser, n3, tsep, tsep / tser))
    # 4. the grouping: whole frames per rank against every frame in bands
    if a.mpiexec:
        n4 = 4 if a.quick else 20
        print("\n4. frames x bands, np = 2: %d frames of %sx%s (whole frames per rank is the default "
              "when frames >= ranks)" % (n4, px, px))
        for bpf in ("1", "2"):
            d = fresh(base, "group%s" % bpf)
            t = best(lambda: timed([a.mpiexec, "-np", "2", b] + sweep + [
                "--frames", str(n4), "--bands-per-frame", bpf, "--hdf5", "s.h5"], d), a.repeat)
            print("   --bands-per-frame %s: %.2f s, %.2f frames/s" % (bpf, t, n4 / t))
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
