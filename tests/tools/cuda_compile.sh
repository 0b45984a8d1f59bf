#!/bin/sh
# cuda_compile.sh -- compile the shared per-pixel physics header with nvcc (compile only),
# so a construct nvcc rejects is caught on every CI run, with or without a GPU.
# usage: cuda_compile.sh <nvcc or empty> <source dir> <output dir>
nvcc=$1; src=$2; out=$3
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then echo "SKIP: no CUDA compiler configured"; exit 77; fi
mkdir -p "$out" || exit 1
set -x
"$nvcc" -std=c++17 --fmad=false -arch=sm_90 -Werror all-warnings -c "$src/cuda/physics_check.cu" \
    -o "$out/physics_check.o" || exit 1
"$nvcc" -std=c++17 -arch=sm_90 -Werror all-warnings -c "$src/cuda/physics_check.cu" \
    -o "$out/physics_check_fmad.o" || exit 1
echo "nvcc compiled src/engine/nb_physics.h"
