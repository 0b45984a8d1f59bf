#!/bin/sh
# bench/gpu_check.sh -- what only a GPU can prove, in one command and one table (docs/gpu.md).
#
# usage: bench/gpu_check.sh [--emulate] [--quick]
# On one H100/H200 it needs some 5-8 minutes: it
#   1. builds the project with CUDA for this GPU's architecture (MPI and parallel HDF5 when
#      the machine has them) in build-gpu/ ($NB_GPU_BUILD);
#   2. runs the golden suite with --device=cuda: double against the reference (T1c) with the
#      pixels that differ from the CPU's default double image counted, single (T2);
#   3. runs the carry band-split scenes on the GPU (test_carry_bands --gpu) and compares
#      mpirun -np 2 (both ranks on the one GPU) with np=1 byte for byte;
#   4. runs compute-sanitizer memcheck on a small case (double, single, interpolation);
#   5. benchmarks (c), the full supervisor image and an ExaFEL-class image (bench/gpu_bench.py).
# Then prints one table: item | result | detail.  Exit status 0 when every check passed.
# --emulate: a dry run on a machine without a GPU (but with nvcc, to build): the CPU grid
# emulator stands in for the device (NB_CUDA_EMULATE), the benchmarks shrink; it checks this
# script, not a GPU.
# --quick: the benchmarks at small sizes.
# Each row is printed as it is measured (and the table again at the end); every step has a
# time limit, so a hang costs one row, not the table.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${NB_GPU_BUILD:-build-gpu}
case $B in /*) ;; *) B=$top/$B ;; esac
PATH=$PATH:/usr/local/cuda/bin
export PATH
emulate=0 quick=0
for a in "$@"; do
  case $a in
    --emulate) emulate=1; quick=1 ;;
    --quick) quick=1 ;;
    *) echo "usage: bench/gpu_check.sh [--emulate] [--quick]" >&2; exit 2 ;;
  esac
done
mkdir -p "$B"
rows=$B/gpu_check_rows.txt
log=$B/gpu_check.log
: >"$rows"
: >"$log"
t_start=$(date +%s)
bad=0
row() {
  printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$rows"
  printf '%-24s | %-28s | %s\n' "$1" "$2" "$3"
}
elapsed() { echo $(( $(date +%s) - $1 )); }
jobs=$(nproc 2>/dev/null || echo 4)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# ---- 0. the device
if [ $emulate = 1 ]; then
  export NB_CUDA_EMULATE=4:1:65536
  arch=90
  row device "CPU grid emulator (--emulate)" "$(uname -n), $(date -u +%Y-%m-%dT%H:%MZ); no GPU: nothing here is a GPU result"
else
  unset NB_CUDA_EMULATE
  info=$(nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
  if [ -z "$info" ]; then
    echo "gpu_check: nvidia-smi finds no GPU (use --emulate for a dry run)" >&2
    exit 1
  fi
  arch=$(echo "$info" | cut -d, -f2 | tr -d ' .')
  row device "$(echo "$info" | cut -d, -f1)" "sm_$arch,$(echo "$info" | cut -d, -f3-) (driver); $(nvidia-smi -L | wc -l) GPU(s); $(uname -n), $(date -u +%Y-%m-%dT%H:%MZ)"
fi

# ---- 1. build
t=$(date +%s)
mpi=OFF
if command -v mpicc >/dev/null 2>&1 && command -v mpiexec >/dev/null 2>&1; then mpi=ON; fi
ok=0
for opts in "-DNB_WITH_MPI=$mpi -DNB_WITH_HDF5=$mpi" "-DNB_WITH_MPI=$mpi -DNB_WITH_HDF5=OFF" \
            "-DNB_WITH_MPI=OFF -DNB_WITH_HDF5=OFF"; do
  # shellcheck disable=SC2086
  if timeout 120 cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DNB_WITH_CUDA=ON \
       -DNB_CUDA_ARCHITECTURES="${arch}-real" $opts >>"$log" 2>&1; then ok=1; break; fi
  rm -rf "$B/CMakeCache.txt" "$B/CMakeFiles"
done
if [ $ok = 1 ] && timeout 480 cmake --build "$B" -j"$jobs" >>"$log" 2>&1; then
  have_mpi=$(grep -c '^NB_WITH_MPI:BOOL=ON' "$B/CMakeCache.txt")
  nv=$(nvcc --version 2>/dev/null | tail -1)
  row build "ok ($(elapsed "$t") s)" "sm_${arch}-real, MPI $( [ "$have_mpi" = 1 ] && echo on || echo off); ${nv:-nvcc ?}"
else
  row build FAILED "see $log"
  awk -F'|' '{printf "%-24s | %-28s | %s\n", $1, $2, $3}' "$rows"
  exit 1
fi
NB=$B/nanobragg
TG=$B/tests/test_golden
export NB_GOLDEN_DIR=$B/tests/golden_data
cases=$(sed -n '/^set(NB_GOLDEN_CASES/,/)/p' tests/CMakeLists.txt | tr -d '()' | tr ' ' '\n' \
        | grep -v -e '^set' -e '^NB_GOLDEN_CASES' -e '^$')

# ---- 2. the golden suite on the GPU
t=$(date +%s)
pass_d=0 pass_s=0 n=0 ident=0 diffs=""
for c in $cases; do
  n=$((n + 1))
  out=$(NB_REQUIRE_GPU=1 timeout 120 "$TG" "$NB" "$c" --extra --device=cuda --tier T1c \
        --same-as --device=cpu --count-only --tag gpu --gpu 2>&1)
  rc=$?
  echo "$out" >>"$log"
  [ $rc = 0 ] && pass_d=$((pass_d + 1))
  [ $rc != 0 ] && diffs="$diffs $c:FAILED"
  if echo "$out" | grep -q '^float.bin: byte-identical'; then
    ident=$((ident + 1))
  else
    k=$(echo "$out" | sed -n 's/^float.bin: \([0-9]*\) of .*/\1/p')
    [ -n "$k" ] && diffs="$diffs $c:$k"
  fi
  out=$(NB_REQUIRE_GPU=1 timeout 120 "$TG" "$NB" "$c" --extra "--device=cuda --precision=single" \
        --tier T2 --tag gpu_single --gpu 2>&1)
  rc=$?
  echo "$out" >>"$log"
  [ $rc = 0 ] && pass_s=$((pass_s + 1))
  [ $rc != 0 ] && diffs="$diffs $c(single):FAILED"
