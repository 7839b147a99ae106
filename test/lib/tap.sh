# shellcheck shell=bash
# tap.sh - the TAP helpers of every shell test (sourced, never copied).
#   plan N                 "1..N" before the tests, when the count is known
#   ok WHAT                a passed test
#   notok WHAT [WHY]       a failed test
#   skip WHAT WHY          a test that could not run here ("ok N - WHAT # SKIP WHY";
#                          test/run.sh counts it apart, never as passed)
#   verdict RC WHAT [WHY]  ok when RC is 0, else notok: `[ "$a" = b ]; verdict $? "a is b" "$a"`
#   stop WHAT [WHY]        a failed test that ends the script (exit 1)
#   done_testing           "1..N" at the end, for a script that gave no plan
#   note TEXT              a diagnostic line ("# TEXT")
#   ccurl ARGS...          curl, never through a proxy
#   tap_ref [ERRFILE]      a reference's lines on stdin as tests: "PASS what" ok,
#                          "FAIL what: why" not ok, "INFO text" a note, "COUNT ..."
#                          into $ref_count; not ok when it printed no check (with
#                          ERRFILE's last lines)
#   fault_row WHAT STATUS MS NEXT  a row for $FAULT_TABLE (bench/run.sh faults)
# Each test is one line: newlines in WHAT and WHY are printed as spaces.
# TAP_PASS, TAP_FAIL and TAP_SKIP count the tests so far (for a script that
# prints its own summary, like test/valgrind.sh).
# test/run.sh fails a script whose count of tests differs from its plan, or
# that prints no plan at all (it stopped short).
TAP_N=0
TAP_PLAN=
TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
tap_line() { local s=${1//$'\r'/}; echo "${s//$'\n'/ }"; }
plan() { TAP_PLAN=$1; echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1)); tap_line "ok $TAP_N - $1"; }
notok() { TAP_N=$((TAP_N + 1)) TAP_FAIL=$((TAP_FAIL + 1)); tap_line "not ok $TAP_N - $1${2:+ ($2)}"; }
skip() { TAP_N=$((TAP_N + 1)) TAP_SKIP=$((TAP_SKIP + 1)); tap_line "ok $TAP_N - $1 # SKIP ${2:-}"; }
verdict() {
  local rc=$1
  shift
  if [ "$rc" = 0 ]; then ok "$1"; else notok "$@"; fi
}
stop() { notok "$@"; done_testing; exit 1; }
done_testing() { [ -n "$TAP_PLAN" ] || echo "1..$TAP_N"; }
note() { tap_line "# $1"; }
ccurl() { curl -s --noproxy '*' "$@"; }
tap_ref() {
  local line n=0
  ref_count=
  while IFS= read -r line; do
    case $line in
      PASS\ *) ok "${line#PASS }"; n=$((n + 1)) ;;
      FAIL\ *) notok "${line#FAIL }"; n=$((n + 1)) ;;
      INFO\ *) note "${line#INFO }" ;;
      COUNT\ *) ref_count=${line#COUNT } ;;
    esac
  done
  [ "$n" -gt 0 ] || notok "the reference printed no check" "$([ -n "${1:-}" ] && tail -n 3 "$1")"
}
# fault_row WHAT STATUS MS NEXT: a row of the fault table (bench section
# "faults") appended to $FAULT_TABLE when it is set: the case, the status
# answered, the time it took, whether the next request was served.
fault_row() { [ -z "${FAULT_TABLE:-}" ] || echo "| $1 | $2 | $3 ms | $4 |" >>"$FAULT_TABLE"; }
