#!/bin/sh
# dials_test.sh -- DIALS reads our NXmx file: a still-like 1-degree frame with background,
# simulated by 2 MPI ranks.  dials.import must give the simulated wavelength, distance,
# pixel size and beam centre; dials.find_spots + dials.index must recover the cell within
# 0.5 % per axis.  Skips (77) only where DIALS is not installed (CI installs it).
# usage: dials_test.sh <nanobragg> <mpiexec> <scratch>
bin=$1; mpiexec=$2; dir=$3
command -v dials.import >/dev/null 2>&1 || { echo "SKIP: DIALS is not installed (apt-get install dials)"; exit 77; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
set -e
"$mpiexec" -np 2 "$bin" -cell 50 60 70 90 90 90 -misset 10 20 30 -default_F 100 -N 12 -lambda 1 \
  -distance 100 -detpixels 1024 -pixel 0.1 -water 0.1 -oversample 1 -phi 0 -osc 1 -phisteps 4 \
  -mosaic 0.1 -mosaic_dom 4 -mosaic_seed 7 -seed 3 -noisefile n.img --hdf5 sim.h5 -noprogress \
  > sim.log
test -f sim.h5
dials.import sim.h5 > import.log
dials.find_spots imported.expt nproc=1 > find_spots.log
dials.index imported.expt strong.refl nproc=1 > index.log || { tail -20 index.log; exit 1; }
set +e
/usr/bin/python3 - <<'PY'
import sys, h5py
from dxtbx.model.experiment_list import ExperimentListFactory
ok = True
def check(cond, msg):
    global ok
    print(("ok   " if cond else "FAIL ") + msg)
    ok = ok and cond
sim = h5py.File("sim.h5", "r")["/entry/simulation"].attrs
imp = ExperimentListFactory.from_json_file("imported.expt", check_format=False)[0]
panel = imp.detector[0]
lam = imp.beam.get_wavelength()
check(abs(lam - sim["lambda0"] * 1e10) < 1e-6, "wavelength %.6f A (simulated %.6f)" % (lam, sim["lambda0"] * 1e10))
dist = panel.get_distance()
check(abs(dist - sim["close_distance"] * 1000) < 1e-3, "distance %.4f mm (simulated %.4f)" % (dist, sim["close_distance"] * 1000))
px = panel.get_pixel_size()
check(abs(px[0] - sim["pixel_size"] * 1000) < 1e-9 and abs(px[1] - sim["pixel_size"] * 1000) < 1e-9, "pixel size %s mm" % (px,))
bc = panel.get_beam_centre(imp.beam.get_s0())
check(abs(bc[0] - sim["Fbeam"] * 1000) < 1e-3 and abs(bc[1] - sim["Sbeam"] * 1000) < 1e-3,
      "beam centre %.4f %.4f mm (simulated Fbeam %.4f Sbeam %.4f)" % (bc[0], bc[1], sim["Fbeam"] * 1000, sim["Sbeam"] * 1000))
idx = ExperimentListFactory.from_json_file("indexed.expt", check_format=False)[0]
cell = idx.crystal.get_unit_cell().parameters()
print("indexed cell: %.3f %.3f %.3f %.3f %.3f %.3f" % cell)
for got, want in zip(sorted(cell[:3]), (50.0, 60.0, 70.0)):
    check(abs(got - want) / want <= 0.005, "axis %.3f within 0.5%% of %.1f" % (got, want))
for a in cell[3:]:
    check(abs(a - 90.0) < 1.0, "angle %.3f near 90" % a)
sys.exit(0 if ok else 1)
PY
