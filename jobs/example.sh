#!/bin/sh
# jobs/example.sh -- set up and run the built-in default example on a fresh Debian 12.
#
# Installs the Debian packages the project needs (when run as root and any are missing),
# configures and builds, then renders the example below into ./example_out/: a 1024x1024
# detector 100 mm from a 5x5x5-cell cubic crystal (a = 79 A, lysozyme-like), one oscillation
# of 0.5 degrees in 5 phi steps, mosaic spread 0.2 degrees, water background and Poisson noise.
# It runs on every core with MPI (one row band per rank), writes the reference formats (float,
# SMV, noise, PGM) and the NXmx file example.h5 that DIALS imports, and prints the summary.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/jobs/packages.sh"
nb_install_packages $NB_BUILD_PACKAGES
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j"$(nproc 2>/dev/null || echo 2)"
out=${NB_EXAMPLE_OUT:-$PWD/example_out}
mkdir -p "$out"
cd "$out"
ranks=$(nproc 2>/dev/null || echo 2)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
OMP_NUM_THREADS=1 mpiexec -np "$ranks" "$top/build/nanobragg" -cell 79 79 79 90 90 90 -misset 10 20 30 -default_F 100 -N 5 \
  -lambda 1.0 -distance 100 -detpixels 1024 -pixel 0.1 -oversample 1 \
  -phi 0 -osc 0.5 -phisteps 5 -mosaic 0.2 -mosaic_dom 4 -mosaic_seed 7 \
  -water 0.1 -seed 3 -noprogress \
  -floatfile example.bin -intfile example.img -noisefile example_noise.img -pgmfile example.pgm \
  --hdf5 example.h5
echo "example written to $out by $ranks MPI ranks: example.bin (float), example.img (SMV),"
echo "example_noise.img, example.pgm and example.h5 (NXmx; try: dials.import example.h5)"
