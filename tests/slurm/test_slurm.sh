#!/bin/sh
# test_slurm.sh -- "Real Slurm" (issue 7): nanobragg under a real Slurm on this host, two
# emulated nodes (slurm_env.sh; platform.md §5), ranks started by `srun --mpi=pmix`:
#   * a small series (sbatch --wait, --frames 4) succeeds and writes a complete NXmx stack;
#   * slurm/cpu_sweep.sbatch runs as a template should (NB_FRAMES=4);
#   * scancel of a running series: SIGTERM reaches the ranks, they finish the frames in hand
#     and exit 75 (resumable), every rank is gone, the previous sim.h5 is intact; the series
#     resubmitted with --resume renders the missing frames and its data equal an uninterrupted
#     run's;
#   * kill -9 of one rank: the job ends, non-zero, within a bounded time, every rank is gone,
#     the previous sim.h5 is intact, only that job's lock/temporary files are left, and the
#     job resubmitted with --resume takes them over and completes the same data.
# One "ok"/"FAIL" line per check; exit 0 (passed), 1 (failed), 77 (skipped: not root, Slurm or
# munge not installed).  About 30-40 s.
# usage: test_slurm.sh <nanobragg> <scratch dir>
bin=$1; dir=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../failure/common.sh"
. "$here/slurm_env.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (munged, slurmctld and slurmd run as root here)"; exit 77; }
for c in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch srun scancel scontrol sinfo squeue munge; do
  command -v "$c" > /dev/null 2>&1 ||
    { echo "SKIP: $c not found (apt-get install slurm-wlm munge)"; exit 77; }
done
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
py=/usr/bin/python3
"$py" -c 'import h5py' 2> /dev/null || { echo "FAIL: $py cannot import h5py (apt-get install python3-h5py)"; exit 1; }

fresh "$dir"
trap nb_slurm_stop EXIT
trap 'exit 1' INT TERM HUP
t=$(now)
if nb_slurm_start "$dir/cluster" 2 > start.log 2>&1; then
  ok "cluster: munged, slurmctld and slurmd n1, n2 up, nodes idle after $(since "$t") s"
else
  bad "the cluster did not start: $(cat start.log)"
  tail -n 5 "$dir"/cluster/log/*.log
  exit 1
fi
# two "nodes" on one host: Open MPI over TCP on loopback, not shared memory (platform.md §5)
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
# as the slurm/ templates set it: no shared-file-pointer side files of Open MPI's MPI-IO, which
# a SIGTERM'd multi-node job would leave next to the HDF5 file (docs/batch.md)
export OMPI_MCA_sharedfp=^lockedfile,individual
# as in the templates: a dead rank ends the step (without -K, kill -9 of the rank on n2 left
# rank 0 waiting for it: the job still ran 10 min later)
SRUN="srun --mpi=pmix --kill-on-bad-exit=1 -n 2"
mkdir -p "$dir/run" && cd "$dir/run" || exit 1
jobcomp=$dir/cluster/log/jobcomp.txt

# The small job's nanobragg flags, one variable.  With the series feature, make it e.g.
#   JOB_ARGS="$BASE -detpixels 128 -seed 7 -nopgm -noisefile noise_#.img --frames 4"
# (per-frame reference files need a # template); the checks read the frame count from it.
JOB_ARGS="$BASE -detpixels 128 -seed 7 -nopgm -noisefile noise_#.img --frames 4"
frames=$(echo " $JOB_ARGS " | sed -n 's/.* --frames \([0-9][0-9]*\) .*/\1/p'); frames=${frames:-1}
# A series of about 1 s per frame, stopped mid-way (scancel, kill -9) and resumed (--math=exact:
# the scalar reference arithmetic; the SIMD default would finish before the signal lands)
LONG_ARGS="-default_F 100 -cell 100 100 100 90 90 90 -N 5 -lambda 6.2 -detpixels 256 -mosaic 0.5 -mosaic_dom 10 -phisteps 5 -osc 0.5 -oversample 1 -noprogress -nopgm -seed 9 -noisefile long_##.img --frames 12 --math=exact"

