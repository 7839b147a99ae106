#!/bin/bash
# Event parsing and routing under fuzzing. Replays the seed events and every
# kept crasher (test/fuzz/crashers/) with the plain replay program, then, when
# a libFuzzer build is given, fuzzes for FUZZ_SECONDS from the seed events and
# keeps anything it finds under test/fuzz/crashers/ as a regression case.
# Env: REPLAY (required), FUZZER (optional), FUZZ_SECONDS (default 60).
set -u
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
out=test/out/fuzz
mkdir -p "$out" test/fuzz/crashers

if "$REPLAY" test/events test/fuzz/crashers >"$out/replay.log" 2>&1; then
  ok "replay of $(ls test/events | wc -l) seed events and $(ls test/fuzz/crashers | wc -l) kept crashers"
else
  notok "replay of seed events and kept crashers"; tail -n 30 "$out/replay.log"
fi

secs=${FUZZ_SECONDS:-60}
if [ -n "${FUZZER:-}" ] && [ "$secs" -gt 0 ]; then
  rm -rf "$out/corpus" "$out/artifacts"
  mkdir -p "$out/corpus" "$out/artifacts"
  cp test/events/*.json "$out/corpus/"
  "$FUZZER" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -dict=test/fuzz/event.dict -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
    "$out/corpus" >"$out/fuzz.log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
  found=$(ls "$out/artifacts" 2>/dev/null)
  if [ $rc = 0 ] && [ -z "$found" ]; then
    ok "fuzzed event parsing and routing for ${secs}s (${runs:-?} inputs), nothing found"
  else
    for f in $found; do cp "$out/artifacts/$f" "test/fuzz/crashers/$f"; done
    notok "fuzzer exit $rc; kept: ${found:-none} in test/fuzz/crashers/ (commit them as regression cases)"
    grep -A15 'ERROR\|SUMMARY' "$out/fuzz.log" | head -n 40
  fi
fi
