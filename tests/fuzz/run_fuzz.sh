#!/bin/sh
# run_fuzz.sh -- one bounded libFuzzer run on a copy of a seed corpus: the CTest fuzz_<target>
# (tests/fuzz/CMakeLists.txt, docs/fuzzing.md).  The seeds in the source tree are never written;
# new inputs go to <work>/corpus, a crashing input to <work>/artifacts/.
# usage: run_fuzz.sh <fuzzer> <seed corpus dir> <work dir> <seconds> [dictionary]
# Exit status: the fuzzer's (0: no crash, leak, timeout or out-of-memory in the time given).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 <fuzzer> <seeds> <work dir> <seconds> [dict]" >&2; exit 2; }
fuzzer=$1 seeds=$2 work=$3 seconds=$4 dict=${5:-}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
set -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/artifacts/"
if [ -n "$dict" ]; then set -- "$@" -dict="$dict"; fi
echo "$fuzzer $* $work/corpus"
exec "$fuzzer" "$@" "$work/corpus"
