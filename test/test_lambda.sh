#!/bin/bash
# The Lambda custom runtime: ./bootstrap started with no arguments, as Lambda
# starts it, against a local Runtime API (test/lambda_emulator.js, on a free
# port of 127.0.0.1), fed API Gateway REST (1.0) and HTTP API (2.0), Function
# URL and ALB events (test/lambda/*.json and variants made here with jq).
# Also `bootstrap invoke`. Needs node and jq. Prints TAP lines
# (test/lib/tap.sh), the plan at the end.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
NODE=${NODE:-node}
WAIT_S=${WAIT_S:-15}   # longest wait for one invocation
out=test/out/lambda
ev=test/lambda
mkdir -p "$out"
rm -f "$out"/*.err "$out"/*.out
. test/lib/tap.sh
. test/lib/proc.sh

emu_pid= bs_pid= bs_log= api= ctl=
trap 'kill_wait $bs_pid $emu_pid' EXIT

# cpu PID: user + system clock ticks used so far, children waited for included.
cpu() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null; }

for tool in "$NODE" jq curl base64; do
  command -v "$tool" >/dev/null || stop "$tool is installed"
done

# The reference tiles: what `bootstrap tile` writes (the encoder is
# deterministic, so equal bytes mean equal pixels).
if ! "$BOOTSTRAP" tile 2/1/1 --config data/layers.json -o "$out/ref256.png" 2>"$out/ref.err" ||
   ! "$BOOTSTRAP" tile 2/1/1 --config data/layers.json --tilesize 512 -o "$out/ref512.png" 2>>"$out/ref.err"; then
  stop "reference tiles from bootstrap tile" "$(oneline <"$out/ref.err")"
fi

# --- jq helpers --------------------------------------------------------------
# hdr(name): a response header, name compared case-insensitively.
# with_path(p): the event for path p, in its own shape (a named HTTP API stage
# is part of rawPath; a REST API's path has no stage).
JQ_LIB='
def hdr($n): (.headers // {}) | to_entries | map(select(.key | ascii_downcase == $n)) | .[0].value;
def with_path($p):
  if .version == "2.0" then
    .rawPath = (if (.requestContext.stage // "$default") == "$default" then $p
                else "/" + .requestContext.stage + $p end)
    | .requestContext.http.path = .rawPath
  elif .requestContext.elb then .path = $p
  else .path = $p | .requestContext.path = "/" + .requestContext.stage + $p
    | .pathParameters.proxy = ($p | ltrimstr("/tiles/"))
  end;
def set_header($k; $v):
  if has("multiValueHeaders") then .multiValueHeaders[$k] = [$v] else . end
  | if has("headers") and .headers != null then .headers[$k] = $v else . end;
'
# derive SRC NAME FILTER [jq args...]: writes $out/NAME.json, a variant of test/lambda/SRC.json.
derive() {
  local src=$1 name=$2 filter=$3; shift 3
  jq "$@" "$JQ_LIB $filter" "$ev/$src.json" >"$out/$name.json"
}

# --- bootstrap invoke (no Runtime API) -------------------------------------
invoke_cli() { # WHAT ARGS... (stdin may be redirected by the caller)
  local what=$1; shift
  env -u AWS_LAMBDA_RUNTIME_API -u COGTILER_CORS_ORIGIN -u COGTILER_CACHE_CONTROL \
    COGTILER_CONFIG=data/layers.json "$BOOTSTRAP" invoke "$@" >"$out/invoke.out" 2>"$out/invoke.err"
  local rc=$? got
  got=$(jq -r '"\(.statusCode) \(.isBase64Encoded)"' "$out/invoke.out" 2>/dev/null)
  jq -r '.body // empty' "$out/invoke.out" 2>/dev/null | base64 -d >"$out/invoke.png" 2>/dev/null
  if [ $rc = 0 ] && [ "$got" = "200 true" ] && cmp -s "$out/invoke.png" "$out/ref256.png"; then
    ok "$what prints a 200 payload with the tile"
  else
    notok "$what prints a 200 payload with the tile (exit $rc, got '$got': $(oneline 200 <"$out/invoke.out") $(oneline 200 <"$out/invoke.err"))"
  fi
}
invoke_cli "bootstrap invoke FILE (HTTP API event)" "$ev/http_v2.json"
invoke_cli "bootstrap invoke on stdin (REST API event)" <"$ev/rest_v1.json"
invoke_cli "bootstrap invoke - (ALB event)" - <"$ev/alb.json"

# Other formats through an event: WebP and GeoTIFF bodies are base64 with their
# Content-Type, the bytes bootstrap tile writes.
for ext in webp jpg tif; do
  derive http_v2 "fmt_$ext" '.rawPath = $p | .requestContext.http.path = $p' --arg p "/tiles/bluemarble/2/1/1.$ext"
  "$BOOTSTRAP" tile 2/1/1 --config data/layers.json -o "$out/ref.$ext" 2>/dev/null
  env -u AWS_LAMBDA_RUNTIME_API COGTILER_CONFIG=data/layers.json "$BOOTSTRAP" invoke "$out/fmt_$ext.json" \
    >"$out/fmt.out" 2>/dev/null
  got=$(jq -r '"\(.statusCode) \(.isBase64Encoded) \(.headers["Content-Type"] // .headers["content-type"])"' "$out/fmt.out" 2>/dev/null)
  jq -r '.body // empty' "$out/fmt.out" 2>/dev/null | base64 -d >"$out/fmt.bin" 2>/dev/null
  want="200 true $(case $ext in webp) echo image/webp ;; jpg) echo image/jpeg ;; tif) echo image/tiff ;; esac)"
  [ "$got" = "$want" ] && cmp -s "$out/fmt.bin" "$out/ref.$ext"
  verdict $? "a .$ext tile through an HTTP API event: $want, the bytes bootstrap tile writes" "$got"
done

# The viewer through API Gateway under a named stage: /prod/map/LAYER is the
# page, its links relative so they stay under /prod.
derive http_v2_stage page '.rawQueryString = "" | .queryStringParameters = null | with_path("/map/bluemarble")'
env -u AWS_LAMBDA_RUNTIME_API COGTILER_CONFIG=data/layers.json "$BOOTSTRAP" invoke "$out/page.json" \
  >"$out/page.out" 2>"$out/page.err"
page=$(jq -r 'if .isBase64Encoded then (.body | @base64d) else .body end' "$out/page.out" 2>/dev/null)
if [ "$(jq -r '"\(.statusCode) \(.headers["Content-Type"] // .headers["content-type"])"' "$out/page.out")" = \
     "200 text/html; charset=utf-8" ] && [[ $page == *'data-root="../"'* ]] &&
   [[ $page == *'data-layer="bluemarble"'* ]] && [[ $page == *'src="../static/leaflet.js"'* ]]; then
  ok "viewer page /prod/map/bluemarble through the HTTP API event"
else
  notok "viewer page /prod/map/bluemarble through the HTTP API event ($(oneline 300 <"$out/page.out"))"
fi

# --- emulator and runtime ----------------------------------------------------
start_emulator() { # TAG: sets emu_pid, api, ctl
  "$NODE" test/lambda_emulator.js --timeout-ms 30000 --idle-s 120 \
    >"$out/$1.emu.out" 2>"$out/$1.emu.err" </dev/null &
  emu_pid=$!
  local port
  port=$(port_line "$out/$1.emu.out" "$emu_pid")
  api=127.0.0.1:$port ctl=http://127.0.0.1:$port/test
  [ -n "$port" ]
}

# The environment Lambda gives a provided.al2023 function (test/lib/lambda_env.sh),
# and nothing of ours that would change the answers.
. test/lib/lambda_env.sh
start_bootstrap() { # LOG [COGTILER_CONFIG]: sets bs_pid
  bs_log=$1
  echo "=== bootstrap started $(date -u +%FT%TZ)" >>"$bs_log"
  lambda_vars "$api" "$PWD"
  env -u COGTILER_CORS_ORIGIN -u COGTILER_CACHE_CONTROL "${LAMBDA_VARS[@]}" \
    COGTILER_CONFIG="${2:-data/layers.json}" \
    "$BOOTSTRAP" </dev/null >>"$out/bootstrap.out" 2>>"$bs_log" &
  bs_pid=$!
}

# wait_next: true once the runtime is blocked on GET /next (10 s at most).
wait_next() {
  for _ in $(seq 100); do
    [ "$(ccurl "$ctl/state" | jq -r .waitingNext 2>/dev/null)" -ge 1 ] 2>/dev/null && return 0
    exited $bs_pid && return 1
    sleep 0.1
  done
  return 1
}

# A runtime that died or hung is reported and replaced, so that later cases
# still say something.
restart_bootstrap() {
  kill_wait $bs_pid
  start_bootstrap "$out/main.bs.err"
  wait_next
}
ensure_bootstrap() {
  exited $bs_pid || return 0
  wait $bs_pid; local rc=$?
  notok "bootstrap still running after the previous case (it exited with $rc: $(tail -n 3 "$bs_log" | oneline))"
  restart_bootstrap
}

# invoke FILE [EMULATOR-QUERY]: FILE becomes the next event; waits for the
# runtime's answer. $out/outcome.json: the emulator's record of it;
# $out/payload.json: the payload the runtime posted. False when nothing came.
seq_id=0 silent=0
invoke() {
  rm -f "$out/outcome.json" "$out/payload.json"
  if [ $silent -ge 3 ]; then echo '{"kind":"skipped: 3 events in a row got no answer"}' >"$out/outcome.json"; return 1; fi
  ensure_bootstrap
  seq_id=$((seq_id + 1))
  local id=case$seq_id kind=pending
  ccurl --max-time 10 -o /dev/null -X POST --data-binary "@$1" "$ctl/event?id=$id${2:+&$2}"
  for _ in $(seq "$WAIT_S"); do
    ccurl --max-time 5 -o "$out/outcome.json" "$ctl/outcome/$id?wait_s=1"
    kind=$(jq -r .kind "$out/outcome.json" 2>/dev/null)
    [ "$kind" != pending ] && break
    exited $bs_pid && break
  done
  jq -r '.payload // empty' "$out/outcome.json" >"$out/payload.json" 2>/dev/null
  if [ "$kind" != pending ]; then silent=0; return 0; fi
  silent=$((silent + 1))
  if ! exited $bs_pid; then
    note "no answer to $id within $WAIT_S s: restarting bootstrap"
    restart_bootstrap
  fi
  return 1
}

# what_came: a short description of the outcome, for failure messages.
what_came() {
  jq -r '
    if .kind == "response" then "payload: \(.payload[0:240])"
    elif .kind == "error" then "error \(.errorType // "-"): \(.errorBody[0:200])"
    else "kind \(.kind // "none")" end' "$out/outcome.json" 2>/dev/null || echo "no outcome"
}

# payload_problems JQ-EXPR: runs a jq expression that yields a list of problem
# strings over the payload; prints them joined ("" when all is well).
payload_problems() {
  if [ "$(jq -r .kind "$out/outcome.json" 2>/dev/null)" != response ]; then
    echo "no response: $(what_came)"; return
  fi
  jq -j "$JQ_LIB [ $1 ] | join(\"; \")" "$out/payload.json" 2>&1 | oneline 400
}
P_IS='def want($what; $cond; $got): if $cond then empty else "\($what) \($got | tojson)" end;'

# expect_tile WHAT FILE REF SHAPE [QUERY]: FILE's answer is a 200 PNG equal to
# REF. SHAPE: v2 (no multiValueHeaders), rest, alb (statusDescription); with
# multiValueHeaders iff the request had them.
expect_tile() {
  local what=$1 file=$2 ref=$3 shape=$4 query=${5:-} p mvh
  if ! invoke "$file" "$query"; then
    notok "$what -> 200 tile: no answer ($(what_came))"; return
  fi
  p=$(payload_problems "$P_IS
    want(\"statusCode\"; .statusCode == 200; .statusCode),
    want(\"Content-Type\"; hdr(\"content-type\") == \"image/png\"; hdr(\"content-type\")),
    want(\"Cache-Control\"; hdr(\"cache-control\") == \"public, max-age=86400\"; hdr(\"cache-control\")),
    want(\"ETag\"; (hdr(\"etag\") // \"\") | test(\"^(W/)?\\\".+\\\"\$\"); hdr(\"etag\")),
    want(\"Access-Control-Allow-Origin\"; hdr(\"access-control-allow-origin\") == \"*\"; hdr(\"access-control-allow-origin\")),
    want(\"isBase64Encoded\"; .isBase64Encoded == true; .isBase64Encoded)")
  if [ "$(jq -r .late "$out/outcome.json")" = true ]; then p="${p:+$p; }answered after the deadline"; fi
  if [ -z "$p" ]; then ok "$what -> 200 image/png, Cache-Control, ETag, CORS *, base64"
  else notok "$what -> 200 image/png, Cache-Control, ETag, CORS *, base64 ($p)"; fi

  jq -r '.body // empty' "$out/payload.json" 2>/dev/null | base64 -d >"$out/got.png" 2>/dev/null
  if [ -s "$out/got.png" ] && cmp -s "$out/got.png" "$ref"; then
    ok "$what: body is the tile bootstrap tile writes ($(basename "$ref"))"
  else
    notok "$what: body is the tile bootstrap tile writes ($(basename "$ref"); got $(stat -c %s "$out/got.png" 2>/dev/null) bytes, want $(stat -c %s "$ref"))"
  fi

  mvh=$(jq -r 'has("multiValueHeaders")' "$file")
  case $shape in
    v2) p=$(payload_problems "$P_IS
          want(\"multiValueHeaders (not in payload 2.0)\"; has(\"multiValueHeaders\") | not; .multiValueHeaders),
          want(\"statusDescription (ALB only)\"; has(\"statusDescription\") | not; .statusDescription)") ;;
    rest) p=$(payload_problems "$P_IS
          want(\"multiValueHeaders present iff the request had them ($mvh)\"; has(\"multiValueHeaders\") == $mvh; .multiValueHeaders),
          want(\"statusDescription (ALB only)\"; has(\"statusDescription\") | not; .statusDescription)") ;;
    alb) p=$(payload_problems "$P_IS
          want(\"statusDescription\"; .statusDescription == \"200 OK\"; .statusDescription),
          want(\"multiValueHeaders present iff the request had them ($mvh)\"; has(\"multiValueHeaders\") == $mvh; .multiValueHeaders),
          want(\"multiValueHeaders Content-Type\"; ($mvh | not) or ((.multiValueHeaders // {}) | to_entries | map(select(.key | ascii_downcase == \"content-type\")) | .[0].value == [\"image/png\"]); .multiValueHeaders)") ;;
  esac
  if [ "$shape" = rest ] && [ "$mvh" = true ]; then
    p="$p$(payload_problems "$P_IS
          want(\"; multiValueHeaders ETag\"; ((.multiValueHeaders // {}) | to_entries | map(select(.key | ascii_downcase == \"etag\")) | .[0].value) == [hdr(\"etag\")]; .multiValueHeaders)")"
  fi
  if [ -z "$p" ]; then ok "$what: $shape response shape"; else notok "$what: $shape response shape ($p)"; fi
  jq -r "$JQ_LIB hdr(\"etag\") // empty" "$out/payload.json" >"$out/etag" 2>/dev/null
}

# expect_status WHAT FILE CODE [QUERY]: FILE's answer is a CODE with a JSON body.
expect_status() {
  local what=$1 file=$2 code=$3 query=${4:-} cache p
  case $code in 4*) cache="public, max-age=60" ;; 5*) cache="no-store" ;; esac
  if ! invoke "$file" "$query"; then
    notok "$what -> $code: no answer ($(what_came))"; return
  fi
  p=$(payload_problems "$P_IS
    want(\"statusCode\"; .statusCode == $code; .statusCode),
    want(\"Content-Type\"; (hdr(\"content-type\") // \"\") | startswith(\"application/json\"); hdr(\"content-type\")),
    want(\"Cache-Control\"; hdr(\"cache-control\") == \"$cache\"; hdr(\"cache-control\")),
    want(\"Access-Control-Allow-Origin\"; hdr(\"access-control-allow-origin\") == \"*\"; hdr(\"access-control-allow-origin\")),
    want(\"isBase64Encoded\"; .isBase64Encoded == false; .isBase64Encoded),
    want(\"body (JSON with detail)\"; (.body | fromjson? | type == \"object\" and has(\"detail\")) == true; .body)")
  if [ -z "$p" ]; then ok "$what -> $code JSON error"; else notok "$what -> $code JSON error ($p)"; fi
}

# expect_error WHAT FILE: the runtime reports FILE to /invocation/{id}/error.
expect_error() {
  local what=$1 file=$2 kind et
  invoke "$file"
  kind=$(jq -r .kind "$out/outcome.json" 2>/dev/null)
  et=$(jq -r '.errorType // .error.errorType // empty' "$out/outcome.json" 2>/dev/null)
  if [ "$kind" = error ] && [ -n "$et" ] &&
     [ "$(jq -r '.error.errorMessage | type' "$out/outcome.json")" = string ]; then
    ok "$what -> /error ($et: $(jq -r .error.errorMessage "$out/outcome.json" | oneline 80))"
  else
    notok "$what -> /error with errorType and errorMessage ($(what_came))"
  fi
}

if ! start_emulator main; then
  stop "Runtime API emulator started" "$(oneline <"$out/main.emu.err")"
fi
ok "Runtime API emulator on $api"
start_bootstrap "$out/main.bs.err"
if wait_next; then ok "bootstrap (no arguments) starts and waits on GET /next"
else notok "bootstrap (no arguments) starts and waits on GET /next ($(tail -n 5 "$out/main.bs.err" | oneline))"; fi

# --- the four kinds of events ----------------------------------------------
expect_tile "API Gateway REST (1.0), stage prod" "$ev/rest_v1.json" "$out/ref256.png" rest
cp "$out/etag" "$out/etag.rest"
expect_tile "HTTP API (2.0) \$default stage" "$ev/http_v2.json" "$out/ref256.png" v2
cp "$out/etag" "$out/etag.v2"
expect_tile "HTTP API (2.0) stage prod (rawPath /prod/tiles/...)" "$ev/http_v2_stage.json" "$out/ref256.png" v2
expect_tile "Function URL" "$ev/function_url.json" "$out/ref256.png" v2
expect_tile "ALB" "$ev/alb.json" "$out/ref256.png" alb
expect_tile "ALB with multiValueHeaders" "$ev/alb_multi.json" "$out/ref256.png" alb

# Query strings: ?tilesize=512&tilesize=256 in each event's own form; the
# first value wins, as in `bootstrap serve`. ALB does not decode values.
derive rest_v1 q_rest '.multiValueQueryStringParameters.tilesize = ["512", "256"] | .queryStringParameters.tilesize = "256"'
expect_tile "REST multi-value query (tilesize 512, 256)" "$out/q_rest.json" "$out/ref512.png" rest
derive http_v2 q_v2 '.rawQueryString = "v=1&v=2&tilesize=512&tilesize=256" | .queryStringParameters.tilesize = "512,256"'
expect_tile "HTTP API multi-value query (rawQueryString)" "$out/q_v2.json" "$out/ref512.png" v2
derive function_url q_url '.rawQueryString = "tilesize=%35%31%32&tilesize=256" | .queryStringParameters = {"tilesize": "512,256"}'
expect_tile "Function URL percent-encoded multi-value query" "$out/q_url.json" "$out/ref512.png" v2
derive alb q_alb '.queryStringParameters.tilesize = "%35%31%32"'
expect_tile "ALB query value still percent-encoded (%35%31%32)" "$out/q_alb.json" "$out/ref512.png" alb
derive alb_multi q_albm '.multiValueQueryStringParameters.tilesize = ["%35%31%32", "256"]'
expect_tile "ALB multi-value query, encoded" "$out/q_albm.json" "$out/ref512.png" alb
derive alb q_2x '.path = "/tiles/bluemarble/2/1/1@2x.png" | .queryStringParameters = {}'
expect_tile "ALB @2x tile" "$out/q_2x.json" "$out/ref512.png" alb

# --- If-None-Match with the ETag of an earlier answer, header names in any case
etag=$(cat "$out/etag.v2" 2>/dev/null)
[ -n "$etag" ] || etag='"no-etag-received"'
expect_304() { # WHAT SRC HEADER-NAME [alb]
  derive "$2" inm '.headers = (.headers // {}) | set_header($k; $v)' --arg k "$3" --arg v "$etag"
  [ "$2" = alb_multi ] && derive "$2" inm '.multiValueHeaders[$k] = [$v]' --arg k "$3" --arg v "$etag"
  if ! invoke "$out/inm.json"; then notok "$1 -> 304: no answer ($(what_came))"; return; fi
  local p
  p=$(payload_problems "$P_IS
    want(\"statusCode\"; .statusCode == 304; .statusCode),
    want(\"empty body\"; (.body // \"\") == \"\"; .body),
    want(\"statusDescription\"; (\"${4:-}\" != \"alb\") or .statusDescription == \"304 Not Modified\"; .statusDescription)")
  if [ -z "$p" ]; then ok "$1 -> 304, empty body"; else notok "$1 -> 304, empty body ($p)"; fi
}
expect_304 "REST If-None-Match" rest_v1 If-None-Match
expect_304 "HTTP API if-none-match" http_v2 if-none-match
expect_304 "HTTP API stage prod If-None-Match" http_v2_stage If-None-Match
expect_304 "Function URL if-none-match" function_url if-none-match
expect_304 "ALB IF-NONE-MATCH" alb IF-NONE-MATCH alb
expect_304 "ALB multiValueHeaders if-none-match" alb_multi if-none-match alb
if [ "$(cat "$out/etag.rest" 2>/dev/null)" = "$etag" ]; then ok "same ETag for the same tile from REST and HTTP API"
else notok "same ETag for the same tile from REST and HTTP API ($(cat "$out/etag.rest" 2>/dev/null) vs $etag)"; fi
derive http_v2 inm_other '.headers["if-none-match"] = "\"0000000000000000\""'
expect_tile "HTTP API If-None-Match with another ETag" "$out/inm_other.json" "$out/ref256.png" v2

# --- errors that are HTTP answers --------------------------------------------
derive http_v2 bad_zxy 'with_path("/tiles/bluemarble/2/9/1.png")'
expect_status "HTTP API z/x/y out of range" "$out/bad_zxy.json" 400
derive rest_v1 bad_zxy2 'with_path("/tiles/bluemarble/a/b/c.png")'
expect_status "REST garbage z/x/y" "$out/bad_zxy2.json" 400
derive alb bad_layer 'with_path("/tiles/nope/2/1/1.png")'
expect_status "ALB unknown layer" "$out/bad_layer.json" 404
derive function_url bad_route 'with_path("/no/such/route")'
expect_status "Function URL unknown route" "$out/bad_route.json" 404
derive http_v2 bad_cmap '.rawQueryString = "colormap_name=nope" | .queryStringParameters = {"colormap_name": "nope"}'
expect_status "HTTP API unknown colormap" "$out/bad_cmap.json" 400
derive http_v2 post '.requestContext.http.method = "POST" | .body = "x"'
expect_status "HTTP API POST" "$out/post.json" 405

# --- events that are not usable HTTP events ------------------------------------
printf '{"version": "2.0", "rawPath": "/tiles/bl' >"$out/notjson.json"
expect_error "truncated JSON" "$out/notjson.json"
expect_tile "next event after the bad one" "$ev/http_v2.json" "$out/ref256.png" v2
printf '{"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "a.tif"}}}]}' >"$out/s3.json"
expect_error "S3 event (unknown shape)" "$out/s3.json"
printf '[1, 2, 3]' >"$out/array.json"
expect_error "JSON array" "$out/array.json"
expect_tile "next event after the unknown shapes" "$ev/alb.json" "$out/ref256.png" alb

derive http_v2 nopath 'del(.rawPath) | del(.requestContext.http.path)'
expect_status "HTTP API without rawPath" "$out/nopath.json" 400
derive alb nopath_alb 'del(.path)'
expect_status "ALB without path" "$out/nopath_alb.json" 400
long=$(printf 'a%.0s' $(seq 10000))
derive http_v2 longpath 'with_path("/tiles/" + $l + ".png")' --arg l "$long"
expect_status "HTTP API 10000-character path" "$out/longpath.json" 400
derive rest_v1 longpath_rest 'with_path("/tiles/bluemarble/" + $l + "/1/1.png")' --arg l "$long"
expect_status "REST 10000-character path" "$out/longpath_rest.json" 400
derive http_v2 longq '.rawQueryString = "v=" + $l | .queryStringParameters = {"v": $l}' --arg l "$long"
expect_status "HTTP API 10000-character query" "$out/longq.json" 400
derive alb longq_alb '.queryStringParameters = {"v": $l}' --arg l "$long"
expect_status "ALB 10000-character query value" "$out/longq_alb.json" 400
derive rest_v1 manyq '.multiValueQueryStringParameters = ([range(200)] | map({key: "p\(.)", value: ["1"]}) | from_entries)
  | .queryStringParameters = (.multiValueQueryStringParameters | map_values(.[0]))'
expect_status "REST 200 query parameters" "$out/manyq.json" 400
derive http_v2 badpct 'with_path("/tiles/blue%zzmarble/2/1/1.png")'
expect_status "HTTP API bad percent-encoding in the path (%zz)" "$out/badpct.json" 400
derive http_v2 badpct2 'with_path("/tiles/bluemarble/2/1/1.png%")'
expect_status "HTTP API truncated percent-encoding at the end of the path" "$out/badpct2.json" 400
derive alb badpct_q '.queryStringParameters = {"tilesize": "%G1"}'
expect_status "ALB bad percent-encoding in a query value (%G1)" "$out/badpct_q.json" 400
derive http_v2 badpct_q2 '.rawQueryString = "v=%E0%A4%A" | .queryStringParameters = {"v": "%E0%A4%A"}'
expect_status "HTTP API truncated percent-encoding in the query" "$out/badpct_q2.json" 400
bin=$(head -c 3000 /dev/urandom | base64 -w0)
derive http_v2 binbody '.isBase64Encoded = true | .body = $b' --arg b "$bin"
expect_tile "HTTP API GET with a binary body (ignored)" "$out/binbody.json" "$out/ref256.png" v2
derive rest_v1 binbody_rest '.isBase64Encoded = true | .body = $b' --arg b "$bin"
expect_tile "REST GET with a binary body (ignored)" "$out/binbody_rest.json" "$out/ref256.png" rest
derive alb binbody_alb '.isBase64Encoded = true | .body = "!!! not base64 !!!"'
expect_tile "ALB GET with a broken base64 body (ignored)" "$out/binbody_alb.json" "$out/ref256.png" alb

# --- deadline --------------------------------------------------------------------
expect_status "deadline already past (Lambda-Runtime-Deadline-Ms = now - 1)" "$ev/http_v2.json" 504 \
  "deadline_ms=$(($(date +%s%3N) - 1))"
expect_tile "next event after the missed deadline" "$ev/function_url.json" "$out/ref256.png" v2

# --- the whole run ---------------------------------------------------------------
state=$(ccurl "$ctl/state")
served=$(jq -r .counts.served <<<"$state")
errs=$(jq -c '[.protocolErrors[] | "\(.status) \(.errorType) \(.path)"]' <<<"$state")
if [ "$errs" = "[]" ]; then ok "no Runtime API protocol errors in $served invocations"
else notok "no Runtime API protocol errors in $served invocations: $(oneline 400 <<<"$errs")"; fi
jsonl=$(grep -v '^=== bootstrap started' "$out/main.bs.err" | jq -R 'fromjson? | objects' 2>/dev/null | jq -s length)
if [ "$jsonl" = "$served" ]; then ok "one JSON log line per invocation on stderr ($jsonl)"
else notok "one JSON log line per invocation on stderr ($jsonl JSON lines for $served invocations)"; fi
# Every invocation also reached /response or /error once: nothing was abandoned.
if [ "$(jq -r '.outcomes.abandoned // 0' <<<"$state")" = 0 ]; then ok "every invocation answered exactly once"
else notok "every invocation answered exactly once ($(jq -c .outcomes <<<"$state"))"; fi

# A response over the limit (made small here) is refused with 413; the runtime
# carries on with the next event.
ccurl -o /dev/null -X POST "$ctl/config?max_response=50000"
invoke "$ev/http_v2.json"
ccurl -o /dev/null -X POST "$ctl/config?max_response=6291456"
if [ "$(jq -r '"\(.kind) \(.apiStatus)"' "$out/outcome.json" 2>/dev/null)" = "error 413" ]; then
  ok "a response over the payload limit gets 413 from the Runtime API"
else notok "a response over the payload limit gets 413 from the Runtime API ($(what_came))"; fi
expect_tile "next event after the 413" "$ev/http_v2.json" "$out/ref256.png" v2

# --- zonal statistics: a POST event with a GeoJSON body --------------------------------
# The answer must be what `bootstrap stats` prints for the same zone and layer,
# with the body as JSON text (HTTP API) and base64-encoded (ALB).
zone='{"type":"Feature","properties":{"name":"z"},"geometry":{"type":"Polygon","coordinates":[[[10,40],[20,40],[20,48],[10,48],[10,40]]]}}'
printf '%s' "$zone" >"$out/zone.geojson"
if "$BOOTSTRAP" stats --layer bluemarble --geojson "$out/zone.geojson" --config data/layers.json \
     >"$out/stats-cli.json" 2>"$out/stats-cli.err"; then
  derive http_v2 stats_v2 '.requestContext.http.method = "POST" | .rawPath = "/statistics/bluemarble"
    | .requestContext.http.path = .rawPath | .rawQueryString = "" | .queryStringParameters = {}
    | .headers["content-type"] = "application/geo+json" | .body = $b | .isBase64Encoded = false' --arg b "$zone"
  derive alb stats_alb '.httpMethod = "POST" | .path = "/statistics/bluemarble" | .queryStringParameters = {}
    | .headers["content-type"] = "application/json" | .body = $b | .isBase64Encoded = true' \
    --arg b "$(printf '%s' "$zone" | base64 -w0)"
  for shape in v2 alb; do
    invoke "$out/stats_$shape.json"
    jq -r '.body // empty' "$out/payload.json" 2>/dev/null >"$out/stats-$shape.json"
    if [ "$(jq -r .statusCode "$out/payload.json" 2>/dev/null)" = 200 ] &&
       jq -e '.properties.statistics.b1.count > 0' "$out/stats-$shape.json" >/dev/null 2>&1 &&
       [ "$(jq -S . "$out/stats-$shape.json")" = "$(jq -S . "$out/stats-cli.json")" ]; then
      ok "POST /statistics/bluemarble ($shape event): 200, the answer of bootstrap stats"
    else
      notok "POST /statistics/bluemarble ($shape event): 200, the answer of bootstrap stats ($(what_came))"
    fi
  done
  derive http_v2 stats_text '.requestContext.http.method = "POST" | .rawPath = "/statistics/bluemarble"
    | .requestContext.http.path = .rawPath | .rawQueryString = "" | .queryStringParameters = {}
    | .headers["content-type"] = "text/plain" | .body = $b | .isBase64Encoded = false' --arg b "$zone"
  expect_status "POST /statistics with Content-Type text/plain" "$out/stats_text.json" 415
  derive http_v2 stats_bad '.requestContext.http.method = "POST" | .rawPath = "/statistics/bluemarble"
    | .requestContext.http.path = .rawPath | .rawQueryString = "" | .queryStringParameters = {}
    | .headers["content-type"] = "application/json" | .body = "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}"
    | .isBase64Encoded = false'
  expect_status "POST /statistics with a ring of three positions" "$out/stats_bad.json" 400
else
  notok "bootstrap stats for the reference answer ($(oneline 200 <"$out/stats-cli.err"))"
fi

# --- memory across invocations --------------------------------------------------------
# 3,000 cheap invocations (405s), each with a trace id of its own: the runtime's
# resident memory must not grow with them. glibc's setenv() keeps every value it
# is given, and _X_AMZN_TRACE_ID set that way grew by about 200 bytes an
# invocation (600 KB here); bench/soak.sh measures the long run. A fresh process:
# memory freed by the tiles above would hide the growth. Skipped under
# AddressSanitizer, whose quarantine holds freed memory on purpose.
derive http_v2 post405 '.requestContext.http.method = "POST"'
echo "405 $out/post405.json" >"$out/post405.txt"
restart_bootstrap
if grep -q libasan "/proc/$bs_pid/maps" 2>/dev/null; then
  skip "resident memory flat over 3,000 invocations" "AddressSanitizer build"
else
  "$NODE" bench/soak_lambda.js "${api##*:}" 300 "$out/post405.txt" >/dev/null 2>"$out/mem.err"
  rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$bs_pid/status" 2>/dev/null)
  "$NODE" bench/soak_lambda.js "${api##*:}" 3000 "$out/post405.txt" >"$out/mem.json" 2>>"$out/mem.err"
  rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$bs_pid/status" 2>/dev/null)
  wrong=$(jq -r .wrong "$out/mem.json" 2>/dev/null)
  if [ "$wrong" = 0 ] && [ -n "$rss0" ] && [ -n "$rss1" ] && [ $((rss1 - rss0)) -lt 256 ]; then
    ok "resident memory flat over 3,000 invocations (${rss0} -> ${rss1} KB)"
  else
    notok "resident memory flat over 3,000 invocations, under 256 KB of growth (${rss0:-?} -> ${rss1:-?} KB, wrong answers ${wrong:-?}: $(oneline 200 <"$out/mem.err"))"
  fi
fi

# --- the Runtime API goes away -------------------------------------------------------
if exited $bs_pid; then
  notok "bootstrap running before the Runtime API goes away"
  restart_bootstrap
fi
wait_next
size=$(stat -c %s "$out/main.bs.err")
t0=$(cpu $bs_pid); t1=$t0
ccurl --max-time 5 -o /dev/null -X POST "$ctl/shutdown"
for _ in $(seq 50); do exited $emu_pid && break; sleep 0.1; done
wait $emu_pid 2>/dev/null
emu_pid=
start=$(date +%s%N)
while ! exited $bs_pid && [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ]; do
  t=$(cpu $bs_pid); [ -n "$t" ] && t1=$t
  sleep 0.1
done
t=$(cpu $bs_pid); [ -n "$t" ] && t1=$t
ms=$(( ($(date +%s%N) - start) / 1000000 ))
msg=$(tail -c +$((size + 1)) "$out/main.bs.err" | oneline 200)
if exited $bs_pid; then
  wait $bs_pid; rc=$?
  ok "bootstrap exits when the Runtime API goes away (${ms} ms)"
  if [ $rc != 0 ]; then ok "... with a non-zero status ($rc)"; else notok "... with a non-zero status (0)"; fi
else
  notok "bootstrap exits within 10 s when the Runtime API goes away (still running)"
  notok "... with a non-zero status (still running)"
fi
if [ -n "$msg" ]; then ok "... and says why on stderr: $msg"; else notok "... and says why on stderr (nothing)"; fi
hz=$(getconf CLK_TCK)
if [ -n "$t0" ] && [ $((t1 - t0)) -le $((hz / 2)) ]; then ok "... without spinning ($((t1 - t0)) CPU ticks of 1/$hz s)"
else notok "... without spinning (${t0:-?} -> $t1 CPU ticks of 1/$hz s)"; fi
kill_wait $bs_pid
bs_pid=

# --- start-up failure ------------------------------------------------------------------
if ! start_emulator init; then stop "second emulator started"; fi
start_bootstrap "$out/init.bs.err" /nonexistent.json
start=$(date +%s%N)
while ! exited $bs_pid && [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ]; do sleep 0.1; done
if exited $bs_pid; then
  wait $bs_pid; rc=$?
  if [ $rc != 0 ]; then ok "COGTILER_CONFIG=/nonexistent.json: bootstrap exits with status $rc"
  else notok "COGTILER_CONFIG=/nonexistent.json: bootstrap exits non-zero (0)"; fi
else
  notok "COGTILER_CONFIG=/nonexistent.json: bootstrap exits within 10 s (still running)"
fi
bs_pid=
ccurl --max-time 5 -o "$out/initerr.json" "$ctl/init-errors?wait_s=1"
if [ "$(jq -r '.[0].error | (.errorMessage | type) + " " + (.errorType | type)' "$out/initerr.json" 2>/dev/null)" = "string string" ]; then
  ok "... after posting /runtime/init/error with errorMessage and errorType ($(jq -r '.[0].error.errorType' "$out/initerr.json"))"
else
  notok "... after posting /runtime/init/error with errorMessage and errorType (got: $(oneline 300 <"$out/initerr.json"); stderr: $(oneline 200 <"$out/init.bs.err"))"
fi
if jq -e '.[0].error.errorMessage | test("nonexistent")' "$out/initerr.json" >/dev/null 2>&1; then
  ok "... naming the missing file"
else notok "... naming the missing file"; fi
note "init error header Lambda-Runtime-Function-Error-Type: $(jq -r '.[0].errorType // "(none)"' "$out/initerr.json" 2>/dev/null)"
nexts=$(ccurl "$ctl/state" | jq -r .counts.next)
if [ "$nexts" = 0 ]; then ok "... and asks for no event after it"
else notok "... and asks for no event after it ($nexts GET /next)"; fi
ccurl --max-time 5 -o /dev/null -X POST "$ctl/shutdown"
wait $emu_pid 2>/dev/null
emu_pid=
trap - EXIT
done_testing
