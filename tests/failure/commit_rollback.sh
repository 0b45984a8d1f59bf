#!/bin/sh
# commit_rollback.sh -- a failure when the outputs are put in place must change nothing: the
# previous files of the same names survive with their content, names that did not exist are
# not created, no temporary or lock file is left, exit status 9 and one error line.
#  1. real: while the job renders, its PGM name becomes a directory (an output that turns out
#     unwritable only at commit time);
#  2. injected (NB_FAULT=commit-<k>): the rename of the k-th output fails, for every k.
# usage: commit_rollback.sh <nanobragg> <scratch dir> <hdf5 built: 1|0>
bin=$1; dir=$2; h5=${3:-1}
. "$(dirname "$0")/common.sh"
fresh "$dir"
h5flag=""; [ "$h5" = 1 ] && h5flag="--hdf5 sim.h5"
olds="float.bin int.img noise.img"; [ "$h5" = 1 ] && olds="$olds sim.h5"
outs="-floatfile float.bin -intfile int.img -noisefile noise.img -pgmfile image.pgm $h5flag"
setup_olds() { rm -rf ./* ./.[!.]* 2>/dev/null; for f in $olds; do printf 'previous %s\n' "$f" > "$f"; done; }
check_olds() { # name, expected extra entries (sorted, space-separated)
  for f in $olds; do
    [ "$(cat "$f" 2>/dev/null)" = "previous $f" ] || { bad "$1: the previous $f was not kept"; return 1; }
  done
  want=$(echo "$olds $2" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
  got=$(left | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || { bad "$1: files now: $got (expected $want)"; return 1; }
  return 0
}

# 1. the PGM name becomes a directory during the render
setup_olds
start=$(now)
"$bin" $SLOW $outs > out.txt 2> err.txt &
pid=$!
if wait_for_file . '(\.partial$|\.tmp\.)' $pid; then
  mkdir image.pgm
  wait $pid; rc=$?
  took=$(since "$start")
  if expect_failure "pgm name made a directory during the run" $rc err.txt "image.pgm" &&
     check_olds "pgm name made a directory during the run" "image.pgm"; then
    ok "pgm name made a directory during the run: exit $rc after $took s, previous files intact: $(grep '^error: ' err.txt)"
  fi
else
  wait $pid; bad "the run's temporary files never appeared (exit status $?)"
fi

# 2. the rename of output k fails (k = 0: float ... last)
n=4; [ "$h5" = 1 ] && n=5
k=0
while [ $k -lt $n ]; do
  setup_olds
  NB_FAULT=commit-$k "$bin" $BASE -detpixels 32 $outs > out.txt 2> err.txt
  rc=$?
  if expect_failure "commit-$k" $rc err.txt "no output was changed" && check_olds "commit-$k" ""; then
    ok "commit-$k: exit $rc, every previous file intact, nothing new"
  fi
  k=$((k + 1))
done
exit $fail
