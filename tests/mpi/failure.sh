#!/bin/sh
# failure.sh -- one failing rank makes every rank stop promptly with ONE error line and no
# output (not even a hidden temporary or lock file): bad input file, bad flag value, unwritable
# --hdf5 path, unwritable image path.
# usage: failure.sh <nanobragg> <mpiexec> <scratch>
bin=$1; mpiexec=$2; dir=$3
base="-default_F 100 -cell 100 100 100 90 90 90 -detpixels 32 -distance 100 -noprogress"
fail=0
check() { # name, expected substring, args...
  name=$1; want=$2; shift 2
  d=$dir/$name; rm -rf "$d" && mkdir -p "$d" && cd "$d" || exit 1
  start=$(date +%s)
  timeout 120 "$mpiexec" -np 4 "$bin" $base "$@" > out.txt 2> err.txt
  rc=$?
  took=$(( $(date +%s) - start ))
  nerr=$(grep -c '^error: ' err.txt)
  left=$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$' | tr '\n' ' ')
  if [ $rc = 0 ] || [ $rc = 124 ]; then echo "FAIL $name: exit status $rc (124 = hung)"; fail=1
  elif [ "$nerr" != 1 ]; then echo "FAIL $name: $nerr error lines"; cat err.txt; fail=1
  elif ! grep '^error: ' err.txt | grep -q -- "$want"; then echo "FAIL $name: error does not name '$want':"; cat err.txt; fail=1
  elif [ -n "$left" ]; then echo "FAIL $name: files left behind: $left"; fail=1
  else echo "ok   $name: exit $rc after ${took}s, one line: $(grep '^error: ' err.txt)"; fi
}
check missing_hkl missing.hkl -hkl missing.hkl --hdf5 sim.h5
check bad_value -detpixels -detpixels 0 --hdf5 sim.h5
check bad_hdf5_path /nonexistent_dir/sim.h5 --hdf5 /nonexistent_dir/sim.h5
check bad_float_path /nonexistent_dir/f.bin -floatfile /nonexistent_dir/f.bin --hdf5 sim.h5
check bad_mask mask.img -mask mask.img --hdf5 sim.h5
# a device error on one rank of the CUDA back-end (on the CPU grid emulator), with the progress
# meter on: rank 0 must not wait for that rank's progress
export NB_CUDA_EMULATE=1
for point in gpu-create gpu-render; do
  for r in 2 0; do
    export NB_FAULT=$point@$r
    check "${point}_rank$r" "injected device error" --device=cuda -progress --hdf5 sim.h5
  done
done
unset NB_CUDA_EMULATE NB_FAULT
exit $fail
