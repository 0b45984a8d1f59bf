#!/bin/sh
# install_check.sh -- `cmake --install` into a scratch prefix gives the program under both
# names, the docs and the job templates (GNUInstallDirs layout), and the installed program runs.
# usage: install_check.sh <cmake> <build dir> <scratch prefix>
cmake=$1; build=$2; prefix=$3
rm -rf "$prefix"
"$cmake" --install "$build" --prefix "$prefix" > /dev/null || { echo "FAIL: cmake --install"; exit 1; }
fail=0
for f in bin/nanobragg bin/nanoBragg share/nanobragg-hpc/jobs/example.sh; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
docs=$(find "$prefix/share/doc" -name architecture.md | head -1)
[ -n "$docs" ] && [ -e "$(dirname "$docs")/spec/README.md" ] && [ -e "$(dirname "$docs")/README.md" ] ||
  { echo "FAIL: docs not installed"; fail=1; }
"$prefix/bin/nanoBragg" --version > /dev/null 2>&1 || { echo "FAIL: the installed nanoBragg does not run"; fail=1; }
[ $fail = 0 ] && echo "installed: $(cd "$prefix" && find . -type f -o -type l | wc -l) files under $prefix"
exit $fail
