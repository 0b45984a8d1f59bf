#!/bin/sh
# ptxas_report.sh -- compile the CUDA kernels for every architecture of NB_CUDA_ARCHITECTURES
# with ptxas -v and record, per architecture, the band kernel's registers, stack and spills
# (docs/gpu.md).  A missing architecture, or a kernel ptxas did not report, fails.
# usage: ptxas_report.sh <nvcc> <source dir> <report file> <arch>...   (archs like 90-real)
set -eu
nvcc=$1 src=$2 out=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "# ptxas resource usage of nb_band_kernel (cuda/nb_cuda.cu), $("$nvcc" --version | tail -1)"
  printf '%-10s %9s %12s %12s %11s\n' arch registers "stack (B)" "spill st (B)" "spill ld (B)"
} >"$tmp/report"
fail=0
for a in "$@"; do
  num=${a%%-*}
  case $a in *-virtual) continue ;; esac # PTX only: no ptxas
  if ! "$nvcc" -c --fmad=false -Xptxas -v -gencode "arch=compute_$num,code=sm_$num" \
       -I"$src/cuda" -I"$src/src/engine" "$src/cuda/nb_cuda.cu" -o "$tmp/k.o" \
       >"$tmp/log" 2>&1; then
    echo "sm_$num: nvcc failed:"; cat "$tmp/log"; fail=1; continue
  fi
  # the lines after "Compiling entry function '...nb_band_kernel...'"
  line=$(awk '/Compiling entry function .*nb_band_kernel/ {f=1} f && /spill stores/ {s=$0} f && /Used [0-9]+ registers/ {print s " | " $0; exit}' "$tmp/log")
  if [ -z "$line" ]; then
    echo "sm_$num: no ptxas report for nb_band_kernel:"; cat "$tmp/log"; fail=1; continue
  fi
  regs=$(echo "$line" | sed -n 's/.*Used \([0-9]*\) registers.*/\1/p')
  stack=$(echo "$line" | sed -n 's/^ *\([0-9]*\) bytes stack frame.*/\1/p')
  sst=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes spill stores.*/\1/p')
  sld=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes spill loads.*/\1/p')
  printf '%-10s %9s %12s %12s %11s\n' "sm_$num" "$regs" "$stack" "$sst" "$sld" >>"$tmp/report"
done
cp "$tmp/report" "$out"
cat "$out"
exit $fail
