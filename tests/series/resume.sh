#!/bin/sh
# resume.sh -- a series stopped or killed mid-way continues with --resume, and the final file's
# data equal an uninterrupted run's.
#   1. SIGTERM (what Slurm sends before a time limit or pre-emption) to a one-process series:
#      the frame in flight is finished and flushed, exit status 75, one "stopped:" line naming
#      the file kept; the previous sweep.h5 untouched; --resume renders only the missing frames.
#   2. kill -9 of one rank of an MPI series: every rank ends; --resume under a different rank
#      count (3 instead of 2) continues it (the dead job's lock is taken over).
#   3. --resume against a different job (another -seed), and against a corrupt file: one error
#      line, exit 9, the temporary file byte for byte as it was.
#   4. --resume with nothing to resume starts from the first frame; --resume without --hdf5 or
#      without a series is an error.
# usage: resume.sh <nanobragg> <mpiexec or ""> <scratch>
bin=$1; mpiexec=$2; dir=$3
. "$(dirname "$0")/../failure/common.sh"
fresh "$dir"; dir=$(pwd)
# --math=exact: the scalar reference arithmetic keeps each frame slow enough (about 0.1 s) for a
# signal to land mid-series; the SIMD default finishes all ten frames between two polls
A="-default_F 100 -cell 70 80 90 90 90 90 -distance 80 -detpixels 96 -pixel 0.2 -N 4 -lambda 1.5 \
 -phisteps 6 -mosaic 0.5 -mosaic_dom 6 -mosaic_seed 3 -water 200 -noprogress -seed 7 -osc 0.5 -oversample 2 \
 --math=exact"
S="--frames 10 -noisefile n_###.img --hdf5 sweep.h5"

# the data an uninterrupted run gives
mkdir ref && (cd ref && "$bin" $A $S > out.txt 2> err.txt) || { bad "reference run failed"; exit 1; }
same_data() { # folder -> 0 when its sweep.h5 holds the reference's data, complete
  /usr/bin/python3 - "$1" "$dir/ref/sweep.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[2], "r") as r, h5py.File(sys.argv[1] + "/sweep.h5", "r") as f:
    for d in ("/entry/data/data", "/entry/sample/transformations/phi", "/entry/sample/unit_cell",
              "/entry/simulation/frames/seed", "/entry/simulation/carry/in_vectors"):
        if not np.array_equal(r[d][()], f[d][()]):
            print("differs: " + d); sys.exit(1)
    for a in ("p1", "phi_star", "interp_latch_index"):
        if not np.array_equal(r["/entry/simulation/carry"].attrs[a], f["/entry/simulation/carry"].attrs[a], equal_nan=True):
            print("differs: carry@" + a); sys.exit(1)
    st = f["/entry/simulation/status"]
    if int(st.attrs["complete"]) != 1 or not (st["frames_done"][()] == 1).all():
        print("not complete"); sys.exit(1)
PY
}
frames_in() { grep -c '^frame [0-9]*/' "$1"; }
partial() { ls -A "$1" | grep -E '^\.sweep\.h5\..*\.partial$'; }

# 1. SIGTERM, one process
mkdir term && cd term
printf 'previous\n' > sweep.h5
"$bin" $A $S > out.txt 2> err.txt &
pid=$!
n=0; while [ "$(frames_in out.txt)" -lt 3 ] && kill -0 $pid 2>/dev/null && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done
kill -TERM $pid; wait $pid; rc=$?
p=$(partial .)
if [ $rc != 75 ]; then bad "SIGTERM: exit status $rc, want 75: $(cat err.txt)"
elif [ "$(grep -c . err.txt)" != 1 ] || ! grep -q "^stopped: signal 15: .* --resume" err.txt; then bad "SIGTERM: stderr: $(cat err.txt)"
elif [ -z "$p" ] || [ "$(cat sweep.h5)" != previous ]; then bad "SIGTERM: partial '$p', sweep.h5 '$(head -c 20 sweep.h5)'"
else ok "SIGTERM after $(frames_in out.txt) of 10 frames: exit 75, $(cat err.txt | cut -c1-100)..."; fi
done_before=$(frames_in out.txt)
"$bin" $A $S --resume > out2.txt 2> err2.txt; rc=$?
if [ $rc != 0 ]; then bad "SIGTERM then --resume: exit $rc: $(cat err2.txt)"
elif [ "$(frames_in out2.txt)" != $((10 - done_before)) ]; then bad "--resume rendered $(frames_in out2.txt) frames, want $((10 - done_before))"
elif ! same_data .; then bad "SIGTERM then --resume: the data differ from an uninterrupted run"
elif [ -n "$(ls -A | grep -E '\.(partial|lock)$')" ]; then bad "left: $(ls -A | grep -E '\.(partial|lock)$')"
else ok "--resume rendered the $((10 - done_before)) missing frames; the data equal an uninterrupted run's"; fi
cmp -s n_010.img ../ref/n_010.img && cmp -s n_001.img ../ref/n_001.img && ok "per-frame files equal too" || bad "per-frame files differ"
cd ..

