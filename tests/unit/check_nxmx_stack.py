#!/usr/bin/python3
"""check_nxmx_stack.py -- checks the files test_nxmx_stack writes (formats.md §11).

usage: check_nxmx_stack.py <stack_noise.h5> <stack_plain.h5>
           [<suspended.h5> <resumed.h5> <full.h5>]...
The expected values repeat the formulas of test_nxmx_stack.c.  Each triple after the two
stacks is a resume (§11.4 rule 3): the suspended file (frames 0 and 2 done, @complete = 0),
the file resumed from it, and the same frames written in one go, which must hold the same
groups, datasets (data byte for byte, chunks, filters) and attributes but the time stamps.
Exit 0 when every check holds, 1 otherwise (each failed check printed).
"""
import sys

import h5py
import numpy as np

NF = 3
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def pixel_values(frame, sp, fp):
    s, f = np.mgrid[0:sp, 0:fp]
    return (1000 * frame + 32 * s + f).astype(np.float32) + np.float32(0.25)


def has_gzip(d):
    return "gzip" == d.compression


def check_file(path, noise):
    with h5py.File(path, "r") as h:
        tag = path.rsplit("/", 1)[-1]
        sim = h["/entry/simulation"]
        sp, fp = int(sim.attrs["spixels"]), int(sim.attrs["fpixels"])
        check((sp, fp) == (24, 32), f"{tag}: detector {sp} x {fp}, expected 24 x 32")
        data = h["/entry/data"]
        names = ["data"] + (["float_image", "int_image"] if noise else [])
        check(sorted(data.keys()) == sorted(names),
              f"{tag}: /entry/data holds {sorted(data.keys())}, expected {sorted(names)}")
        dtypes = {"data": np.int32 if noise else np.float32, "float_image": np.float32,
                  "int_image": np.uint16}
        for n in names:
            if n not in data:
                continue
            d = data[n]
            check(d.shape == (NF, sp, fp), f"{tag}: {n} shape {d.shape}")
            check(d.dtype == dtypes[n], f"{tag}: {n} dtype {d.dtype}")
            check(d.chunks == (1, sp, fp), f"{tag}: {n} chunks {d.chunks}")
            check(has_gzip(d) == bool(noise), f"{tag}: {n} compression {d.compression}")
            check(bool(d.shuffle) == bool(noise), f"{tag}: {n} shuffle {d.shuffle}")
            if noise:
                check(d.compression_opts == 6, f"{tag}: {n} gzip level {d.compression_opts}")
            for i in range(NF):
                v = pixel_values(i, sp, fp)
                exp = {"data": (v.astype(np.int32) + 7) if noise else v,
                       "float_image": v,
                       "int_image": (v.astype(np.int64) % 60000).astype(np.uint16)}[n]
                got = d[i]
                check(np.array_equal(got, exp),
                      f"{tag}: {n}[{i}] differs at {np.argwhere(got != exp)[:3].tolist()}")
        # pixel mask: the ROI -roi 2 29 1 22 (fast 2..29, slow 1..22 rendered)
        mk = h["/entry/instrument/detector/pixel_mask"][()]
        s, f = np.mgrid[0:sp, 0:fp]
        exp = np.where((f >= 2) & (f <= 29) & (s >= 1) & (s <= 22), 0, 256).astype(np.uint32)
        check(mk.dtype == np.uint32 and mk.shape == (sp, fp), f"{tag}: pixel_mask {mk.dtype} "
              f"{mk.shape}")
        check(np.array_equal(mk, exp), f"{tag}: pixel_mask differs at "
              f"{np.argwhere(mk != exp)[:3].tolist()}")
        # scan axis, cell, UB per frame
        tr = h["/entry/sample/transformations"]
        phi, phi_end = tr["phi"][()], tr["phi_end"][()]
        check(np.array_equal(phi, [0.0, 0.5, 1.0]), f"{tag}: phi {phi}")
        check(np.array_equal(phi_end, [0.5, 1.0, 1.5]), f"{tag}: phi_end {phi_end}")
        a = tr["phi"].attrs
        R = np.array(sim.attrs["lab_to_mcstas"])
        check(a["units"] == b"deg" and a["transformation_type"] == b"rotation"
              and a["depends_on"] == b"." and np.allclose(a["vector"],
                                                          R @ sim.attrs["spindle_axis"]),
              f"{tag}: phi attributes {dict(a)}")
        cell = h["/entry/sample/unit_cell"][()]
        check(cell.shape == (NF, 6), f"{tag}: unit_cell shape {cell.shape}")
        for i in range(NF):
            exp = np.array(sim.attrs["cell"]) + np.array([i, 0, 0, 0, 0, 0])
            check(np.array_equal(cell[i], exp), f"{tag}: unit_cell[{i}] {cell[i]} != {exp}")
        ub = h["/entry/sample/ub_matrix"][()]
        check(ub.shape == (NF, 3, 3), f"{tag}: ub_matrix shape {ub.shape}")
        abc = np.column_stack([sim.attrs["a_star"], sim.attrs["b_star"], sim.attrs["c_star"]])
        for i in range(NF):
            exp = R @ (abc * (1.0 + 0.1 * i))
            check(np.allclose(ub[i], exp, rtol=1e-14, atol=0),
                  f"{tag}: ub_matrix[{i}] {ub[i].tolist()} != {exp.tolist()}")
        # provenance
        fr = sim["frames"]
        check(fr.attrs["NX_class"] == b"NXcollection", f"{tag}: frames NX_class")
        flags = [x.decode() for x in fr["flags"][()]]
        check(flags == ["", "-phi 0.5", "-phi 1 -seed 102"], f"{tag}: flags {flags}")
        for n, base in (("seed", 100), ("mosaic_seed", 200), ("misset_seed", 300)):
            v = fr[n][()]
            check(v.dtype == np.int64 and v.tolist() == [base, base + 1, base + 2],
                  f"{tag}: frames/{n} {v.dtype} {v.tolist()}")
        check(int(sim.attrs["nframes"]) == NF and sim.attrs["nframes"].dtype == np.int32,
              f"{tag}: @nframes {sim.attrs['nframes']!r}")
        check(int(sim.attrs["series"]) == 1 and sim.attrs["series"].dtype == np.int8,
              f"{tag}: @series {sim.attrs['series']!r}")
        check(int(sim.attrs["bands_per_frame"]) == 1, f"{tag}: @bands_per_frame")
        check(int(sim.attrs["mpi_ranks"]) == 1, f"{tag}: @mpi_ranks")
        check(list(sim.attrs["band_row0"]) == [0] and list(sim.attrs["band_nrows"]) == [sp],
              f"{tag}: @band_row0 {sim.attrs['band_row0']} @band_nrows {sim.attrs['band_nrows']}")
        # carry facts and tables
        c = sim["carry"]
        check(c.attrs["p1"].tolist() == [10, 11, 12], f"{tag}: carry@p1 {c.attrs['p1']}")
        check(c.attrs["interp_latch_index"].tolist() == [20, -1, 22],
              f"{tag}: carry@interp_latch_index {c.attrs['interp_latch_index']}")
        ps = c.attrs["phi_star"]
        check(ps[0] == 0.0 and np.isnan(ps[1]) and ps[2] == 0.02, f"{tag}: carry@phi_star {ps}")
        tables = ["row0", "nrows", "in_state", "out_state", "in_vectors", "out_vectors",
                  "in_last_index", "out_last_index"]
        if noise:  # c-parity
            check(c.attrs["mode"] == b"c-parity", f"{tag}: carry@mode {c.attrs['mode']}")
            check(sorted(c.keys()) == sorted(tables), f"{tag}: carry tables {sorted(c.keys())}")
            check(c["row0"][()].tolist() == [0] and c["nrows"][()].tolist() == [sp],
                  f"{tag}: carry row0/nrows")
            check(c["in_state"].shape == (NF, 1) and c["in_state"][()].tolist() == [[0]] * NF,
                  f"{tag}: in_state {c['in_state'][()].tolist()}")
            check(c["out_state"][()].tolist() == [[1]] * NF, f"{tag}: out_state")
            check(c["in_last_index"][()].tolist() == [[-1]] * NF, f"{tag}: in_last_index")
            check(c["out_last_index"][()].tolist() == [[50], [51], [52]],
                  f"{tag}: out_last_index {c['out_last_index'][()].tolist()}")
            iv, ov = c["in_vectors"][()], c["out_vectors"][()]
            check(iv.shape == (NF, 1, 3, 3), f"{tag}: in_vectors shape {iv.shape}")
            for i in range(NF):
                exp = (1e-9 * (10 * i + np.arange(9))).reshape(3, 3)
                check(np.array_equal(iv[i, 0], exp) and np.array_equal(ov[i, 0], -exp),
                      f"{tag}: carry vectors of frame {i}")
        else:
            check(c.attrs["mode"] == b"spec", f"{tag}: carry@mode {c.attrs['mode']}")
            check(len(c.keys()) == 0, f"{tag}: spec mode has tables {list(c.keys())}")
        # status
        st = sim["status"]
        check(st["frames_done"].dtype == np.uint8 and st["frames_done"][()].tolist() == [1] * NF,
              f"{tag}: frames_done {st['frames_done'][()]}")
        check(st["bands_done"].shape == (NF, 1) and st["bands_done"][()].tolist() == [[1]] * NF,
              f"{tag}: bands_done {st['bands_done'][()]}")
        check(int(st.attrs["complete"]) == 1 and st.attrs["complete"].dtype == np.int8,
              f"{tag}: @complete {st.attrs['complete']!r}")
        check(st.attrs["started"] == b"2026-01-01T00:00:00Z"
              and st.attrs["finished"] == b"2026-01-01T00:00:09Z", f"{tag}: @started/@finished")
        check(h["/entry/end_time_estimated"][()] == b"2026-01-01T00:00:09Z",
              f"{tag}: end_time_estimated")
        # the job's identity (resume)
        check(sim.attrs["config_hash"] == b"abc123",
              f"{tag}: @config_hash {sim.attrs['config_hash']!r}")
        check(int(sim.attrs["default_seed"]) == 4242
              and sim.attrs["default_seed"].dtype == np.int64,
              f"{tag}: @default_seed {sim.attrs['default_seed']!r}")
        # unchanged single-valued fields still there
        for p in ("/entry/instrument/beam/incident_wavelength",
                  "/entry/instrument/beam/total_flux",
                  "/entry/instrument/detector/saturation_value",
                  "/entry/instrument/detector/adc_offset",
                  "/entry/instrument/detector/module/module_offset", "/entry/simulation/argv"):
            check(p in h, f"{tag}: {p} missing")


