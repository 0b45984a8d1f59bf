#!/bin/sh
# jobs/stills.sh -- a stills series with random orientations (docs/batch.md, --frames-from).
#
# One line per still in a frame list (-misset random -misset_seed k: a random orientation
# each), -osc 0, all in one NXmx file that dials.import reads as stills.  Seconds on a laptop.
#
# Environment (all optional): NB_BIN (default build/nanobragg), NB_OUT (./stills_out),
# NB_RANKS (the number of cores; 0: no mpiexec), NB_STILLS (20).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NB_BIN:-$top/build/nanobragg}
out=${NB_OUT:-$PWD/stills_out}
ranks=${NB_RANKS:-$(nproc 2>/dev/null || echo 2)}
n=${NB_STILLS:-20}
[ -x "$bin" ] || { echo "jobs/stills.sh: $bin is not built" >&2; exit 1; }
mkdir -p "$out" && cd "$out"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
       OMPI_MCA_rmaps_base_oversubscribe=1
{
  echo "# $n stills: a random orientation each (uniformly distributed with --physical)"
  k=1; while [ $k -le "$n" ]; do echo "-misset random -misset_seed $k"; k=$((k + 1)); done
} > stills.txt
launch=""; [ "$ranks" -gt 0 ] && launch="mpiexec -np $ranks"
$launch "$bin" -default_F 100 -cell 79 79 38 90 90 90 -N 10 -lambda 1.3 -distance 120 \
  -detpixels 512 -pixel 0.2 -water 0.1 -oversample 1 -osc 0 -mosaic 0.05 -mosaic_dom 4 \
  -mosaic_seed 7 -seed 11 --physical --frames-from stills.txt --hdf5 stills.h5 > sim.log
tail -2 sim.log
if command -v dials.import >/dev/null 2>&1; then
  dials.import stills.h5 | grep -E "num images|still|sweep"
fi
echo "stills written to $out: stills.h5 ($n frames; /entry/sample/ub_matrix holds each true orientation)"
