#!/bin/sh
# interrupt.sh -- an interrupted run (SIGINT, SIGTERM) removes its temporary and lock files,
# the HDF5 file's included, and exits by the signal: no half-written output is left behind.
# usage: interrupt.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
h5flag=""; [ "$h5" = 1 ] && h5flag="--hdf5 run.h5"
fail=0
for sig in INT TERM; do
  d=$dir/$sig; rm -rf "$d" && mkdir -p "$d" && cd "$d" || exit 1
  OMP_NUM_THREADS=1 "$bin" -default_F 100 -cell 100 100 100 90 90 90 -N 5 -lambda 6.2 \
    -detpixels 1024 -mosaic 0.5 -mosaic_dom 10 -phisteps 5 -osc 0.5 -oversample 2 \
    -noprogress --math=exact $h5flag > out.txt 2> err.txt &
  pid=$!
  # wait (polling, no fixed delay) until the temporary files exist: the run has reserved its
  # outputs and renders; the HDF5 file is reserved last
  want='^\.floatimage\.bin\..*\.partial$'; [ "$h5" = 1 ] && want='^\.run\.h5\..*\.partial$'
  n=0
  while [ $n -lt 3000 ] && ! ls -A | grep -q "$want"; do sleep 0.01; n=$((n+1)); done
  if ! ls -A | grep -q "$want"; then
    echo "FAIL $sig: the temporary files never appeared"; fail=1; kill -KILL $pid; continue
  fi
  kill -$sig $pid; wait $pid; rc=$?
  left=$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$' | tr '\n' ' ')
  if [ $rc -lt 128 ]; then echo "FAIL $sig: exit status $rc (finished before the signal?)"; fail=1
  elif [ -n "$left" ]; then echo "FAIL $sig: left behind: $left"; fail=1
  else echo "ok   $sig: exit status $rc, nothing left behind"; fi
done
# a closed pipe (`| head -1`): SIGPIPE, whenever it comes, leaves no temporary or lock file
d=$dir/PIPE; rm -rf "$d" && mkdir -p "$d" && cd "$d" || exit 1
OMP_NUM_THREADS=1 "$bin" -default_F 100 -cell 100 100 100 90 90 90 -detpixels 64 -noprogress \
  $h5flag 2> err.txt | head -1 > out.txt
left=$(ls -A | grep -E '\.(lock|partial)$' | tr '\n' ' ')
if [ -n "$left" ]; then echo "FAIL PIPE: left behind: $left"; fail=1
else echo "ok   PIPE: no temporary or lock file left behind"; fi
exit $fail
