#!/bin/sh
# tests/run.sh -- build and run the whole test suite (the README's test command; CI runs it).
#
# Builds three configurations, as CI must (style.md §2.6):
#   build/         the full product: MPI + parallel HDF5 ON, CUDA ON when nvcc exists, -Werror
#   build-nompi/   -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF -DNB_WITH_CUDA=OFF (twins and stubs)
#   build-asan/    the no-MPI build with AddressSanitizer + UndefinedBehaviorSanitizer
#                  (skipped with NB_TEST_QUICK=1)
# and runs ctest in each (the golden suite reads ../shared/golden in place; without it those
# tests are reported as skipped).  Exit status: non-zero if anything failed.
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

echo "== full build (MPI, HDF5, CUDA=$cuda)"
cmake -S . -B build -DNB_WERROR=ON -DNB_WITH_CUDA=$cuda
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure --timeout 900)

echo "== build without MPI, HDF5 and CUDA"
cmake -S . -B build-nompi -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF -DNB_WITH_CUDA=OFF
cmake --build build-nompi -j"$jobs"
(cd build-nompi && ctest -j"$jobs" --output-on-failure --timeout 900 -LE slow)
if [ "${NB_TEST_QUICK:-0}" != 1 ]; then
  echo "== sanitizers (ASan + UBSan, no MPI)"
  cmake -S . -B build-asan -DNB_WERROR=ON -DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF \
        -DNB_WITH_CUDA=OFF -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j"$jobs" --output-on-failure --timeout 900 -L "golden|unit|cli|acceptance")
fi
echo "== all tests passed"
