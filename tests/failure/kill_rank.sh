#!/bin/sh
# kill_rank.sh -- kill -9 of one MPI rank while the HDF5 file is being written (the rank stops
# itself there: NB_FAULT=h5-stop@<rank>, then the test kills it).  Every rank must be gone
# within the time limit, the job's exit status non-zero, the previous results intact.  A rank
# other than 0 holds no file: nothing may be left.  Rank 0 (which owns the outputs) cannot
# clean up after SIGKILL: its lock and temporary files stay, and the next run on this host
# must take the locks over, remove that dead job's temporary files and succeed.
# usage: kill_rank.sh <nanobragg> <mpiexec> <scratch dir>
bin=$1; mpiexec=$2; dir=$3
. "$(dirname "$0")/common.sh"
[ -n "$mpiexec" ] || { echo "SKIP: no MPI"; exit 77; }
fresh "$dir"
outs="-floatfile float.bin -intfile int.img -nonoise -nopgm --hdf5 sim.h5"
for victim in 1 0; do
  rm -rf ./* ./.[!.]* 2>/dev/null
  for f in float.bin int.img sim.h5; do printf 'previous %s\n' "$f" > "$f"; done
  NB_FAULT=h5-stop@$victim timeout 120 "$mpiexec" -np 3 "$bin" $BASE -detpixels 128 $outs \
    > out.txt 2> err.txt &
  job=$!
  pid=""; n=0; ranks=""   # this job's ranks: children of its mpiexec; the stopped one
  while [ -z "$pid" ] && [ $n -lt 6000 ] && kill -0 $job 2>/dev/null; do
    ranks=$(pgrep -P "$(pgrep -P $job | head -1)" 2>/dev/null)
    for p in $ranks; do
      [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = T ] && pid=$p
    done
    n=$((n + 1)); sleep 0.01
  done
  if [ -z "$pid" ]; then wait $job; bad "rank $victim never reached the HDF5 write"; continue; fi
  start=$(now)
  kill -KILL $pid
  wait $job; rc=$?
  n=0   # until every rank has exited (a zombie counts as exited)
  while :; do
    alive=0
    for p in $ranks; do
      st=$(awk '{print $3}' /proc/$p/stat 2>/dev/null)
      [ -n "$st" ] && [ "$st" != Z ] && alive=$((alive + 1))
    done
    [ $alive = 0 ] || [ $n -ge 3000 ] && break
    n=$((n + 1)); sleep 0.01
  done
  took=$(since "$start")
  kept=1
  for f in float.bin int.img sim.h5; do [ "$(cat $f)" = "previous $f" ] || kept=0; done
  l=$(left | tr ' ' '\n' | grep -v -e '^float.bin$' -e '^int.img$' -e '^sim.h5$' | tr '\n' ' ')
  if [ $rc = 0 ] || [ $rc = 124 ]; then bad "kill -9 rank $victim: exit status $rc"
  elif [ "$alive" != 0 ]; then bad "kill -9 rank $victim: $alive processes still running"
  elif [ $kept != 1 ]; then bad "kill -9 rank $victim: a previous result was changed"
  elif [ $victim != 0 ] && [ -n "$l" ]; then bad "kill -9 rank $victim: left behind: $l"
  else ok "kill -9 rank $victim: all ranks gone $took s later, exit status $rc, previous results intact, left: ${l:-nothing}"; fi
  if [ $victim = 0 ]; then
    "$bin" $BASE -detpixels 32 $outs > out2.txt 2> err2.txt; rc=$?
    if [ $rc = 0 ] && [ -z "$(ls -A | grep -E '\.(lock|partial)$')" ]; then ok "the next run takes over the dead job's locks, removes its temporary files and succeeds"
    else bad "the next run after kill -9 of rank 0: exit $rc: $(cat err2.txt)"; fi
  fi
done
exit $fail
