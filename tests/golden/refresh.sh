#!/bin/sh
# refresh.sh -- rebuild tests/golden/data (the vendored golden suite) from a golden folder.
#
# usage: tests/golden/refresh.sh [golden folder]     (default: ../shared/golden)
# 1. checks the folder against its own SHA256SUMS, and that SHA256SUMS lists every file;
# 2. writes each file into a new data folder: SHA256SUMS, *.md, *.tsv, *.json and cmd.txt as
#    they are (readable in the repository); any other file over 4 KiB that gzip -9 shrinks by
#    at least 10 % as X.gz (gzip -n: no name or time stamp, so an unchanged suite gives unchanged
#    bytes), all others as they are;
# 3. unpacks the new folder with unpack.sh and requires it to equal the source byte for byte;
# 4. only then replaces tests/golden/data.  Review with `git status tests/golden/data`, commit.
# Needs sh, find, gzip, sha256sum, diff (all in Debian's essential set).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/../../../shared/golden}" && pwd)
data=$here/data
new=$here/data.new.tmp.d
check=$here/data.check.tmp.d
trap 'rm -rf "$new" "$check"' EXIT

echo "checking $src against its SHA256SUMS"
(cd "$src" && sha256sum --check --strict --quiet SHA256SUMS)
unlisted=$(cd "$src" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort |
           while IFS= read -r f; do
             awk -v p="$f" '$2 == p { n++ } END { exit !n }' SHA256SUMS || echo "$f"
           done)
if [ -n "$unlisted" ]; then
  echo "refresh.sh: files not in $src/SHA256SUMS (add them there first):" >&2
  echo "$unlisted" >&2
  exit 1
fi

rm -rf "$new" "$check"
mkdir -p "$new"
(cd "$src" && find . -type f | sed 's|^\./||' | sort) | while IFS= read -r f; do
  mkdir -p "$new/$(dirname "$f")"
  raw=$(wc -c < "$src/$f")
  case $f in
    # kept readable: the checksums (unpack.sh reads them), the descriptions and command lines
    SHA256SUMS | *.md | *.tsv | *.json | */cmd.txt | *.gz) cp "$src/$f" "$new/$f"; continue ;;
  esac
  if [ "$raw" -gt 4096 ]; then
    gzip -9 -n -c "$src/$f" > "$new/$f.gz"
    if [ $(($(wc -c < "$new/$f.gz") * 10)) -le $((raw * 9)) ]; then
      continue
    fi
    rm "$new/$f.gz"
  fi
  cp "$src/$f" "$new/$f"
done
chmod -R u+w,go-w,a+r "$new"

echo "verifying the round trip (unpack.sh)"
sh "$here/unpack.sh" "$new" "$check"
(cd "$check" && sha256sum --check --strict --quiet SHA256SUMS)
diff -r "$src" "$check" > /dev/null || { echo "refresh.sh: round trip differs" >&2; exit 1; }

rm -rf "$data"
mv "$new" "$data"
echo "tests/golden/data: $(find "$data" -type f | wc -l) files, $(du -sk --apparent-size "$data" |
     cut -f1) KiB (source $(du -sk --apparent-size "$src" | cut -f1) KiB)"
