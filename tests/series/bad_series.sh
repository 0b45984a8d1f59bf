#!/bin/sh
# bad_series.sh -- bad series input: one error line naming the option, file and line, exit
# status 9, nothing rendered, no file created, the files already there untouched.
# usage: bad_series.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
. "$(dirname "$0")/../failure/common.sh"
fresh "$dir"
printf 'previous\n' > keep.h5
printf 'previous\n' > img_001.img
A="$BASE -detpixels 32 -seed 3"

# case <name> <expected substring of the error line> <file lines (\n-separated) or -> <args...>
case_() {
  name=$1; want=$2; lines=$3; shift 3
  [ "$lines" = - ] || printf -- "$lines" > list.txt
  before=$(ls -A | grep -v -e '^out\.txt$' -e '^err\.txt$' | sort | tr '\n' ' ')
  "$bin" "$@" > out.txt 2> err.txt; rc=$?
  after=$(ls -A | grep -v -e '^out\.txt$' -e '^err\.txt$' | sort | tr '\n' ' ')
  if expect_failure "$name" $rc err.txt "$want"; then
    if grep -q '^frame [0-9]*/' out.txt; then bad "$name: a frame was rendered"
    elif [ "$before" != "$after" ]; then bad "$name: files changed: before '$before' after '$after'"
    elif [ "$(cat keep.h5)" != previous ] || [ "$(cat img_001.img)" != previous ]; then bad "$name: a previous file was changed"
    else ok "$name: $(grep '^error: ' err.txt)"; fi
  fi
}

case_ "template missing" "'one.img' names one file" - $A --frames 3 -noisefile one.img
case_ "nothing written" "writes nothing" - $A --frames 3
case_ "both series options" "not both" 'x\n' $A --frames 2 --frames-from list.txt -noisefile img_###.img
case_ "--frames 0" "--frames" - $A --frames 0 -noisefile img_###.img
case_ "--frames abc" "--frames" - $A --frames=abc -noisefile img_###.img
case_ "--bands-per-frame 0" "--bands-per-frame" - $A --frames 2 --bands-per-frame 0 -noisefile img_###.img
case_ "--bands-per-frame 2 of 1 rank" "cannot form groups" - $A --frames 2 --bands-per-frame 2 -noisefile img_###.img
case_ "--bands-per-frame without a series" "applies to a series" - $A --bands-per-frame 1 -noisefile x.img
case_ "--resume" "--resume" - $A --frames 2 --resume -noisefile img_###.img
case_ "missing list" "cannot open the frame list" - $A --frames-from nonexistent.txt -noisefile img_###.img
case_ "empty list" "no frame lines" '# only a comment\n\n   \n' $A --frames-from list.txt -noisefile img_###.img
case_ "unknown flag" "list.txt:3): unknown flag -lamda" '-N 3\n# two\n-lamda 6\n' $A --frames-from list.txt -noisefile img_###.img
case_ "not a number" "list.txt:2): -lambda: 'abc'" '-N 3\n-lambda abc\n' $A --frames-from list.txt -noisefile img_###.img
case_ "missing value" "list.txt:1): -N" '-N\n' $A --frames-from list.txt -noisefile img_###.img
case_ "-- option in a line" "list.txt:1: --phi-carryover=spec" '--phi-carryover=spec\n' $A --frames-from list.txt -noisefile img_###.img
case_ "input file in a line" "read once per job" '-hkl x.hkl\n' $A --frames-from list.txt -noisefile img_###.img
case_ "output file in a line" "output files" '-floatfile f.bin\n' $A --frames-from list.txt -noisefile img_###.img
case_ "-nonoise in a line" "output files" '-nonoise\n' $A --frames-from list.txt -noisefile img_###.img
case_ "detector size in a line" "changes the detector size" '-N 3\n-detpixels 16\n' $A --frames-from list.txt -noisefile img_###.img
case_ "-printout in a series" "-printout" - $A --frames 2 -printout -noisefile img_###.img
case_ "template in a missing folder" "nodir/img_001.img" - $A --frames 2 -noisefile nodir/img_###.img
if [ "$h5" = 1 ]; then
  case_ "distance scan in one NXmx file" "the detector geometry" '-distance 100\n-distance 120\n' $A --frames-from list.txt --hdf5 keep.h5
  case_ "wavelength scan in one NXmx file" "the beam" '-lambda 1\n-lambda 1.1\n' $A --frames-from list.txt --hdf5 keep.h5
  case_ "--hdf5-compress=zip" "--hdf5-compress" - $A --frames 2 --hdf5 keep.h5 --hdf5-compress=zip
fi
exit $fail