done
[ $pass_d = "$n" ] && [ $pass_s = "$n" ] || bad=1
row "golden, double (T1c)" "$pass_d/$n pass" "float image bit-identical to the CPU's default double: $ident/$n cases"
row "golden, differing px" "$( [ -z "$diffs" ] && echo none || echo see detail)" "${diffs:-every case byte-identical}"
row "golden, single (T2)" "$pass_s/$n pass" "corr >= 0.99999, sum within 1e-5, brightest 1% within 1e-3 ($(elapsed "$t") s for both)"

# ---- 3. carry band splits; ranks sharing one GPU
t=$(date +%s)
gpuflag=--gpu
[ $emulate = 1 ] && gpuflag="" # the test then sets its own emulator
if NB_REQUIRE_GPU=1 timeout 180 "$B/tests/test_carry_bands" $gpuflag >>"$log" 2>&1; then
  row "carry band splits" pass "8 carry/latch scenes x 26 band splits, GPU = CPU byte for byte ($(elapsed "$t") s)"
else
  row "carry band splits" FAILED "see $log"; bad=1
fi
if [ "$have_mpi" = 1 ]; then
  res=pass det=""
  for c in phi0_carryover supervisor_roi; do
    d=$B/gpu_check_mpi/$c
    rm -rf "$d"; mkdir -p "$d/np1" "$d/np2"
    args=$(cat "$NB_GOLDEN_DIR/cases/$c/cmd.txt")
    for np in 1 2; do
      ln -s "$NB_GOLDEN_DIR/inputs" "$d/np$np/inputs"
      # shellcheck disable=SC2086
      (cd "$d/np$np" && timeout 120 mpiexec -np $np "$NB" $args --device=cuda -floatfile f.bin \
         -intfile i.img -noisefile n.img -seed 5 >out.txt 2>err.txt) ||
        { res=FAILED; det="$det $c np=$np exit"; }
    done
    for f in f.bin i.img n.img; do
      cmp -s "$d/np1/$f" "$d/np2/$f" || { res=FAILED; det="$det $c:$f differs"; }
    done
  done
  [ $res = pass ] || bad=1
  row "mpirun -np 2, one GPU" "$res" "phi0_carryover, supervisor_roi: float, int, noise images byte-equal to np=1${det}"
else
  row "mpirun -np 2, one GPU" "n/a" "no MPI on this machine"
fi

# ---- 4. compute-sanitizer
cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ $emulate = 1 ]; then
  row "compute-sanitizer" "n/a" "--emulate"
elif [ -z "$cs" ]; then
  row "compute-sanitizer" "n/a" "not installed"
else
  res=pass det=""
  d=$B/gpu_check_sanitizer
  mkdir -p "$d"
  for extra in "" "--precision=single" "-interpolate -hkl $NB_GOLDEN_DIR/inputs/P1.hkl"; do
    rm -f "$d/Fdump.bin" # no run reads another's structure-factor cache
    # shellcheck disable=SC2086
    (cd "$d" && timeout 240 "$cs" --tool memcheck --error-exitcode 3 "$NB" -cell 70 80 90 75 85 95 \
      -default_F 100 -N 4 -distance 60 -detpixels 96 -pixel 0.2 -phi 0 -osc 1 -phisteps 3 \
      -mosaic 0.3 -mosaic_domains 2 -oversample 2 --device=cuda $extra -floatfile f.bin \
      -nonoise -nopgm -noprogress >out.txt 2>&1)
    rc=$?
    cat "$d/out.txt" >>"$log"
    s=$(grep -o 'ERROR SUMMARY: [0-9]* error' "$d/out.txt" | tail -1)
    [ $rc = 0 ] && [ -n "$s" ] || { res=FAILED; bad=1; }
    det="$det [${extra:-double}: ${s:-no summary, exit $rc}]"
  done
  row "compute-sanitizer" "$res" "memcheck, 96^2 mosaic/phi/oversample scene:$det"
fi

# ---- 5. benchmarks
t=$(date +%s)
q=""
[ $quick = 1 ] && q="--quick --repeat 1"
ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
[ "$ngpu" -ge 2 ] && [ "$have_mpi" = 1 ] && q="$q --two-gpus"
# shellcheck disable=SC2086
timeout 420 python3 bench/gpu_bench.py --bin "$NB" $q 2>>"$log" | tee "$B/gpu_bench.txt" || bad=1
grep -q FAILED "$B/gpu_bench.txt" && bad=1
cat "$B/gpu_bench.txt" >>"$rows"
row "benchmarks" "$(elapsed "$t") s" "medians; render = back-end create (upload) + band (kernels, copies) on rank 0"

row total "$( [ $bad = 0 ] && echo PASS || echo FAIL)" "$(elapsed "$t_start") s; log: $log"
echo
echo "== nanobragg-hpc gpu_check ($(git describe --always --dirty 2>/dev/null || echo '?'))"
awk -F'|' '{printf "%-24s | %-28s | %s\n", $1, $2, $3}' "$rows"
exit $bad
