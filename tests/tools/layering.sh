#!/bin/sh
# layering.sh -- the dependency rules of style.md §2.1, checked by grep:
#  * src/engine includes no MPI, HDF5 or CUDA header and never prints or exits;
#  * src/engine includes nothing from src/io, src/cli, cuda/ or mpi/;
#  * only mpi/ includes <mpi.h> or calls H5Pset_fapl_mpio;
#  * CUDA runtime headers only under cuda/;  SLURM syntax only under slurm/ (and its test,
#    tests/slurm/, which runs a real Slurm);
#  * nothing links the CUDA driver library (-lcuda).
top=${1:-.}
cd "$top" || exit 1
bad=0
say() { echo "layering: $*"; bad=1; }
hits=$(grep -nE '#include *[<"](mpi\.h|hdf5\.h|H5[A-Za-z]*\.h|cuda[a-z_]*\.h)' src/engine/*.[ch] 2>/dev/null)
[ -n "$hits" ] && say "engine includes MPI/HDF5/CUDA headers: $hits"
hits=$(grep -nE '#include *"\.\./(io|cli)/|#include *".*(cuda|mpi)/' src/engine/*.[ch] 2>/dev/null)
[ -n "$hits" ] && say "engine includes io/cli/cuda/mpi headers: $hits"
hits=$(grep -nE '\b(printf|fprintf|puts|fputs|putchar|exit|abort)\s*\(' src/engine/*.c 2>/dev/null | grep -v '^\s*/\*')
[ -n "$hits" ] && say "engine prints or exits: $hits"
hits=$(grep -rnE '#include *<mpi\.h>|H5Pset_fapl_mpio' --include='*.[ch]' --include='*.cu' . 2>/dev/null | grep -v '^\./mpi/' | grep -v '^\./build' | grep -v '^\./tests/tools/')
[ -n "$hits" ] && say "<mpi.h> or H5Pset_fapl_mpio outside mpi/: $hits"
hits=$(grep -rnE '#include *<cuda' --include='*.[ch]' --include='*.cu' . 2>/dev/null | grep -v '^\./cuda/' | grep -v '^\./build')
[ -n "$hits" ] && say "CUDA headers outside cuda/: $hits"
hits=$(grep -rnE '#SBATCH|\bsrun\b|\$SLURM_' --include='*' . 2>/dev/null | grep -v -e '^\./slurm/' -e '^\./tests/slurm/' | grep -v '^\./build' | grep -v '^\./\.git/' | grep -v '^\./tests/tools/layering.sh' | grep -vE '^\./(docs|README)' )
[ -n "$hits" ] && say "SLURM syntax outside slurm/: $hits"
hits=$(grep -rnE '(-lcuda\b|CUDA::cuda_driver)' CMakeLists.txt */CMakeLists.txt 2>/dev/null)
[ -n "$hits" ] && say "links the CUDA driver library: $hits"
[ $bad = 0 ] && echo "layering: ok"
exit $bad
