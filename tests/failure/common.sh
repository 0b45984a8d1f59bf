# common.sh -- helpers of the failure tests (sourced).  Every test prints one "ok"/"FAIL" line
# per check and exits 0 (all passed), 1 (a check failed) or 77 (skipped: needs root, mount...).
# Variables from the caller: bin (nanobragg), dir (scratch).
fail=0
BASE="-default_F 100 -cell 100 100 100 90 90 90 -distance 100 -noprogress"
# a render of a few seconds (--math=exact: the scalar reference arithmetic; the SIMD default takes
# a fraction of a second, too short for a signal or a second job to land mid-render)
SLOW="-default_F 100 -cell 100 100 100 90 90 90 -N 5 -lambda 6.2 -detpixels 512 -mosaic 0.5 -mosaic_dom 10 -phisteps 5 -osc 0.5 -oversample 2 -noprogress --math=exact"
export OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fail=1; }
fresh() { rm -rf "$1" && mkdir -p "$1" && cd "$1" || exit 1; }
now()  { date +%s.%N; }
since() { echo "$(now) $1" | awk '{printf "%.1f", $1 - $2}'; }
nerr() { grep -c '^error: ' "$1"; }
# every file in a folder but the test's own logs, dot files included
left() { ls -A "${1:-.}" | grep -v -e '^out\.txt$' -e '^err\.txt$' -e '^out[0-9]*\.txt$' -e '^err[0-9]*\.txt$' | tr '\n' ' '; }
# wait until a file matching the extended regexp appears in folder $1 (an event, not a delay)
wait_for_file() { # dir regexp pid
  n=0
  while ! ls -A "$1" 2>/dev/null | grep -Eq "$2"; do
    kill -0 "$3" 2>/dev/null || return 1
    n=$((n + 1)); [ $n -gt 6000 ] && return 1
    sleep 0.01
  done
  return 0
}
# wait until process $1 is stopped (state T), e.g. by NB_FAULT=stop-before-commit
wait_stopped() {
  n=0
  while [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != T ]; do
    kill -0 "$1" 2>/dev/null || return 1
    n=$((n + 1)); [ $n -gt 6000 ] && return 1
    sleep 0.01
  done
  return 0
}
# expect: a failed run (exit status in $1, not 0, not a crash, not a time-out), one error line
expect_failure() { # name rc errfile want-substring
  if [ "$2" = 0 ] || [ "$2" = 124 ] || [ "$2" -ge 128 ]; then bad "$1: exit status $2 (0 = success, 124 = hung, >= 128 = crashed/killed)"; return 1; fi
  if [ "$(nerr "$3")" != 1 ]; then bad "$1: $(nerr "$3") error lines:"; cat "$3"; return 1; fi
  if [ -n "$4" ] && ! grep '^error: ' "$3" | grep -q -- "$4"; then bad "$1: the error line does not say '$4':"; grep '^error: ' "$3"; return 1; fi
  return 0
}
