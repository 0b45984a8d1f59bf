#!/usr/bin/python3
"""series_equiv.py -- a series equals its plain runs, byte for byte, at any rank count.

usage: series_equiv.py <nanobragg> <mpiexec or ""> <scratch> <hdf5 built: 1|0>

Frame i of `--frames N` must equal the plain run of the same command line with
`-phi <phi0 + i*osc> -seed <S + i>` (docs/batch.md); frame i of `--frames-from` the plain run
with the line's flags and, unless the line gives -seed, `-seed <S + i>`.  The plain runs are
made here, one process each, and compared with every per-frame file (float, int, noise, PGM)
and with the HDF5 stack (data, float_image, int_image against each plain run's own one-frame
file).  The series is then repeated under 2, 3 and 4 ranks with the default grouping and with
--bands-per-frame, and must give the same bytes and the same datasets.  The phi start angles
are computed here from decimal strings: 0.3 * 3 must become "-phi 0.9".
"""
import os
import shutil
import subprocess
import sys

errors = []


def err(msg):
    errors.append(msg)
    print("FAIL: " + msg)


def ok(msg):
    print("ok   " + msg)


BIN, MPIEXEC, SCRATCH, H5 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
if H5:
    import h5py
    import numpy as np

ENV = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
BASE = ("-default_F 100 -cell 70 80 90 90 90 90 -distance 80 -detpixels 40 -pixel 0.2 -N 4 "
        "-lambda 1.5 -phisteps 3 -mosaic 0.5 -mosaic_dom 3 -mosaic_seed 3 -water 200 "
        "-noprogress -seed 7").split()
TEMPLATES = "-floatfile f_###.bin -intfile i_###.img -noisefile n_###.img -pgmfile p_###.pgm"
KINDS = [("f_%03d.bin", "pf.bin"), ("i_%03d.img", "pi.img"), ("n_%03d.img", "pn.img"),
         ("p_%03d.pgm", "pp.pgm")]


# $NB_TEST_EXTRA_ARGS (split at blanks) is appended to every run, series and plain runs alike:
# "--device=cuda" with NB_CUDA_EMULATE set runs them all on the CUDA back-end's CPU grid
# emulator, whose device state is kept across a series' frames (docs/gpu.md)
EXTRA = os.environ.get("NB_TEST_EXTRA_ARGS", "").split()


