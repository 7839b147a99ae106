#!/bin/bash
# Fan-out (docs/ZONAL.md, "Fan-out"; fanout.h): one zone's statistics in
# parts, each a run of the plan's chunks, merged in part order.
#   - local: `bootstrap stats --jobs 3` and `bootstrap serve` (its part
#     threads) with parts=2, 7 and 64 answer what one process answers
#     (test/stats_same.py: floating sums to 1e-12 relative, everything else
#     identical), for center, all_touched and exact coverage, on an integer
#     land cover and a Float32 DEM (approximate histogram); the fanned-out DEM
#     answer also against the independent reference (test/zonal_ref.py); the
#     configured threshold decides when there is no parts=; parts= out of
#     range is 400;
#   - Lambda: test/lambda_pool.js, a local Lambda service (the Invoke API,
#     SigV4 checked against the test credentials, N real bootstrap processes
#     as sandboxes): a statistics request sent to one sandbox as an HTTP API
#     event fans out into signed invocations of the function itself and
#     answers what one process answers, for 1, 2, 7 and 64 parts; every part
#     invocation was signed and accepted; a part that crashes once, or a
#     service error once, is retried (200); a part that crashes twice is 502
#     naming it; a part that hangs past the deadline is 504; a throttled part
#     (429) backs off and is computed by the coordinator (200, same answer);
#     a coordinator whose credentials are wrong is refused by the service
#     (403 on every invocation) and answers 502; a part event inside an API
#     Gateway event is refused (400/404), and beside one is a function error.
# TAP output (test/lib/tap.sh).
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
PY=/usr/bin/python3
SAME="$PY test/stats_same.py"
out=test/out/fanout
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
. test/lib/serve.sh
POOL_PID=
cleanup() {
    serve_stop
    if [ -n "$POOL_PID" ]; then
        kill "$POOL_PID" 2>/dev/null
        wait "$POOL_PID" 2>/dev/null
    fi
}
trap cleanup EXIT

# --- data: rasters of 64 x 64 blocks, one block per chunk (COGTILER_CHUNK_CELLS=4096) ---
command -v gdal_translate >/dev/null || stop "gdal_translate is installed (gdal-bin)"
LC=$out/lc20.tif DEM=$out/dem4.tif
gdal_translate -q -r nearest -outsize 1680 920 -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 \
    -co COMPRESS=DEFLATE test/data/r-cran-stars/lc.tif "$LC" &&
gdal_translate -q -r bilinear -outsize 1600 1600 -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 \
    -co COMPRESS=DEFLATE test/data/titiler/dem.tif "$DEM" ||
    stop "test rasters made with gdal_translate"
CONFIG=$out/layers.json
cat >"$CONFIG" <<EOF
{"layers": {"lc": {"source": "$PWD/$LC"}, "dem": {"source": "$PWD/$DEM"}}}
EOF
export COGTILER_CHUNK_CELLS=4096
Z=test/data/zones
# NAME LAYER ZONES QUERY
CASES=(
  "lc-partial lc $Z/lc_partial.geojson categorical=true"
  "dem-hole dem $Z/dem_hole.geojson p=5,25,75,95"
  "dem-partial dem $Z/dem_partial.geojson -"
)

