#!/usr/bin/env bash
# run.sh BENCH_TILES [BOOTSTRAP] - the `make bench` driver (see bench/README.md).
# BOOTSTRAP is the cogtiler binary to measure (default ./bootstrap).
# Prepares the benchmark datasets in bench/out/, then runs the sections listed in
# BENCH_SECTIONS (default: all, in this order):
#   compare     cogtiler (in-process warm, one process per tile, the HTTP server
#               under wrk) side by side with MapServer's CGI and gdalwarp, on
#               the same seeded tile list, in this run
#   breakdown   where cogtiler's time goes, on one hand-picked tile per kind
#               (bench_tiles CONFIG ITER), and the cost of starting the process
#   overlay     derived layers: a weighted-overlay tile (priority = cover 60 % +
#               slope of dem 40 %) and an expression tile (ndvi of l7) against
#               their inputs' tiles rendered alone, warm, in process,
#               interleaved, on every tile of the layer's bounds at z11-z13
#               (bench/overlay.sh)
#   warmab      the warm tile before and after: bench_tiles --warm of commit
#               BENCH_WARM_BEFORE (1888197) beside this tree's, alternated
#               dataset by dataset (bench/warm_ab.sh)
#   gcps        a GCP-referenced scene's warm tiles (polynomial, thin plate
#               spline) against the same scene warped beforehand (bench/gcps.sh)
#   formats     every 200 tile of the list as .png, .webp, .jpg and .tif, warm, in
#               process, the formats alternated tile by tile: bytes per tile,
#               tile median and p95, encode alone, and the cost of a million
#               tiles with delivery (CloudFront egress and requests, API
#               Gateway, Lambda) per format (bench_tiles --formats)
#   lambda      the Lambda runtime's cold start through the Runtime API emulator
#   bundle      the Lambda zip (make bundle): zipped and unzipped size, process
#               start, cold start through the emulator, peak RSS, beside the
#               same figures for BOOTSTRAP (tools/bundle-figures.sh)
#   remote      HTTP requests, bytes and TIFF blocks per open and per tile kind
#               for sources behind nginx (/vsicurl/) and s3rver (/vsis3/)
#               (bench/remote.sh)
#   concurrency the local server's worker threads beside the single-threaded
#               server of an older commit: throughput at 1, 2, 8, 64 connections,
#               and 16 parallel requests with one slow upstream (bench/concurrency.sh)
#   zonal       zonal statistics: `bootstrap stats` (center, all_touched, exact)
#               beside GDAL's rasterizer + numpy (test/zonal_ref.py) on zones
#               of 1 M to 170 M cells of a 170-million-cell COG: wall, CPU,
#               peak RSS (bench/zonal.sh)
#   fanout      a statistics request over the 170 M cells in 1 to 64 parts through
#               test/lambda_pool.js (the Invoke API, SigV4, real bootstrap
#               sandboxes): latency, CPU of every sandbox, per-cell and per-part
#               costs, and the latency/cost model on Lambda (bench/fanout.sh)
#   faults      every fault and hostile-input case of test/test_remote.sh and
#               test/test_gate.sh: status, time taken, next request served
#   soak        the last `make soak` (bench/soak.sh) as committed in
#               bench/soak-results.md: 100,000 Lambda invocations and 1,000,000
#               server requests with peak RSS at 10%, 50%, 100% (too long to run
#               in every `make bench`)
# Each section is a function section_NAME that prints Markdown on stdout and
# returns non-zero when a tile answered an unexpected status; add a section by
# writing such a function and naming it in SECTIONS.
# The report goes to bench/out/results.md and, when every section succeeded, to
# BENCHMARKS.md (BENCH_OUTPUT) at the repository root.
#
# Environment (defaults keep a run under ten minutes on 2 cores):
#   BENCH_WARM_ITER   timed passes over the tile list in-process (default 20)
#   BENCH_PROC_REPS   processes per tile and tool: cogtiler, mapserv, gdalwarp (2)
#   BENCH_WRK_SECONDS wrk run per dataset and connection count (4)
#   BENCH_WRK_CONNS   connection counts (default "1 2 8")
#   BENCH_ITER        timed calls per tile in the breakdown section (30)
#   BENCH_COLD_N      processes per cold-start row (10)
#   BENCH_SEED        seed of the tile list (8)
#   BENCH_SECTIONS    sections to run (default "compare breakdown warmab overlay formats gcps lambda bundle
#                     remote concurrency zonal fanout faults soak")
#   BENCH_FORMATS_ITER timed passes of the formats section (10)
#   BENCH_GCPS_ITER   timed passes of the gcps section (20)
#   BENCH_OVERLAY_ITER timed passes over the overlay section's tiles (30): see
#                     bench/overlay.sh
#   BENCH_ZONAL_REPS, BENCH_ZONAL_SIZES, BENCH_ZONAL_DEM: see bench/zonal.sh
#   BENCH_FANOUT_REPS, BENCH_FANOUT_PARTS, BENCH_FANOUT_SANDBOXES, BENCH_FANOUT_MEMORY_MB:
#                     see bench/fanout.sh
#   BENCH_OUTPUT      where the report is copied (BENCHMARKS.md; "" for nowhere)
# Timings are printed, never judged: the exit status is non-zero only when the
# benchmark cannot run, a tile answers an unexpected HTTP status, or a peer
# does not produce a 256x256 PNG.
set -euo pipefail

