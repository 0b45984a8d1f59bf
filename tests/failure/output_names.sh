#!/bin/sh
# output_names.sh -- names of outputs, the --hdf5 one included, are checked before anything is
# rendered: a directory, an empty name, or the same file as another output (also spelled
# differently) is one error line, exit status 9, no render, nothing left behind.  Legal names
# of 244-255 bytes (NAME_MAX) work: temporary and lock names never exceed the limit.
# usage: output_names.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
. "$(dirname "$0")/common.sh"
fresh "$dir"
rejected() { # name, want, args...
  name=$1; want=$2; shift 2
  rm -rf ./* ./.[!.]* 2>/dev/null; mkdir adir
  printf '0 0 0 10\n1 0 0 20\n' > in.hkl; ln -s loop loop
  "$bin" $BASE -detpixels 32 "$@" > out.txt 2> err.txt
  rc=$?
  expect_failure "$name" $rc err.txt "$want" || return
  if grep -q 'solid angle subtended' out.txt; then bad "$name: rejected only after the render"; return; fi
  l=$(left)
  [ "$l" = "adir in.hkl loop " ] || { bad "$name: left behind: $l"; return; }
  ok "$name: $(grep '^error: ' err.txt)"
}
if [ "$h5" = 1 ]; then
  rejected "--hdf5 is a directory" "adir" --hdf5 adir
  rejected "--hdf5 is empty" "empty file name" --hdf5 ""
  rejected "--hdf5 = -floatfile" "also the" -floatfile same.bin --hdf5 same.bin
  rejected "--hdf5 = ./-floatfile" "also the" -floatfile same.bin --hdf5 ./same.bin
  rejected "--hdf5 = adir/../-intfile" "also the" -intfile x.img --hdf5 adir/../x.img
  rejected "--hdf5 in a missing folder" "no/such" --hdf5 no/such/dir.h5
fi
rejected "-floatfile = -noisefile" "also the" -floatfile a.img -noisefile a.img
rejected "-intfile is a directory" "adir" -intfile adir
rejected "-floatfile is the -hkl input" "the -hkl input file" -hkl in.hkl -floatfile in.hkl
rejected "-floatfile is a symbolic link loop" "Too many levels" -floatfile loop
rejected "256-byte -floatfile name" "too long" \
  -floatfile "$(printf '%0256d' 0)"
[ "$h5" = 1 ] && rejected "--hdf5 is the -hkl input" "the -hkl input file" -hkl in.hkl --hdf5 in.hkl

# the Fdump.bin cache cannot take a name another output has: the output wins, the run succeeds
rm -rf ./* ./.[!.]* 2>/dev/null
printf '0 0 0 10\n1 0 0 20\n' > in.hkl
"$bin" $BASE -detpixels 32 -hkl in.hkl -floatfile Fdump.bin > out.txt 2> err.txt; rc=$?
if [ $rc = 0 ] && [ "$(wc -c < Fdump.bin)" = 4096 ] && grep -q 'unable to open dump file' out.txt &&
   [ -z "$(ls -A | grep -E '\.(lock|partial)$')" ]; then
  ok "-floatfile Fdump.bin with -hkl: the float image is written there, the cache skipped"
else
  bad "-floatfile Fdump.bin with -hkl: exit $rc, Fdump.bin $(wc -c < Fdump.bin 2>/dev/null) bytes: $(cat err.txt)"
fi

# 244..255-byte names (the longest a file system takes), for every output
long() { printf "%0${1}d" 0 | tr 0 "$2"; }
for len in 244 250 255; do
  rm -rf ./* ./.[!.]* 2>/dev/null
  f=$(long $((len - 4)) f).bin; i=$(long $((len - 4)) i).img; n=$(long $((len - 4)) n).img
  p=$(long $((len - 4)) p).pgm; hd=$(long $((len - 3)) h).h5
  extra=""; [ "$h5" = 1 ] && extra="--hdf5 $hd"
  "$bin" $BASE -detpixels 32 -floatfile "$f" -intfile "$i" -noisefile "$n" -pgmfile "$p" $extra \
    > out.txt 2> err.txt
  rc=$?
  want=4; [ "$h5" = 1 ] && want=5
  got=$(left | wc -w)
  if [ $rc != 0 ]; then bad "$len-byte names: exit status $rc: $(cat err.txt)"
  elif [ ! -s "$f" ] || [ ! -s "$i" ] || [ ! -s "$n" ] || [ ! -s "$p" ]; then bad "$len-byte names: an image is missing"
  elif [ "$h5" = 1 ] && [ ! -s "$hd" ]; then bad "$len-byte names: the HDF5 file is missing"
  elif [ "$got" != "$want" ]; then bad "$len-byte names: $got files left, expected $want"
  else ok "$len-byte names: every output written, nothing else left"; fi
done
exit $fail
