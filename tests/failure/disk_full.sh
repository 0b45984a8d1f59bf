#!/bin/sh
# disk_full.sh -- outputs on a full file system (a 256 KiB tmpfs): the HDF5 file written by 1
# process and by 2, 3 and 4 MPI ranks, and an image.  Every run must end with exit status 9
# and one error line within the collective time-out (no hang, no crash in HDF5's shutdown),
# leave nothing on the small file system, and leave the previous file of the same name intact.
# usage: disk_full.sh <nanobragg> <mpiexec or ""> <scratch dir>
bin=$1; mpiexec=$2; dir=$3
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting a small tmpfs needs root"; exit 77; }
umount "$dir/mnt" 2>/dev/null   # left mounted by an interrupted earlier run
fresh "$dir"; mkdir mnt
mount -t tmpfs -o size=256k tmpfs mnt 2>/dev/null || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
trap 'cd /; umount "$dir/mnt" 2>/dev/null' EXIT
trap 'exit 1' INT TERM HUP
export NB_COLLECTIVE_TIMEOUT=5
run_case() { # name, runner..., then nanobragg arguments after --
  name=$1; shift
  rm -rf mnt/* mnt/.[!.]* 2>/dev/null
  printf 'previous result\n' > mnt/old.out
  start=$(now)
  timeout 120 "$@" > out.txt 2> err.txt
  rc=$?
  took=$(since "$start")
  if expect_failure "$name" "$rc" err.txt "mnt/old.out"; then
    l=$(left mnt)
    if [ "$l" != "old.out " ]; then bad "$name: left on the file system: $l"
    elif [ "$(cat mnt/old.out)" != "previous result" ]; then bad "$name: the previous file was changed"
    else ok "$name: exit $rc after ${took} s: $(grep '^error: ' err.txt)"; fi
  fi
}
run_case "image, 1 process" "$bin" $BASE -detpixels 512 -floatfile mnt/old.out
run_case "hdf5, 1 process" "$bin" $BASE -detpixels 512 -water 10 --hdf5 mnt/old.out
# the Fdump.bin cache in a full working directory: a warning, and the run succeeds
rm -rf mnt/* mnt/.[!.]* 2>/dev/null
dd if=/dev/zero of=mnt/filler bs=1k count=250 2>/dev/null
i=-8; : > in.hkl
while [ $i -le 8 ]; do printf '%d 0 0 10\n0 %d 0 20\n' $i $i >> in.hkl; i=$((i + 1)); done
(cd mnt && "$bin" $BASE -detpixels 32 -hkl ../in.hkl -floatfile ../f.bin -intfile ../i.img \
   -nonoise -nopgm > ../out.txt 2> ../err.txt); rc=$?
if [ $rc = 0 ] && [ -s f.bin ] && [ -s i.img ] && grep -q 'unable to write dump file' out.txt &&
   [ "$(left mnt)" = "filler " ]; then
  ok "Fdump.bin cache on the full file system: a warning, the images written, nothing left"
else
  bad "Fdump.bin cache on the full file system: exit $rc, left in mnt: $(left mnt): $(cat err.txt)"
fi
rm -f f.bin i.img

if [ -n "$mpiexec" ]; then
  for np in 2 3 4; do
    run_case "hdf5, $np ranks" "$mpiexec" -np $np "$bin" $BASE -detpixels 512 -water 10 --hdf5 mnt/old.out
  done
fi
exit $fail
