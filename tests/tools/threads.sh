#!/bin/sh
# threads.sh -- OpenMP threads over rows give bit-identical files for any thread count
# (the carry and the latch are explicit state, never per-thread copies as in the reference).
# usage: threads.sh <nanobragg> <scratch dir>
bin=$1; dir=$2
rm -rf "$dir" && mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
# phi sweep from 0 (carry), dmin culling the first rows, and a tricubic latch mid-image
printf '' > grid.hkl
for h in -6 -5 -4 -3 -2 -1 0 1 2 3 4 5 6; do for k in -6 -5 -4 -3 -2 -1 0 1 2 3 4 5 6; do
  for l in -6 -5 -4 -3 -2 -1 0 1 2 3 4 5 6; do
    echo "$h $k $l $(( (h*7 + k*3 + l*5 + 200) % 97 + 3 ))" >> grid.hkl; done; done; done
set -- \
  "-cell 50 60 70 90 90 90 -default_F 100 -N 10 -distance 100 -detpixels 64 -phi 0 -osc 2 -phisteps 4 -oversample 2" \
  "-cell 70 70 70 90 90 90 -default_F 100 -N 5 -lambda 6.2 -distance 100 -detpixels 48 -pixel 0.5 -Xbeam 22 -Ybeam 12 -phi 0 -osc 90 -phisteps 9 -dmin 30" \
  "-cell 70 80 90 75 85 95 -misset 10 5 3 -hkl grid.hkl -N 2 -lambda 1 -distance 30 -detpixels 48 -pixel 0.035 -Xbeam 0.03 -Ybeam 0.84 -interpolate -phi 0 -osc 1 -phisteps 2"
fail=0; n=0
for args in "$@"; do
  n=$((n+1))
  for t in 1 2 3 5; do
    OMP_NUM_THREADS=$t "$bin" --device=cpu $args -noprogress -seed 5 -floatfile f$t.bin -intfile i$t.img \
      -noisefile n$t.img -pgmfile p$t.pgm > out$t.txt 2>&1 || { echo "case $n: run with $t threads failed"; cat out$t.txt; exit 1; }
  done
  for t in 2 3 5; do
    for f in f i n p; do
      ext=bin; [ $f = i ] && ext=img; [ $f = n ] && ext=img; [ $f = p ] && ext=pgm
      cmp -s ${f}1.$ext ${f}$t.$ext || { echo "case $n: ${f}$t.$ext differs from 1 thread"; fail=1; }
    done
  done
  [ $fail = 0 ] && echo "case $n: 1, 2, 3, 5 threads give identical float, int, noise and PGM files"
done
exit $fail