# time stamps: the only items a resumed file may hold otherwise than one written in one go
TIME_DSETS = {"entry/start_time", "entry/end_time_estimated"}


def time_attr(name):
    return name in ("started", "finished") or name.startswith("resumed")


def items(h):
    out = {"/": h}
    h.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out


def check_suspended(path, noise):
    tag = path.rsplit("/", 1)[-1]
    with h5py.File(path, "r") as h:
        st = h["/entry/simulation/status"]
        check(int(st.attrs["complete"]) == 0, f"{tag}: @complete {st.attrs['complete']!r}")
        check(st["frames_done"][()].tolist() == [1, 0, 1],
              f"{tag}: frames_done {st['frames_done'][()].tolist()}")
        check(st["bands_done"][()].tolist() == [[1], [0], [1]],
              f"{tag}: bands_done {st['bands_done'][()].tolist()}")
        check("finished" not in st.attrs and "resumed" not in st.attrs,
              f"{tag}: status attributes {sorted(st.attrs.keys())}")
        check(h["/entry/end_time_estimated"][()] == b"2026-01-01T00:00:00Z",
              f"{tag}: end_time_estimated {h['/entry/end_time_estimated'][()]!r}")
        c = h["/entry/simulation/carry"]
        check(c.attrs["p1"].tolist() == [10, -1, 12], f"{tag}: carry@p1 {c.attrs['p1']}")
        check(c.attrs["interp_latch_index"].tolist() == [20, -1, 22],
              f"{tag}: carry@interp_latch_index {c.attrs['interp_latch_index']}")
        d = h["/entry/data/data"]
        sp, fp = d.shape[1:]
        for i in (0, 2):
            v = pixel_values(i, sp, fp)
            exp = (v.astype(np.int32) + 7) if noise else v
            check(np.array_equal(d[i], exp), f"{tag}: data[{i}] differs")
        check(not d[1].any(), f"{tag}: data[1] written before the resume")