# h5_complete <file> <frames> [pixels]: /entry/data/data is [frames, pixels, pixels] (128),
# status@complete == 1 and every frame done
h5_complete() {
  "$py" - "$1" "$2" "${3:-128}" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["/entry/data/data"]
    c = int(f["/entry/simulation/status"].attrs["complete"])
    n, px = int(sys.argv[2]), int(sys.argv[3])
    if d.shape != (n, px, px) or c != 1 or not (f["/entry/simulation/status/frames_done"][()] == 1).all():
        sys.exit("%s: data %s, status@complete %d" % (sys.argv[1], d.shape, c))
EOF
}
# same_as_ref <file>: its per-frame data equal the uninterrupted reference run's
same_as_ref() {
  "$py" - "$1" "$dir/ref/sim.h5" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as r:
    for d in ("/entry/data/data", "/entry/simulation/frames/seed", "/entry/sample/transformations/phi"):
        if not np.array_equal(f[d][()], r[d][()]):
            sys.exit("%s differs from the uninterrupted run's" % d)
EOF
}
# job_end <job id> <seconds>: wait until the job's line is in the jobcomp file (written when
# it ends), print its "JobState exit-status signal"; status 1 on time-out
job_end() {
  n=0
  while ! grep -q "^JobId=$1 " "$jobcomp" 2> /dev/null; do
    n=$((n + 1)); [ $n -gt $(($2 * 5)) ] && return 1
    sleep 0.2
  done
  grep "^JobId=$1 " "$jobcomp" | tail -n 1 |
    sed -n 's/.* JobState=\([A-Z_]*\) .* ExitCode=\([0-9]*\):\([0-9]*\).*/\1 \2 \3/p'
}
# start_long <name>: submit the long series, wait until its ranks run, hold the output locks
# and have finished 2 frames; sets jid and ranks ("pid:rank" of both ranks); status 1 if that
# does not happen within 60 s
start_long() {
  jid=$(sbatch --parsable -N 2 -n 2 -o "$1_%j.out" \
        --wrap "$SRUN $bin $LONG_ARGS --hdf5 sim.h5") || return 1
  n=0; ranks=""
  while [ $n -lt 300 ]; do
    if [ -e .sim.h5.lock ] && [ "$(grep -c '^frame [0-9]*/' "$1_$jid.out" 2> /dev/null)" -ge 2 ]; then
      ranks=$(for node in n1 n2; do scontrol listpids "$jid" $node 2> /dev/null; done |
              awk '$3 == "0" {print $1 ":" $5}' | sort -u | tr '\n' ' ')
      [ "$(echo $ranks | wc -w)" = 2 ] && return 0
    fi
    grep -q "^JobId=$jid " "$jobcomp" 2> /dev/null && return 1
    n=$((n + 1)); sleep 0.2
  done
  return 1
}
# ranks_gone: every recorded rank has exited (waits up to 15 s)
ranks_gone() {
  n=0
  while :; do
    alive=""
    for r in $ranks; do nb_slurm_pid_alive "${r%%:*}" && alive="$alive ${r%%:*}"; done
    [ -z "$alive" ] && return 0
    n=$((n + 1)); [ $n -gt 75 ] && return 1
    sleep 0.2
  done
}
dotfiles() { ls -A | grep '^\.' | tr '\n' ' '; }

# the uninterrupted long series, one process, outside Slurm (the data do not depend on ranks)
mkdir -p "$dir/ref" && (cd "$dir/ref" && "$bin" $LONG_ARGS --hdf5 sim.h5 > out.txt 2>&1) ||
  bad "the uninterrupted reference series failed: $(tail -3 "$dir/ref/out.txt")"

# ---- 1. a small job: sbatch --wait, srun --mpi=pmix on two nodes
t=$(now)
sbatch --wait -N 2 -n 2 -o small_%j.out --wrap "$SRUN $bin $JOB_ARGS --hdf5 sim.h5" \
  > submit.txt 2>&1; rc=$?
jid=$(sed -n 's/^Submitted batch job //p' submit.txt)
nodes=$(grep "^JobId=$jid " "$jobcomp" 2> /dev/null | sed -n 's/.* NodeList=\([^ ]*\) .*/\1/p')
if [ $rc != 0 ]; then bad "small job: sbatch --wait exit status $rc: $(cat submit.txt small_*.out)"
elif ! err=$(h5_complete sim.h5 "$frames" 2>&1); then bad "small job: $err"
elif [ -n "$(dotfiles)" ]; then bad "small job: left behind: $(dotfiles)"
else ok "small job: exit 0 after $(since "$t") s on $nodes; sim.h5 complete, $frames frame(s)"; fi
md5=$(md5sum < sim.h5)

# ---- 2. a template: slurm/cpu_sweep.sbatch, NB_FRAMES=4 (its own --frames)
t=$(now)
NB_BIN=$bin NB_FRAMES=4 NB_OUT=$dir/run/template.h5 NB_ARGS="$(echo "$JOB_ARGS" | sed 's/ --frames 4//; s/noise_#/tnoise_#/')" \
  sbatch --wait -N 2 -n 2 -o template_%j.out "$here/../../slurm/cpu_sweep.sbatch" \
  > submit.txt 2>&1; rc=$?
if [ $rc != 0 ]; then bad "slurm/cpu_sweep.sbatch: exit status $rc: $(cat submit.txt template_*.out)"
elif ! err=$(h5_complete template.h5 "$frames" 2>&1); then bad "slurm/cpu_sweep.sbatch: $err"
else ok "slurm/cpu_sweep.sbatch (NB_FRAMES=4): exit 0 after $(since "$t") s, template.h5 complete"; fi

