#!/usr/bin/env bash
# fanout.sh [BOOTSTRAP] - section "fanout" of make bench (bench/README.md): a
# zonal statistics request over the land cover of the zonal section (170 M
# Byte cells, the zone of every cell) through test/lambda_pool.js (the Invoke
# API with SigV4, BENCH_FANOUT_SANDBOXES real bootstrap processes as Lambda
# sandboxes) in 1, 2, 4, 8 and 16 parts: latency (the coordinator's
# invocation, as the pool measures it) and total CPU of every sandbox (user +
# system, /proc), medians of BENCH_FANOUT_REPS runs taking turns. From those:
# the CPU per cell and per extra part (least squares over the medians), and a
# model of latency and cost on Lambda for 10, 100 and 1,000 parts and a
# national-scale request (10^10 cells), with the inflection point below which
# fanning out does not pay. Prints Markdown on stdout, progress on stderr;
# exits non-zero when a run fails or an answer differs from the 1-part one.
#
# Environment:
#   BENCH_FANOUT_REPS       runs per part count (default 5)
#   BENCH_FANOUT_PARTS      part counts (default "1 2 4 8 16 64": 64 for the fit of the
#                           coordinator's work per part, which CPU time's 10 ms ticks blur)
#   BENCH_FANOUT_SANDBOXES  bootstrap processes of the pool (default 16)
#   BENCH_FANOUT_MEMORY_MB  the function's memory in the model (default 1024, the
#                           template's MemorySize)
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP=${1:-./bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
REPS=${BENCH_FANOUT_REPS:-5}
PARTS=${BENCH_FANOUT_PARTS:-1 2 4 8 16 64}
SANDBOXES=${BENCH_FANOUT_SANDBOXES:-16}
MEMORY_MB=${BENCH_FANOUT_MEMORY_MB:-1024}
PY=/usr/bin/python3
OUT=bench/out/fanout
START=$SECONDS
say() { echo "bench/fanout.sh [$((SECONDS - START)) s]: $*" >&2; }
die() { echo "bench/fanout.sh: $*" >&2; exit 2; }

command -v jq >/dev/null || die "jq is needed"
[ -f test/lambda/node_modules/aws4/aws4.js ] || die "test/lambda's npm packages are needed (make bench installs them)"
mkdir -p "$OUT"
BENCH_ZONAL_DATA_ONLY=1 BENCH_ZONAL_SIZES=170 BENCH_ZONAL_DEM=0 bench/zonal.sh "$BOOTSTRAP" >/dev/null
LC=$PWD/bench/out/zonal/lc_x210.tif
ZONE=bench/out/zonal/zone_170M.geojson
[ -f "$LC" ] && [ -f "$ZONE" ] || die "bench/zonal.sh made no $LC / $ZONE"
echo "{\"layers\": {\"lc\": {\"source\": \"$LC\"}}}" >"$OUT/layers.json"

# --- the pool ---------------------------------------------------------------------------
. test/lib/proc.sh
POOL_PID=
cleanup() {
    if [ -n "$POOL_PID" ]; then
        curl -s --noproxy '*' -X POST "$POOL/shutdown" >/dev/null 2>&1 || kill "$POOL_PID" 2>/dev/null
        wait "$POOL_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
: >"$OUT/pool.out"
COGTILER_CONFIG=$PWD/$OUT/layers.json COGTILER_FANOUT_CONCURRENCY=64 \
    node test/lambda_pool.js --bootstrap "$BOOTSTRAP" --sandboxes "$SANDBOXES" --concurrency 1000 \
    --timeout-ms 300000 --memory-mb "$MEMORY_MB" --log-dir "$OUT/logs" --idle-s 600 \
    >"$OUT/pool.out" 2>"$OUT/pool.err" </dev/null &
POOL_PID=$!
port=$(port_line "$OUT/pool.out" "$POOL_PID")
[ -n "$port" ] || die "the pool did not start: $(tail -n 3 "$OUT/pool.err")"
POOL=http://127.0.0.1:$port/test
curl -s --noproxy '*' -f "$POOL/ready?wait_s=30" >/dev/null || die "the pool's sandboxes are not ready"

# run P OUT: one request in P parts; appends "P LATENCY_MS CPU_MS COORDINATOR_CPU_MS"
# to samples (the coordinator: the sandbox that received the request).
SAMPLES=$OUT/samples.txt
: >"$SAMPLES"
FAILED=0
state() { curl -s --noproxy '*' "$POOL/state"; }
run() {
    local p=$1 o=$2 c0 c1
    jq --arg q "coverage=center&parts=$p" --rawfile b "$ZONE" \
        '.requestContext.http.method = "POST" | .rawPath = "/statistics/lc"
         | .requestContext.http.path = .rawPath | .rawQueryString = $q | .queryStringParameters = null
         | .headers["content-type"] = "application/geo+json" | .body = $b | .isBase64Encoded = false' \
        test/lambda/http_v2.json >"$o.event"
    state >"$o.state0"
    curl -s --noproxy '*' -X POST --data-binary @"$o.event" "$POOL/invoke?timeout_ms=300000" >"$o.outcome"
    state >"$o.state1"
    c0=$(jq '.cpu.cpu_ms' "$o.state0")
    c1=$(jq '.cpu.cpu_ms' "$o.state1")
    local sb k0 k1
    sb=$(jq '.sandbox' "$o.outcome")
    k0=$(jq --argjson i "$sb" '.sandboxes[] | select(.index == $i) | .cpuMs' "$o.state0")
    k1=$(jq --argjson i "$sb" '.sandboxes[] | select(.index == $i) | .cpuMs' "$o.state1")
    jq -r '.payload' "$o.outcome" | jq -r '.body' >"$o.json" 2>/dev/null || true
    local st
    st=$(jq -r '.payload' "$o.outcome" | jq -r '.statusCode' 2>/dev/null || echo "?")
    if [ "$st" != 200 ]; then
        say "parts=$p: status $st: $(head -c 300 "$o.outcome")"
        FAILED=1
        return
    fi
    echo "$p $(jq '.durationMs' "$o.outcome") $((c1 - c0)) $((k1 - k0))" >>"$SAMPLES"
}
say "warming the $SANDBOXES sandboxes (each opens the COG once)"
for _ in 1 2; do run 16 "$OUT/warm"; done
: >"$SAMPLES"
for rep in $(seq "$REPS"); do
    for p in $PARTS; do
        say "run $rep of $REPS: $p part(s)"
        run "$p" "$OUT/ans-$p"
    done
done
for p in $PARTS; do
    [ "$p" = 1 ] && continue
    if ! $PY test/stats_same.py "$OUT/ans-1.json" "$OUT/ans-$p.json" >"$OUT/same-$p.txt" 2>&1; then
        say "$p parts differ from one: $(head -n 3 "$OUT/same-$p.txt" | tr '\n' ' ')"
        FAILED=1
    fi
done
EVENT_BYTES=$(jq -c '{cogtiler_part: {polygons: .geometry.coordinates}}' "$ZONE" | wc -c)

# --- the report and the model -----------------------------------------------------------------
$PY - "$SAMPLES" "$OUT/ans-1.json" "$LC" "$REPS" "$SANDBOXES" "$MEMORY_MB" "$(nproc)" "$EVENT_BYTES" <<'EOF'
import json, os, statistics, sys
samples, ans, lc, reps, sandboxes, mem, cores, ev_bytes = sys.argv[1:9]
mem, cores, ev_bytes = float(mem), int(cores), int(ev_bytes)
rows = {}
for line in open(samples):
    p, lat, cpu, coord = line.split()
    rows.setdefault(int(p), []).append((float(lat), float(cpu), float(coord)))
s = json.load(open(ans))["properties"]["statistics"]["b1"]
cells = s["valid_pixels"] + s["masked_pixels"]
parts = sorted(rows)
med = {p: tuple(statistics.median(r[i] for r in rows[p]) for i in range(3)) for p in parts}

print("## Fan-out: one statistics request in parts, through the Invoke API\n")
print(f"A request over the land cover of the zonal section ({cells:,.0f} Byte cells: `lc.tif` upsampled")
print(f"210 times, the zone of every cell, `coverage=center`), sent as an HTTP API event to one")
print(f"sandbox of `test/lambda_pool.js` ({sandboxes} real `bootstrap` processes behind a local Invoke API")
print("that checks SigV4), which invokes the function itself for the other parts")
print(f"(`bench/fanout.sh`). Medians of {reps} runs per part count, taking turns; this machine has")
print(f"{cores} cores, so latency stops falling at {cores} parts: the CPU is the measurement, the")
print("latency on Lambda comes from the model below. CPU: user + system of every sandbox")
print("(coordinator included) during the request.\n")
print("| parts | latency ms | CPU ms (all sandboxes) | CPU / 1 part | coordinator's CPU ms |")
print("|---:|---:|---:|---:|---:|")
for p in parts:
    print(f"| {p} | {med[p][0]:.0f} | {med[p][1]:.0f} | {med[p][1] / med[1][1]:.2f}x | {med[p][2]:.0f} |")
# least squares CPU(P) = a + b (P - 1)
xs = [p - 1 for p in parts]
ys = [med[p][1] for p in parts]
n = len(xs)
mx, my = sum(xs) / n, sum(ys) / n
sxx = sum((x - mx) ** 2 for x in xs)
b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
a = my - b * mx
# the slope's standard error: a per-part cost below about twice it is not told apart from noise
res = [y - (a + b * x) for x, y in zip(xs, ys)]
se = (sum(r * r for r in res) / (n - 2) / sxx) ** 0.5 if n > 2 and sxx else float("inf")
c_ns = a * 1e6 / cells  # ns of CPU per cell (one core of this machine)
# the coordinator's serial work per part: its CPU less its own part's cells, fitted on P - 1
rs = [med[p][2] - a / p for p in parts]
mr = sum(rs) / n
k = sum((x - mx) * (r - mr) for x, r in zip(xs, rs)) / sxx if sxx else 0.0
k = max(k, 0.0)
lat1 = med[1][0]
lat2 = med.get(2, (None,))[0]
# invocation latency overhead: L(2) - L(1)/2 - CPU per part (two parts on >= 2 cores)
t_inv = max(0.0, lat2 - lat1 / 2 - max(b, 0)) if lat2 is not None and cores >= 2 else None
print()
print(f"Fit over the medians: CPU(P) = {a:.0f} ms + {b:.1f} ms (standard error {se:.1f}) x (P - 1).")
print(f"Per cell: **{c_ns:.2f} ns** of one core here; per extra part (an invocation: event, plan, open of a")
if b > 2 * se:
    print(f"warm dataset, pack, merge): **{b:.1f} ms** of CPU, of which **{k:.2f} ms** on the coordinator (its CPU less its own")
else:
    print(f"warm dataset, pack, merge): **not told apart from the noise** (under {max(b, 0) + 2 * se:.0f} ms; the model")
    print(f"takes the coordinator's share alone), of which **{k:.2f} ms** on the coordinator (its CPU less its own")
print("part's cells, fitted the same way: the serial work a part costs it: the event, the call, unpacking")
print("and merging)" + (f"; invocation latency beyond its CPU (L(2) - L(1)/2 - that): **{t_inv:.0f} ms**" if t_inv is not None else "") + ".\n")

# --- the model ---
vcpu = min(1.0, mem / 1769.0)      # Lambda: 1,769 MB = one vCPU
gbs_price = 0.0000166667           # $ per GB-second, x86, us-east-1
req_price = 0.20 / 1e6             # $ per request
invoke_ms = 30.0                   # assumed: a warm synchronous Invoke's round trip in a region
cold_ms = 250.0                    # assumed: a new sandbox: the bundle's start and GDAL's first S3 open
s3_mbps = 80.0                     # assumed: one function's S3 read throughput, MB/s
measured_bpc = os.path.getsize(lc) / (17640 * 9660)
bytes_per_cell = max(measured_bpc, 0.25)  # assumed for a real land cover: see the text
c_l = c_ns / vcpu                  # ns per cell on Lambda at mem
o_l = max(b, k, 0) / vcpu          # ms of CPU per extra part on Lambda (at least the coordinator's)
def model(N, P, cold=False):
    per = N / P
    part_ms = per * c_l / 1e6 + per * bytes_per_cell / (s3_mbps * 1e3) + o_l
    send_ms = P * ev_bytes / (100e6 / 8) * 1e3   # the coordinator's uplink, 100 Mbit/s
    lat = (per * c_l / 1e6 + per * bytes_per_cell / (s3_mbps * 1e3)) if P == 1 else \
        invoke_ms + (cold_ms if cold else 0) + part_ms + send_ms + P * k / vcpu
    billed_s = (P - 1) * (part_ms + (cold_ms if cold and P > 1 else 0)) / 1e3 + lat / 1e3
    cost = P * req_price + billed_s * mem / 1024 * gbs_price
    return lat, cost
print(f"### Model: latency and cost on Lambda ({mem:.0f} MB = {vcpu:.2f} vCPU, x86, us-east-1 prices)\n")
print(f"Measured here: {c_ns:.2f} ns per cell and {max(b, k, 0):.1f} ms per part on one core (scaled by 1/{vcpu:.2f});")
print(f"Assumed, not measurable here: {bytes_per_cell:.2f} bytes per cell read from S3 (a real 30 m land cover")
print(f"under DEFLATE; this upsampled COG, all long runs, takes {measured_bpc:.3f}), a warm")
print(f"Invoke round trip {invoke_ms:.0f} ms, a cold sandbox +{cold_ms:.0f} ms, {s3_mbps:.0f} MB/s from S3 per function,")
print(f"the coordinator's uplink 100 Mbit/s for the part events ({ev_bytes} bytes each for this zone), its")
print(f"serial work {k:.2f} ms per part (measured, scaled); $0.20 per million requests and ${gbs_price} per GB-s,")
print("every part and the waiting coordinator billed. Parts run at once (reserved concurrency at")
print("least P; `fanout_concurrency` at least P).\n")
print("| cells | parts | cells per part | latency s (warm) | latency s (cold parts) | cost $ |")
print("|---:|---:|---:|---:|---:|---:|")
for N in (cells, 1e9, 1e10):
    for P in (1, 10, 100, 1000):
        if N / P < 1e6 and P > 1:
            continue
        lw, cw = model(N, P)
        lc_, _ = model(N, P, cold=True)
        print(f"| {N:,.0f} | {P} | {N / P:,.0f} | {lw / 1e3:.2f} | {lc_ / 1e3:.2f} | {cw:.5f} |")
# the best part count for the national-scale request, and what 1,000 parts cost
best = min(range(2, 1001), key=lambda P: model(1e10, P, cold=True)[0])
lb, cb = model(1e10, best)
lbc, _ = model(1e10, best, cold=True)
l1000, c1000 = model(1e10, 1000, cold=True)
print()
print(f"**National scale (10^10 cells)**: the model's best part count is **{best}** ({1e10 / best / 1e6:.0f} M cells")
print(f"each): **{lb / 1e3:.2f} s** warm, **{lbc / 1e3:.2f} s** with every part cold, **${cb:.4f}** (goal: under 3 s and")
print("under $0.01: " + ("met" if lbc < 3000 and cb < 0.01 else "not met") + f"). With 1,000 parts: {l1000 / 1e3:.2f} s cold, ${c1000:.4f}: past the optimum")
print(f"the coordinator's serial work ({k:.2f} ms per part here, {k / vcpu:.1f} ms on Lambda) outweighs the")
print(f"smaller parts. One function alone: {model(1e10, 1)[0] / 1e3:.0f} s, past API Gateway's 30 s.")
if t_inv is not None:
    saved = invoke_ms
    invoke_ms = t_inv
    lm, _ = model(1e10, best, cold=True)
    invoke_ms = saved
    print(f"With the invocation overhead measured through the local pool ({t_inv:.0f} ms, Node and a")
    print(f"shared 2-core machine included) instead of {saved:.0f} ms: {lm / 1e3:.2f} s.")
print()
# inflection: the smallest N where 2 parts beat 1 (warm)
lo, hi = 1e3, 1e10
for _ in range(100):
    mid = (lo * hi) ** 0.5
    if model(mid, 2)[0] < model(mid, 1)[0]:
        hi = mid
    else:
        lo = mid
print(f"**Inflection point**: fanning out pays once a window has about **{hi / 1e6:.1f} M cells** (two warm")
print(f"parts then answer sooner than one function: the part's invocation costs {invoke_ms + o_l:.0f} ms, which")
print(f"{hi / 2 / 1e6:.1f} M cells take at {c_l:.1f} ns). With cold parts it is about "
      f"{(2 * (invoke_ms + cold_ms + o_l) / (c_l / 1e6)) / 1e6:.0f} M cells. The default `fanout_min_cells`")
print("(33,554,432) sits between the two: fan-out is for windows that take a function more than a few")
print("hundred milliseconds; each part then gets `fanout_part_cells` (16,777,216).")
EOF
[ "$FAILED" = 0 ]
