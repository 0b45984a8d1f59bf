#!/bin/sh
# tests/run.sh -- build and run the whole test suite (the README's test command; CI runs it).
#
# Configurations (style.md §2.6; docs/testing.md):
#   build/             the product: MPI + parallel HDF5, CUDA compiled when nvcc exists, -Werror
#   build-nompi/       -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF -DNB_WITH_CUDA=OFF (twins and stubs)
#   build-asan/        the no-MPI build with gcc's AddressSanitizer + UndefinedBehaviorSanitizer
#   build-clang-native/ clang with -march=native (contraction on by default there): the golden
#                      suite must stay bit-identical whatever the site compiler and flags
#   build-ubsan-clang/ clang UBSan with -fsanitize=float-cast-overflow (which gcc lacks)
#   build-fuzz/        libFuzzer targets, NB_FUZZ_SECONDS (default 10) per target
# The golden tests read the vendored copy of the reference outputs (tests/golden/data).
# NB_TEST_QUICK=1 builds only the first two.  Tests labelled `slow` (MPI runs with 100+
# ranks, DIALS, a real Slurm on this host) run in CI (CI=true) or with NB_TEST_SLOW=1, in
# build/ only.
# Exit status: non-zero if anything failed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# on a fresh Debian 12 (as root): install what the build and the tests need, DIALS included
. "$top/jobs/packages.sh"
nb_install_packages $NB_TEST_PACKAGES
jobs=$(nproc 2>/dev/null || echo 2)
cuda=AUTO
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then cuda=ON; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
slow=0
if [ "${CI:-}" = true ] || [ "${NB_TEST_SLOW:-0}" = 1 ]; then slow=1; fi
t0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t0 )) s] $*"; }

stamp "full build (MPI, HDF5, CUDA=$cuda)"
cmake -S . -B build -DNB_WERROR=ON -DNB_WITH_CUDA=$cuda
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure --timeout 900 -LE slow)
if [ -f build/cuda_ptxas_report.txt ]; then cat build/cuda_ptxas_report.txt; fi

stamp "build without MPI, HDF5 and CUDA"
cmake -S . -B build-nompi -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF -DNB_WITH_CUDA=OFF
cmake --build build-nompi -j"$jobs"
(cd build-nompi && ctest -j"$jobs" --output-on-failure --timeout 900 -LE slow)

if [ "${NB_TEST_QUICK:-0}" != 1 ]; then
  stamp "sanitizers (gcc ASan + UBSan, no MPI)"
  cmake -S . -B build-asan -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF \
        -DNB_WITH_CUDA=OFF -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j"$jobs" --output-on-failure --timeout 900 -L "golden|unit|cli|acceptance|failure|series")

  stamp "clang -march=native (exactness does not depend on the compiler or its flags)"
  CC=clang cmake -S . -B build-clang-native -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF \
        -DNB_WITH_CUDA=OFF -DCMAKE_C_FLAGS="-march=native -O3"
  cmake --build build-clang-native -j"$jobs"
  (cd build-clang-native && ctest -j"$jobs" --output-on-failure --timeout 900 -L "golden|unit")

  stamp "clang UBSan with float-cast-overflow (no MPI)"
  CC=clang cmake -S . -B build-ubsan-clang -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF \
        -DNB_WITH_CUDA=OFF \
        -DCMAKE_C_FLAGS="-fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=undefined,float-cast-overflow"
  cmake --build build-ubsan-clang -j"$jobs"
  (cd build-ubsan-clang && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j"$jobs" --output-on-failure --timeout 900 -L "golden|unit|cli|acceptance")

  stamp "fuzz smoke run (clang libFuzzer + ASan + UBSan, ${NB_FUZZ_SECONDS:-10} s per target)"
  CC=clang cmake -S . -B build-fuzz -DNB_FUZZ=ON -DNB_WERROR=ON -DNB_WITH_MPI=OFF \
        -DNB_WITH_HDF5=OFF -DNB_WITH_CUDA=OFF -DNB_OPENMP=OFF -DNB_FUZZ_SECONDS="${NB_FUZZ_SECONDS:-10}"
  cmake --build build-fuzz -j"$jobs"
  (cd build-fuzz && ctest -j"$jobs" --output-on-failure -L fuzz)
fi

if [ $slow = 1 ]; then
  stamp "slow tests (MPI with 100+ ranks, DIALS, Slurm)"
  # one at a time: with two 100+-process runs at once on a machine loaded by other work, one
  # run once ended with Open MPI reporting a process that exited without MPI_Finalize
  (cd build && ctest -j1 --output-on-failure --timeout 1200 -L slow)
fi
stamp "all tests passed"
