#!/bin/sh
# dials_sweep.sh -- a rotation series in one NXmx file goes through DIALS end to end.
#
# jobs/sweep.sh, the worked example: 36 frames of 1 deg (--frames 36, 2 MPI ranks, whole
# frames per rank), a 50 x 60 x 70 A crystal with a misset, structure factors drawn from a
# Wilson distribution (one value per Friedel pair, |F| = 100 sqrt(E), E exponential:
# acentric), a little water background, noise, 10 phi steps per degree.
# dials.import -> find_spots -> index (no cell given) -> refine -> integrate -> scale must
# give: one sweep of 36 images with the simulated oscillation; the indexed cell within 0.2 % of
# /entry/sample/unit_cell on every axis (after DIALS's choice of basis); scaled, merged
# intensities whose correlation with the input |F|^2 is >= 0.98 (DIALS's indices mapped to
# ours through the integer basis change that takes ub_matrix to DIALS's A).
# --physical: phi rotated fresh at every step (frame 0 starts at phi = 0, where the reference's
# carryover quirk would reuse the last orientation).
# Label slow (about 2-3 min on 2 cores).  Skips (77) only where DIALS is not installed.
# usage: dials_sweep.sh <nanobragg> <mpiexec or ""> <scratch>
bin=$1; mpiexec=$2; dir=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v dials.import >/dev/null 2>&1 || { echo "SKIP: DIALS is not installed (apt-get install dials)"; exit 77; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
start=$(date +%s)
# the worked example, as a user runs it
NB_BIN=$bin NB_OUT=$dir NB_RANKS=$([ -n "$mpiexec" ] && echo 2 || echo 0) \
  sh "$here/../../jobs/sweep.sh" > sweep.log 2>&1 || { tail -30 sweep.log; exit 1; }
echo "info DIALS: $(( $(date +%s) - start )) s in all"
set +e
/usr/bin/python3 - <<'PY'
import sys
import h5py
import numpy as np
from dxtbx.model.experiment_list import ExperimentListFactory
from dials.array_family import flex
ok = True
def check(cond, msg):
    global ok
    print(("ok   " if cond else "FAIL ") + msg)
    ok = ok and cond
with h5py.File("sweep.h5", "r") as h5:
    truth = h5["/entry/sample/unit_cell"][0]
    ub = h5["/entry/sample/ub_matrix"][0]
    phi = h5["/entry/sample/transformations/phi"][()]
imp = ExperimentListFactory.from_json_file("imported.expt", check_format=False)
check(len(imp) == 1 and imp[0].scan is not None and imp[0].scan.get_num_images() == 36,
      "dials.import: one sweep of %s images" % (imp[0].scan.get_num_images() if imp[0].scan else None))
osc = imp[0].scan.get_oscillation()
check(abs(osc[0] - phi[0]) < 1e-9 and abs(osc[1] - 1.0) < 1e-9, "oscillation %s (start, width)" % (osc,))
exp = ExperimentListFactory.from_json_file("scaled.expt", check_format=False)[0]
cell = exp.crystal.get_unit_cell().parameters()
A = np.array(exp.crystal.get_A()).reshape(3, 3)
At = np.diag([-1.0, 1.0, -1.0]) @ ub  # McStas -> DIALS lab
M = np.linalg.inv(At) @ A             # A_dials = A_true M (integer, det +-1)
Mr = np.rint(M)
check(np.abs(M - Mr).max() < 0.25 and abs(abs(np.linalg.det(Mr)) - 1) < 1e-9,
      "DIALS basis = true basis x %s (max deviation %.3f)" % (Mr.astype(int).tolist(), np.abs(M - Mr).max()))
Bt = np.linalg.inv(At @ Mr)           # rows: true real-space vectors in DIALS's basis
tcell = [np.linalg.norm(v) for v in Bt]
print("info indexed, refined cell: %.4f %.4f %.4f %.3f %.3f %.3f" % cell)
for got, want in zip(cell[:3], tcell):
    check(abs(got - want) / want <= 0.002, "axis %.4f within 0.2%% of the true %.4f (%.3f%%)"
          % (got, want, 100 * abs(got - want) / want))
# merged intensities against |F|^2 of the input table
F = {}
for line in open("F.hkl"):
    h, k, l, f = line.split()
    F[(int(h), int(k), int(l))] = float(f)
refl = flex.reflection_table.from_file("scaled.refl")
sel = refl.get_flags(refl.flags.scaled) & ~refl.get_flags(refl.flags.bad_for_scaling, all=False)
refl = refl.select(sel)
hkl = np.array(refl["miller_index"], dtype=float).reshape(-1, 3)
I = np.array(refl["intensity.scale.value"]) / np.array(refl["inverse_scale_factor"])
true_hkl = np.rint(hkl @ Mr.T).astype(int)   # q = A_true M h_dials: h_true = M h_dials
groups = {}
for (h, k, l), i in zip(true_hkl, I):
    key = max((h, k, l), (-h, -k, -l))
    groups.setdefault(key, []).append(i)
x, y = [], []
for key, vals in groups.items():
    if key in F:
        x.append(F[key] ** 2)
        y.append(np.mean(vals))
cc = np.corrcoef(x, y)[0, 1] if len(x) > 10 else 0.0
check(len(x) > 1000, "%d unique reflections merged (%d observations)" % (len(x), len(I)))
check(cc >= 0.98, "correlation of merged intensities with |F|^2: %.4f (>= 0.98)" % cc)
sys.exit(0 if ok else 1)
PY
