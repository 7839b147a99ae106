#!/bin/bash
# The parsers under fuzzing: event parsing and routing (target "event", seeds
# test/events/), user colormaps (target "custom", seeds test/custom-corpus/) and
# query values and tile paths (target "query", seeds test/query-corpus/) and
# the url= allow-list (target "url", seeds test/url-corpus/) and the statistics
# body reader (target "geojson", seeds test/geojson-corpus/) and band math
# through muparser (target "expr", seeds test/expr-corpus/) and the PNG
# encoder, decoded back by libpng (target "png", seeds test/png-corpus/).
# For each target, the plain replay program runs the seeds and every kept
# crasher (test/fuzz/crashers/TARGET/); then, when libFuzzer builds exist,
# each is fuzzed for FUZZ_SECONDS and anything found is kept as a regression
# case. Env: FUZZ_BUILD (build dir), FUZZ_WITH_LIBFUZZER (1 to fuzz),
# FUZZ_SECONDS (default 20). Prints TAP lines (test/lib/tap.sh).
set -u
. test/lib/tap.sh
out=test/out/fuzz
secs=${FUZZ_SECONDS:-20}
targets="event:test/events custom:test/custom-corpus query:test/query-corpus url:test/url-corpus geojson:test/geojson-corpus expr:test/expr-corpus png:test/png-corpus"
fuzzing=0
[ "${FUZZ_WITH_LIBFUZZER:-}" = 1 ] && [ "$secs" -gt 0 ] && fuzzing=1
# each target: its replay, and its fuzzing run when fuzzing
plan $(( $(wc -w <<<"$targets") * (1 + fuzzing) ))
[ -n "${FUZZ_BUILD:-}" ] || stop "FUZZ_BUILD names the build directory (make test sets it)"

for pair in $targets; do
  t=${pair%%:*} seeds=${pair#*:}
  kept=test/fuzz/crashers/$t
  mkdir -p "$out/$t" "$kept"
  if "$FUZZ_BUILD/fuzz_${t}_replay" "$seeds" "$kept" >"$out/$t/replay.log" 2>&1; then
    ok "$t: replay of $(ls "$seeds" | wc -l) seeds and $(ls "$kept" | wc -l) kept crashers"
  else
    notok "$t: replay of seeds and kept crashers"; tail -n 30 "$out/$t/replay.log" | sed 's/^/# /'
  fi
  [ $fuzzing = 1 ] || continue
  rm -rf "$out/$t/corpus" "$out/$t/artifacts"
  mkdir -p "$out/$t/corpus" "$out/$t/artifacts"
  cp "$seeds"/* "$out/$t/corpus/"
  dict=()
  [ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
  "build/rel/fuzz_$t" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" -artifact_prefix="$out/$t/artifacts/" -print_final_stats=1 \
    "$out/$t/corpus" >"$out/$t/fuzz.log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t/fuzz.log")
  found=$(ls "$out/$t/artifacts" 2>/dev/null)
  if [ $rc = 0 ] && [ -z "$found" ]; then
    ok "$t: fuzzed for ${secs}s (${runs:-?} inputs), nothing found"
  else
    for f in $found; do cp "$out/$t/artifacts/$f" "$kept/$f"; done
    notok "$t: fuzzer exit $rc; kept: ${found:-none} in $kept/ (commit them as regression cases)"
    grep -A15 'ERROR\|SUMMARY' "$out/$t/fuzz.log" | head -n 40 | sed 's/^/# /'
  fi
done
