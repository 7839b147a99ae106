#!/bin/bash
# bundle-figures.sh - the Lambda bundle's figures as Markdown, for `make bench`.
#
#   tools/bundle-figures.sh [--ref BIN] [DIST_ZIP]
#
# DIST_ZIP defaults to dist/cogtiler-ARCH.zip (`make bundle`). Prints to stdout
# a Markdown table (a header row, then one row per figure):
#   - zip size and unzipped size (bytes and MB), shared objects in lib/;
#   - process start: `bootstrap --help` of the unzipped bundle, wall ms
#     (median / max), i.e. exec of the sh script + loader + libraries;
#   - cold start: from starting the unzipped bundle's bootstrap as Lambda
#     does (no arguments, env -i plus Lambda's variables, working directory
#     the bundle) until the response to its first event, the demo tile 2/1/1
#     (HTTP API 2.0) through the Runtime API emulator (test/lambda_emulator.js),
#     wall ms (median / max);
#   - peak RSS (VmHWM) of one bundle process after BUNDLE_RSS_N invocations
#     over demo tiles of zooms 0-6.
# --ref BIN adds the process-start, cold-start and RSS rows for BIN run the same way
# (e.g. ./bootstrap, linked against Debian's GDAL) for comparison; its timed runs
# take turns with the bundle's.
# Environment: BENCH_COLD_N (runs per timing, default 10), BUNDLE_RSS_N
# (default 300), NODE (default node). Needs node, curl, unzip, jq.
# Exit status: 0, or 1 when it cannot measure (no zip, emulator or runtime
# failure; the row then says so). Timings are printed, never judged.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

ref=''
if [ "${1:-}" = --ref ]; then ref=$2; shift 2; fi
case $(uname -m) in aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
zip=${1:-dist/cogtiler-$arch.zip}
N=${BENCH_COLD_N:-10}
RSS_N=${BUNDLE_RSS_N:-300}
NODE=${NODE:-node}
die() { echo "bundle-figures.sh: $*" >&2; exit 1; }
[ -f "$zip" ] || die "no $zip (make bundle)"
for t in "$NODE" curl unzip jq; do command -v "$t" >/dev/null || die "$t is missing"; done

