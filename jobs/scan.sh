#!/bin/sh
# jobs/scan.sh -- a parameter scan: crystal size and mosaicity, one frame per setting
# (docs/batch.md, --frames-from), written as per-frame SMV noise images and one NXmx file,
# with a table of the spot maximum and photons per frame.  Seconds on a laptop.
# The water background of a pixel is divided by the number of steps, mosaic domains included,
# as in nanoBragg (quirk Q15, docs/spec/physics.md §15): the frames with 10 domains show less
# background than those with 1.
#
# Environment (all optional): NB_BIN (default build/nanobragg), NB_OUT (./scan_out),
# NB_RANKS (the number of cores; 0: no mpiexec).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NB_BIN:-$top/build/nanobragg}
out=${NB_OUT:-$PWD/scan_out}
ranks=${NB_RANKS:-$(nproc 2>/dev/null || echo 2)}
[ -x "$bin" ] || { echo "jobs/scan.sh: $bin is not built" >&2; exit 1; }
mkdir -p "$out" && cd "$out"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
       OMPI_MCA_rmaps_base_oversubscribe=1
{
  echo "# crystal size (unit cells per edge) x mosaic spread (degrees)"
  for N in 5 10 20; do
    for m in 0 0.2 0.5; do
      echo "-N $N -mosaic $m -mosaic_dom $([ "$m" = 0 ] && echo 1 || echo 10)"
    done
  done
} > scan.txt
launch=""; [ "$ranks" -gt 0 ] && launch="mpiexec -np $ranks"
$launch "$bin" -default_F 100 -cell 79 79 38 90 90 90 -misset 10 20 30 -lambda 1 -distance 100 \
  -detpixels 256 -pixel 0.2 -water 0.1 -oversample 1 -phi 0 -osc 0.2 -phisteps 2 -mosaic_seed 7 \
  -seed 5 --physical --frames-from scan.txt -noisefile scan_###.img --hdf5 scan.h5 > sim.log
echo "frame  flags                                        max_I        photons"
grep '^frame ' sim.log | sed 's/^frame \([0-9]*\)\/[0-9]*: \(.*\) -seed [0-9]*: max_I = \([^,]*\), \(.*\) photons/\1 \2|\3|\4/' |
  awk -F'|' '{ printf "%-52s %-12s %s\n", $1, $2, $3 }'
echo "scan written to $out: scan_001.img ... scan_009.img (SMV) and scan.h5 (NXmx, 9 frames)"
