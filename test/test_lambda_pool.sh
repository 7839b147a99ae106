#!/bin/bash
# The Lambda pool (test/lambda_pool.js) alone: the test double of the Lambda
# service that the fan-out invokes through AWS_ENDPOINT_URL_LAMBDA. Real
# ./bootstrap sandboxes (COGTILER_CONFIG=data/layers.json) answer the events of
# test/lambda/; curl --aws-sigv4 is the independent SigV4 signer, plus a few lines
# of node written here from the AWS rules (not aws4) for what curl 7.x signs
# differently (a percent-encoded path) or cannot (a chosen X-Amz-Date). Checks
# the SigV4 refusals, 404/413/429, the crash/hang/throttle/error faults, the
# restarts, /test/cpu and that no bootstrap outlives the pool. Needs node, the
# npm package aws4 (test/lambda/node_modules), curl and jq. Prints TAP lines
# (test/lib/tap.sh), the plan at the end.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
NODE=${NODE:-node}
out=test/out/lambda_pool
ev=test/lambda
mkdir -p "$out"
rm -rf "${out:?}"/*
. test/lib/tap.sh
. test/lib/proc.sh

# The pool's default test credentials (see the top of test/lambda_pool.js).
AKID=AKIDTESTPOOL
SECRET='testPoolSecret/0123456789+abcdefghijklmnopqrs'
TOKEN='IQoJb3JpZ2luX2VjETESTPOOL//////////wEaCXVzLWVhc3QtMSJHMEUCIQDtestpool+token='
REGION=us-east-1

pool_pid='' port='' ctl='' fn=''
trap 'kill_wait $pool_pid' EXIT

for tool in "$NODE" jq curl; do
  command -v "$tool" >/dev/null || stop "$tool is installed"
done
[ -f test/lambda/node_modules/aws4/aws4.js ] ||
  stop "aws4 is installed" "run: cd test/lambda && npm ci --no-audit --no-fund"
[ -x "$BOOTSTRAP" ] || stop "$BOOTSTRAP is built"

# start_pool TAG ARGS...: sets pool_pid, port, ctl, fn.
start_pool() {
  local tag=$1; shift
  : >"$out/$tag.out"
  env -u COGTILER_CORS_ORIGIN -u COGTILER_CACHE_CONTROL COGTILER_CONFIG=data/layers.json \
    "$NODE" test/lambda_pool.js --bootstrap "$BOOTSTRAP" --log-dir "$out/$tag.logs" "$@" \
    >"$out/$tag.out" 2>"$out/$tag.err" </dev/null &
  pool_pid=$!
  port=$(port_line "$out/$tag.out" "$pool_pid")
  ctl=http://127.0.0.1:$port/test fn=http://127.0.0.1:$port/2015-03-31/functions
  [ -n "$port" ]
}
# ready: true once every sandbox waits on GET /next (10 s at most).
ready() { ccurl -f "$ctl/ready?wait_s=10" >/dev/null; }
state() { ccurl "$ctl/state"; }
# pids_ever: every bootstrap pid the pool has started.
pids_ever() { state | jq -r '.sandboxes[].pids[]' 2>/dev/null; }
# none_alive PID...: true when none of them runs any more (waits up to 3 s).
none_alive() {
  local p left
  for _ in $(seq 30); do
    left=
    for p in "$@"; do exited "$p" || left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "$left"
  return 1
}

# sinvoke PATH_AND_QUERY BODY_FILE [curl args...]: a Invoke signed by curl with the
# test credentials (overridable by the args); the answer in $out/r.hdr and
# $out/r.body, prints the status.
sinvoke() {
  local p=$1 f=$2; shift 2
  ccurl -m 30 -o "$out/r.body" -D "$out/r.hdr" -w '%{http_code}' \
    --aws-sigv4 "aws:amz:$REGION:lambda" --user "$AKID:$SECRET" -H "x-amz-security-token: $TOKEN" \
    -H 'Content-Type: application/json' "$@" --data-binary "@$f" "$fn/$p"
}
# hdr NAME [FILE]: a response header's value (NAME case-insensitive).
hdr() {
  awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' \
    'tolower($1) == n { sub(/\r$/, "", $2); print $2 }' "${2:-$out/r.hdr}"
}
# refused WHAT STATUS ERRORTYPE CODE: the last answer was STATUS with that x-amzn-ErrorType.
refused() {
  local what=$1 want=$2 type=$3 code=$4 got
  got="$code $(hdr x-amzn-ErrorType) $(jq -r .Type "$out/r.body" 2>/dev/null)"
  [ "$got" = "$want $type User" ]
  verdict $? "$what -> $want $type" "got $got: $(oneline 200 <"$out/r.body")"
}
# tile_ok WHAT CODE: the last answer was 200 with a tile payload (statusCode 200, a PNG).
tile_ok() {
  local what=$1 code=$2 got
  got="$code $(hdr X-Amz-Executed-Version) $(jq -r '"\(.statusCode) \(.isBase64Encoded)"' "$out/r.body" 2>/dev/null)"
  # shellcheck disable=SC2016 # $LATEST is literal
  if [ "$got" = '200 $LATEST 200 true' ] && [ -z "$(hdr X-Amz-Function-Error)" ] &&
     jq -r .body "$out/r.body" | base64 -d 2>/dev/null | head -c 8 | od -An -c | grep -q 'P   N   G'; then
    ok "$what"
  else
    notok "$what" "got $got, function error '$(hdr X-Amz-Function-Error)': $(oneline 200 <"$out/r.body")"
  fi
}
# record ID: the pool's record of invocation ID.
record() { state | jq -c --arg id "$1" '.records[] | select(.id == $id)'; }

# A SigV4 signer written from the AWS rules (canonical URI: the path as sent,
# URI-encoded once more, as the SDKs do for every service but S3).
# node sign.js URL BODY_FILE AKID SECRET TOKEN REGION [AMZDATE] -> header lines.
cat >"$out/sign.js" <<'EOF'
const crypto = require('crypto'), fs = require('fs');
const [url, bodyFile, akid, secret, token, region, date] = process.argv.slice(2);
const u = new URL(url);
const amzDate = date || new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();
const headers = { 'content-type': 'application/json', host: u.host, 'x-amz-date': amzDate };
if (token) headers['x-amz-security-token'] = token;
const names = Object.keys(headers).sort();
const query = [...u.searchParams].map(([k, v]) => [enc(k), enc(v)])
  .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1)).map((kv) => kv.join('=')).join('&');
const canonical = ['POST', u.pathname.split('/').map(enc).join('/'), query,
  names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), sha(fs.readFileSync(bodyFile))].join('\n');
const scope = `${amzDate.slice(0, 8)}/${region}/lambda/aws4_request`;
const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
let k = hmac('AWS4' + secret, amzDate.slice(0, 8));
for (const s of [region, 'lambda', 'aws4_request']) k = hmac(k, s);
const sig = crypto.createHmac('sha256', k).update(toSign).digest('hex');
console.log(`Authorization: AWS4-HMAC-SHA256 Credential=${akid}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`);
for (const n of names) if (n !== 'host') console.log(`${n}: ${headers[n]}`);
EOF
# ninvoke PATH_AND_QUERY BODY_FILE [AMZDATE]: an Invoke signed by sign.js; as sinvoke.
ninvoke() {
  local args=() line
  while IFS= read -r line; do args+=(-H "$line"); done < <("$NODE" "$out/sign.js" "$fn/$1" "$2" \
    "$AKID" "$SECRET" "$TOKEN" "$REGION" ${3:+"$3"})
  ccurl -m 30 -o "$out/r.body" -D "$out/r.hdr" -w '%{http_code}' "${args[@]}" --data-binary "@$2" "$fn/$1"
}

tile=$ev/http_v2.json
echo '{"probe":"original"}' >"$out/probe.json"
echo '{"probe":"tampered"}' >"$out/tampered.json"

# === pool A: 2 sandboxes, reserved concurrency 2, 2 s timeout ===================
if ! start_pool a --sandboxes 2 --concurrency 2 --timeout-ms 2000 --idle-s 60 || ! ready; then
  stop "pool of 2 sandboxes starts and both wait on /next" "$(tail -5 "$out/a.err" | oneline)"
fi
ok "pool of 2 sandboxes starts and both wait on /next"
a_pid=$pool_pid
cpu0=$(ccurl "$ctl/cpu" | jq -r .cpu_ms)

# --- the control invoke and signed invokes -----------------------------------------
r=$(ccurl -m 30 -X POST --data-binary "@$tile" "$ctl/invoke")
got=$(jq -r '"\(.status) \(.functionError) \(.payload | fromjson | .statusCode) \(.sandbox)"' <<<"$r" 2>/dev/null)
[ "$got" = "200 null 200 0" ]
verdict $? "POST /test/invoke (HTTP API event) -> status 200, payload statusCode 200, sandbox 0" "$got"

code=$(sinvoke cogtiler/invocations "$tile")
tile_ok "signed Invoke (curl --aws-sigv4) -> 200, X-Amz-Executed-Version \$LATEST, the tile" "$code"
code=$(sinvoke 'cogtiler/invocations?Qualifier=%24LATEST' "$tile")
tile_ok "signed Invoke ?Qualifier=\$LATEST -> 200, the tile" "$code"
code=$(ninvoke 'cogtiler%3A%24LATEST/invocations' "$tile")
tile_ok "Invoke of cogtiler:\$LATEST (percent-encoded path, SDK canonical URI) -> 200" "$code"
code=$(ninvoke "arn%3Aaws%3Alambda%3A$REGION%3A123456789012%3Afunction%3Acogtiler/invocations" "$tile")
tile_ok "Invoke of the function's ARN -> 200" "$code"

# --- refusals --------------------------------------------------------------------
code=$(sinvoke cogtiler/invocations "$tile" --user "$AKID:wrong-secret")
refused "wrong secret" 403 InvalidSignatureException "$code"
code=$(sinvoke cogtiler/invocations "$tile" --user "AKIDUNKNOWN:$SECRET")
refused "unknown access key" 403 UnrecognizedClientException "$code"
code=$(ccurl -m 30 -o "$out/r.body" -D "$out/r.hdr" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:lambda" \
  --user "$AKID:$SECRET" -H 'Content-Type: application/json' --data-binary "@$tile" "$fn/cogtiler/invocations")
refused "no X-Amz-Security-Token" 403 UnrecognizedClientException "$code"
code=$(sinvoke cogtiler/invocations "$tile" -H "x-amz-security-token: ${TOKEN}x")
refused "wrong X-Amz-Security-Token" 403 UnrecognizedClientException "$code"
code=$(sinvoke cogtiler/invocations "$tile" --aws-sigv4 "aws:amz:eu-west-1:lambda")
refused "scope in another region" 403 InvalidSignatureException "$code"
code=$(sinvoke cogtiler/invocations "$tile" --aws-sigv4 "aws:amz:$REGION:s3")
refused "scope of another service" 403 InvalidSignatureException "$code"
code=$(ninvoke cogtiler/invocations "$tile" "$(date -u -d '-20 minutes' +%Y%m%dT%H%M%SZ)")
refused "X-Amz-Date 20 minutes old" 403 InvalidSignatureException "$code"
jq -e '.message | startswith("Signature expired: ")' "$out/r.body" >/dev/null
verdict $? "... its message says Signature expired" "$(oneline <"$out/r.body")"
code=$(ccurl -m 30 -o "$out/r.body" -D "$out/r.hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "@$tile" "$fn/cogtiler/invocations")
refused "unsigned request" 403 MissingAuthenticationTokenException "$code"

# A body altered after signing: curl signs and sends one body; its Authorization and
# X-Amz-Date, sent again with the same body, pass (the control), with another fail.
ccurl -v -m 30 -o /dev/null --aws-sigv4 "aws:amz:$REGION:lambda" --user "$AKID:$SECRET" \
  -H "x-amz-security-token: $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "@$out/probe.json" "$fn/cogtiler/invocations" 2>"$out/sign.trace"
auth=$(sed -n 's/^> Authorization: //p' "$out/sign.trace" | tr -d '\r')
adate=$(sed -n 's/^> X-Amz-Date: //p' "$out/sign.trace" | tr -d '\r')
replay() {
  ccurl -m 30 -o "$out/r.body" -D "$out/r.hdr" -w '%{http_code}' -H "Authorization: $auth" -H "X-Amz-Date: $adate" \
    -H "x-amz-security-token: $TOKEN" -H 'Content-Type: application/json' --data-binary "@$1" "$fn/cogtiler/invocations"
}
code=$(replay "$out/probe.json")
[ "$code" = 200 ] && [ -n "$auth" ]
verdict $? "curl's signature sent again with the body it signed -> 200" "$code $(oneline 200 <"$out/r.body")"
code=$(replay "$out/tampered.json")
refused "the same signature with the body altered" 403 InvalidSignatureException "$code"

code=$(sinvoke nosuchfunction/invocations "$tile")
refused "another function name" 404 ResourceNotFoundException "$code"
code=$(sinvoke 'cogtiler/invocations?Qualifier=v2' "$tile")
refused "qualifier v2" 404 ResourceNotFoundException "$code"

# 6291456 bytes is the most Invoke takes; one more is refused before any sandbox sees it.
big() { # FILE BYTES: a JSON object of exactly BYTES bytes
  { printf '{"pad":"'; head -c $(($2 - 10)) /dev/zero | tr '\0' x; printf '"}'; } >"$1"
}
big "$out/big.json" 6291457
n_disp=$(state | jq .counts.dispatched)
code=$(sinvoke cogtiler/invocations "$out/big.json")
refused "payload of 6291457 bytes" 413 RequestTooLargeException "$code"
big "$out/max.json" 6291456
code=$(sinvoke cogtiler/invocations "$out/max.json")
n_disp2=$(state | jq .counts.dispatched)
[ "$code" = 200 ] && [ "$n_disp2" = $((n_disp + 1)) ]
verdict $? "payload of exactly 6291456 bytes -> 200 (dispatched; the 413 was not)" "$code, dispatched $n_disp -> $n_disp2"
code=$(sinvoke cogtiler/invocations "$tile" -H 'X-Amz-Invocation-Type: DryRun')
[ "$code" = 204 ]
verdict $? "X-Amz-Invocation-Type: DryRun -> 204" "$code"

# --- faults ------------------------------------------------------------------------
ccurl -f -X POST "$ctl/fault?kind=throttle&match=probe&count=1" >/dev/null
code=$(sinvoke cogtiler/invocations "$tile")
tile_ok "a fault on another payload leaves this one alone" "$code"
code=$(sinvoke cogtiler/invocations "$out/probe.json")
refused "fault throttle" 429 TooManyRequestsException "$code"
[ "$(jq -r .Reason "$out/r.body")" = ReservedFunctionConcurrentInvocationLimitExceeded ]
verdict $? "... Reason ReservedFunctionConcurrentInvocationLimitExceeded" "$(oneline <"$out/r.body")"
[ "$(ccurl "$ctl/faults" | jq length)" = 0 ]
verdict $? "the fault is used up (GET /test/faults is empty)" "$(ccurl "$ctl/faults")"
ccurl -f -X POST "$ctl/fault?kind=error&match=probe" >/dev/null
code=$(sinvoke cogtiler/invocations "$out/probe.json")
[ "$code $(hdr x-amzn-ErrorType)" = "500 ServiceException" ]
verdict $? "fault error -> 500 ServiceException" "$code $(hdr x-amzn-ErrorType)"
ccurl -f -X POST "$ctl/fault?kind=crash&match=probe&count=5" >/dev/null
ccurl -f -X DELETE "$ctl/faults" >/dev/null
code=$(sinvoke cogtiler/invocations "$out/probe.json")
rec=$(record "$(hdr x-amzn-RequestId)")
# (not an HTTP event: the function itself answers with an error, InvalidEvent)
[ "$code" = 200 ] && [ "$(jq -r '"\(.fault) \(.outcome)"' <<<"$rec")" = "null error" ] &&
  [ "$(jq -r .errorType "$out/r.body")" = InvalidEvent ]
verdict $? "DELETE /test/faults clears them (the function's own answer)" "$code $rec $(oneline 200 <"$out/r.body")"

# after_restart WHAT REC_OF_FAILED: the next invoke is served by the sandbox that
# failed, by a new process (the dispatcher takes the lowest free sandbox).
after_restart() {
  local what=$1 failed=$2 sb pid rec
  sb=$(jq -r .sandbox <<<"$failed") pid=$(jq -r .pid <<<"$failed")
  ready || { notok "$what" "the sandboxes are not back: $(state | jq -c '[.sandboxes[] | .state]')"; return; }
  code=$(sinvoke cogtiler/invocations "$tile")
  rec=$(record "$(hdr x-amzn-RequestId)")
  if [ "$code" = 200 ] && [ "$(jq -r .outcome <<<"$rec")" = response ] &&
     [ "$(jq -r .sandbox <<<"$rec")" = "$sb" ] && [ "$(jq -r .pid <<<"$rec")" != "$pid" ] &&
     exited "$pid"; then
    ok "$what"
  else
    notok "$what" "code $code, failed on sandbox $sb pid $pid, then: $rec"
  fi
}

ccurl -f -X POST "$ctl/fault?kind=crash&match=tiles/bluemarble" >/dev/null
code=$(sinvoke cogtiler/invocations "$tile")
rec=$(record "$(hdr x-amzn-RequestId)")
got="$code $(hdr X-Amz-Function-Error) $(jq -r '"\(.errorType) \(.errorMessage)"' "$out/r.body" 2>/dev/null)"
[[ $got == "200 Unhandled Runtime.ExitError RequestId: "*" Error: Runtime exited with error: signal: killed" ]]
verdict $? "fault crash -> 200, X-Amz-Function-Error: Unhandled, Runtime.ExitError (signal: killed)" "$got"
after_restart "after the crash the next invoke is served by a restarted process (new pid)" "$rec"

ccurl -f -X POST "$ctl/fault?kind=hang&match=tiles/bluemarble" >/dev/null
t0=$(date +%s%N)
code=$(sinvoke cogtiler/invocations "$tile")
ms=$((($(date +%s%N) - t0) / 1000000))
rec=$(record "$(hdr x-amzn-RequestId)")
got="$code $(hdr X-Amz-Function-Error) $(jq -r '"\(.errorType) \(.errorMessage)"' "$out/r.body" 2>/dev/null)"
[[ $got == "200 Unhandled Sandbox.Timedout RequestId: "*" Error: Task timed out after 2.00 seconds" ]] &&
  [ "$ms" -ge 1900 ] && [ "$ms" -le 4000 ]
verdict $? "fault hang with --timeout-ms 2000 -> Sandbox.Timedout after ${ms} ms (2 s)" "$got"
after_restart "after the timeout the next invoke is served by a restarted process (new pid)" "$rec"

# --- reserved concurrency ---------------------------------------------------------------
# Two invokes hang (2 s each) on both sandboxes: with 2 in flight a third is throttled.
ready
ccurl -f -X POST "$ctl/fault?kind=hang&match=tiles/bluemarble&count=2" >/dev/null
sinvoke_bg() { # N: sinvoke in the background, answer in $out/bg.N.*
  ccurl -m 30 -o "$out/bg.$1.body" -D "$out/bg.$1.hdr" --aws-sigv4 "aws:amz:$REGION:lambda" \
    --user "$AKID:$SECRET" -H "x-amz-security-token: $TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$tile" "$fn/cogtiler/invocations" &
}
sinvoke_bg 1; bg1=$!
sinvoke_bg 2; bg2=$!
for _ in $(seq 100); do
  [ "$(state | jq '[.sandboxes[] | select(.state == "busy")] | length')" = 2 ] && break
  sleep 0.02
done
code=$(sinvoke cogtiler/invocations "$tile")
refused "third invoke while 2 hang with --concurrency 2" 429 TooManyRequestsException "$code"
[ "$(jq -c . "$out/r.body")" = \
  '{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}' ]
verdict $? "... body {Reason: ReservedFunctionConcurrentInvocationLimitExceeded, Type: User, message: Rate Exceeded.}" \
  "$(oneline <"$out/r.body")"
r=$(ccurl -m 30 -X POST --data-binary "@$tile" "$ctl/invoke")
[ "$(jq -r .status <<<"$r")" = 429 ]
verdict $? "POST /test/invoke at the limit -> status 429 too" "$(oneline 200 <<<"$r")"
wait $bg1 $bg2
[ "$(hdr X-Amz-Function-Error "$out/bg.1.hdr") $(hdr X-Amz-Function-Error "$out/bg.2.hdr")" = "Unhandled Unhandled" ] &&
  [ "$(jq -r .errorType "$out/bg.1.body") $(jq -r .errorType "$out/bg.2.body")" = "Sandbox.Timedout Sandbox.Timedout" ]
verdict $? "the 2 hanging invokes end with Sandbox.Timedout" "$(oneline 200 <"$out/bg.1.body") $(oneline 200 <"$out/bg.2.body")"
ready
code=$(sinvoke cogtiler/invocations "$tile")
tile_ok "then invokes are served again" "$code"

# --- CPU, state, shutdown -----------------------------------------------------------------
cpu1=$(ccurl "$ctl/cpu" | jq -r .cpu_ms)
for _ in $(seq 20); do ccurl -m 30 -X POST --data-binary "@$tile" "$ctl/invoke" >/dev/null; done
cpu2=$(ccurl "$ctl/cpu" | jq -r .cpu_ms)
[ "$cpu1" -gt "$cpu0" ] 2>/dev/null && [ "$cpu2" -gt "$cpu1" ] 2>/dev/null
verdict $? "/test/cpu grows: $cpu0 -> $cpu1 -> $cpu2 ms (20 control invokes in the last step)" "$cpu0 $cpu1 $cpu2"

s=$(state)
got=$(jq -c '[.counts.crashed, .counts.timedOut, .counts.refused.InvalidSignatureException,
  .counts.refused.UnrecognizedClientException, .counts.refused.TooManyRequestsException, .counts.testInvokes,
  .inFlight, ([.records[] | select(.via == "test")] | length), (.sandboxes | map(.restarts) | add)]' <<<"$s")
[ "$got" = "[1,3,5,3,2,22,0,21,4]" ]
verdict $? "/test/state counts: crashed, timed out, refused by reason, control invokes, records, restarts" "$got"

all_pids=$(pids_ever)
live=$(state | jq -r '.sandboxes[].pid')
r=$(ccurl -m 10 -X POST "$ctl/shutdown")
for _ in $(seq 30); do exited $a_pid && break; sleep 0.1; done
wait $a_pid 2>/dev/null; rc=$?
# shellcheck disable=SC2086
left=$(none_alive $all_pids)
[ "$(jq -r .status <<<"$r")" = "shutting down" ] && [ $rc = 0 ] && [ -z "$left" ] &&
  ! pgrep -x bootstrap | grep -qFxf <(tr ' ' '\n' <<<"$all_pids")
verdict $? "POST /test/shutdown: the pool exits 0 and none of its $(wc -w <<<"$all_pids") bootstrap pids lives" \
  "rc $rc, alive:$left (last live: $(oneline <<<"$live"))"
pool_pid=

# === pool B: 1 sandbox, concurrency 2: the second invoke waits for the sandbox ===
if start_pool b --sandboxes 1 --concurrency 2 --timeout-ms 1500 --idle-s 3 && ready; then
  b_pid=$pool_pid
  ccurl -f -X POST "$ctl/fault?kind=hang&match=tiles/bluemarble" >/dev/null
  sinvoke_bg 3; bg3=$!
  for _ in $(seq 100); do [ "$(state | jq .inFlight)" = 1 ] && break; sleep 0.02; done
  t0=$(date +%s%N)
  code=$(sinvoke cogtiler/invocations "$tile")
  ms=$((($(date +%s%N) - t0) / 1000000))
  wait $bg3
  tile_ok "--sandboxes 1 --concurrency 2: an invoke behind a hanging one waits (${ms} ms), then -> 200" "$code"
  [ "$ms" -ge 1000 ] && [ "$(state | jq .counts.queued)" = 1 ]
  verdict $? "... it waited in the queue for the restarted sandbox" "$ms ms, queued $(state | jq .counts.queued)"
  b_pids=$(pids_ever)
  # Idle for 3 s: the pool exits by itself, its sandboxes with it.
  for _ in $(seq 60); do exited $b_pid && break; sleep 0.1; done
  # shellcheck disable=SC2086
  left=$(none_alive $b_pids)
  exited $b_pid && [ -z "$left" ]
  verdict $? "--idle-s 3: the pool exits by itself and no bootstrap is left" "pool $(exited $b_pid && echo exited || echo alive), alive:$left"
  pool_pid=
else
  stop "pool B (--sandboxes 1 --concurrency 2) starts" "$(tail -5 "$out/b.err" | oneline)"
fi

# === pools C and D: SIGTERM and SIGKILL of the pool leave no bootstrap ===
for sig in TERM KILL; do
  if start_pool "sig$sig" --sandboxes 2 && ready; then
    p_pids=$(pids_ever)
    disown $pool_pid # no "Killed" notice from bash
    kill -"$sig" $pool_pid
    for _ in $(seq 30); do exited $pool_pid && break; sleep 0.1; done
    # shellcheck disable=SC2086
    left=$(none_alive $p_pids)
    [ -z "$left" ]
    verdict $? "SIG$sig to the pool: none of its bootstrap processes is left" "alive:$left"
    pool_pid=
  else
    notok "SIG$sig to the pool: none of its bootstrap processes is left" "the pool did not start"
  fi
done

done_testing
[ "$TAP_FAIL" = 0 ]
