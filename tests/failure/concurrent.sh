#!/bin/sh
# concurrent.sh -- two jobs aimed at the same output names.  While job A renders, job B with
# the same names must fail at once (exit status 9, one error line naming the lock) without
# touching A's files; A must then finish normally with a correct HDF5 file (also with
# HDF5_USE_FILE_LOCKING=FALSE, as on Lustre).  A lock left by a dead process of this host is
# taken over (also while the dead process is a zombie); a lock held by a live process is
# respected.
# usage: concurrent.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
. "$(dirname "$0")/common.sh"
fresh "$dir"
export HDF5_USE_FILE_LOCKING=FALSE
h5flag=""; [ "$h5" = 1 ] && h5flag="--hdf5 sim.h5"
want_tmp='(^\.a\.bin\..*\.partial$|^a\.bin\.tmp\.)'   # (the second: the naming before unique job tags)

"$bin" $SLOW -floatfile a.bin -intfile a.img -nonoise -nopgm $h5flag > outA.txt 2> errA.txt &
a=$!
if ! wait_for_file . "$want_tmp" $a; then wait $a; bad "job A never reserved its outputs ($?)"; exit 1; fi
before=$(ls -A | sort | tr '\n' ' ')
# B: the same names
"$bin" $BASE -detpixels 32 -floatfile a.bin -intfile a.img -nonoise -nopgm $h5flag > outB.txt 2> errB.txt
rc=$?
expect_failure "job B, same names" $rc errB.txt "another nanobragg job" && ok "job B, same names: exit $rc: $(grep '^error: ' errB.txt)"
if [ "$h5" = 1 ]; then
  # C: only the HDF5 name is shared
  "$bin" $BASE -detpixels 32 -floatfile c.bin -intfile c.img -nonoise -nopgm --hdf5 sim.h5 > outC.txt 2> errC.txt
  rc=$?
  expect_failure "job C, same --hdf5 only" $rc errC.txt "sim.h5" && ok "job C, same --hdf5 only: exit $rc: $(grep '^error: ' errC.txt)"
fi
after=$(ls -A | grep -v -e '^out[BC]\.txt$' -e '^err[BC]\.txt$' | sort | tr '\n' ' ')
if kill -0 $a 2>/dev/null; then
  [ "$before" = "$after" ] && ok "job A's files untouched while B and C failed" || bad "job A's files changed: before '$before', after '$after'"
else
  bad "job A finished before B and C were tried: inconclusive"
fi
wait $a; rc=$?
if [ $rc != 0 ]; then bad "job A: exit status $rc: $(cat errA.txt)"
elif [ "$h5" = 1 ]; then
  /usr/bin/python3 - <<'PY' && ok "job A: exit 0, sim.h5 holds job A's image" || bad "job A: sim.h5 does not hold job A's image"
import sys, numpy as np, h5py
with h5py.File("sim.h5", "r") as f:
    img = f["/entry/data/float_image"][0]
a = np.fromfile("a.bin", dtype="<f4").reshape(img.shape)
sys.exit(0 if np.array_equal(img, a) and f is not None else 1)
PY
else
  ok "job A: exit 0"
fi
l=$(ls -A | grep -E '\.(lock|partial)$' | tr '\n' ' ')
[ -z "$l" ] && ok "no lock or temporary file left" || bad "left: $l"

# a stale lock (a process of this host that no longer exists) is taken over
rm -rf ./* ./.[!.]* 2>/dev/null
sh -c 'exit 0' & dead=$!; wait $dead
printf 'nanobragg pid=%s host=%s job=x start=1\n' $dead "$(hostname)" > .s.bin.lock
"$bin" $BASE -detpixels 32 -floatfile s.bin -nonoise -nopgm > out.txt 2> err.txt; rc=$?
if [ $rc = 0 ] && [ -s s.bin ] && [ ! -e .s.bin.lock ]; then ok "stale lock of a dead process taken over"
else bad "stale lock: exit $rc: $(cat err.txt)"; fi
# a lock of a killed process whose parent has not collected it yet (a zombie: mpiexec's other
# ranks after it exits, until init reaps them) is taken over too
rm -rf ./* ./.[!.]* 2>/dev/null
BIN="$bin" ARGS="$BASE -detpixels 32 -floatfile z.bin -nonoise -nopgm" /usr/bin/python3 - <<'PY' > out.txt 2> err.txt
import os, signal, subprocess, sys, time
args = os.environ["ARGS"].split()
a = subprocess.Popen([os.environ["BIN"]] + args, env=dict(os.environ, NB_FAULT="stop-before-commit"),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(6000):   # until it stops itself with its lock held
    with open("/proc/%d/stat" % a.pid) as f:
        if f.read().rsplit(")", 1)[1].split()[0] == "T": break
    time.sleep(0.01)
os.kill(a.pid, signal.SIGKILL)
for _ in range(6000):   # until it is a zombie; it is not reaped (no wait) while B runs
    with open("/proc/%d/stat" % a.pid) as f:
        if f.read().rsplit(")", 1)[1].split()[0] == "Z": break
    time.sleep(0.01)
b = subprocess.run([os.environ["BIN"]] + args, capture_output=True, text=True)
zombie = open("/proc/%d/stat" % a.pid).read().rsplit(")", 1)[1].split()[0] == "Z"
a.wait()
print("exit %d, zombie during B: %s, lock left: %s %s" % (b.returncode, zombie, os.path.exists(".z.bin.lock"), b.stderr.strip()))
sys.exit(0 if b.returncode == 0 and zombie and not os.path.exists(".z.bin.lock") and os.path.getsize("z.bin") > 0 else 1)
PY
rc=$?
[ $rc = 0 ] && ok "the lock of a killed, not yet reaped process taken over: $(cat out.txt)" || bad "the lock of a killed, not yet reaped process: $(cat out.txt) $(cat err.txt)"
# a lock of a live process is respected
sleep 60 & live=$!
printf 'nanobragg pid=%s host=%s job=y\n' $live "$(hostname)" > .s.bin.lock
"$bin" $BASE -detpixels 32 -floatfile s.bin -nonoise -nopgm > out.txt 2> err.txt; rc=$?
kill $live
if expect_failure "live lock" $rc err.txt "pid $live"; then
  [ -e .s.bin.lock ] && ok "a live process's lock is respected: $(grep '^error: ' err.txt)" || bad "the live lock was removed"
fi
exit $fail
