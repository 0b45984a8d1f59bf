#!/bin/sh
# jobs/sweep.sh -- a rotation sweep that DIALS processes end to end (docs/batch.md).
#
# 36 one-degree frames of a 50 x 60 x 70 A crystal (a misset, a Wilson-distributed set of
# structure factors drawn here, water background, Poisson noise) in ONE NXmx file, rendered by
# all cores (whole frames per rank), then dials.import -> find_spots -> index (no cell given)
# -> refine -> integrate -> scale.  About 2-4 minutes on a laptop.
#
# Environment (all optional):
#   NB_BIN    the nanobragg program          (default: build/nanobragg of this repository)
#   NB_OUT    the folder to work in          (default: ./sweep_out)
#   NB_RANKS  MPI ranks (0: no mpiexec)      (default: the number of cores)
#   NB_FRAMES frames of 1 degree             (default: 36)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NB_BIN:-$top/build/nanobragg}
out=${NB_OUT:-$PWD/sweep_out}
ranks=${NB_RANKS:-$(nproc 2>/dev/null || echo 2)}
frames=${NB_FRAMES:-36}
[ -x "$bin" ] || { echo "jobs/sweep.sh: $bin is not built (run jobs/example.sh or cmake first)" >&2; exit 1; }
mkdir -p "$out" && cd "$out"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
       OMPI_MCA_rmaps_base_oversubscribe=1
# structure factors: |F| = 100 sqrt(E), E exponential (acentric Wilson statistics), one value
# per Friedel pair, to 1.9 A
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(12345)
a, b, c, dmin = 50.0, 60.0, 70.0, 1.9
F = {}
with open("F.hkl", "w") as fp:
    for h in range(-27, 28):
        for k in range(-32, 33):
            for l in range(-37, 38):
                if (h, k, l) == (0, 0, 0) or (h / a) ** 2 + (k / b) ** 2 + (l / c) ** 2 > dmin ** -2:
                    continue
                key = max((h, k, l), (-h, -k, -l))
                if key not in F:
                    F[key] = 100.0 * np.sqrt(rng.exponential(1.0))
                fp.write("%d %d %d %.4f\n" % (h, k, l, F[key]))
PY
launch=""; [ "$ranks" -gt 0 ] && launch="mpiexec -np $ranks"
# 10 phi steps per degree: the reflections of a 8-cell-wide crystal are ~0.25 deg wide at 2 A;
# coarser sampling under-samples them and the intensities no longer follow |F|^2
$launch "$bin" -hkl F.hkl --no-fdump -cell 50 60 70 90 90 90 -misset 10 20 30 -N 8 -lambda 1 \
  -distance 100 -detpixels 512 -pixel 0.2 -water 0.1 -oversample 1 -phi 0 -osc 1 -phisteps 10 \
  -mosaic 0.2 -mosaic_dom 4 -mosaic_seed 7 -seed 3 --physical --frames "$frames" \
  --hdf5 sweep.h5 > sim.log
tail -2 sim.log
command -v dials.import >/dev/null 2>&1 || { echo "DIALS is not installed (apt-get install dials): stopping after the simulation"; exit 0; }
# the file records the polarisation (unpolarised here), but dxtbx 3.12 ignores it (docs/dials.md)
dials.import sweep.h5 geometry.beam.polarization_fraction=0.5 > import.log
dials.find_spots imported.expt nproc=1 > find_spots.log
dials.index imported.expt strong.refl nproc=1 > index.log
dials.refine indexed.expt indexed.refl nproc=1 > refine.log
dials.integrate refined.expt refined.refl nproc=1 > integrate.log
dials.scale integrated.expt integrated.refl nproc=1 > scale.log
/usr/bin/python3 - <<'PY'
from dxtbx.model.experiment_list import ExperimentListFactory
import h5py
e = ExperimentListFactory.from_json_file("scaled.expt", check_format=False)[0]
with h5py.File("sweep.h5", "r") as f:
    truth = f["/entry/sample/unit_cell"][0]
print("DIALS cell (indexed, refined, scaled): %.3f %.3f %.3f %.2f %.2f %.2f" % e.crystal.get_unit_cell().parameters())
print("simulated cell (sweep.h5 unit_cell):   %.3f %.3f %.3f %.2f %.2f %.2f" % tuple(truth))
PY
echo "sweep written to $out: sweep.h5 (NXmx, $frames frames) and the DIALS files (scaled.expt, scaled.refl)"