def check_resumed(resumed, full):
    tag = resumed.rsplit("/", 1)[-1]
    with h5py.File(resumed, "r") as a, h5py.File(full, "r") as b:
        ia, ib = items(a), items(b)
        check(sorted(ia) == sorted(ib), f"{tag}: objects {sorted(set(ia) ^ set(ib))} differ")
        nd = na = 0
        for name in sorted(set(ia) & set(ib)):
            x, y = ia[name], ib[name]
            check(type(x) is type(y), f"{tag}: {name} is a {type(x)} and a {type(y)}")
            ka = sorted(k for k in x.attrs.keys() if not time_attr(k))
            kb = sorted(k for k in y.attrs.keys() if not time_attr(k))
            check(ka == kb, f"{tag}: {name} attributes {sorted(set(ka) ^ set(kb))} differ")
            for k in sorted(set(ka) & set(kb)):
                ta, tb = x.attrs.get_id(k), y.attrs.get_id(k)
                va, vb = np.asarray(x.attrs[k]), np.asarray(y.attrs[k])
                check(ta.dtype == tb.dtype and ta.shape == tb.shape
                      and va.tobytes() == vb.tobytes(),
                      f"{tag}: {name}@{k} {x.attrs[k]!r} != {y.attrs[k]!r}")
                na += 1
            if isinstance(x, h5py.Dataset) and name not in TIME_DSETS:
                check(x.dtype == y.dtype and x.shape == y.shape and x.chunks == y.chunks
                      and x.compression == y.compression
                      and x.compression_opts == y.compression_opts and x.shuffle == y.shuffle
                      and x.fillvalue == y.fillvalue,
                      f"{tag}: {name} layout {x.dtype} {x.shape} {x.chunks} {x.compression} "
                      f"!= {y.dtype} {y.shape} {y.chunks} {y.compression}")
                check(np.asarray(x[()]).tobytes() == np.asarray(y[()]).tobytes(),
                      f"{tag}: {name} values differ")
                nd += 1
        check(nd > 30 and na > 100, f"{tag}: only {nd} datasets and {na} attributes compared")
        st = a["/entry/simulation/status"]
        check(int(st.attrs["complete"]) == 1 and st.attrs["started"] == b"2026-01-01T00:00:00Z"
              and st.attrs["resumed"] == b"2026-01-01T01:00:00Z"
              and st.attrs["finished"] == b"2026-01-01T00:00:09Z",
              f"{tag}: status {dict(st.attrs)}")
        check("resumed" not in b["/entry/simulation/status"].attrs, f"{tag}: @resumed in {full}")


def main():
    if len(sys.argv) < 3 or (len(sys.argv) - 3) % 3 != 0:
        print(__doc__)
        return 1
    check_file(sys.argv[1], noise=True)
    check_file(sys.argv[2], noise=False)
    for k in range(3, len(sys.argv), 3):
        suspended, resumed, full = sys.argv[k:k + 3]
        noise = "plain" not in suspended.rsplit("/", 1)[-1]
        check_suspended(suspended, noise)
        check_resumed(resumed, full)
        check_file(full, noise)
        check_file(resumed, noise)
    print(f"check_nxmx_stack: {'all checks passed' if not failures else f'{len(failures)} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
