#!/bin/bash
# run.sh BUILD_DIR TEST... - runs cmocka test programs (BUILD_DIR/NAME) and
# TAP shell tests (*.sh, see test/lib/tap.sh), prints each one's output, and
# ends with "N passed, N failed, N skipped". Exits non-zero when anything
# failed or crashed.
#
# A shell test passes an "ok" line, fails a "not ok" line and skips an
# "ok ... # SKIP" line (never counted as passed). It must print one plan line
# "1..N" and exactly N tests: no plan, or another count, is one more failure
# (it stopped short). A cmocka program counts its "[  PASSED  ]", "[  FAILED  ]"
# and "[  SKIPPED ]" totals over all its groups; one that ran no test (a filter,
# COGTILER_TEST_FILTER, that matched nothing) fails. Either kind exiting
# non-zero with no failure counted (a crash, a sanitizer report) is one failure.
set -u
bdir=$1; shift
passed=0 failed=0 skipped=0
mkdir -p test/out
# total FILE LABEL: the sum of cmocka's "[  LABEL ] N test(s)" lines in FILE
total() {
  sed -n "s/^\[  $2 *\] \([0-9][0-9]*\) test(s).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}
for t in "$@"; do
  log=test/out/${t##*/}.log
  echo "=== $t"
  if [[ $t == *.sh ]]; then
    BOOTSTRAP=${BOOTSTRAP:-./bootstrap} bash "$t" >"$log" 2>&1; rc=$?
    cat "$log"
    s=$(grep -ciE '^ok\b.*#[[:space:]]*skip' "$log")
    p=$(($(grep -c '^ok\b' "$log") - s))
    f=$(grep -c '^not ok\b' "$log")
    plans=$(grep -E '^1\.\.[0-9]+' "$log")
    count=$((p + f + s))
    if [ -z "$plans" ]; then
      echo "!!! $t printed no plan (1..N): it stopped short after $count tests"
      f=$((f + 1))
    elif [ "$(wc -l <<<"$plans")" -gt 1 ]; then
      echo "!!! $t printed more than one plan: $(tr '\n' ' ' <<<"$plans")"
      f=$((f + 1))
    else
      want=$(sed 's/^1\.\.\([0-9]*\).*/\1/' <<<"$plans")
      if [ "$count" -lt "$want" ]; then
        echo "!!! $t stopped short of its plan: $count of $want"
        f=$((f + 1))
      elif [ "$count" -gt "$want" ]; then
        echo "!!! $t ran past its plan: $count of $want"
        f=$((f + 1))
      fi
    fi
  else
    "$bdir/$t" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(total "$log" PASSED); f=$(total "$log" FAILED); s=$(total "$log" SKIPPED)
    if [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
      echo "!!! $t ran no test${COGTILER_TEST_FILTER:+ (COGTILER_TEST_FILTER=$COGTILER_TEST_FILTER matched nothing)}"
      f=1
    fi
  fi
  # A crash, a sanitizer report or a non-zero exit with nothing counted as failed.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!!! $t exited with status $rc"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
