#!/bin/sh
# kill_rank.sh -- kill -9 of one MPI rank while the HDF5 file is being written (the rank stops
# itself there: NB_FAULT=h5-stop@<rank>, then the test kills it).  Every rank must be gone
# within the time limit, the job's exit status non-zero, the previous results intact.  Only
# rank 0 owns files.  When it is the victim it cannot clean up.  When another rank is the
# victim, mpiexec sends rank 0 SIGTERM (rank 0 then removes its files) and SIGKILL a few
# milliseconds later, so on a loaded machine some of rank 0's files may stay (seen in CI).
# Either way, whatever is left must be this dead job's lock and temporary files only (each
# lock naming a process of this job that has exited), and the next run on this host must take
# the locks over, remove the temporary files and succeed.
# usage: kill_rank.sh <nanobragg> <mpiexec> <scratch dir>
bin=$1; mpiexec=$2; dir=$3
. "$(dirname "$0")/common.sh"
[ -n "$mpiexec" ] || { echo "SKIP: no MPI"; exit 77; }
fresh "$dir"
# only_dead_job_files "<files left>" "<pids of the job's ranks>": each is a lock or temporary
# file of one of the three outputs, and each lock names one of those (now exited) processes
only_dead_job_files() {
  for f in $1; do
    echo "$f" | grep -Eq '^\.(float\.bin|int\.img|sim\.h5)\.(lock|[0-9]+-[0-9a-f]+\.partial)$' || return 1
    case $f in *.lock)
      p=$(sed -n 's/^nanobragg pid=\([0-9]*\) .*/\1/p' "$f")
      echo " $2 " | tr '\n' ' ' | grep -q " $p " || return 1
      [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = "" ] || [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] || return 1 ;;
    esac
  done
  return 0
}
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
  elif ! only_dead_job_files "$l" "$ranks"; then bad "kill -9 rank $victim: left behind: $l"
  else ok "kill -9 rank $victim: all ranks gone $took s later, exit status $rc, previous results intact, left: ${l:-nothing}"; fi
  if [ -n "$l" ]; then
    "$bin" $BASE -detpixels 32 $outs > out2.txt 2> err2.txt; rc=$?
    if [ $rc = 0 ] && [ -z "$(ls -A | grep -E '\.(lock|partial)$')" ]; then ok "the next run takes over the dead job's locks, removes its temporary files and succeeds"
    else bad "the next run after kill -9 of rank $victim: exit $rc: $(cat err2.txt)"; fi
  fi
done
exit $fail
