#!/bin/sh
# check_data.sh -- the golden folder the tests read ($NB_GOLDEN_DIR, else the copy the build
# unpacked from tests/golden/data) holds exactly the files its SHA256SUMS lists, each with
# its checksum.  A missing, extra or changed file is a failure: the case tests compare only
# what is there, so this is what notices a damaged copy as a whole.
dir=${NB_GOLDEN_DIR:-$NB_GOLDEN_DEFAULT}
if [ ! -f "$dir/SHA256SUMS" ]; then
  echo "FAIL: no golden data at '$dir' (NB_GOLDEN_DIR, or the build's unpacked copy of"
  echo "      tests/golden/data: run cmake --build)"
  exit 1
fi
cd "$dir" || exit 1
bad=0
sha256sum --check --strict --quiet SHA256SUMS || bad=1
for f in $(find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort); do
  awk -v p="$f" '$2 == p { n++ } END { exit !n }' SHA256SUMS ||
    { echo "FAIL: $f is not listed in SHA256SUMS"; bad=1; }
done
echo "$dir: $(wc -l < SHA256SUMS) files listed in SHA256SUMS, $( [ $bad = 0 ] && echo "all present and intact" || echo "FAILED")"
exit $bad
