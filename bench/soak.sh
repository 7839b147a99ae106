#!/usr/bin/env bash
# soak.sh BOOTSTRAP - long runs of mixed valid and invalid requests, every answer's
# status checked, memory sampled at 10%, 50% and 100% of each run. Prints Markdown.
#   lambda  SOAK_LAMBDA_N (100,000) invocations through the Runtime API emulator
#           (test/lambda_emulator.js), one at a time, cycling through events of
#           every kind (tiles, 400/403/404/405, OPTIONS, a broken body, an event
#           that is not HTTP at all)
#   serve   SOAK_SERVE_N (1,000,000) requests to `bootstrap serve` under wrk with
#           SOAK_CONNS (8) connections, cycling through a list of the same kinds
# Peak RSS is /proc/PID/status VmHWM; "growth" compares 50% with 10% and 100% with 50%.
# Exits non-zero when an answer had an unexpected status or a run failed.
set -euo pipefail
BOOTSTRAP=${1:?usage: bench/soak.sh BOOTSTRAP}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
cd "$(dirname "$0")/.."
LAMBDA_N=${SOAK_LAMBDA_N:-100000}
SERVE_N=${SOAK_SERVE_N:-1000000}
CONNS=${SOAK_CONNS:-8}
OUT=${SOAK_OUT:-bench/out/soak}
mkdir -p "$OUT/events"
. test/lib/lambda_env.sh
status=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
say() { echo "bench/soak.sh: $*" >&2; }
kib() { awk -v k="$1" '/^'"$1"':/ { print $2 }' "/proc/$2/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
growth() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }'; }

# --- Lambda: events of every kind --------------------------------------------------
ev=test/lambda/http_v2.json
jqe() { jq -c "$1" "$ev" >"$OUT/events/$2.json"; echo "$3 $OUT/events/$2.json" >>"$OUT/events.txt"; }
: >"$OUT/events.txt"
with_path='.rawPath = $p | .requestContext.http.path = $p | .rawQueryString = ""'
jqe "." tile 200
jq -c . test/lambda/alb.json >"$OUT/events/alb.json" && echo "200 $OUT/events/alb.json" >>"$OUT/events.txt"
jqe "(\"/tiles/bluemarble/5/9/12.png\") as \$p | $with_path" tile2 200
jqe "(\"/tiles/bluemarble/1/5/0.png\") as \$p | $with_path" badzxy 400
jqe "(\"/tiles/nope/1/0/0.png\") as \$p | $with_path" nolayer 404
jqe "(\"/cog/tiles/1/0/0.png\") as \$p | $with_path | .rawQueryString = \"url=http%3A%2F%2F169.254.169.254%2F\"" forbidden 403
jqe "(\"/tiles/bluemarble/0/0/0.png\") as \$p | $with_path | .rawQueryString = \"colormap_name=nope\"" badparam 400
jqe '.requestContext.http.method = "OPTIONS"' options 204
jqe '.requestContext.http.method = "POST"' post 405
jqe '.requestContext.http.method = "POST" | .body = "%%%%" | .isBase64Encoded = true' badbody 400
jqe '("/layers") as $p | '"$with_path" layers 200
echo '{"not": "an HTTP event"}' >"$OUT/events/other.json"
echo "error $OUT/events/other.json" >>"$OUT/events.txt"

