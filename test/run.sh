#!/bin/bash
# run.sh BUILD_DIR TEST... - runs cmocka test programs (BUILD_DIR/NAME) and
# TAP-style shell tests (*.sh), prints each one's output, and ends with
# "N passed, N failed". Exits non-zero when anything failed or crashed.
set -u
bdir=$1; shift
passed=0 failed=0
mkdir -p test/out
for t in "$@"; do
  log=test/out/${t##*/}.log
  echo "=== $t"
  if [[ $t == *.sh ]]; then
    BOOTSTRAP=${BOOTSTRAP:-./bootstrap} bash "$t" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
  else
    "$bdir/$t" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | tail -n 1)
  fi
  p=${p:-0}; f=${f:-0}
  # A crash, a sanitizer report or a non-zero exit with nothing counted as failed.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!!! $t exited with status $rc"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
