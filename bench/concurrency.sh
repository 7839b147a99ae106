#!/usr/bin/env bash
# concurrency.sh BOOTSTRAP - the local server's worker threads, measured side by
# side with the server as it was before them (one request at a time), in one run:
#   throughput  wrk at 1, 2, 8 and 64 connections (BENCH_CONC_CONNS) on the same
#               demo tiles, every status checked (bench/wrk_tiles.lua)
#   slow layer  16 browser-like parallel requests, one of them to a layer whose
#               server sends a byte a second (nginx limit_rate): when do the 15
#               others come back?
# The "before" server is built from git (BENCH_BEFORE, default 6c42009: the last
# commit with the single-threaded server) in bench/out/before/. Prints Markdown.
set -euo pipefail
BOOTSTRAP=${1:?usage: bench/concurrency.sh BOOTSTRAP}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
cd "$(dirname "$0")/.."
ROOT=$PWD
BEFORE=${BENCH_BEFORE:-6c42009}
CONNS=${BENCH_CONC_CONNS:-1 2 8 64}
SECS=${BENCH_WRK_SECONDS:-4}
OUT=$ROOT/bench/out/concurrency
mkdir -p "$OUT"
say() { echo "bench/concurrency.sh: $*" >&2; }
ccurl() { curl -s --noproxy '*' "$@"; }
. test/lib/nginx.sh
. test/lib/serve.sh
trap 'serve_stop; nginx_stop' EXIT

# --- the server before worker threads ------------------------------------------------
src=$ROOT/bench/out/before
if [ ! -x "$src/bootstrap" ] || [ "$(cat "$src/.commit" 2>/dev/null)" != "$BEFORE" ]; then
    say "building the server of $BEFORE in $src"
    git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
    git worktree add --detach "$src" "$BEFORE" >/dev/null 2>&1
    ln -sfn "$ROOT/web/node_modules" "$src/web/node_modules"
    make -C "$src" -s bootstrap >"$OUT/before-build.log" 2>&1 || { say "cannot build $BEFORE"; exit 2; }
    echo "$BEFORE" >"$src/.commit"
fi

# --- data: the demo layers, and a layer on a server that trickles ------------------------
mkdir -p "$OUT/www"
cp test/data/rio-tiler/cog.tif "$OUT/www/cog.tif"
nginx_start "$OUT/nginx" "$OUT/www" 'location /slow/ { alias '"$OUT/www"'/; limit_rate 1; }' ||
    { say "nginx did not start"; exit 2; }
cat >"$OUT/layers.json" <<JSON
{"default_layer": "bluemarble", "dataset_ttl": 0, "negative_ttl": 0, "layers": {
  "bluemarble": {"source": "$ROOT/data/bluemarble_topo_bathy_200412_4326_cog.tif"},
  "slow": {"source": "$NGINX_URL/slow/cog.tif"}}}
JSON
list=$OUT/tiles.txt
: >"$list"
for z in 2 3 4 5; do
    for x in 0 1 2 3; do
        for y in 0 1 2 3; do echo "/tiles/bluemarble/$z/$x/$y.png 200" >>"$list"; done
    done
done

# throughput KEY BINARY LABEL [ARGS...]: a row per connection count
throughput() {
    local key=$1 bin=$2 label=$3 c line
    shift 3
    serve_start "$bin" "$OUT/layers.json" "$OUT" "$@" || { say "$label did not start"; return 1; }
    while read -r p _; do ccurl -o /dev/null "$SERVE_URL$p"; done <"$list" # warm
    for c in $CONNS; do
        wrk -t"$c" -c"$c" -d"${SECS}s" --timeout 30s -s bench/wrk_tiles.lua "$SERVE_URL" -- "$list" \
            >"$OUT/wrk.out" 2>&1 || true
        line=$(grep '^WRK ' "$OUT/wrk.out" || echo "WRK 0 1 0 0 0 0 0")
        read -r _ req secs p50 _ p99 errs bad <<<"$line"
        printf '| %s | %s | %.0f | %s | %s | %s |\n' "$label" "$c" \
            "$(awk -v r="$req" -v s="$secs" 'BEGIN { print r / s }')" "$p50" "$p99" "$((errs + bad))"
        echo "$key $c $(awk -v r="$req" -v s="$secs" 'BEGIN { print r / s }')" >>"$OUT/rates.txt"
    done
    serve_stop
}

# slow_layer BINARY LABEL [ARGS...]: 1 slow request, then 15 tiles, all at once
slow_layer() {
    local bin=$1 label=$2 i
    shift 2
    serve_start "$bin" "$OUT/layers.json" "$OUT" "$@" || { say "$label did not start"; return 1; }
    ccurl -o /dev/null "$SERVE_URL/tiles/bluemarble/0/0/0.png" # open the demo layer
    rm -f "$OUT"/t.*
    local curls=()
    ccurl -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 60 "$SERVE_URL/tiles/slow/9/175/99.png" >"$OUT/t.slow" &
    curls+=($!)
    sleep 0.05
    for i in $(seq 0 14); do
        ccurl -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 60 \
            "$SERVE_URL/tiles/bluemarble/4/$((i % 16))/$((i / 4 + 4)).png" >"$OUT/t.$i" &
        curls+=($!)
    done
    wait "${curls[@]}" || true
    local fast slowline ok
    fast=$(cat "$OUT"/t.[0-9]* | awk '{ print $2 * 1000 }' | sort -n)
    ok=$(cat "$OUT"/t.[0-9]* | awk '$1 == 200' | wc -l)
    slowline=$(cat "$OUT/t.slow")
    printf '| %s | %s of 15 | %.0f ms | %.0f ms | %s in %.0f ms |\n' "$label" "$ok" \
        "$(sed -n 8p <<<"$fast")" "$(tail -n 1 <<<"$fast")" "${slowline% *}" \
        "$(awk '{ print $2 * 1000 }' <<<"$slowline")"
    serve_stop
}

cores=$(nproc)
echo "## The local server: worker threads ($cores cores)"
echo
echo "Before: \`bootstrap serve\` of commit $BEFORE (one request at a time); after: this"
echo "build with its default of one worker per core ($cores), and with \`--workers 1\`."
echo "Demo tiles (Blue Marble, z2-z5, 64 tiles), warm, every status checked."
echo
echo "### Throughput (wrk, ${SECS} s per row, one connection per wrk thread)"
echo
echo "| server | connections | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
: >"$OUT/rates.txt"
throughput before "$src/bootstrap" "before"
throughput after1 "$BOOTSTRAP" "after, --workers 1" --workers 1
throughput after "$BOOTSTRAP" "after, $cores workers"
echo
for c in $CONNS; do
    b=$(awk -v c="$c" '$1 == "before" && $2 == c { print $3 }' "$OUT/rates.txt")
    a=$(awk -v c="$c" '$1 == "after" && $2 == c { print $3 }' "$OUT/rates.txt")
    printf -- '- %s connections: %.2fx the requests/s of before\n' "$c" "$(awk -v a="$a" -v b="$b" 'BEGIN { print (b > 0 ? a / b : 0) }')"
done
echo
echo "### 16 parallel requests, one to a layer whose server sends a byte a second"
echo
echo "The slow request goes first; 50 ms later 15 tiles of the demo layer. Times are"
echo "curl's time_total for each."
echo
echo "| server | fast tiles 200 | median of the 15 | slowest of the 15 | the slow request |"
echo "|---|---|---|---|---|"
slow_layer "$src/bootstrap" "before"
slow_layer "$BOOTSTRAP" "after, $cores workers"