lambda_run() {
    node test/lambda_emulator.js --quiet --keep 64 --idle-s 3600 --max-lifetime-s 14400 \
        >"$OUT/emu.out" 2>"$OUT/emu.err" &
    local emu=$!
    pids+=("$emu")
    local port=""
    for _ in $(seq 100); do
        port=$(awk '/^PORT/ { print $2 }' "$OUT/emu.out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { say "the emulator did not start"; return 1; }
    lambda_vars "127.0.0.1:$port" "$PWD"
    env "${LAMBDA_VARS[@]}" COGTILER_CONFIG="$PWD/data/layers.json" "$BOOTSTRAP" \
        >"$OUT/lambda.out" 2>"$OUT/lambda.err" &
    local bs=$!
    pids+=("$bs")
    # Three legs (to 10%, 50% and 100%), memory read after each: growth from 50% to
    # 100% with none before is a leak; growth that stops is caches filling.
    local n10=$((LAMBDA_N / 10)) n50=$((LAMBDA_N / 2)) t0=$SECONDS
    local legs=("$n10" $((n50 - n10)) $((LAMBDA_N - n50))) hwm=() rss=() wrong=0 i
    for i in 0 1 2; do
        node bench/soak_lambda.js "$port" "${legs[$i]}" "$OUT/events.txt" >"$OUT/lambda$i.json" ||
            { say "the Lambda driver failed in leg $((i + 1))"; return 1; }
        hwm+=("$(kib VmHWM "$bs")") rss+=("$(kib VmRSS "$bs")")
        wrong=$((wrong + $(jq .wrong "$OUT/lambda$i.json")))
    done
    local secs=$((SECONDS - t0))
    kill "$bs" "$emu" 2>/dev/null || true
    wait "$bs" "$emu" 2>/dev/null || true
    echo "### Lambda: $LAMBDA_N invocations through the Runtime API emulator"
    echo
    echo "$(wc -l <"$OUT/events.txt") kinds of event in turn: $(awk '{ print $1 }' "$OUT/events.txt" | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')."
    echo
    echo "| point | invocations | peak RSS (VmHWM) | RSS | wrong status |"
    echo "|---|---|---|---|---|"
    local at=0 pct=(10% 50% 100%)
    for i in 0 1 2; do
        at=$((at + legs[i]))
        echo "| ${pct[$i]} | $at | $(mib "${hwm[$i]}") MiB | $(mib "${rss[$i]}") MiB | $(jq .wrong "$OUT/lambda$i.json") |"
    done
    echo
    echo "Peak RSS growth: 10% to 50% $(growth "${hwm[0]}" "${hwm[1]}"), 50% to 100% $(growth "${hwm[1]}" "${hwm[2]}"); $secs s in all ($(jq -r '.seconds | floor' "$OUT/lambda2.json") s for the last half); answers seen in the last half: $(jq -c .seen "$OUT/lambda2.json")."
    [ "$wrong" = 0 ] || { say "wrong answers: $(jq -c .first_wrong "$OUT"/lambda[012].json)"; return 1; }
}

# --- serve under wrk ------------------------------------------------------------------
# run_wrk LIST PER_THREAD OUT: wrk until every thread has had PER_THREAD answers.
run_wrk() {
    local done_file=$OUT/wrk.done
    : >"$done_file"
    wrk -t"$CONNS" -c"$CONNS" -d3600s --timeout 30s -s bench/wrk_tiles.lua "$SERVE_URL" -- \
        "$1" "$2" "$done_file" >"$3" 2>&1 &
    local w=$!
    while [ "$(wc -l <"$done_file")" -lt "$CONNS" ] && kill -0 "$w" 2>/dev/null; do sleep 0.2; done
    kill -INT "$w" 2>/dev/null || true
    wait "$w" || true
}

serve_run() {
    local list=$OUT/paths.txt
    {
        echo "/tiles/bluemarble/2/1/1.png 200"
        echo "/tiles/bluemarble/5/9/12.png 200"
        echo "/tiles/temperatures/1/0/0.png 200"
        echo "/tiles/bluemarble/1/5/0.png 400"
        echo "/tiles/bluemarble/0/0/0.png?colormap_name=nope 400"
        echo "/tiles/nope/1/0/0.png 404"
        echo "/no/such/route 404"
        echo "/cog/tiles/1/0/0.png?url=http%3A%2F%2F169.254.169.254%2F 403"
        echo "/tiles/bluemarble/0/0/0.png 204 OPTIONS"
        echo "/tiles/bluemarble/0/0/0.png 405 POST"
        echo "/tiles/bluemarble/2/1/1.png%00.jpg 400"
        echo "/layers 200"
        echo "/tiles/bluemarble/point/10,10 200"
        echo "/colormaps/viridis 200"
        printf '/x?%s 414\n' "$(seq -s '&' 1 70 | sed 's/\([0-9]*\)/a\1=1/g')"
    } >"$list"
    . test/lib/serve.sh
    serve_start "$BOOTSTRAP" data/layers.json "$OUT" || { say "bootstrap serve did not start"; return 1; }
    pids+=("$SERVE_PID")
    # Three legs as for Lambda; each wrk thread keeps one connection.
    local n10=$((SERVE_N / 10 / CONNS)) n50=$((SERVE_N / 2 / CONNS)) all=$((SERVE_N / CONNS)) t0=$SECONDS
    local legs=("$n10" $((n50 - n10)) $((all - n50))) hwm=() rss=() i
    for i in 0 1 2; do
        run_wrk "$list" "${legs[$i]}" "$OUT/wrk$i.out"
        grep -q '^WRK ' "$OUT/wrk$i.out" || { say "wrk failed in leg $((i + 1))"; return 1; }
        hwm+=("$(kib VmHWM "$SERVE_PID")") rss+=("$(kib VmRSS "$SERVE_PID")")
    done
    local secs=$((SECONDS - t0)) at=0 bad=0 errs=0 r s p50 p95 p99 e b pct=(10% 50% 100%) rows=""
    for i in 0 1 2; do
        read -r _ r s p50 p95 p99 e b <<<"$(grep '^WRK ' "$OUT/wrk$i.out")"
        at=$((at + r)) bad=$((bad + b)) errs=$((errs + e))
        rows+="| ${pct[$i]} | $at | $(mib "${hwm[$i]}") MiB | $(mib "${rss[$i]}") MiB | $b | $e |"$'\n'
    done
    serve_stop
    echo "### The local server: $at requests under wrk, $CONNS connections"
    echo
    echo "$(wc -l <"$list") requests in turn (statuses $(awk '{ print $2 }' "$list" | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')), each answer's status checked."
    echo
    echo "| point | requests | peak RSS (VmHWM) | RSS | wrong status | socket errors |"
    echo "|---|---|---|---|---|---|"
    printf '%s' "$rows"
    echo
    echo "Peak RSS growth: 10% to 50% $(growth "${hwm[0]}" "${hwm[1]}"), 50% to 100% $(growth "${hwm[1]}" "${hwm[2]}"); $secs s in all; in the last leg $(awk -v r="$r" -v s="$s" 'BEGIN { printf "%.0f", r / s }') requests/s, latency p50 $p50 ms, p95 $p95 ms, p99 $p99 ms."
    [ $((bad + errs)) = 0 ] || { say "unexpected statuses or socket errors"; return 1; }
}

echo "## Soak: long runs of mixed requests"
echo
say "Lambda: $LAMBDA_N invocations"
lambda_run || status=1
echo
say "serve: $SERVE_N requests"
serve_run || status=1
exit $status
