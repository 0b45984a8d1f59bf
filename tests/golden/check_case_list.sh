#!/bin/sh
# check_case_list.sh -- every case folder of the golden set is registered as a CTest (a case
# added to tests/golden/data without a test would otherwise be silently untested), and every
# registered case exists.  Reads $NB_GOLDEN_DIR, else the build's unpacked copy
# ($NB_GOLDEN_DEFAULT); no data is a failure.
dir=${NB_GOLDEN_DIR:-$NB_GOLDEN_DEFAULT}
if [ ! -d "$dir/cases" ]; then echo "FAIL: golden data not found at '$dir'"; exit 1; fi
missing=0
for c in $(ls "$dir/cases"); do
  found=0
  for r in "$@"; do [ "$r" = "$c" ] && found=1; done
  [ $found = 1 ] || { echo "golden case $c has no test"; missing=1; }
done
for r in "$@"; do
  [ -d "$dir/cases/$r" ] || { echo "registered golden case $r has no folder in $dir/cases"; missing=1; }
done
echo "$(ls "$dir/cases" | wc -l) golden cases, $# registered"
exit $missing