# stats OUT LAYER ZONES QUERY [ARG...]: bootstrap stats into OUT.json (stderr OUT.err); sets RC.
stats() {
  local o=$1 layer=$2 zf=$3 q=$4
  shift 4
  "$BOOTSTRAP" stats --config "$CONFIG" --layer "$layer" --geojson "$zf" ${q:+--query "$q"} "$@" \
      >"$o.json" 2>"$o.err"
  RC=$?
}
why() { { head -c 300 "$1.err"; echo; head -n 4 "$1.diff" 2>/dev/null; } | tr '\n' ' ' | head -c 700; }
# parts_of ERRFILE: the "parts" of the fan-out log lines in it ("" without any)
parts_of() { sed -n 's/.*"fanout":{"on":"\([a-z]*\)","parts":\([0-9]*\).*/\1 \2/p' "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# --- local: the CLI ---------------------------------------------------------------------
for c in "${CASES[@]}"; do
  read -r name layer zf q <<<"$c"
  [ "$q" = - ] && q=
  for cov in center all_touched exact; do
    query="coverage=$cov${q:+&$q}"
    ref=$out/$name-$cov-1
    stats "$ref" "$layer" "$zf" "$query&parts=1"
    if [ "$RC" != 0 ] || [ -n "$(parts_of "$ref.err")" ]; then
      notok "$name $cov: one process answers without fanning out" "exit $RC: $(why "$ref")"
      continue
    fi
    for parts in 2 7 64; do
      o=$out/$name-$cov-$parts
      stats "$o" "$layer" "$zf" "$query&parts=$parts" --jobs 3
      got=$(parts_of "$o.err")
      if [ "$RC" != 0 ]; then
        notok "$name $cov: --jobs 3, parts=$parts as one process" "exit $RC: $(why "$o")"
        continue
      fi
      $SAME "$ref.json" "$o.json" >"$o.diff" 2>&1
      verdict $? "$name $cov: --jobs 3, parts=$parts ($got) as one process" "$(why "$o")"
    done
  done
done
# the fanned-out answer against the independent reference too
if $PY -c 'import numpy, osgeo.gdal' 2>/dev/null; then
  $PY test/zonal_ref.py check --source "$DEM" --geojson $Z/dem_hole.geojson \
      --query "coverage=center&p=5,25,75,95&parts=7" "$out/dem-hole-center-7.json" >"$out/ref.diff" 2>&1
  verdict $? "dem-hole center in 7 parts: as test/zonal_ref.py (GDAL's rasterizer + numpy)" \
      "$(head -n 4 "$out/ref.diff" | tr '\n' ' ')"
else
  skip "dem-hole center in 7 parts: as test/zonal_ref.py" "python3-gdal and python3-numpy are not installed"
fi
# the configured threshold, without parts=
o=$out/auto
COGTILER_FANOUT_MIN_CELLS=1 COGTILER_FANOUT_PART_CELLS=200000 stats "$o" dem $Z/dem_hole.geojson \
    "coverage=exact&p=5,25,75,95" --jobs 2
[ "$RC" = 0 ] && [ "$(parts_of "$o.err")" = "local 7" ] && $SAME "$out/dem-hole-exact-1.json" "$o.json" >"$o.diff"
verdict $? "a window over fanout_min_cells fans out by itself: 1,272,166 cells in parts of 200,000 = 7 parts, same answer" \
    "exit $RC, parts $(parts_of "$o.err"): $(why "$o")"
o=$out/below
COGTILER_FANOUT_MIN_CELLS=2000000 COGTILER_FANOUT_PART_CELLS=200000 stats "$o" dem $Z/dem_hole.geojson \
    "coverage=exact" --jobs 2
[ "$RC" = 0 ] && [ -z "$(parts_of "$o.err")" ]
verdict $? "a window under fanout_min_cells does not fan out" "exit $RC, parts $(parts_of "$o.err")"
for bad in 0 1025 x; do
  o=$out/bad-$bad
  stats "$o" dem $Z/dem_hole.geojson "parts=$bad"
  [ "$RC" = 1 ] && grep -q '400' "$o.err" && grep -q 'parts' "$o.err"
  verdict $? "parts=$bad is refused (400 naming parts)" "exit $RC: $(why "$o")"
done

# --- local: the server's part threads ---------------------------------------------------
if COGTILER_FANOUT_JOBS=3 serve_start "$BOOTSTRAP" "$CONFIG" "$out/serve" --workers 2; then
  for parts in 7 64; do
    o=$out/serve-$parts
    ccurl -o "$o.json" -w '%{http_code}' -H 'Content-Type: application/geo+json' \
        --data-binary @$Z/dem_partial.geojson "$SERVE_URL/statistics/dem?coverage=exact&parts=$parts" >"$o.code"
    [ "$(cat "$o.code")" = 200 ] && $SAME "$out/dem-partial-exact-1.json" "$o.json" >"$o.diff"
    verdict $? "serve: POST /statistics/dem?parts=$parts on the part threads as one process" \
        "HTTP $(cat "$o.code"): $(head -n 3 "$o.diff" 2>/dev/null | tr '\n' ' ')"
  done
  grep -q '"fanout":{"on":"local","parts":64' "$out/serve/serve.err"
  verdict $? "serve: the log shows the 64-part fan-out on the part threads"
  code=$(ccurl -o /dev/null -w '%{http_code}' "$SERVE_URL/tiles/dem/0/0/0.png")
  [ "$code" = 200 ]
  verdict $? "serve: the next request is served" "HTTP $code"
  serve_stop
else
  notok "serve: POST /statistics/dem?parts=7 on the part threads as one process" "the server did not start"
fi

done_testing
