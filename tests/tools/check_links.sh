#!/bin/sh
# check_links.sh -- every relative link in the repository's Markdown files resolves to a file
# or folder of the repository, so the docs stand alone on a fresh clone.
#
# usage: check_links.sh <repository root>
# Checks README.md, docs/ (docs/spec included) and every other *.md except build folders and
# the vendored golden data.  Inline links and images `[text](target "title")` and reference
# definitions `[label]: target`, outside code blocks and code spans.  Skipped: http(s):,
# mailto: and other URL schemes.  For `file#anchor` only the file part is checked; `#anchor`
# alone is the same file.  Exit 0 when all resolve, 1 otherwise (each broken link printed).
# Needs sh, find, awk.
root=${1:?usage: check_links.sh <repository root>}
cd "$root" || exit 1
list=$(find . \( -path './build*' -o -path ./.git -o -path ./tests/golden/data \) -prune -o \
            -type f -name '*.md' -print | sed 's|^\./||' | sort)
[ -n "$list" ] || { echo "FAIL: no Markdown files under $root"; exit 1; }
out=$(for f in $list; do
  awk -v file="$f" '
    /^[ \t]*(```|~~~)/ { fence = !fence; next }
    fence { next }
    {
      line = $0
      gsub(/`[^`]*`/, "", line)                      # code spans
      if (match(line, /^[ \t]*\[[^]]+\]:[ \t]*[^ \t]+/)) {   # reference definition
        t = substr(line, RSTART, RLENGTH); sub(/^[ \t]*\[[^]]+\]:[ \t]*/, "", t)
        print file "\t" FNR "\t" t
        next
      }
      while (match(line, /\]\([^)]*\)/)) {          # inline link or image
        t = substr(line, RSTART + 2, RLENGTH - 3)
        line = substr(line, RSTART + RLENGTH)
        sub(/^[ \t]+/, "", t); sub(/^</, "", t); sub(/>.*$/, "", t); sub(/[ \t].*$/, "", t)
        print file "\t" FNR "\t" t
      }
    }' "$f"
done | while IFS="$(printf '\t')" read -r f n t; do
  case $t in
    "") echo "skip"; continue ;;
    *:*) if expr "$t" : '[a-zA-Z][a-zA-Z0-9+.-]*:' > /dev/null; then
           echo "skip"; continue                      # URL schemes (http:, https:, mailto:)
         fi ;;
  esac
  path=${t%%#*}
  path=${path%%\?*}
  if [ -z "$path" ]; then echo "ok"; continue; fi     # an anchor in the same file
  case $path in
    /*) target=.$path ;;                              # repository-root relative
    *) case $f in */*) target=${f%/*}/$path ;; *) target=$path ;; esac ;;
  esac
  if [ -e "$target" ]; then echo "ok"; else echo "BROKEN $f:$n: '$t' ($target does not exist)"; fi
done)
nfiles=$(echo "$list" | wc -l)
nok=$(echo "$out" | grep -c '^ok$')
nbad=$(echo "$out" | grep -c '^BROKEN')
echo "$out" | grep '^BROKEN' | sed 's/^BROKEN /FAIL: /'
echo "$nfiles Markdown files: $nok relative links resolve, $nbad broken"
[ "$nbad" -eq 0 ]
