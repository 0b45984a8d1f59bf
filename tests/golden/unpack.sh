#!/bin/sh
# unpack.sh -- turn the vendored golden suite (tests/golden/data) back into the reference's
# folder, byte for byte: a file X.gz that SHA256SUMS does not list was compressed by
# refresh.sh and is decompressed to X; every other file is copied as it is (supervisor_roi's
# float.bin.gz and int.img.gz are listed, so they stay compressed, as in the original).
#
# usage: unpack.sh <vendored data folder> <destination folder>
# Run by the build (target nb_golden_data) into build/tests/golden_data.  It does not judge
# the data: it unpacks what is there and exits 0, so that a missing or damaged file fails the
# golden tests (golden_data_checksums and the case tests) rather than the build.  Needs only
# sh, find, gzip.
set -u
src=$1
dest=$2
tmp="$dest.unpacking"
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
sums="$src/SHA256SUMS"
[ -f "$sums" ] || echo "unpack.sh: warning: $sums is missing" >&2
(cd "$src" && find . -type f | sed 's|^\./||' | sort) | while IFS= read -r f; do
  out=$f
  case $f in
    *.gz) [ -f "$sums" ] && awk -v p="$f" '$2 == p { n++ } END { exit !n }' "$sums" ||
            out=${f%.gz} ;;
  esac
  mkdir -p "$tmp/$(dirname "$out")"
  if [ "$out" = "$f" ]; then
    cat "$src/$f" > "$tmp/$out"
  else
    gzip -dc "$src/$f" > "$tmp/$out" || echo "unpack.sh: warning: cannot decompress $f" >&2
  fi
done
rm -rf "$dest" && mv "$tmp" "$dest"
