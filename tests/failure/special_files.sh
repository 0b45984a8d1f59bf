#!/bin/sh
# special_files.sh -- outputs that are character devices, FIFOs or /dev/stdout are written in
# place, as nanoBragg writes them, never replaced by a regular file; symbolic links are
# written through to their target.  /dev/null also works for a user who may not create files
# in /dev.  An HDF5 output must be a regular file.
# usage: special_files.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
. "$(dirname "$0")/common.sh"
fresh "$dir"
npix=1024; bytes=$((4 * npix))   # -detpixels 32: float image bytes
ARGS="$BASE -detpixels 32"

# a private full device (like /dev/full): the write fails, the device stays a device
if [ "$(id -u)" = 0 ] && mknod full c 1 7 2>/dev/null; then
  "$bin" $ARGS -floatfile full > out.txt 2> err.txt; rc=$?
  if expect_failure "-floatfile <full device>" $rc err.txt "No space left"; then
    if [ -c full ]; then ok "-floatfile <full device>: $(grep '^error: ' err.txt); still a device"
    else bad "-floatfile <full device>: the device was replaced"; fi
  fi
  rm -f full
else
  echo "skip -floatfile <full device>: mknod needs root"
fi

# a null device for every image.  As root the test uses a private node (like /dev/null), so
# that a regression cannot replace the system's /dev/null (the code before this test did).
rm -rf ./* ./.[!.]* 2>/dev/null
null=/dev/null
if [ "$(id -u)" = 0 ] && mknod nulldev c 1 3 2>/dev/null; then null=nulldev; fi
"$bin" $ARGS -floatfile $null -intfile $null -noisefile $null -pgmfile $null \
  > out.txt 2> err.txt; rc=$?
l=$(left | sed 's/nulldev //')
if [ $rc = 0 ] && [ -c $null ] && [ -z "$l" ]; then ok "every image to a null device ($null): exit 0, nothing else written"
else bad "every image to a null device ($null): exit $rc, $(ls -l $null), left: $l: $(cat err.txt)"; fi

# the same as an unprivileged user (who cannot create files in /dev)
if [ "$(id -u)" = 0 ] && command -v runuser > /dev/null && id nobody > /dev/null 2>&1; then
  mkdir -p user && chmod 777 user && cd user
  if runuser -u nobody -- "$bin" -version > /dev/null 2>&1 || runuser -u nobody -- test -x "$bin"; then
    runuser -u nobody -- "$bin" $ARGS -floatfile /dev/null -intfile /dev/null -noisefile /dev/null \
      -pgmfile /dev/null > out.txt 2> err.txt; rc=$?
    if [ $rc = 0 ] && [ -z "$(left)" ]; then ok "as user nobody, every image to /dev/null: exit 0"
    else bad "as user nobody, every image to /dev/null: exit $rc: $(cat err.txt)"; fi
  else
    echo "skip: user nobody cannot run $bin"
  fi
  cd ..
fi

# a FIFO with a reader
rm -rf ./* ./.[!.]* 2>/dev/null
mkfifo pipe
timeout 60 cat pipe > got.bin &
reader=$!
timeout 60 "$bin" $ARGS -floatfile pipe > out.txt 2> err.txt; rc=$?
wait $reader
if [ $rc = 0 ] && [ -p pipe ] && [ "$(wc -c < got.bin)" = $bytes ]; then ok "-floatfile <FIFO>: $bytes bytes through the pipe, still a FIFO"
else bad "-floatfile <FIFO>: exit $rc, $(wc -c < got.bin) bytes read, $(ls -l pipe): $(cat err.txt)"; fi

# /dev/stdout into a pipe.  As root, run it as user nobody, who cannot replace /dev/stdout
# even in a regression (the code before this test replaced it with a regular file).
rm -rf ./* ./.[!.]* 2>/dev/null
as=""
if [ "$(id -u)" = 0 ]; then
  if command -v runuser > /dev/null && runuser -u nobody -- test -x "$bin"; then
    as="runuser -u nobody --"; chmod 777 .
  else
    as=skip
  fi
fi
if [ "$as" = skip ]; then
  echo "skip -floatfile /dev/stdout: as root it needs user nobody (runuser)"
else
  # the pipe is made by that user too (a root-owned pipe cannot be reopened by nobody)
  size=$($as sh -c '{ "$0" $1 -floatfile /dev/stdout -intfile /dev/null -nonoise -nopgm 2> err.txt; echo $? > rc.txt; } | wc -c' "$bin" "$ARGS")
  rc=$(cat rc.txt); rm -f rc.txt
  if [ "$rc" = 0 ] && [ "$size" -gt $bytes ] && [ -z "$(left)" ] && [ -L /dev/stdout ]; then ok "-floatfile /dev/stdout: the image is in the piped output ($size bytes with the text)"
  else bad "-floatfile /dev/stdout: exit $rc, $size bytes, left: $(left), $(ls -l /dev/stdout)"; fi
fi

# a symbolic link is written through
rm -rf ./* ./.[!.]* 2>/dev/null
mkdir real && ln -s real/target.bin link.bin
"$bin" $ARGS -floatfile link.bin > out.txt 2> err.txt; rc=$?
if [ $rc = 0 ] && [ -L link.bin ] && [ "$(wc -c < real/target.bin)" = $bytes ]; then ok "-floatfile <symbolic link>: written to its target, the link kept"
else bad "-floatfile <symbolic link>: exit $rc: $(ls -l link.bin real)"; fi

if [ "$h5" = 1 ]; then
  rm -rf ./* ./.[!.]* 2>/dev/null
  mkfifo hfifo
  "$bin" $ARGS --hdf5 hfifo > out.txt 2> err.txt; rc=$?
  if expect_failure "--hdf5 <FIFO>" $rc err.txt "not a regular file"; then
    [ -p hfifo ] && ok "--hdf5 <FIFO>: $(grep '^error: ' err.txt)" || bad "--hdf5 <FIFO>: the FIFO was replaced"
  fi
fi
exit $fail
