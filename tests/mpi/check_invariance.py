#!/usr/bin/python3
"""check_invariance.py -- one image computed by P MPI ranks equals the serial run, bit for bit.

usage: check_invariance.py <nanobragg> <mpiexec> <scratch> <case> <np> [<np> ...]

<case> is a golden case name (its cmd.txt, with a noise image, a PGM and --hdf5 added) or
"tiny_carry" (a 6-row detector, so that more ranks than rows leave bands empty).  For every
rank count the run happens in a fresh folder; the verdict compares FILES, never exit codes
alone (mpiexec can exit 0 having started nothing):
  * float image bit-identical to P = 1, and for golden cases to the reference's float.bin;
  * int, noise and PGM files byte-identical to P = 1;
  * HDF5: every dataset and attribute equal to P = 1 except the layout-dependent (L) and
    time-stamp (T) entries of spec/formats.md §11; /entry/data/float_image equal to the float
    file; /entry/data/data equal to the noise image minus the ADC offset (photon counts);
  * the carry tables have one column per band and chain: band 0 receives UNROTATED set-up
    vectors, band b+1 receives band b's outgoing token, bands without an execution pass it on;
  * the console statistics lines are identical to P = 1.
$NB_TEST_EXTRA_ARGS (split at blanks; default --device=cpu) is appended to every run, P = 1
included: e.g.
"--device=cuda" with NB_CUDA_EMULATE set runs every band on the CUDA back-end's CPU grid
emulator (docs/gpu.md), whose bands must then equal the golden image bit for bit too.
Where a run fails for want of a GPU ("no usable CUDA device") the check is skipped (exit 77),
unless NB_REQUIRE_GPU=1.
Exit 0 pass, 1 fail, 77 skipped.  Golden cases are read from $NB_GOLDEN_DIR, else $NB_GOLDEN_DEFAULT (the
build's unpacked copy of tests/golden/data); missing golden data is a failure, not a skip.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

GOLDEN = os.environ.get("NB_GOLDEN_DIR") or os.environ.get("NB_GOLDEN_DEFAULT", "")

L_ATTRS = {"/entry/simulation": {"mpi_ranks", "band_row0", "band_nrows", "bands_per_frame"},
           "/entry/simulation/status": {"started", "finished"}}
L_DATASETS = {"/entry/simulation/carry/" + n for n in
              ("row0", "nrows", "in_state", "out_state", "in_vectors", "out_vectors",
               "in_last_index", "out_last_index")}
L_DATASETS |= {"/entry/simulation/status/bands_done", "/entry/start_time",
               "/entry/end_time_estimated"}
STAT_PREFIXES = ("max_I =", "mean=", "intfile_scale =", "pgm_scale =", "solid angle",
                 "photons on noise image", "WARNING: out of range")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def case_args(case, scratch):
    if case == "latch":
        # tricubic interpolation whose out-of-range latch fires mid-image (24 rows)
        os.makedirs(scratch, exist_ok=True)
        hkl = os.path.join(scratch, "latch_grid.hkl")
        with open(hkl, "w") as fh:
            for h in range(-6, 7):
                for k in range(-6, 7):
                    for l in range(-6, 7):
                        fh.write("%d %d %d %.2f\n" % (h, k, l, 5 + 95 * abs(np.sin(
                            0.9 * h + 1.7 * k + 2.3 * l + 0.3))))
        return ("-cell 70 80 90 75 85 95 -misset 10 5 3 -hkl %s -N 2 -lambda 1 -distance 30 "
                "-detpixels 24 -pixel 0.07 -Xbeam 0.03 -Ybeam 0.84 -interpolate -oversample 1 "
                "-phi 0 -osc 1 -phisteps 2" % hkl).split(), None
    if case == "tiny_carry":
        return ("-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 -detpixels 6 "
                "-pixel 0.1 -phi 0 -osc 2 -phisteps 4 -oversample 2").split(), None
    cmd = os.path.join(GOLDEN, "cases", case, "cmd.txt")
    if not os.path.exists(cmd):
        print("FAIL: golden data not found (%s)" % cmd)
        sys.exit(1)
    return open(cmd).read().split(), os.path.join(GOLDEN, "cases", case)


def run(binary, mpiexec, folder, args, np_):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    if GOLDEN and os.path.isdir(os.path.join(GOLDEN, "inputs")):
        os.symlink(os.path.join(GOLDEN, "inputs"), os.path.join(folder, "inputs"))
    extra = ["-noisefile", "noise.img", "-seed", "7", "-pgmfile", "image.pgm", "-floatfile",
             "float.bin", "-intfile", "int.img", "--hdf5", "sim.h5"]
    # later flags win: our outputs override the case's -nonoise/-nopgm
    extra += os.environ.get("NB_TEST_EXTRA_ARGS", "--device=cpu").split()
    cmd = [mpiexec, "-np", str(np_), binary] + args + extra
    p = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=900)
    if p.returncode != 0 and "no usable CUDA device" in p.stderr and \
            os.environ.get("NB_REQUIRE_GPU") != "1":
        print("SKIP: no GPU: " + p.stderr.strip().splitlines()[0])
        sys.exit(77)
    if p.returncode != 0:
        fail("np=%d: exit status %d: %s" % (np_, p.returncode, p.stderr.strip()[-500:]))
        return None
    for f in ("float.bin", "int.img", "noise.img", "image.pgm", "sim.h5"):
        if not os.path.exists(os.path.join(folder, f)):
            fail("np=%d: %s was not written" % (np_, f))
            return None
    return p.stdout


def stats_lines(out):
    return [l for l in out.splitlines() if l.startswith(STAT_PREFIXES)]


def walk(f):
    items = {}

    def visit(name, obj):
        path = "/" + name
        for k, v in obj.attrs.items():
            items[path + "@" + k] = v
        if isinstance(obj, h5py.Dataset):
            items[path] = obj[()]
    for k, v in f.attrs.items():
        items["/@" + k] = v
    f.visititems(visit)
    return items


def equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind == "f":
            return np.array_equal(a, b, equal_nan=True)
        return np.array_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def is_layout(key, args):
    path, _, attr = key.partition("@")
    # the default misset seed is the clock (Q10): a time stamp unless given on the line
    if path == "/entry/simulation" and attr == "misset_seed" and "-misset_seed" not in args:
        return True
    if path == "/entry/simulation/frames/misset_seed" and "-misset_seed" not in args:
        return True
    # the job's random default seed (recorded for --resume), whether or not -seed is given
    if path == "/entry/simulation" and attr == "default_seed":
        return True
    if attr:
        return attr in L_ATTRS.get(path, set())
    return path in L_DATASETS


def check_carry(folder, np_):
    with h5py.File(os.path.join(folder, "sim.h5"), "r") as f:
        sim = f["/entry/simulation"]
        c = sim["carry"]
        if c.attrs["mode"] == b"spec":
            return
        P = len(c["row0"])
        if P != np_ or c["in_state"].shape != (1, P):
            fail("np=%d: carry tables have %d columns" % (np_, P))
            return
        row0, nrows = c["row0"][()], c["nrows"][()]
        if not (row0[0] == 0 and all(row0[b] + nrows[b] == row0[b + 1] for b in range(P - 1))
                and row0[-1] + nrows[-1] == f["/entry/data/float_image"].shape[1]):
            fail("np=%d: bands do not tile the rows: %s %s" % (np_, row0, nrows))
        ins, outs = c["in_state"][0], c["out_state"][0]
        inv, outv = c["in_vectors"][0], c["out_vectors"][0]
        inl, outl = c["in_last_index"][0], c["out_last_index"][0]
        setup = np.array([sim.attrs["a0"], sim.attrs["b0"], sim.attrs["c0"]])
        if ins[0] != 0 or inl[0] != -1 or not np.array_equal(inv[0], setup):
            fail("np=%d: band 0 does not receive {UNROTATED, set-up vectors, -1}" % np_)
        for b in range(P - 1):
            if not (ins[b + 1] == outs[b] and inl[b + 1] == outl[b] and
                    np.array_equal(inv[b + 1], outv[b])):
                fail("np=%d: band %d's token is not band %d's outgoing token" % (np_, b + 1, b))
        p1 = c.attrs["p1"][0]
        for b in range(P):
            if outl[b] == inl[b]:  # no execution in the band: token passed on unchanged
                if not (outs[b] == ins[b] and np.array_equal(outv[b], inv[b])):
                    fail("np=%d: band %d without execution changed the token" % (np_, b))
            elif outs[b] != 1:
                fail("np=%d: band %d executed but its token is not ROTATED" % (np_, b))
        first_rot = [b for b in range(P) if outs[b] == 1]
        if p1 >= 0 and first_rot:
            b = first_rot[0]
            if not (row0[b] * f["/entry/data/float_image"].shape[2] <= p1):
                fail("np=%d: p1 %d lies before the first band with an execution" % (np_, p1))


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        return 2
    binary, mpiexec, scratch, case = sys.argv[1:5]
    np_args = sys.argv[5:]  # integers, or "rows+K": K more ranks than the detector has rows
    base = os.path.join(scratch, case)
    args, golden = case_args(case, base)
    ref_dir = os.path.join(base, "np1")
    ref_out = run(binary, mpiexec, ref_dir, args, 1)
    if ref_out is None:
        return 1
    files = {f: open(os.path.join(ref_dir, f), "rb").read()
             for f in ("float.bin", "int.img", "noise.img", "image.pgm")}
    if golden:
        gpath = os.path.join(golden, "float.bin")
        gold = None
        if os.path.exists(gpath):
            gold = open(gpath, "rb").read()
        elif os.path.exists(gpath + ".gz"):
            import gzip
            gold = gzip.open(gpath + ".gz").read()
        if gold is None:
            fail("golden reference %s(.gz) is missing" % gpath)
        elif gold != files["float.bin"]:  # bit-identical on every golden case
            a = np.frombuffer(files["float.bin"], "<f4").astype(float)
            g = np.frombuffer(gold, "<f4").astype(float)
            rel = (np.max(np.abs(a - g)) / np.max(np.abs(g))) if a.shape == g.shape else np.nan
            fail("np=1 float image differs from the golden reference (rel %.3g)" % rel)
    with h5py.File(os.path.join(ref_dir, "sim.h5"), "r") as f:
        ref_items = walk(f)
        fl = np.frombuffer(files["float.bin"], "<f4")
        if not np.array_equal(f["/entry/data/float_image"][()].ravel(), fl):
            fail("np=1: /entry/data/float_image differs from the float file")
        n = len(fl)
        noise = np.frombuffer(files["noise.img"][-2 * n:], "<u2").astype(np.int64)
        # data = photon counts: noise - adc; SMV-clipped pixels hold floor(65535 - adc) + 1;
        # unrendered pixels (noise 0, as adc >= 1 here) hold 0
        adc = float(args[args.index("-adc") + 1]) if "-adc" in args else 40.0
        want = np.where(noise == 0, 0, noise - int(adc))
        want = np.where(noise == 65535, int(np.floor(65535 - adc)) + 1, want)
        if adc < 1 or adc != int(adc) or not np.array_equal(
                f["/entry/data/data"][()].ravel().astype(np.int64), want):
            fail("np=1: /entry/data/data differs from the noise image - adc")
        if f["/entry/simulation/status"].attrs["complete"] != 1:
            fail("np=1: status@complete is not 1")
    check_carry(ref_dir, 1)
    with h5py.File(os.path.join(ref_dir, "sim.h5"), "r") as f:
        rows = int(f["/entry/simulation"].attrs["spixels"])
    nps = [rows + int(x[5:]) if x.startswith("rows+") else int(x) for x in np_args]
    ref_stats = stats_lines(ref_out)
    if case == "latch" and sum(l.startswith("WARNING: out of range") for l in ref_stats) != 1:
        fail("np=1: the interpolation warning is not printed exactly once")
    for np_ in nps:
        before = len(failures)
        d = os.path.join(base, "np%d" % np_)
        out = run(binary, mpiexec, d, args, np_)
        if out is None:
            continue
        for name, data in files.items():
            if open(os.path.join(d, name), "rb").read() != data:
                fail("np=%d: %s differs from np=1" % (np_, name))
        if stats_lines(out) != ref_stats:
            fail("np=%d: statistics lines differ: %s" % (np_, stats_lines(out)))
        with h5py.File(os.path.join(d, "sim.h5"), "r") as f:
            items = walk(f)
        for k in sorted(set(ref_items) | set(items)):
            if is_layout(k, args):
                continue
            if k not in items or k not in ref_items:
                fail("np=%d: HDF5 entry %s present in only one file" % (np_, k))
            elif not equal(items[k], ref_items[k]):
                fail("np=%d: HDF5 entry %s differs" % (np_, k))
        check_carry(d, np_)
        if len(failures) == before:
            print("np=%d: identical to np=1 (float, int, noise, PGM, HDF5, statistics, carry "
                  "chain)" % np_)
    print("%s: %s" % (case, "FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
