#!/bin/sh
# hdf5_faults.sh -- a failure on ONE rank just before each collective phase of the HDF5 writer
# (NB_FAULT=<point>@<rank>, see src/util/nb_fault.h), 3 ranks and 1 process: every rank must
# stop within seconds with exit status 9 and one error line, leaving no file behind.  Before
# the ranks agreed ahead of every collective call, such a failure left the others waiting in
# H5Dwrite / H5Fflush / H5Fclose for ever.
# usage: hdf5_faults.sh <nanobragg> <mpiexec or ""> <scratch dir>
bin=$1; mpiexec=$2; dir=$3
. "$(dirname "$0")/common.sh"
export NB_COLLECTIVE_TIMEOUT=5
fresh "$dir"
for point in h5-create h5-run h5-write h5-close; do
  for target in 0 1 2 serial; do
    [ "$target" != serial ] && [ -z "$mpiexec" ] && continue
    name="$point@$target"
    rm -rf ./* ./.[!.]* 2>/dev/null
    printf 'previous result\n' > sim.h5
    start=$(now)
    if [ "$target" = serial ]; then
      NB_FAULT=$point timeout 60 "$bin" $BASE -detpixels 64 --hdf5 sim.h5 > out.txt 2> err.txt
    else
      NB_FAULT=$point@$target timeout 60 "$mpiexec" -np 3 "$bin" $BASE -detpixels 64 --hdf5 sim.h5 > out.txt 2> err.txt
    fi
    rc=$?
    took=$(since "$start")
    expect_failure "$name" "$rc" err.txt "injected failure" || continue
    l=$(left)
    if [ "$l" != "sim.h5 " ]; then bad "$name: left behind: $l"
    elif [ "$(cat sim.h5)" != "previous result" ]; then bad "$name: the previous sim.h5 was changed"
    else ok "$name: exit $rc after $took s"; fi
  done
done
exit $fail