START_SECONDS=$SECONDS
die() { echo "bench/run.sh: $*" >&2; exit 2; }
say() { echo "bench/run.sh [$((SECONDS - START_SECONDS)) s]: $*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: bench/run.sh BENCH_TILES [BOOTSTRAP] (normally via 'make bench')"
bench=$1
case $bench in /*) ;; *) bench=$PWD/$bench ;; esac
[ -x "$bench" ] || die "$1 is not an executable (build it with 'make build/rel/bench_tiles')"
BOOTSTRAP=${2:-./bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac

cd "$(dirname "$0")/.."
ROOT=$PWD
WARM_ITER=${BENCH_WARM_ITER:-20}
FORMATS_ITER=${BENCH_FORMATS_ITER:-10}
PROC_REPS=${BENCH_PROC_REPS:-2}
WRK_SECONDS=${BENCH_WRK_SECONDS:-4}
WRK_CONNS=${BENCH_WRK_CONNS:-1 2 8}
ITER=${BENCH_ITER:-30}
COLD_N=${BENCH_COLD_N:-10}
SEED=${BENCH_SEED:-8}
SECTIONS=${BENCH_SECTIONS:-compare breakdown warmab overlay formats gcps lambda bundle remote concurrency zonal fanout faults soak}
OUTPUT=${BENCH_OUTPUT-BENCHMARKS.md}
OUT=bench/out
CONFIG=$OUT/layers.json
SAMPLES=$OUT/samples.txt
TILES=$OUT/tiles.txt

for tool in gdal_translate gdalinfo gdalwarp gdaldem mapserv wrk curl; do
    command -v "$tool" >/dev/null ||
        die "$tool not found: 'make bench' installs it (gdal-bin, cgi-mapserver, wrk, curl)"
done
mkdir -p "$OUT"
# Measure copies, so that a rebuild of ./bootstrap during the run (another
# `make` in this tree) neither fails a spawn nor mixes two builds in one report;
# a copy taken while the linker writes it fails --help and is taken again.
for try in 1 2 3 4 5 6 7 8 9 10; do
    cp "$BOOTSTRAP" "$OUT/bootstrap.bench" 2>/dev/null && cp "$bench" "$OUT/bench_tiles.bench" &&
        "$OUT/bootstrap.bench" --help >/dev/null 2>&1 && break
    [ "$try" = 10 ] && die "$BOOTSTRAP does not run: run 'make bootstrap' first"
    sleep 1
done
BOOTSTRAP=$OUT/bootstrap.bench
bench=$ROOT/$OUT/bench_tiles.bench
! ldd "$BOOTSTRAP" | grep -q libasan ||
    die "$BOOTSTRAP is a sanitizer build: run 'make bench' without SANITIZE"

# --- processes we start: stopped on exit ----------------------------------------
# A process leaves STARTED_PIDS when it has been waited for, so the trap never
# signals a reused PID.
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
forget_pid() {
    local pid keep=()
    for pid in "${STARTED_PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    STARTED_PIDS=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- datasets --------------------------------------------------------------------
DEMO=data/bluemarble_topo_bathy_200412_4326_cog.tif
RGB_SRC=test/data/rasterio/RGB.byte.tif
RGB_3857=$OUT/rgb_3857.tif
TCI=test/data/titiler/TCI.tif
LARGE=$OUT/large.tif
DEM=test/data/titiler/dem.tif
# The DEM's rescale, used by cogtiler (layers.json), MapServer (dem_classes.map)
# and gdaldem (dem_colors.txt); it holds the data's range (1615.8..2015.1).
DEM_MIN=1600
DEM_MAX=2020
for f in "$DEMO" "$RGB_SRC" "$TCI" "$DEM" colormaps/viridis.txt bench/bench.map; do
    [ -f "$f" ] || die "missing $f: the benchmark needs the project's data and test data"
done

# make_once OUTPUT SOURCE CMD... : runs CMD (writing OUTPUT.tmp.tif) unless
# OUTPUT is newer than SOURCE.
make_once() {
    local out=$1 src=$2
    shift 2
    if [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
        say "creating $out"
        rm -f "$out.tmp.tif"
        "$@" "$out.tmp.tif"
        mv "$out.tmp.tif" "$out"
    fi
}
# A Web Mercator COG on the z9 tile grid, so native tiles are single blocks.
make_once "$RGB_3857" "$RGB_SRC" gdal_translate -q -of COG -co TILING_SCHEME=GoogleMapsCompatible \
    -co COMPRESS=DEFLATE "$RGB_SRC"
# A large COG with overviews: TCI.tif at 10 m, the size of a Sentinel-2 scene.
make_once "$LARGE" "$TCI" gdal_translate -q -outsize 1000% 1000% -r bilinear -of COG \
    -co COMPRESS=DEFLATE -co NUM_THREADS=2 "$TCI"

# Sources are resolved against the configuration's folder (bench/out).
cat >"$CONFIG" <<EOF
{
  "default_layer": "bluemarble",
  "layers": {
    "bluemarble": { "source": "../../$DEMO" },
    "rgb3857": { "source": "rgb_3857.tif" },
    "large": { "source": "large.tif" },
    "tci": { "source": "../../$TCI" },
    "dem": { "source": "../../$DEM", "colormap": "viridis", "rescale": [$DEM_MIN, $DEM_MAX] }
  }
}
EOF

source_of() {
    case $1 in
    bluemarble) echo "$DEMO" ;;
    rgb3857) echo "$RGB_3857" ;;
    large) echo "$LARGE" ;;
    tci) echo "$TCI" ;;
    dem) echo "$DEM" ;;
    *) die "no source for layer $1" ;;
    esac
}

# --- the peers' set-up --------------------------------------------------------------
# viridis (256 "R G B A" lines) as "VALUE R G B" for DEM_MIN..DEM_MAX: entry i at
# DEM_MIN + i * (DEM_MAX - DEM_MIN) / 255, which is where cogtiler's colormap
# index round((v - MIN) / (MAX - MIN) * 255) changes.
viridis_stops() {
    awk -v lo="$DEM_MIN" -v hi="$DEM_MAX" '
        BEGIN { n = 0 }
        /^#/ || NF < 3 { next }
        { printf "%.10g %d %d %d\n", lo + n * (hi - lo) / 255, $1, $2, $3; n++ }
        END { if (n != 256) exit 1 }' colormaps/viridis.txt
}

write_peer_files() {
    # MapServer: one CLASS whose 255 STYLEs ramp between neighbouring entries;
    # SCALE/SCALE_BUCKETS make bucket b = floor((v - SMIN) * 256 / (SMAX - SMIN)),
    # which with SMIN/SMAX half a step outside MIN/MAX is cogtiler's index, and
    # MapServer colours bucket b at its centre value, entry b exactly.
    viridis_stops | awk -v lo="$DEM_MIN" -v hi="$DEM_MAX" '
        BEGIN { n = 0 }
        { v[n] = $1; r[n] = $2; g[n] = $3; b[n] = $4; n++ }
        END {
            step = (hi - lo) / 255
            print "# generated by bench/run.sh from colormaps/viridis.txt, rescale " lo "," hi
            printf "PROCESSING \"SCALE=%.10g,%.10g\"\n", lo - step / 2, hi + step / 2
            print "PROCESSING \"SCALE_BUCKETS=256\""
            print "CLASS\n  NAME \"viridis\""
            for (i = 0; i < 255; i++)
                printf "  STYLE COLORRANGE %d %d %d %d %d %d DATARANGE %s %s END\n",
                    r[i], g[i], b[i], r[i + 1], g[i + 1], b[i + 1], v[i], v[i + 1]
            print "END"
        }' >"$OUT/dem_classes.map"
    cat >"$OUT/mapserver.conf" <<EOF
CONFIG
  ENV
    MS_MAPFILE "$ROOT/bench/bench.map"
  END
END
EOF
    # gdaldem color-relief: the same stops, nearest entry (no blending), nodata transparent.
    { echo "nv 0 0 0 0"; viridis_stops | awk '{ print $0, 255 }'; } >"$OUT/dem_colors.txt"
}

# --- the tile list ------------------------------------------------------------------
# Arrays indexed by tile: T_LAYER T_KIND T_Z T_X T_Y T_WANT T_BOUNDS (EPSG:3857).
load_tiles() {
    "$bench" --list "$SEED" >"$TILES"
    T_LAYER=() T_KIND=() T_Z=() T_X=() T_Y=() T_WANT=() T_BOUNDS=()
    local layer kind z x y want
    while read -r layer kind z x y want; do
        T_LAYER+=("$layer") T_KIND+=("$kind") T_Z+=("$z") T_X+=("$x") T_Y+=("$y")
        T_WANT+=("$want")
        T_BOUNDS+=("$(awk -v z="$z" -v x="$x" -v y="$y" 'BEGIN {
            o = 20037508.342789244; s = 2 * o / 2 ^ z
            printf "%.9f %.9f %.9f %.9f", -o + x * s, o - (y + 1) * s, -o + (x + 1) * s, o - y * s }')")
    done <"$TILES"
    LAYERS=$(awk '!seen[$1]++ { print $1 }' "$TILES")
}

# --- measurements -------------------------------------------------------------------
FAILED=0
fail() { say "$*"; FAILED=1; }

# In-process, warm: one bench_tiles process per dataset, so its peak RSS is that
# dataset's.
measure_warm() {
    local layer
    for layer in $LAYERS; do
        grep "^$layer " "$TILES" >"$OUT/tiles_$layer.txt"
        "$bench" --warm "$CONFIG" "$OUT/tiles_$layer.txt" "$WARM_ITER" >>"$SAMPLES" ||
            fail "warm rendering of $layer: unexpected status (see above)"
    done
}

# tile_png TOOL I: where TOOL's image of tile I goes.
tile_png() {
    echo "$OUT/tiles/$1/${T_LAYER[$2]}-${T_Z[$2]}-${T_X[$2]}-${T_Y[$2]}.png"
}

# run_tool TOOL I: one process (or two, for gdalwarp on the DEM) rendering tile I;
# appends its S and M records. Prints nothing on success.
run_tool() {
    local tool=$1 i=$2 layer=${T_LAYER[$2]} z=${T_Z[$2]} x=${T_X[$2]} y=${T_Y[$2]}
    local png st=$OUT/time.txt rc=0 status bytes=0 wall cpu rss
    png=$(tile_png "$tool" "$i")
    rm -f "$png"
    case $tool in
    cold)
        "$bench" --time "$st" -- "$BOOTSTRAP" tile "$z/$x/$y" --config "$CONFIG" --layer "$layer" \
            -o "$png" 2>"$OUT/tool.err" || rc=$?
        case $rc in 0) status=200 ;; 3) status=404 ;; *) status="exit$rc" ;; esac
        [ "$status" != 200 ] || bytes=$(stat -c %s "$png")
        ;;
    mapserver)
        MAPSERVER_CONFIG_FILE=$ROOT/$OUT/mapserver.conf REQUEST_METHOD=GET \
            QUERY_STRING="mode=tile&tilemode=gmap&tile=$x+$y+$z&layers=$layer" \
            "$bench" --time "$st" -- mapserv >"$png" 2>"$OUT/tool.err" || rc=$?
        # a CGI answer: headers, a blank line, the PNG
        local off
        off=$(LC_ALL=C grep -abo -m1 $'\x89PNG' "$png" | head -n1 | cut -d: -f1)
        if [ "$rc" = 0 ] && [ -n "$off" ] && head -c 24 "$png" | grep -q '^Content-Type: image/png'; then
            status=200
            bytes=$(($(stat -c %s "$png") - off))
        else
            status=500
            head -c 300 "$png" >>"$OUT/tool.err"
        fi
        ;;
    gdalwarp)
        local src te
        src=$(source_of "$layer")
        read -r -a te <<<"${T_BOUNDS[$i]}"
        local warp=(gdalwarp -q -overwrite --config GDAL_PAM_ENABLED NO -t_srs EPSG:3857
            -te "${te[@]}" -ts 256 256 -r near)
        if [ "$layer" = dem ]; then
            "$bench" --time "$st" -- "${warp[@]}" -of GTiff "$src" "$OUT/tiles/gdalwarp/dem.tif" \
                -- gdaldem color-relief -q -alpha -nearest_color_entry --config GDAL_PAM_ENABLED NO \
                -of PNG "$OUT/tiles/gdalwarp/dem.tif" "$OUT/dem_colors.txt" "$png" \
                >/dev/null 2>"$OUT/tool.err" || rc=$?
        else
            "$bench" --time "$st" -- "${warp[@]}" -dstalpha -of PNG "$src" "$png" \
                >/dev/null 2>"$OUT/tool.err" || rc=$?
        fi
        if [ "$rc" = 0 ] && [ -s "$png" ]; then
            status=200
            bytes=$(stat -c %s "$png")
        else
            status=500
        fi
        ;;
    *) die "run_tool: unknown tool $tool" ;;
    esac
    read -r wall cpu rss _ <"$st"
    echo "S $tool $layer ${T_KIND[$i]} $z/$x/$y $status $wall $cpu $bytes" >>"$SAMPLES"
    echo "M $tool $layer $rss" >>"$SAMPLES"
    local want=200
    [ "$tool" != cold ] || want=${T_WANT[$i]}
    if [ "$status" != "$want" ]; then
        fail "$tool, $layer $z/$x/$y: status $status, expected $want: $(head -c 300 "$OUT/tool.err")"
    fi
}

# One process per tile for cogtiler, MapServer and gdalwarp, taking turns tile by
# tile so that whatever else the machine does hits all three alike.
measure_processes() {
    local i tool
    mkdir -p "$OUT/tiles/cold" "$OUT/tiles/mapserver" "$OUT/tiles/gdalwarp"
    for _ in $(seq "$PROC_REPS"); do
        for i in "${!T_LAYER[@]}"; do
            for tool in cold mapserver gdalwarp; do
                run_tool "$tool" "$i"
            done
        done
    done
}

# CPU time (user + system) of process PID in ms.
proc_cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}

# server_start: ./bootstrap serve on a free 127.0.0.1 port; sets SERVER_PID, SERVER_URL.
server_start() {
    local port="" _
    : >"$OUT/serve.out"
    "$BOOTSTRAP" serve --host 127.0.0.1 --port 0 --config "$CONFIG" >"$OUT/serve.out" 2>/dev/null &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        port=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$OUT/serve.out")
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] || die "bootstrap serve did not start"
    SERVER_URL=http://127.0.0.1:$port
}

server_stop() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    forget_pid "$SERVER_PID"
}

# The local server under wrk, one fresh server per dataset (its peak RSS is that
# dataset's). Every tile is first requested once with curl (status checked,
# caches warmed); then wrk cycles through the tiles at each connection count.
measure_http() {
    local layer i code c cpu0 cpu1 line list rss
    for layer in $LAYERS; do
        list=$OUT/wrk_$layer.txt
        : >"$list"
        server_start
        for i in "${!T_LAYER[@]}"; do
            [ "${T_LAYER[$i]}" = "$layer" ] || continue
            local path="/tiles/$layer/${T_Z[$i]}/${T_X[$i]}/${T_Y[$i]}.png"
            echo "$path ${T_WANT[$i]}" >>"$list"
            code=$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL$path")
            [ "$code" = "${T_WANT[$i]}" ] || fail "HTTP $path: $code, expected ${T_WANT[$i]}"
        done
        for c in $WRK_CONNS; do
            cpu0=$(proc_cpu_ms "$SERVER_PID")
            wrk -t"$c" -c"$c" -d"${WRK_SECONDS}s" --timeout 30s -s bench/wrk_tiles.lua \
                "$SERVER_URL" -- "$list" >"$OUT/wrk.out" 2>&1 || fail "wrk failed: $(tail -n 3 "$OUT/wrk.out")"
            cpu1=$(proc_cpu_ms "$SERVER_PID")
            rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
            line=$(grep '^WRK ' "$OUT/wrk.out" || true)
            [ -n "$line" ] || { fail "wrk printed no result: $(tail -n 3 "$OUT/wrk.out")"; continue; }
            # WRK REQUESTS SECONDS P50 P95 P99 SOCKET_ERRORS BAD
            read -r _ req secs p50 p95 p99 errs bad <<<"$line"
            echo "H $layer $c $req $secs $p50 $p95 $p99 $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }') $rss $errs $bad" >>"$SAMPLES"
            [ "$bad" = 0 ] || fail "wrk on $layer, $c connections: $bad answers with an unexpected status"
            [ "$errs" = 0 ] || fail "wrk on $layer, $c connections: $errs socket errors"
        done
        server_stop
    done
}

# Each peer's image of each tile against cogtiler's (one process per tile), in
# one bench_tiles process: one result line per pair, in order.
check_outputs() {
    local i peer pairs=() ids=() line n=0
    for i in "${!T_LAYER[@]}"; do
        for peer in mapserver gdalwarp; do
            pairs+=("$(tile_png cold "$i")" "$(tile_png "$peer" "$i")")
            ids+=("$peer ${T_LAYER[$i]} ${T_KIND[$i]} ${T_Z[$i]}/${T_X[$i]}/${T_Y[$i]}")
        done
    done
    "$bench" --check "${pairs[@]}" >"$OUT/check.txt" || true
    while read -r line; do
        echo "C ${ids[$n]} $line" >>"$SAMPLES"
        case $line in bad*) fail "${ids[$n]}: $line" ;; esac
        n=$((n + 1))
    done <"$OUT/check.txt"
    [ "$n" = "${#ids[@]}" ] || fail "bench_tiles --check answered $n of ${#ids[@]} pairs"
}

# --- sections ------------------------------------------------------------------------
section_compare() {
    write_peer_files
    load_tiles
    : >"$SAMPLES"
    say "compare: in-process, $WARM_ITER passes over ${#T_LAYER[@]} tiles"
    measure_warm
    say "compare: one process per tile, $PROC_REPS x ${#T_LAYER[@]} tiles x 3 tools"
    measure_processes
    say "compare: HTTP server under wrk, ${WRK_SECONDS}s x {$WRK_CONNS} connections per dataset"
    measure_http
    say "compare: checking the peers' images"
    check_outputs

    cat <<EOF
## Side by side: cogtiler, MapServer and gdalwarp on the same tiles

All figures of this section come from this one run, on the same tiles with the
same colours: ${#T_LAYER[@]} tiles (256 px) of five datasets, chosen by kind from a
seeded list (\`bench_tiles --list $SEED\`, listed at the end).

- **cogtiler in-process, warm**: \`handler_handle()\` in one process per dataset
  (\`bench_tiles --warm\`): one untimed pass over the dataset's tiles (opens the
  source, fills GDAL's cache), then $WARM_ITER timed passes.
- **cogtiler HTTP server**: \`bootstrap serve\` on 127.0.0.1 (one request at a time
  on one thread), one fresh server per dataset, each tile requested once with
  curl first; then \`wrk\` for ${WRK_SECONDS} s per connection count, cycling
  through the tiles (\`bench/wrk_tiles.lua\` checks every status). Latencies are
  wrk's (with its coordinated-omission correction); CPU is the server's.
- **one process per tile**: $PROC_REPS rounds over the list, the three tools taking
  turns on each tile; wall time from spawning to exit, CPU and peak RSS of the
  process(es) from \`wait4\` (\`bench_tiles --time\`).
  - cogtiler: \`bootstrap tile Z/X/Y --config bench/out/layers.json --layer L -o F.png\`.
  - MapServer $MS_VERSION as CGI: \`mapserv\` with \`REQUEST_METHOD=GET\` and
    \`QUERY_STRING=mode=tile&tilemode=gmap&tile=X+Y+Z&layers=L\` over
    [bench/bench.map](bench/bench.map): nearest resampling, 8-bit RGBA PNG,
    the DEM through \`SCALE\`/\`SCALE_BUCKETS\` and a 255-step viridis
    \`COLORRANGE\` ramp matching cogtiler's colormap indices.
  - gdalwarp: \`gdalwarp -t_srs EPSG:3857 -te <tile bounds> -ts 256 256 -r near
    -dstalpha -of PNG SRC F.png\`; for the DEM \`-of GTiff\` (Float32) then
    \`gdaldem color-relief -alpha -nearest_color_entry -of PNG\` with viridis at
    the same stops (two processes, both counted). Both with
    \`--config GDAL_PAM_ENABLED NO\` (no \`.aux.xml\` beside each tile).
- Colours: the DEM with viridis over rescale $DEM_MIN,$DEM_MAX everywhere
  (cogtiler: \`colormap_name=viridis&rescale=$DEM_MIN,$DEM_MAX\` in its layer);
  the RGB datasets as they are, nodata transparent.
- **tiles/s on one core** = 1000 / mean CPU ms per tile (the server: requests
  per CPU-second of the server), so it does not depend on what else the machine
  runs; **vs MapServer / vs gdalwarp** divide those figures, same dataset, same
  run. **median / p95** are wall times. **PNG bytes**: mean size of the 200
  answers (MapServer's without its CGI header). cogtiler answers 404 without
  reading for the *outside* tiles, where both peers render an empty tile.

EOF
    "$bench" --report "$SAMPLES" || FAILED=1
    echo
    echo "<details><summary>The tile list (layer kind z x y expected-status)</summary>"
    echo
    echo '```'
    awk '{ k = $1 " " $2; if (k != last) { if (last != "") printf "\n"; printf "%s %s:", $1, $2; last = k }
           printf " %s/%s/%s", $3, $4, $5; if ($6 != 200) printf "(%s)", $6 } END { printf "\n" }' "$TILES"
    echo '```'
    echo
    echo "</details>"
    return "$FAILED"
}

now_ns() { date +%s%N; }

# Median (interpolated) and max of the numbers on stdin, as "MEDIAN MAX".
median_max() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- -"; exit }
        p = (NR - 1) / 2; lo = int(p); f = p - lo
        m = (lo + 2 <= NR) ? v[lo + 1] + f * (v[lo + 2] - v[lo + 1]) : v[lo + 1]
        printf "%.1f %.1f\n", m, v[NR] }'
}

section_breakdown() {
    local rc=0
    say "breakdown: $ITER calls per hand-picked tile"
    echo
    echo "## Where cogtiler's time goes (one hand-picked tile per kind, in-process)"
    echo
    "$bench" "$CONFIG" "$ITER" || rc=$?
    # The cost of starting the process at all: exec plus loading libgdal and
    # its libraries, before any GDAL work.
    local times="" i st=$OUT/time.txt wall
    for i in $(seq "$COLD_N"); do
        "$bench" --time "$st" -- "$BOOTSTRAP" --help >/dev/null 2>&1 || true
        read -r wall _ <"$st"
        times="$times$wall"$'\n'
    done
    local mm
    mm=$(printf '%s' "$times" | awk 'NF' | median_max)
    echo
    echo "### Process start ($COLD_N runs)"
    echo
    echo "| command | median ms | max ms |"
    echo "|---|---:|---:|"
    echo "| bootstrap --help (exec and dynamic linking, no GDAL work) | ${mm% *} | ${mm#* } |"
    return "$rc"
}

# Derived layers (bench/overlay.sh, its own data in bench/out/overlay/): the
# overlay and expression tiles against their inputs' tiles alone, warm, in
# process, interleaved. Non-zero only when a request answers other than 200.
section_overlay() {
    say "overlay: derived tiles against their inputs' tiles alone (${BENCH_OVERLAY_ITER:-30} passes)"
    bench/overlay.sh "$bench" "$BOOTSTRAP"
}

# GCP-referenced sources (bench/gcps.sh): a scene through its GCPs (polynomial,
# thin plate spline) against the same scene warped beforehand, warm, interleaved.
section_gcps() {
    say "gcps: a GCP scene's warm tiles against the same scene prewarped"
    echo
    echo "## GCP-referenced sources"
    echo
    bench/gcps.sh "$bench" "${BENCH_GCPS_ITER:-20}"
}

# The warm tile before and after (bench/warm_ab.sh).
section_warmab() {
    say "warmab: the warm tile of ${BENCH_WARM_BEFORE:-1888197} and of this tree"
    echo
    echo "## The warm tile, before and after"
    echo
    [ -n "${LAYERS:-}" ] || load_tiles
    bench/warm_ab.sh "$bench" "$CONFIG" "$TILES"
}

# Tile formats: bench_tiles --formats on each dataset's tiles of the list.
section_formats() {
    local rc=0 layer
    say "formats: png, webp, jpg, tif on every tile ($FORMATS_ITER passes)"
    echo
    echo "## Tile formats and the cost of delivery"
    echo
    cat <<EOF
Every tile of the list that answers 200, in each format, warm and in process
(\`bench_tiles --formats\`: one untimed pass, then $FORMATS_ITER passes that
alternate the formats tile by tile). WebP is lossless for coloured tiles (dem)
and lossy (quality 80) for imagery; JPEG quality 85; GeoTIFF holds the source's
values (DEFLATE). *Cost of a million tiles*, each rendered once and delivered
once (a CloudFront miss): CloudFront egress at \$0.085/GB (first 10 TB, North
America) of the mean bytes, CloudFront HTTPS requests \$1.00/M plus API Gateway
HTTP API \$1.00/M ("requests"), and Lambda at 1,769 MB (one vCPU): \$0.20/M
plus the tile median rounded up to the ms. A CloudFront hit costs only the
egress and CloudFront's request fee.
EOF
    [ -n "${LAYERS:-}" ] || load_tiles
    for layer in $LAYERS; do
        grep "^$layer " "$TILES" >"$OUT/tiles_$layer.txt"
        "$bench" --formats "$CONFIG" "$OUT/tiles_$layer.txt" "$FORMATS_ITER" || rc=1
    done
    return "$rc"
}

# Lambda cold start through the Runtime API emulator (test/lambda_emulator.js):
# from starting `bootstrap` (no arguments, AWS_LAMBDA_RUNTIME_API set) until the
# response to its first event, a demo tile (HTTP API 2.0), reaches the emulator.
section_lambda() {
    say "lambda: $COLD_N cold starts"
    command -v node >/dev/null || { echo; echo "(no node: Lambda cold start skipped)"; return 0; }
    node test/lambda_emulator.js >"$OUT/emu.out" 2>/dev/null &
    local emu=$! port="" times="" t0 t1 b ok=0
    STARTED_PIDS+=("$emu")
    for _ in $(seq 50); do
        port=$(sed -n 's/^PORT //p' "$OUT/emu.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        kill "$emu" 2>/dev/null
        wait "$emu" 2>/dev/null
        forget_pid "$emu"
        say "emulator did not start"
        return 1
    fi
    for _ in $(seq "$COLD_N"); do
        t0=$(now_ns)
        AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port COGTILER_CONFIG=data/layers.json \
            "$BOOTSTRAP" 2>/dev/null &
        b=$!
        STARTED_PIDS+=("$b")
        if curl -s -X POST --data-binary @test/lambda/http_v2.json \
            "http://127.0.0.1:$port/test/invoke?wait_s=10" | grep -Eq 'statusCode(\\)?":200'; then
            t1=$(now_ns)
            times="$times$(((t1 - t0) / 1000))"$'\n'
            ok=$((ok + 1))
        fi
        kill "$b" 2>/dev/null
        wait "$b" 2>/dev/null
        forget_pid "$b"
    done
    curl -s -X POST "http://127.0.0.1:$port/test/shutdown" >/dev/null
    wait "$emu" 2>/dev/null
    forget_pid "$emu"
    local mm
    mm=$(printf '%s' "$times" | awk 'NF { printf "%.3f\n", $1 / 1000 }' | median_max)
    echo
    echo "## Lambda cold start (process start to first demo tile response, via the emulator, $COLD_N runs)"
    echo
    echo "| what | median ms | max ms | answered 200 |"
    echo "|---|---:|---:|---:|"
    echo "| bootstrap (runtime loop), tile 2/1/1 of bluemarble | ${mm% *} | ${mm#* } | $ok/$COLD_N |"
    [ "$ok" = "$COLD_N" ]
}

# --- the Lambda bundle (tools/bundle-figures.sh; make bench runs make bundle first) ----
section_bundle() {
    say "bundle: sizes, process start, cold start, peak RSS"
    echo "## The Lambda bundle (\`make bundle\`, lean GDAL) beside the Debian-linked binary"
    echo
    tools/bundle-figures.sh --ref "$BOOTSTRAP"
}

# --- remote reads: requests per tile (bench/remote.sh starts nginx and s3rver) -----------
section_remote() {
    say "remote reads: requests per open and per tile"
    bench/remote.sh "$BOOTSTRAP"
}

section_concurrency() {
    say "concurrency: worker threads against the single-threaded server"
    bench/concurrency.sh "$BOOTSTRAP"
}

section_zonal() {
    say "zonal: bootstrap stats beside gdal_rasterize + numpy, zones of 1 M to 170 M cells"
    bench/zonal.sh "$BOOTSTRAP"
}

section_fanout() {
    say "fanout: one statistics request in 1 to 64 parts through the Invoke API (test/lambda_pool.js)"
    bench/fanout.sh "$BOOTSTRAP"
}

section_faults() {
    say "faults: test/test_remote.sh and test/test_gate.sh with a fault table"
    local table=$ROOT/$OUT/faults.md rc=0
    : >"$table"
    FAULT_TABLE=$table BOOTSTRAP=$BOOTSTRAP bash test/test_remote.sh >"$OUT/faults-remote.log" 2>&1 || rc=1
    FAULT_TABLE=$table BOOTSTRAP=$BOOTSTRAP bash test/test_gate.sh >"$OUT/faults-gate.log" 2>&1 || rc=1
    echo "## Faults and hostile input: status, time, and the next request"
    echo
    echo "Every case of test/test_remote.sh (layers on nginx and s3rver) and"
    echo "test/test_gate.sh (url= through the gate, the server under trickling clients),"
    echo "in this run: the status answered, the time the answer took, and whether the"
    echo "request after it was served (a local tile, 200)."
    echo
    echo "| case | status | time | next served |"
    echo "|---|---|---|---|"
    cat "$table"
    [ "$rc" = 0 ] || fail "a fault test failed: see $OUT/faults-*.log"
    return "$rc"
}

section_soak() {
    if [ -f bench/soak-results.md ]; then
        cat bench/soak-results.md
    else
        echo "## Soak"
        echo
        echo "No soak run on record: \`make soak\` writes bench/soak-results.md."
    fi
}

# --- the report ---------------------------------------------------------------------
MS_VERSION=$(mapserv -v | awk '{ print $3; exit }')

header() {
    local overrides
    overrides=$(env | grep '^BENCH_' | sort | tr '\n' ' ' || true)
    echo "# cogtiler benchmarks"
    echo
    echo "Measured by \`${overrides}make bench\` (bench/run.sh; what is measured and how:"
    echo "[bench/README.md](bench/README.md)). Speed claims count only as ratios measured"
    echo "side by side in one run, on the same tiles: the tables below are one such run."
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
        "$(awk '/^MemTotal:/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
    echo "- cogtiler $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' (src/include modified)');" \
        "$(gdalinfo --version); MapServer $MS_VERSION; $(wrk -v 2>&1 | awk '{ print $1, $2; exit }')"
    echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared:" \
        "CPU-time figures do not depend on that, wall times do)"
}

report() {
    local rc=0 section
    header
    for section in $SECTIONS; do
        declare -F "section_$section" >/dev/null || die "no section $section"
        echo
        "section_$section" || rc=1
    done
    echo
    echo "---"
    echo "Run time: $((SECONDS - START_SECONDS)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    return "$rc"
}

rc=0
report >"$OUT/results.md" || rc=$?
cat "$OUT/results.md"
if [ "$rc" = 0 ] && [ -n "$OUTPUT" ]; then
    cp "$OUT/results.md" "$OUTPUT"
    say "report saved to $OUT/results.md and $OUTPUT"
else
    say "report saved to $OUT/results.md${OUTPUT:+ (not copied to $OUTPUT: the run failed)}"
fi
exit "$rc"