# ---- 3. scancel of a running job (scancel sends SIGCONT + SIGTERM, SIGKILL after KillWait)
if ! start_long cancel; then
  bad "scancel: the long job did not start ($(cat cancel_*.out 2> /dev/null))"
else
  t=$(now)
  scancel "$jid"
  end=$(job_end "$jid" 30); took=$(since "$t")
  if [ -z "$end" ]; then bad "scancel: job $jid still there 30 s later"
  elif ! ranks_gone; then bad "scancel: ranks still running 15 s after the job ended:$alive"
  else ok "scancel: job $jid ended after $took s ($end), both ranks gone"; fi
  if ! grep -q 'exit code 75' cancel_"$jid".out; then
    bad "scancel: the ranks did not stop with the resumable status 75: $(grep 'srun' cancel_"$jid".out | tr '\n' ' ')"
  else ok "scancel: the ranks stopped after $(grep -c '^frame [0-9]*/' cancel_"$jid".out) of 12 frames with the resumable status 75"; fi
  kept=$(dotfiles)
  if [ "$(md5sum < sim.h5)" != "$md5" ]; then bad "scancel: the previous sim.h5 was changed"
  elif ! echo "$kept" | grep -q '\.sim\.h5\..*\.partial'; then bad "scancel: the resumable file is gone: ${kept:-nothing left}"
  else ok "scancel: the previous sim.h5 intact, kept for --resume: $kept"; fi
  t=$(now)
  sbatch --wait -N 2 -n 2 -o resume_%j.out --wrap "$SRUN $bin $LONG_ARGS --hdf5 sim.h5 --resume" \
    > submit.txt 2>&1; rc=$?
  if [ $rc != 0 ]; then bad "scancel then --resume: exit status $rc: $(cat submit.txt resume_*.out)"
  elif ! err=$(h5_complete sim.h5 12 256 2>&1) || ! err=$(same_as_ref sim.h5 2>&1); then bad "scancel then --resume: $err"
  elif [ -n "$(dotfiles)" ]; then bad "scancel then --resume: left behind: $(dotfiles)"
  else ok "scancel then sbatch --resume: exit 0 after $(since "$t") s, $(grep -h 'NOTE: --resume: [0-9]' resume_*.out | cut -c16-); the data equal an uninterrupted run's"; fi
  md5=$(md5sum < sim.h5)
fi

# ---- 4. kill -9 of rank 1 (node n2) while the job runs
if ! start_long kill9; then
  bad "kill -9: the long job did not start ($(cat kill9_*.out 2> /dev/null))"
else
  victim=$(echo "$ranks" | tr ' ' '\n' | sed -n 's/^\([0-9]*\):1$/\1/p')
  t=$(now)
  kill -KILL "$victim"
  end=$(job_end "$jid" 60); took=$(since "$t")
  if [ -z "$end" ]; then bad "kill -9 rank 1: job $jid still there 60 s later"
  elif [ "$(echo "$end" | awk '{print $2 + $3}')" = 0 ]; then bad "kill -9 rank 1: the job ended with exit status 0 ($end)"
  elif ! ranks_gone; then bad "kill -9 rank 1: ranks still running 15 s after the job ended:$alive"
  else ok "kill -9 rank 1: job $jid ended after $took s ($end), both ranks gone"; fi
  left=$(dotfiles)
  stray=$(echo "$left" | tr ' ' '\n' | grep -v '^$' |
          grep -Ev '^\.(long_[0-9]+\.img|sim\.h5)\.(lock|[0-9]+-[0-9a-f]+\.partial)$')
  if [ -n "$stray" ]; then bad "kill -9 rank 1: left behind, not the job's own lock/temporary files: $stray"
  elif [ "$(md5sum < sim.h5)" != "$md5" ]; then bad "kill -9 rank 1: the previous sim.h5 was changed"
  else ok "kill -9 rank 1: the previous sim.h5 intact; left: ${left:-nothing}"; fi
  # ---- 5. resubmitted with --resume: takes the dead job's locks and file over
  sbatch --wait -N 2 -n 2 -o next_%j.out --wrap "$SRUN $bin $LONG_ARGS --hdf5 sim.h5 --resume" \
    > submit.txt 2>&1; rc=$?
  if [ $rc != 0 ]; then bad "the job after kill -9: exit status $rc: $(cat submit.txt next_*.out)"
  elif ! err=$(h5_complete sim.h5 12 256 2>&1) || ! err=$(same_as_ref sim.h5 2>&1); then bad "the job after kill -9, --resume: $err"
  elif [ -n "$(dotfiles)" ]; then bad "the job after kill -9: left behind: $(dotfiles)"
  else ok "kill -9 then sbatch --resume: exit 0, $(grep -h 'NOTE: --resume: [0-9]' next_*.out | cut -c16-); the data equal an uninterrupted run's, nothing left"; fi
fi
exit $fail
