#!/usr/bin/python3
"""check_nxmx.py -- h5py reads every item of spec/formats.md §11 with its documented type/units.

usage: check_nxmx.py <nanobragg> <mpiexec> <scratch>

Two runs under 2 ranks: (1) noise counts as the signal (-adc 25, some pixels clipped in the
SMV noise image), a structure-factor grid, a divergence grid (several sources), an ROI, -polar
0.7, -misset; (2) -nonoise (float signal), flux given.  Every group, dataset and attribute of
§11 is checked for presence, HDF5 type and units; geometry is checked against the SMV header of
the same run (the NXmx panel origin, mapped to DIALS, equals DIALS_ORIGIN; the fast/slow McStas
vectors of the MOSFLM frame are (-1,0,0) and (0,-1,0)).  The fields of DIALS-ready NXmx are
checked against values computed here from the command line, not from the file: data = SMV noise
- adc (clipped pixels: saturation_value + 1), saturation/underload, adc_offset, total_flux
(nanoBragg's default fluence, beam size and exposure), the Stokes vector, pixel_mask (from the
ROI), unit_cell and ub_matrix (cell -> reciprocal basis -> nanoBragg's misset rotation -> lab ->
McStas, written out here independently).
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

errors = []


def err(msg):
    errors.append(msg)
    print("FAIL: " + msg)


def want(cond, msg):
    if not cond:
        err(msg)


def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def group(f, path, nx):
    if path not in f:
        err("missing group %s" % path)
        return None
    g = f[path]
    want(s(g.attrs.get("NX_class", b"")) == nx, "%s@NX_class is not %s" % (path, nx))
    return g


def dset(f, path, kind, shape=None, units=None):
    """kind: numpy dtype string ('<u2', '<f4', '<f8', '<i4', '<i8', '|u1', '|i1') or 'str'."""
    if path not in f:
        err("missing dataset %s" % path)
        return None
    d = f[path]
    if kind == "str":
        want(d.dtype.kind == "S" and h5py.check_string_dtype(d.dtype) is not None,
             "%s is not a fixed-length string (%s)" % (path, d.dtype))
    else:
        want(d.dtype == np.dtype(kind), "%s has type %s, expected %s" % (path, d.dtype, kind))
    if shape is not None:
        want(d.shape == tuple(shape), "%s has shape %s, expected %s" % (path, d.shape, shape))
    if units is not None:
        want(s(d.attrs.get("units", b"")) == units, "%s@units is not %s" % (path, units))
    return d


def attr(obj, name, kind, shape=None):
    if name not in obj.attrs:
        err("missing attribute %s@%s" % (obj.name, name))
        return None
    a = obj.attrs[name]
    if kind == "str":
        want(isinstance(a, bytes), "%s@%s is not a string" % (obj.name, name))
    else:
        arr = np.asarray(a)
        want(arr.dtype == np.dtype(kind), "%s@%s has type %s, expected %s" %
             (obj.name, name, arr.dtype, kind))
        if shape is not None:
            want(arr.shape == tuple(shape), "%s@%s has shape %s, expected %s" %
                 (obj.name, name, arr.shape, shape))
    return a


def smv_header(path):
    raw = open(path, "rb").read(1024).split(b"}")[0].decode()
    out = {}
    for line in raw.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.rstrip(";")
    return out


# nanoBragg defaults (spec/cli.md): fluence photons/m^2, beam size m, exposure s, MOSFLM frame
DEFAULT_FLUENCE = 125932015286227086360700780544.0
DEFAULT_BEAMSIZE = 1e-4
DEFAULT_EXPOSURE = 1.0
# lab -> McStas for the MOSFLM beam (1,0,0) and polar (0,0,1): z = beam, y = p x b, x = y x z
R_MOSFLM = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def reciprocal_truth(cell, misset):
    """nanoBragg's reciprocal basis: a* along x, b* in the xy plane, then the misset rotation
    about x, then y, then z (degrees); returns the 3x3 matrix with columns a*, b*, c* (1/A)."""
    a, b, c = cell[:3]
    al, be, ga = np.radians(cell[3:])
    ca, cb, cg, sa, sb, sg = np.cos(al), np.cos(be), np.cos(ga), np.sin(al), np.sin(be), np.sin(ga)
    V = a * b * c * np.sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg)
    las, lbs, lcs = b * c * sa / V, c * a * sb / V, a * b * sg / V
    cas, cbs, cgs = ((cb * cg - ca) / (sb * sg), (cg * ca - cb) / (sg * sa),
                     (ca * cb - cg) / (sa * sb))
    sgs = np.sqrt(1 - cgs * cgs)
    ast = np.array([las, 0, 0])
    bst = lbs * np.array([cgs, sgs, 0])
    cy = (cas - cbs * cgs) / sgs
    cst = lcs * np.array([cbs, cy, np.sqrt(1 - cbs * cbs - cy * cy)])
    x, y, z = np.radians(misset)
    Rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    Ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    Rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return Rz @ Ry @ Rx @ np.column_stack([ast, bst, cst])


def check_dials_fields(f, x, sp, fp, d_dir):
    """The DIALS-ready fields, against x: noise, adc, polar, cell, misset, flux, roi."""
    det = "/entry/instrument/detector"
    adc = x["adc"]
    sat_want = int(np.floor(65535 - adc)) if x["noise"] else 2147483647
    sat = dset(f, det + "/saturation_value", "<i4", ())
    want(sat is not None and sat[()] == sat_want, "saturation_value %s, expected %d" %
         (None if sat is None else sat[()], sat_want))
    if x["noise"]:
        u = dset(f, det + "/underload_value", "<i4", ())
        want(u is not None and u[()] == 0, "underload_value is not 0")
    else:
        want(det + "/underload_value" not in f, "underload_value without noise")
    a = dset(f, det + "/adc_offset", "<f8", (), "counts")
    want(a is not None and a[()] == adc, "adc_offset is not %g" % adc)
    sa = f["/entry/simulation"].attrs.get("adc_offset")
    want(sa is not None and float(sa) == adc, "/entry/simulation@adc_offset is not %g" % adc)
    data = f.get("/entry/data/data")
    if x["noise"] and data is not None:
        raw = open(os.path.join(d_dir, "noise.img"), "rb").read()
        hb = int(raw.split(b"HEADER_BYTES=")[1].split(b";")[0])
        noise = np.frombuffer(raw[hb:], "<u2").reshape(sp, fp).astype(np.int64)
        got = data[0].astype(np.int64)
        inside = np.zeros((sp, fp), bool)  # rendered: the ROI (the SMV pixels outside are 0)
        if x["roi"]:
            inside[x["roi"][2]:x["roi"][3] + 1, x["roi"][0]:x["roi"][1] + 1] = True
        else:
            inside[:, :] = True
        clipped = inside & (noise == 65535)
        normal = inside & (noise < 65535)
        want(clipped.any() and normal.any(), "the case must have clipped and unclipped pixels")
        want(np.array_equal(got[normal], noise[normal] - int(adc)),
             "data != SMV noise - adc where the SMV is not clipped")
        want(np.all(got[clipped] == sat_want + 1), "clipped pixels are not saturation_value + 1")
        want(np.all(got[~inside] == 0), "pixels outside the ROI are not 0")
        want(got.min() >= 0, "negative photon counts")
    tf = dset(f, "/entry/instrument/beam/total_flux", "<f8", (), "Hz")
    flux = x["flux"] if x["flux"] else DEFAULT_FLUENCE * DEFAULT_BEAMSIZE ** 2 / DEFAULT_EXPOSURE
    want(tf is not None and abs(tf[()] - flux) <= 1e-9 * flux, "total_flux %s, expected %g" %
         (None if tf is None else tf[()], flux))
    st = dset(f, "/entry/instrument/beam/incident_polarisation_stokes", "<f8", (4,))
    # E along the polar vector (0,0,1) = McStas -x: Q = +K, U = V = 0
    pol_mcstas = R_MOSFLM @ np.array([0.0, 0.0, 1.0])
    want(np.allclose(np.abs(pol_mcstas), [1, 0, 0]), "polar vector is not along McStas x")
    want(st is not None and np.allclose(st[()], [1.0, x["polar"], 0.0, 0.0], atol=1e-15),
         "incident_polarisation_stokes %s, expected [1, %g, 0, 0]" %
         (None if st is None else st[()], x["polar"]))
    pm = dset(f, det + "/pixel_mask", "<u4", (sp, fp))
    if pm is not None:
        m = np.zeros((sp, fp), np.uint32)
        if x["roi"]:
            x0, x1, y0, y1 = x["roi"]
            m[:, :] = 256
            m[y0:y1 + 1, x0:x1 + 1] = 0
        want(np.array_equal(pm[()], m), "pixel_mask differs from the ROI")
    uc = dset(f, "/entry/sample/unit_cell", "<f8", (1, 6))
    want(uc is not None and np.allclose(uc[0], x["cell"], atol=1e-9), "unit_cell %s != %s" %
         (None if uc is None else uc[0], x["cell"]))
    ub = dset(f, "/entry/sample/ub_matrix", "<f8", (1, 3, 3))
    if ub is not None:
        wantub = R_MOSFLM @ reciprocal_truth(np.array(x["cell"], float), np.array(x["misset"], float))
        want(np.allclose(ub[0], wantub, atol=1e-12), "ub_matrix\n%s\n!= expected\n%s" %
             (ub[0], wantub))


def check_file(path, noise, nsrc_gt1, with_hkl, masked, flux, ranks, smv, x):
    f = h5py.File(path, "r")
    e = group(f, "/entry", "NXentry")
    dset(f, "/entry/definition", "str")
    want(s(f["/entry/definition"][()]) == "NXmx", "definition is not NXmx")
    dset(f, "/entry/start_time", "str")
    dset(f, "/entry/end_time_estimated", "str")
    data = group(f, "/entry/data", "NXdata")
    want(data is not None and s(data.attrs.get("signal", b"")) == "data", "@signal != data")
    sp, fp = int(smv["SIZE2"]), int(smv["SIZE1"])
    dset(f, "/entry/data/data", "<i4" if noise else "<f4", (1, sp, fp))
    check_dials_fields(f, x, sp, fp, os.path.dirname(path))
    dset(f, "/entry/data/float_image", "<f4", (1, sp, fp))
    dset(f, "/entry/data/int_image", "<u2", (1, sp, fp))
    group(f, "/entry/instrument", "NXinstrument")
    dset(f, "/entry/instrument/name", "str")
    group(f, "/entry/instrument/source", "NXsource")
    dset(f, "/entry/instrument/source/name", "str")
    group(f, "/entry/instrument/beam", "NXbeam")
    w = dset(f, "/entry/instrument/beam/incident_wavelength", "<f8", (), "angstrom")
    if w is not None:
        want(abs(w[()] - float(smv["WAVELENGTH"])) < 1e-5, "wavelength differs from the SMV")
    det = "/entry/instrument/detector"
    group(f, det, "NXdetector")
    m = dset(f, det + "/sensor_material", "str")
    want(m is not None and s(m[()]) == "Si", "sensor_material is not Si")
    t = dset(f, det + "/sensor_thickness", "<f8", (), "mm")
    want(t is not None and t[()] > 0, "sensor_thickness must be > 0")
    for name, u in (("distance", "mm"), ("count_time", "s"), ("frame_time", "s"),
                    ("beam_center_x", "pixel"), ("beam_center_y", "pixel")):
        dset(f, det + "/" + name, "<f8", (), u)
    d = f.get(det + "/distance")
    if d is not None:
        want(abs(d[()] - float(smv["DISTANCE"])) < 1e-3, "distance differs from the SMV")
    dset(f, det + "/depends_on", "str")
    mod = det + "/module"
    group(f, mod, "NXdetector_module")
    o = dset(f, mod + "/data_origin", "<i4", (2,))
    want(o is not None and list(o[()]) == [0, 0], "data_origin")
    z = dset(f, mod + "/data_size", "<i4", (2,))
    want(z is not None and list(z[()]) == [sp, fp], "data_size")
    mo = dset(f, mod + "/module_offset", "<f8", (), "mm")
    if mo is not None:
        want(s(mo.attrs["transformation_type"]) == "translation", "module_offset type")
        want(s(mo.attrs["depends_on"]) == ".", "module_offset depends_on")
        origin_mcstas = mo[()] * np.asarray(mo.attrs["vector"])
        dials = origin_mcstas * np.array([-1.0, 1.0, -1.0])  # dxtbx's McStas -> lab map
        ref = np.array([float(x) for x in smv["DIALS_ORIGIN"].split(",")])
        want(np.allclose(dials, ref, atol=2e-3), "panel origin %s != DIALS_ORIGIN %s" % (dials, ref))
    for name, vec in (("fast_pixel_direction", (-1, 0, 0)), ("slow_pixel_direction", (0, -1, 0))):
        x = dset(f, mod + "/" + name, "<f8", (), "mm")
        if x is not None:
            want(abs(x[()] - float(smv["PIXEL_SIZE"])) < 1e-9, name + " is not the pixel size")
            want(s(x.attrs["transformation_type"]) == "translation", name + " type")
            want(s(x.attrs["depends_on"]) == mod + "/module_offset", name + " depends_on")
            want(np.allclose(x.attrs["vector"], vec, atol=1e-12), "%s vector %s" %
                 (name, x.attrs["vector"]))
    group(f, "/entry/sample", "NXsample")
    dset(f, "/entry/sample/name", "str")
    dep = dset(f, "/entry/sample/depends_on", "str")
    want(dep is not None and s(dep[()]) == "/entry/sample/transformations/phi", "sample depends_on")
    phi = dset(f, "/entry/sample/transformations/phi", "<f8", (1,), "deg")
    if phi is not None:
        want(s(phi.attrs["transformation_type"]) == "rotation", "phi type")
        want(s(phi.attrs["depends_on"]) == ".", "phi depends_on")
        want(np.asarray(phi.attrs["vector"]).shape == (3,), "phi vector")
        want(abs(phi[0] - float(smv["PHI"])) < 1e-6, "phi differs from the SMV PHI")
    pe = dset(f, "/entry/sample/transformations/phi_end", "<f8", (1,), "deg")
    if pe is not None and phi is not None:
        want(abs(pe[0] - phi[0] - float(smv["OSC_RANGE"])) < 1e-6, "phi_end - phi != OSC_RANGE")
    sim = group(f, "/entry/simulation", "NXcollection")
    if sim is not None:
        dset(f, "/entry/simulation/argv", "str")
        for a in ("command_line", "program", "program_version", "convention", "pivot",
                  "phi_carryover", "interp_fallback", "device", "precision", "factors"):
            attr(sim, a, "str")
        for a in ("distance", "Fbeam", "Sbeam", "lambda0", "fluence", "detector_thick",
                  "phi0", "osc"):
            attr(sim, a, "<f8")
        for a in ("pix0_vector", "a0", "b0", "c0", "a_star", "fdet_vector", "beam_vector",
                  "spindle_axis"):
            attr(sim, a, "<f8", (3,))
        for a in ("seed", "mosaic_seed", "misset_seed", "nframes", "mpi_ranks", "fpixels",
                  "spixels", "steps"):
            attr(sim, a, "<i4", ())
        attr(sim, "lab_to_mcstas", "<f8", (3, 3))
        attr(sim, "band_row0", "<i4", (ranks,))
        attr(sim, "band_nrows", "<i4", (ranks,))
        want(int(sim.attrs["mpi_ranks"]) == ranks, "mpi_ranks")
        c = group(f, "/entry/simulation/carry", "NXcollection")
        if c is not None:
            attr(c, "mode", "str")
            attr(c, "p1", "<i8", (1,))
            attr(c, "phi_star", "<f8", (1,))
            attr(c, "interp_latch_index", "<i8", (1,))
            for n, k, shp in (("row0", "<i4", (ranks,)), ("nrows", "<i4", (ranks,)),
                              ("in_state", "|u1", (1, ranks)), ("out_state", "|u1", (1, ranks)),
                              ("in_vectors", "<f8", (1, ranks, 3, 3)),
                              ("out_vectors", "<f8", (1, ranks, 3, 3)),
                              ("in_last_index", "<i8", (1, ranks)),
                              ("out_last_index", "<i8", (1, ranks))):
                dset(f, "/entry/simulation/carry/" + n, k, shp)
        if with_hkl:
            group(f, "/entry/simulation/structure_factors", "NXcollection")
            F = dset(f, "/entry/simulation/structure_factors/F", "<f8", None, "electrons")
            g = f.get("/entry/simulation/structure_factors")
            if g is not None and F is not None:
                for a in ("h_min", "h_max", "k_min", "k_max", "l_min", "l_max"):
                    attr(g, a, "<i4", ())
                attr(g, "default_F", "<f8")
                attr(g, "source", "str")
                dh = int(g.attrs["h_max"]) - int(g.attrs["h_min"])
                want(F.shape[0] == dh + 2, "F has no padding plane")
                # Fdump.bin can be rebuilt from it byte for byte
                head = ("%d %d %d %d %d %d\n\f" % tuple(int(g.attrs[a]) for a in (
                    "h_min", "h_max", "k_min", "k_max", "l_min", "l_max"))).encode()
                dump = os.path.join(os.path.dirname(path), "Fdump.bin")
                if os.path.exists(dump):
                    want(open(dump, "rb").read() == head + F[()].astype("<f8").tobytes(),
                         "structure_factors/F does not rebuild Fdump.bin byte for byte")
        if nsrc_gt1:
            group(f, "/entry/simulation/sources", "NXcollection")
            n = int(sim.attrs["sources"])
            dset(f, "/entry/simulation/sources/direction", "<f8", (n, 3))
            dset(f, "/entry/simulation/sources/wavelength", "<f8", (n,), "m")
            wt = dset(f, "/entry/simulation/sources/weight", "<f8", (n,))
            if wt is not None:
                attr(wt, "applied", "str")
        st = group(f, "/entry/simulation/status", "NXcollection")
        if st is not None:
            c = attr(st, "complete", "|i1", ())
            want(c is not None and int(c) == 1, "status@complete != 1")
            attr(st, "started", "str")
            attr(st, "finished", "str")
            fd = dset(f, "/entry/simulation/status/frames_done", "|u1", (1,))
            want(fd is not None and fd[0] == 1, "frames_done != 1")
            dset(f, "/entry/simulation/status/bands_done", "|u1", (1, ranks))
    f.close()


def run(binary, mpiexec, d, args, ranks):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p = subprocess.run([mpiexec, "-np", str(ranks), binary] + args, cwd=d, capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        err("run failed (%d): %s" % (p.returncode, p.stderr))
        return False
    for name in ("sim.h5", "int.img"):
        if not os.path.exists(os.path.join(d, name)):
            err("%s not written" % name)
            return False
    want(not os.path.exists(os.path.join(d, "sim.h5.partial")), ".partial left behind")
    return True


def main():
    binary, mpiexec, scratch = sys.argv[1:4]
    d1 = os.path.join(scratch, "nxmx_noise")
    os.makedirs(d1, exist_ok=True)
    hkl = os.path.join(scratch, "nxmx_grid.hkl")
    with open(hkl, "w") as fh:
        for h in range(-4, 5):
            for k in range(-4, 5):
                for l in range(-4, 5):
                    fh.write("%d %d %d %g\n" % (h, k, l, 10 + h + 2 * k + 3 * l))
    args1 = ("-hkl %s -cell 30 30 30 90 90 90 -N 3 -lambda 1 -distance 100 -detpixels 40 "
             "-divergence 0.5 -divsteps 3 -roi 2 37 0 39 -seed 3 -noprogress -intfile int.img "
             "-noisefile noise.img -adc 25 -polar 0.7 -misset 10 20 30 -fluence 2e35 "
             "--hdf5 sim.h5" % hkl).split()
    x1 = dict(noise=True, adc=25.0, polar=0.7, cell=[30, 30, 30, 90, 90, 90],
              misset=[10, 20, 30], flux=None, roi=(2, 37, 0, 39))
    x1["flux"] = 2e35 * DEFAULT_BEAMSIZE ** 2 / DEFAULT_EXPOSURE
    if run(binary, mpiexec, d1, args1, 2):
        check_file(os.path.join(d1, "sim.h5"), True, True, True, True, False, 2,
                   smv_header(os.path.join(d1, "int.img")), x1)
    d2 = os.path.join(scratch, "nxmx_float")
    args2 = ("-default_F 100 -cell 50 60 70 90 90 90 -N 4 -lambda 1 -distance 100 "
             "-detpixels 32 -flux 1e12 -exposure 2 -beamsize 0.1 -nonoise -noprogress "
             "-intfile int.img --hdf5 sim.h5").split()
    if run(binary, mpiexec, d2, args2, 2):
        x2 = dict(noise=False, adc=40.0, polar=0.0, cell=[50, 60, 70, 90, 90, 90],
                  misset=[0, 0, 0], flux=1e12, roi=None)
        check_file(os.path.join(d2, "sim.h5"), False, False, False, False, True, 2,
                   smv_header(os.path.join(d2, "int.img")), x2)
    print("NXmx layout: %s" % ("FAILED" if errors else "every item present with its type and units"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
