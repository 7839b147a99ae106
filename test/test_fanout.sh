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
. test/lib/proc.sh
POOL_PID=
cleanup() {
    serve_stop
    if [ -n "$POOL_PID" ]; then
        ccurl -X POST "$POOL/shutdown" >/dev/null 2>&1
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

# --- part events refused without work (bootstrap invoke: the runtime's own path) ----------
echo "{\"layers\": {\"source\": {\"source\": \"$PWD/test/data/titiler/dem.tif\"}}}" >"$out/part-layers.json"
# part_status JQ_FILTER: the status a part event edited by the filter answers
part_status() {
  jq -c "$1" test/events/part.json >"$out/part-edit.json"
  COGTILER_CONFIG=$out/part-layers.json timeout 10 "$BOOTSTRAP" invoke "$out/part-edit.json" 2>/dev/null |
    jq -r '.cogtiler_partial | if .error then .error.status else 200 end' 2>/dev/null
}
[ "$(part_status .)" = 200 ]
verdict $? "a part event (test/events/part.json) is computed: 200 with packed accumulators"
for c in ".cogtiler_part.polygons = [[[1000,1e6,2000,1e6,2000,2e6,1000,2e6,1000,1e6]]]|coordinates out of range" \
         ".cogtiler_part.polygons = [[[170,0,-170,0,-170,1,170,0]]]|an edge over 180 degrees of longitude" \
         ".cogtiler_part.polygons = [[[0,0,1,0,1,1,0,1]]]|an open ring" \
         ".cogtiler_part.part = 1|part not below parts" \
         ".cogtiler_part.nodata = \"x\"|a nodata that is not a number" \
         ".cogtiler_part.window_cells = 5|a plan that differs from this function's" \
         ".cogtiler_part += {max_unique: 1000000, bands: [1, 1]}|accumulators over Lambda's 6 MB answer (2 bands of 160,000 exact values):413"; do
  st=$(part_status "${c%%|*}") what=${c#*|} want=400
  case $what in *:413) what=${what%:413} want=413 ;; esac
  [ "$st" = $want ]
  verdict $? "a part event with $what: $want at once" "status $st"
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

# --- Lambda: the function invoking itself through the pool ------------------------------
NODE=${NODE:-node}
# pool_start TAG ARGS...: test/lambda_pool.js with the layers; sets POOL_PID and POOL.
pool_start() {
  local tag=$1 port=
  shift
  : >"$out/$tag.out"
  COGTILER_CONFIG=$PWD/$CONFIG "$NODE" test/lambda_pool.js --bootstrap "$BOOTSTRAP" \
    --log-dir "$out/$tag.logs" --idle-s 60 "$@" >"$out/$tag.out" 2>"$out/$tag.err" </dev/null &
  POOL_PID=$!
  port=$(port_line "$out/$tag.out" "$POOL_PID")
  POOL=http://127.0.0.1:$port/test
  [ -n "$port" ] && ccurl -f "$POOL/ready?wait_s=15" >/dev/null
}
pool_stop() {
  [ -n "$POOL_PID" ] || return 0
  ccurl -X POST "$POOL/shutdown" >/dev/null
  wait "$POOL_PID" 2>/dev/null
  POOL_PID=
}
# event OUT PATH_AND_QUERY ZONES: an HTTP API (2.0) POST event with the zones as body.
event() {
  jq --arg p "${2%%\?*}" --arg q "${2#*\?}" --rawfile b "$3" \
    '.requestContext.http.method = "POST" | .rawPath = $p | .requestContext.http.path = $p
     | .rawQueryString = $q | .queryStringParameters = null
     | .headers["content-type"] = "application/geo+json" | .body = $b | .isBase64Encoded = false' \
    test/lambda/http_v2.json >"$1"
}
# coordinate OUT PATH_AND_QUERY ZONES: the event sent to one sandbox (the coordinator);
# OUT.outcome is the pool's outcome, OUT.json the HTTP body, STATUS its statusCode.
coordinate() {
  event "$1.event" "$2" "$3"
  ccurl -X POST --data-binary @"$1.event" "$POOL/invoke" >"$1.outcome"
  jq -r '.payload' "$1.outcome" >"$1.payload" 2>/dev/null
  jq -r '.body' "$1.payload" >"$1.json" 2>/dev/null
  STATUS=$(jq -r '.statusCode' "$1.payload" 2>/dev/null)
}
counts() { ccurl "$POOL/state" | jq -c '.counts'; }
signed_ok() { ccurl "$POOL/state" | jq -r '.counts.invokes'; }

if ! command -v jq >/dev/null || ! command -v "$NODE" >/dev/null || [ ! -f test/lambda/node_modules/aws4/aws4.js ]; then
  skip "Lambda fan-out through test/lambda_pool.js" "node, jq and test/lambda's npm packages are needed (make test installs them)"
elif ! pool_start pool --sandboxes 4 --concurrency 100 --timeout-ms 20000; then
  stop "test/lambda_pool.js with 4 sandboxes started" "$(tail -n 3 "$out/pool.err" | tr '\n' ' ')"
else
  ok "test/lambda_pool.js with 4 sandboxes started"
  Q="coverage=exact&p=5,25,75,95"
  REF=$out/dem-hole-exact-1.json
  for parts in 1 2 7 64; do
    before=$(signed_ok)
    o=$out/lambda-$parts
    coordinate "$o" "/statistics/dem?$Q&parts=$parts" $Z/dem_hole.geojson
    after=$(signed_ok)
    [ "$STATUS" = 200 ] && $SAME "$REF" "$o.json" >"$o.diff"
    verdict $? "Lambda: $parts part(s) answer what one process answers" \
        "status $STATUS: $(head -c 300 "$o.outcome") $(head -n 3 "$o.diff" 2>/dev/null | tr '\n' ' ')"
    [ $((after - before)) = $((parts - 1)) ]
    verdict $? "Lambda: ... $((parts - 1)) signed invocations of the function itself, all accepted" \
        "$((after - before)) accepted; counts $(counts)"
  done
  grep -h '"fanout"' "$out"/pool.logs/*.log | grep -q '"on":"lambda","parts":64,' 
  verdict $? "Lambda: the coordinator's log line says 64 parts on lambda"
  grep -h '"fanout"' "$out"/pool.logs/*.log | grep -q '"parts":1,' && has_nested=1 || has_nested=0
  [ "$has_nested" = 0 ]
  verdict $? "Lambda: no part fanned out again"

  # faults, each on part 3 of 7 ("part":2 in its event)
  fault() { ccurl -X POST "$POOL/fault?kind=$1&match=%22part%22%3A2%2C&count=$2" >/dev/null; }
  ccurl -X DELETE "$POOL/faults" >/dev/null
  fault crash 1
  o=$out/crash-once; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
  [ "$STATUS" = 200 ] && $SAME "$REF" "$o.json" >"$o.diff"
  verdict $? "Lambda: a part that crashes once is retried: 200, the same answer" "status $STATUS: $(head -c 300 "$o.json")"
  ccurl -X DELETE "$POOL/faults" >/dev/null
  fault error 1
  o=$out/error-once; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
  [ "$STATUS" = 200 ] && $SAME "$REF" "$o.json" >"$o.diff"
  verdict $? "Lambda: a service error (500) once is retried: 200, the same answer" "status $STATUS: $(head -c 300 "$o.json")"
  ccurl -X DELETE "$POOL/faults" >/dev/null
  fault crash 2
  o=$out/crash-twice; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
  [ "$STATUS" = 502 ] && grep -q 'part 3 of 7' "$o.json"
  verdict $? "Lambda: a part that crashes twice: 502 naming part 3 of 7" "status $STATUS: $(head -c 300 "$o.json")"
  ccurl -X DELETE "$POOL/faults" >/dev/null
  fault throttle 100
  o=$out/throttled; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
  [ "$STATUS" = 200 ] && $SAME "$REF" "$o.json" >"$o.diff" &&
    grep -h '"fanout"' "$out"/pool.logs/*.log | tail -n 20 | grep -q '"parts":7,"computed_here":2,'
  verdict $? "Lambda: a part throttled (429) again and again is computed by the coordinator: 200, the same answer" \
      "status $STATUS: $(head -c 300 "$o.json")"
  ccurl -X DELETE "$POOL/faults" >/dev/null
  jq '.rawPath = "/tiles/dem/0/0/0.png" | .requestContext.http.path = .rawPath' test/lambda/http_v2.json >"$out/tile.event"
  code=$(ccurl -X POST --data-binary @"$out/tile.event" "$POOL/invoke" | jq -r '.payload' | jq -r '.statusCode')
  [ "$code" = 200 ]
  verdict $? "Lambda: the next request (a tile) is served" "statusCode $code"

  # the function's reserved concurrency reached: parts beyond it are throttled (429),
  # back off, and are either invoked later or computed by the coordinator
  pool_stop
  if pool_start small --sandboxes 3 --concurrency 3 --timeout-ms 20000; then
    o=$out/at-limit; coordinate "$o" "/statistics/dem?$Q&parts=64" $Z/dem_hole.geojson
    thr=$(ccurl "$POOL/state" | jq '.counts.throttled')
    [ "$STATUS" = 200 ] && $SAME "$REF" "$o.json" >"$o.diff" && [ "${thr:-0}" -gt 0 ]
    verdict $? "Lambda: 64 parts on a function reserved to 3 executions: $thr invocations throttled, 200, the same answer" \
        "status $STATUS: $(head -c 300 "$o.json")"
  else
    notok "Lambda: 64 parts on a function reserved to 3 executions" "the pool did not start"
  fi

  # a part event from outside: as an HTTP body it is only a body; beside an HTTP shape refused
  jq -c '{cogtiler_part: .cogtiler_part}' test/events/part.json >"$out/part-body.json"
  o=$out/part-as-body; coordinate "$o" "/statistics/dem" "$out/part-body.json"
  [ "$STATUS" = 400 ]
  verdict $? "Lambda: a part event posted through API Gateway (POST /statistics) is a bad GeoJSON body: 400" "status $STATUS"
  o=$out/part-path; coordinate "$o" "/part" "$out/part-body.json"
  [ "$STATUS" = 404 ] || [ "$STATUS" = 405 ]
  verdict $? "Lambda: ... and there is no route for parts (404)" "status $STATUS"
  jq -c '. + {cogtiler_part: {v: 1}}' "$out/part-as-body.event" >"$out/both.event"
  ccurl -X POST --data-binary @"$out/both.event" "$POOL/invoke" >"$out/both.outcome"
  [ "$(jq -r '.functionError // empty' "$out/both.outcome")" != "" ]
  verdict $? "Lambda: an event with both a part and an HTTP shape is a function error, not served" \
      "$(head -c 300 "$out/both.outcome")"
  pool_stop

  # parts whose accumulators are too large to answer (413) are computed by the coordinator
  if COGTILER_STATS_MAX_UNIQUE=1000000 pool_start big --sandboxes 3 --concurrency 8 --timeout-ms 20000; then
    COGTILER_STATS_MAX_UNIQUE=1000000 stats "$out/big-1" dem $Z/dem_hole.geojson "coverage=center&parts=1"
    o=$out/big; coordinate "$o" "/statistics/dem?coverage=center&parts=3" $Z/dem_hole.geojson
    [ "$STATUS" = 200 ] && $SAME "$out/big-1.json" "$o.json" >"$o.diff" &&
      grep -h '"fanout"' "$out"/big.logs/*.log | grep -q '"parts":3,"computed_here":3,' &&
      ! grep -q '"approximate"' "$o.json"
    verdict $? "Lambda: parts whose exact tables exceed the 6 MB answer (413) are computed by the coordinator: 200, the same answer" \
        "status $STATUS: $(head -c 300 "$o.json") $(grep -h '"fanout"' "$out"/big.logs/*.log | tail -n 1)"
    pool_stop
  else
    notok "Lambda: parts too large to answer" "the pool did not start"
  fi

  # a part that hangs past the deadline: 504 (a pool whose function times out in 6 s)
  if pool_start hang --sandboxes 3 --concurrency 8 --timeout-ms 6000; then
    ccurl -X POST "$POOL/fault?kind=hang&match=%22part%22%3A2%2C&count=5" >/dev/null
    t0=$(date +%s%N)
    o=$out/hang; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$STATUS" = 504 ] && grep -q 'part 3 of 7' "$o.json" && [ "$ms" -lt 6000 ]
    verdict $? "Lambda: a part that hangs past the deadline: 504 naming part 3 of 7, before the function's own timeout (${ms} ms)" \
        "status $STATUS: $(head -c 300 "$o.json") $(head -c 200 "$o.outcome")"
    pool_stop
  else
    notok "Lambda: a part that hangs past the deadline: 504" "the pool did not start"
  fi

  # a function whose credentials are wrong: every invocation refused (403), 502
  if pool_start badkey --sandboxes 2 --concurrency 8 --timeout-ms 20000 --sandbox-secret-key wrongSecret0123456789; then
    o=$out/badkey; coordinate "$o" "/statistics/dem?$Q&parts=7" $Z/dem_hole.geojson
    refused=$(ccurl "$POOL/state" | jq '.counts.refused.InvalidSignatureException // 0')
    [ "$STATUS" = 502 ] && grep -q 'HTTP 403' "$o.json" && [ "${refused:-0}" -ge 2 ]
    verdict $? "Lambda: a wrong secret key: the service refuses the signature (403, $refused refused), the request answers 502" \
        "status $STATUS: $(head -c 300 "$o.json"); counts $(counts)"
    pool_stop
  else
    notok "Lambda: a wrong secret key is refused" "the pool did not start"
  fi
fi

done_testing