# 2. kill -9 of one rank, resumed with another rank count
if [ -n "$mpiexec" ]; then
  mkdir kill && cd kill
  timeout 300 "$mpiexec" -np 2 "$bin" $A $S > out.txt 2> err.txt &
  job=$!
  n=0; while [ "$(frames_in out.txt)" -lt 4 ] && kill -0 $job 2>/dev/null && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done
  ranks=$(pgrep -P "$(pgrep -P $job | head -1)")
  kill -KILL $(echo "$ranks" | tail -1)
  wait $job; rc=$?
  p=$(partial .)
  if [ $rc = 0 ] || [ -z "$p" ]; then bad "kill -9: exit $rc, partial '$p'"
  else ok "kill -9 of a rank after $(frames_in out.txt) frames: exit $rc, $p kept"; fi
  sleep 0.5
  "$mpiexec" -np 3 "$bin" $A $S --resume > out2.txt 2> err2.txt; rc=$?
  if [ $rc != 0 ]; then bad "kill -9 then --resume under 3 ranks: exit $rc: $(cat err2.txt)"
  elif ! same_data .; then bad "kill -9 then --resume: the data differ from an uninterrupted run"
  else ok "--resume under 3 ranks: $(grep 'NOTE: --resume: [0-9]' out2.txt | cut -c7-); the data equal an uninterrupted run's"; fi
  cd ..
fi

# 3. a different job, a corrupt file: refused, the temporary file untouched
mkdir other && cd other
"$bin" $A $S > out.txt 2> err.txt &
pid=$!
n=0; while [ "$(frames_in out.txt)" -lt 2 ] && kill -0 $pid 2>/dev/null && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done
kill -TERM $pid; wait $pid
p=$(partial .)
sum=$(md5sum "$p" | cut -c1-32)
"$bin" $(echo "$A" | sed 's/-seed 7/-seed 8/') $S --resume > o.txt 2> e.txt; rc=$?
if expect_failure "--resume, another -seed" $rc e.txt "different job"; then
  # the file may have been taken over under this job's temporary name: its bytes must not change
  p2=$(partial .)
  [ "$(echo "$p2" | wc -l)" = 1 ] && [ "$(md5sum "$p2" | cut -c1-32)" = "$sum" ] && ok "--resume of another job refused, the file kept: $(cat e.txt)" || bad "--resume of another job changed the file ($p -> $p2)"
fi
# a bad command line with --resume (a per-frame name without #): refused, the file kept
p=$(partial .)
sum=$(md5sum "$p" | cut -c1-32)
"$bin" $A $S -floatfile one.bin --resume > o.txt 2> e.txt; rc=$?
if expect_failure "--resume, a name without #" $rc e.txt "one.bin"; then
  p2=$(partial .)
  [ "$(echo "$p2" | wc -l)" = 1 ] && [ "$(md5sum "$p2" | cut -c1-32)" = "$sum" ] && ok "--resume with a bad command line refused, the file kept: $(cat e.txt | cut -c1-90)..." || bad "--resume with a bad command line lost or changed the file ($p -> $p2)"
fi
"$bin" $A $S --resume > o.txt 2> e.txt && same_data . && ok "the same job still resumes after the refusals" || bad "resume after refusal: $(cat e.txt)"
# a corrupt file
"$bin" $A $S > out.txt 2> err.txt &
pid=$!
n=0; while [ "$(frames_in out.txt)" -lt 2 ] && kill -0 $pid 2>/dev/null && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done
kill -TERM $pid; wait $pid
p=$(partial .)
head -c 3000 "$p" > cut && cat cut > "$p" && rm cut   # truncated
sum=$(md5sum "$p" | cut -c1-32)
"$bin" $A $S --resume > o.txt 2> e.txt; rc=$?
if expect_failure "--resume of a corrupt file" $rc e.txt "$p"; then
  [ "$(md5sum "$p" | cut -c1-32)" = "$sum" ] && ok "--resume of a truncated file refused, the file kept: $(cat e.txt)" || bad "--resume of a corrupt file changed it"
fi
cd ..

# 4. nothing to resume; --resume without --hdf5 / without a series
mkdir fresh && cd fresh
"$bin" $A $S --resume > out.txt 2> err.txt; rc=$?
[ $rc = 0 ] && grep -q "starting from the first frame" out.txt && same_data . && ok "--resume with nothing to resume renders everything" || bad "--resume with nothing to resume: exit $rc $(cat err.txt)"
"$bin" $A --frames 2 -noisefile n_###.img --resume > o.txt 2> e.txt; rc=$?
expect_failure "--resume without --hdf5" $rc e.txt "needs --hdf5" && ok "--resume without --hdf5: $(cat e.txt)"
"$bin" $A --hdf5 x.h5 --resume > o.txt 2> e.txt; rc=$?
expect_failure "--resume without a series" $rc e.txt "applies to a series" && ok "--resume without a series: $(cat e.txt)"
cd ..
exit $fail
