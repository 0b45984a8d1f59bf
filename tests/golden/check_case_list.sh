#!/bin/sh
# check_case_list.sh -- every case folder of the golden set is registered as a CTest (a case
# added to ../shared/golden without a test would otherwise be silently untested).
dir=${NB_GOLDEN_DIR:-$NB_GOLDEN_DEFAULT}
if [ ! -d "$dir/cases" ]; then echo "SKIP: golden data not found at $dir"; exit 77; fi
missing=0
for c in $(ls "$dir/cases"); do
  found=0
  for r in "$@"; do [ "$r" = "$c" ] && found=1; done
  [ $found = 1 ] || { echo "golden case $c has no test"; missing=1; }
done
echo "$(ls "$dir/cases" | wc -l) golden cases, $# registered"
exit $missing