tmp=$(mktemp -d)
emu='' bs=''
cleanup() {
    for p in $bs $emu; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
unzip -q "$zip" -d "$tmp/task" || die "unzip $zip failed"
config=$PWD/data/layers.json
status=0

now_ns() { date +%s%N; }
# median_max: "MEDIAN MAX" of the numbers on stdin (one per line).
median_max() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f\n", m, v[NR] }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# lambda_env BIN...: execs BIN with only what Lambda gives a function (call
# it in a subshell).
# shellcheck source=test/lib/lambda_env.sh
. test/lib/lambda_env.sh
lambda_env() {
    lambda_vars "${api:-}" "$tmp/task"
    exec env -i PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin \
        LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
        "${LAMBDA_VARS[@]}" COGTILER_CONFIG="$config" "$@"
}

# timings KIND BIN...: runs KIND (start_once or cold_once) N times for each
# BIN, taking turns (BIN1, BIN2, BIN1, ...) so that whatever else the machine
# does hits them alike; sets M[i] and X[i], median and max wall ms of BIN i
# (0-based), and BAD[i], its runs that failed.
timings() {
    local kind=$1 i k t0 t1; shift
    M=() X=() BAD=()
    for ((k = 0; k < $#; k++)); do : >"$tmp/times$k"; BAD[k]=0; done
    for i in $(seq "$N"); do
        k=0
        for bin in "$@"; do
            t0=$(now_ns)
            "$kind" "$bin" || BAD[k]=$((BAD[k] + 1))
            t1=$(now_ns)
            echo "$(((t1 - t0) / 1000))" >>"$tmp/times$k"
            k=$((k + 1))
        done
    done
    for ((k = 0; k < $#; k++)); do
        read -r "M[$k]" "X[$k]" < <(awk '{ print $1 / 1000 }' "$tmp/times$k" | median_max)
    done
}
# start_once BIN: `BIN --help`, as Lambda would start it.
start_once() { (cd "$tmp/task" && lambda_env "$1" --help >/dev/null 2>&1); }

"$NODE" test/lambda_emulator.js --quiet --idle-s 300 >"$tmp/emu.out" 2>"$tmp/emu.err" </dev/null &
emu=$!
port=''
for _ in $(seq 100); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$tmp/emu.out"); [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || die "the Runtime API emulator did not start: $(head -c 300 "$tmp/emu.err")"
api=127.0.0.1:$port ctl=http://127.0.0.1:$port/test
ev=test/lambda/http_v2.json

# cold_once BIN: starts BIN as Lambda does and waits for the response to its
# first event; false unless it answered 200.
cold_once() {
    local code
    (cd "$tmp/task" && lambda_env "$1" </dev/null >/dev/null 2>>"$tmp/bs.err") &
    bs=$!
    code=$(curl -s --noproxy '*' --max-time 30 -X POST --data-binary "@$ev" "$ctl/invoke?wait_s=30" |
           jq -r '.payload | fromjson | .statusCode' 2>/dev/null)
    kill "$bs" 2>/dev/null; wait "$bs" 2>/dev/null; bs=''
    [ "$code" = 200 ]
}

zbytes=$(stat -c %s "$zip")
ubytes=$(find "$tmp/task" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
nso=$(find "$tmp/task/lib" -name '*.so*' 2>/dev/null | wc -l)

echo "| Lambda bundle ($(basename "$zip")) | value |"
echo "|---|---:|"
echo "| zip size | $(mb "$zbytes") ($zbytes bytes) |"
echo "| unzipped size | $(mb "$ubytes") ($ubytes bytes), $nso shared objects |"
bins=("$tmp/task/bootstrap")
if [ -n "$ref" ]; then
    refabs=$(cd "$(dirname "$ref")" && pwd)/$(basename "$ref")
    bins+=("$refabs")
fi
timings start_once "${bins[@]}"
echo "| process start, \`bootstrap --help\` (median / max of $N, ms) | ${M[0]} / ${X[0]} |"
[ -z "$ref" ] || echo "| process start, \`$ref --help\` for comparison (ms) | ${M[1]} / ${X[1]} |"
timings cold_once "${bins[@]}"
cold_bad=$((BAD[0] + ${BAD[1]:-0}))
echo "| cold start to the first tile (2/1/1 via the Runtime API emulator; median / max of $N, ms) | ${M[0]} / ${X[0]} |"
[ -z "$ref" ] || echo "| cold start to the first tile, \`$ref\` for comparison (ms) | ${M[1]} / ${X[1]} |"

# rss_run BIN: sets hwm (MiB), the peak RSS of one BIN process after RSS_N
# invocations over demo tiles of zooms 0-6, i (invocations) and adds to fails.
fails=0
rss_run() {
    local z x y max code
    (cd "$tmp/task" && lambda_env "$1" </dev/null >/dev/null 2>>"$tmp/bs.err") &
    bs=$!
    i=0
    for z in 0 1 2 3 4 5 6; do
        max=$((1 << z))
        for x in $(seq 0 $((max - 1))); do
            for y in $(seq 0 $((max - 1))); do
                [ $i -ge "$RSS_N" ] && break 3
                i=$((i + 1))
                jq --arg p "/tiles/bluemarble/$z/$x/$y.png" \
                    '.rawPath = $p | .requestContext.http.path = $p | .rawQueryString = "" | .queryStringParameters = null' \
                    "$ev" >"$tmp/ev.json"
                code=$(curl -s --noproxy '*' --max-time 30 -X POST --data-binary "@$tmp/ev.json" "$ctl/invoke?wait_s=30" |
                       jq -r '.payload | fromjson | .statusCode' 2>/dev/null)
                [ "$code" = 200 ] || fails=$((fails + 1))
            done
        done
    done
    hwm=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$bs/status" 2>/dev/null)
    kill "$bs" 2>/dev/null; wait "$bs" 2>/dev/null; bs=''
}
rss_run "$tmp/task/bootstrap"
echo "| peak RSS (VmHWM) after $i invocations, demo tiles z0-6 | ${hwm:-?} MiB |"
bundle_hwm=$hwm
if [ -n "$ref" ]; then
    rss_run "$refabs"
    echo "| peak RSS, \`$ref\` for comparison | ${hwm:-?} MiB |"
fi
hwm=${bundle_hwm:-}
if [ -z "$hwm" ] || [ "$fails" -gt 0 ] || [ "$cold_bad" -gt 0 ]; then
    echo "bundle-figures.sh: $fails of $i invocations (RSS run) and $cold_bad cold starts did not answer 200: $(tail -c 300 "$tmp/bs.err")" >&2
    status=1
fi
exit $status
