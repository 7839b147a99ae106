#!/bin/bash
# fuzz_long.sh - every libFuzzer target (build/rel/fuzz_TARGET) for a long run:
# FUZZ_RUNS executions each (when set), else FUZZ_LONG_SECONDS (default 600)
# seconds each, from a corpus kept between runs in build/fuzz-corpus/TARGET
# (seeded from the target's seed folder; not committed). Anything found is
# copied to test/fuzz/crashers/TARGET/ (commit it: plain replays then run it
# in every `make test`). Prints a Markdown table: target, executions, rate,
# corpus size, crashes. Exits non-zero when any target found something.
set -u
secs=${FUZZ_LONG_SECONDS:-600}
runs=${FUZZ_RUNS:-}
status=0
rows=()
for pair in event:test/events custom:test/custom-corpus query:test/query-corpus url:test/url-corpus geojson:test/geojson-corpus; do
  t=${pair%%:*} seeds=${pair#*:}
  corpus=build/fuzz-corpus/$t art=build/fuzz-artifacts/$t log=build/fuzz-long-$t.log
  mkdir -p "$corpus" "$art" "test/fuzz/crashers/$t"
  cp -n "$seeds"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
  limit=(-max_total_time="$secs")
  [ -n "$runs" ] && limit=(-runs="$runs")
  echo "fuzzing $t (${runs:+$runs runs}${runs:-$secs s}) ..." >&2
  t0=$(date +%s)
  "build/rel/fuzz_$t" "${limit[@]}" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" -artifact_prefix="$art/" -print_final_stats=1 "$corpus" >"$log" 2>&1
  rc=$?
  t1=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  found=$(ls "$art")
  for f in $found; do cp "$art/$f" "test/fuzz/crashers/$t/$f"; done
  crashes=$(ls "$art" | wc -l)
  [ "$rc" = 0 ] && [ "$crashes" = 0 ] || status=1
  rows+=("| $t | ${execs:-?} | ${rate:-?}/s | $((t1 - t0)) s | $(ls "$corpus" | wc -l) | $crashes |")
done
echo "| target | executions | rate | time | corpus | crashes |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $status