def run(args, cwd, np_=0):
    cmd = ([MPIEXEC, "-np", str(np_)] if np_ else []) + [BIN] + args + EXTRA
    p = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        err("exit %d: %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return p


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def h5_frames(path):
    """The per-frame datasets that must not depend on ranks or grouping."""
    out = {}
    with h5py.File(path, "r") as f:
        for name in ("/entry/data/data", "/entry/data/float_image", "/entry/data/int_image",
                     "/entry/sample/transformations/phi", "/entry/sample/transformations/phi_end",
                     "/entry/sample/unit_cell", "/entry/sample/ub_matrix",
                     "/entry/simulation/frames/seed", "/entry/simulation/status/frames_done",
                     "/entry/instrument/detector/pixel_mask"):
            if name in f:
                out[name] = f[name][()]
        c = f["/entry/simulation/carry"]
        for a in ("p1", "phi_star", "interp_latch_index"):
            out["carry@" + a] = np.asarray(c.attrs[a])
        out["complete"] = int(f["/entry/simulation/status"].attrs["complete"])
    return out


def check_series(name, series_args, plain_extra, n, extra_checks=None, want_flags=None):
    """series_args: the series' own options; plain_extra[i]: flags of frame i's plain run."""
    top = fresh(os.path.join(SCRATCH, name))
    ser = fresh(os.path.join(top, "serial"))
    h5 = ["--hdf5", "s.h5", "--hdf5-float"] if H5 else []
    run(BASE + series_args + TEMPLATES.split() + h5, ser)
    plain = fresh(os.path.join(top, "plain"))
    bad = 0
    for i in range(n):
        ph5 = ["--hdf5", "p%d.h5" % i] if H5 else []
        run(BASE + plain_extra[i] + "-floatfile pf.bin -intfile pi.img -noisefile pn.img "
            "-pgmfile pp.pgm".split() + ph5, plain)
        for tmpl, pname in KINDS:
            a, b = os.path.join(ser, tmpl % (i + 1)), os.path.join(plain, pname)
            if not os.path.exists(a):
                err("%s: %s missing" % (name, tmpl % (i + 1)))
                bad += 1
            elif not same_bytes(a, b):
                err("%s: frame %d: %s differs from the plain run with %s"
                    % (name, i, tmpl % (i + 1), " ".join(plain_extra[i])))
                bad += 1
        if H5 and os.path.exists(os.path.join(ser, "s.h5")):
            with h5py.File(os.path.join(ser, "s.h5"), "r") as s, \
                    h5py.File(os.path.join(plain, "p%d.h5" % i), "r") as p:
                for d in ("data", "float_image", "int_image"):
                    if d not in s["/entry/data"]:
                        err("%s: /entry/data/%s missing" % (name, d))
                        bad += 1
                    elif not np.array_equal(s["/entry/data/" + d][i], p["/entry/data/" + d][0]):
                        err("%s: frame %d: /entry/data/%s differs from the plain run's"
                            % (name, i, d))
                        bad += 1
                for d in ("/entry/sample/unit_cell", "/entry/sample/ub_matrix",
                          "/entry/sample/transformations/phi",
                          "/entry/sample/transformations/phi_end"):
                    if not np.array_equal(s[d][i], p[d][0]):
                        err("%s: frame %d: %s %s differs from the plain run's %s"
                            % (name, i, d, s[d][i], p[d][0]))
                        bad += 1
                for a in ("p1", "phi_star", "interp_latch_index"):
                    x = s["/entry/simulation/carry"].attrs[a][i]
                    y = p["/entry/simulation/carry"].attrs[a][0]
                    if not (x == y or (x != x and y != y)):
                        err("%s: frame %d: carry@%s %s, plain run %s" % (name, i, a, x, y))
                        bad += 1
    if not bad:
        ok("%s: %d frames equal their %d plain runs (4 files each%s)"
           % (name, n, n, ", and the HDF5 stack" if H5 else ""))
    ref = {}
    if H5 and os.path.exists(os.path.join(ser, "s.h5")):
        ref = h5_frames(os.path.join(ser, "s.h5"))
        with h5py.File(os.path.join(ser, "s.h5"), "r") as f:
            d = f["/entry/data/data"]
            want = (n, 40, 40)
            if d.shape != want or d.chunks != (1, 40, 40):
                err("%s: data shape %s chunks %s, want %s and one chunk per frame"
                    % (name, d.shape, d.chunks, want))
            if not (ref["/entry/simulation/status/frames_done"] == 1).all() or ref["complete"] != 1:
                err("%s: status not complete: %s" % (name, ref["/entry/simulation/status/frames_done"]))
            if int(f["/entry/simulation"].attrs["nframes"]) != n:
                err("%s: @nframes != %d" % (name, n))
            flags = [x.decode() for x in f["/entry/simulation/frames/flags"][()]]
            for i in range(n):
                w = " ".join((want_flags or plain_extra)[i])
                if flags[i] != w:
                    err("%s: frames/flags[%d] = '%s', want '%s'" % (name, i, flags[i], w))
            if extra_checks:
                extra_checks(f)
    # --hdf5-compress=gzip:1: the same values, the filter in the file (shuffle + deflate)
    if H5 and ref:
        d = fresh(os.path.join(top, "gzip"))
        run(BASE + series_args + TEMPLATES.split() + h5 + ["--hdf5-compress=gzip:1"], d,
            2 if MPIEXEC else 0)
        other = h5_frames(os.path.join(d, "s.h5")) if os.path.exists(os.path.join(d, "s.h5")) else {}
        diff = [k for k, v in ref.items()
                if k not in other or not np.array_equal(np.asarray(v), np.asarray(other[k]), equal_nan=True)]
        with h5py.File(os.path.join(d, "s.h5"), "r") as f:
            dd = f["/entry/data/data"]
            filt = (dd.compression, dd.compression_opts, dd.shuffle, dd.chunks)
        if diff or filt != ("gzip", 1, True, (1, 40, 40)):
            err("%s: --hdf5-compress=gzip:1: differs %s, filters %s" % (name, diff[:5], filt))
        else:
            ok("%s: --hdf5-compress=gzip:1: the same datasets, shuffle + deflate 1, one chunk per frame" % name)
    # rank counts and groupings
    if not MPIEXEC:
        return
    for np_, bpf in ((2, []), (2, ["--bands-per-frame", "2"]), (3, []), (4, []),
                     (4, ["--bands-per-frame", "2"]), (4, ["--bands-per-frame", "4"])):
        d = fresh(os.path.join(top, "np%d%s" % (np_, "_b" + bpf[1] if bpf else "")))
        run(BASE + series_args + bpf + TEMPLATES.split() + h5, d, np_)
        diff = [tmpl % (i + 1) for i in range(n) for tmpl, _ in KINDS
                if not os.path.exists(os.path.join(d, tmpl % (i + 1)))
                or not same_bytes(os.path.join(d, tmpl % (i + 1)), os.path.join(ser, tmpl % (i + 1)))]
        if H5:
            other = h5_frames(os.path.join(d, "s.h5")) if os.path.exists(os.path.join(d, "s.h5")) else {}
            for k, v in ref.items():
                if k not in other or not np.array_equal(np.asarray(v), np.asarray(other[k]), equal_nan=True):
                    diff.append("s.h5:" + k)
        label = "np %d%s" % (np_, " --bands-per-frame " + bpf[1] if bpf else "")
        if diff:
            err("%s: %s differs from one process: %s" % (name, label, " ".join(diff[:8])))
        else:
            ok("%s: %s gives the same bytes%s" % (name, label, " and datasets" if H5 else ""))


def dec(x):
    return "%.15g" % x


# 1. rotation: frames from phi = 0 (the carry quirk is active in frame 0), osc 0.3 -> 0.9 etc.
rot = [["-phi", dec(0.0 + i * 0.3), "-seed", str(7 + i)] for i in range(5)]


def rot_checks(f):
    phi = f["/entry/sample/transformations/phi"][()]
    end = f["/entry/sample/transformations/phi_end"][()]
    if not (np.allclose(phi, [0, 0.3, 0.6, 0.9, 1.2], atol=1e-12)
            and np.allclose(end - phi, 0.3, atol=1e-12)):
        err("rotation: phi %s phi_end %s" % (phi, end))
    seeds = f["/entry/simulation/frames/seed"][()]
    if list(seeds) != [7, 8, 9, 10, 11]:
        err("rotation: frames/seed %s, want 7..11" % list(seeds))


check_series("rotation", ["-osc", "0.3", "--frames", "5"],
             [["-osc", "0.3"] + r for r in rot], 5, rot_checks, rot)

# 2. --frames-from: random and given orientations, a line's own -seed, other wavelengths
#    are not allowed in one NXmx file, so only the crystal changes here
top = fresh(os.path.join(SCRATCH, "list"))
lines = ["# stills: one orientation per line",
         "-misset random -misset_seed 5",
         "",
         "-misset random -misset_seed 6 -seed 99   # its own noise seed",
         "-misset 10 20 30 -N 3",
         "-misset 10 20 30 -N 3 -mosaic 1.0"]
with open(os.path.join(SCRATCH, "frames.txt"), "w") as fp:
    fp.write("\n".join(lines) + "\n")
plain_list = [["-misset", "random", "-misset_seed", "5", "-seed", "7"],
              ["-misset", "random", "-misset_seed", "6", "-seed", "99"],
              ["-misset", "10", "20", "30", "-N", "3", "-seed", "9"],
              ["-misset", "10", "20", "30", "-N", "3", "-mosaic", "1.0", "-seed", "10"]]
check_series("frames_from", ["--frames-from", os.path.join(SCRATCH, "frames.txt")],
             plain_list, 4)

print("%d failure(s)" % len(errors))
sys.exit(1 if errors else 0)
