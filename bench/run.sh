#!/usr/bin/env bash
# run.sh BENCH_TILES - the `make bench` driver (see bench/README.md).
# Prepares the benchmark datasets in bench/out/ (GDAL command-line tools), runs
# the in-process tile benchmark, then times cold starts of ./bootstrap tile.
# Prints one Markdown report to stdout and keeps a copy in bench/out/results.md.
# Environment: BENCH_ITER (timed calls per tile, default 50),
#              BENCH_COLD_N (processes per cold-start row, default 10).
# Timings are printed, never judged: the exit status is non-zero only when the
# benchmark cannot run or a tile answers an unexpected HTTP status.
set -euo pipefail

die() { echo "bench/run.sh: $*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: bench/run.sh BENCH_TILES (normally via 'make bench')"
bench=$1
case $bench in /*) ;; *) bench=$PWD/$bench ;; esac
[ -x "$bench" ] || die "$1 is not an executable (build it with 'make build/rel/bench_tiles')"

cd "$(dirname "$0")/.."
ITER=${BENCH_ITER:-50}
COLD_N=${BENCH_COLD_N:-10}
OUT=bench/out
BOOTSTRAP=./bootstrap

for tool in gdal_translate gdalinfo; do
    command -v "$tool" >/dev/null || die "$tool not found: install gdal-bin ('make deps-test')"
done
[ -x "$BOOTSTRAP" ] || die "$BOOTSTRAP not found: run 'make bootstrap' first"

# --- datasets --------------------------------------------------------------------
# layer | source (from the repository root) | extra `bootstrap tile` options
DEMO=data/bluemarble_topo_bathy_200412_4326_cog.tif
RGB_SRC=test/data/rasterio/RGB.byte.tif
RGB_3857=$OUT/rgb_3857.tif
TCI=test/data/titiler/TCI.tif
DEM=test/data/titiler/dem.tif
for f in "$DEMO" "$RGB_SRC" "$TCI" "$DEM"; do
    [ -f "$f" ] || die "missing $f: the benchmark needs the project's test data (test/data/)"
done
mkdir -p "$OUT"

# (b) a Web Mercator COG on the z9 tile grid, so native tiles are single blocks.
if [ ! -f "$RGB_3857" ] || [ "$RGB_SRC" -nt "$RGB_3857" ]; then
    echo "bench/run.sh: creating $RGB_3857" >&2
    rm -f "$RGB_3857.tmp.tif"
    gdal_translate -q -of COG -co TILING_SCHEME=GoogleMapsCompatible -co COMPRESS=DEFLATE \
        "$RGB_SRC" "$RGB_3857.tmp.tif"
    mv "$RGB_3857.tmp.tif" "$RGB_3857"
fi

# Sources are resolved against the configuration's folder (bench/out).
cat >"$OUT/layers.json" <<EOF
{
  "default_layer": "bluemarble",
  "layers": {
    "bluemarble": { "source": "../../$DEMO" },
    "rgb3857": { "source": "rgb_3857.tif" },
    "tci": { "source": "../../$TCI" },
    "dem": { "source": "../../$DEM", "colormap": "viridis" }
  }
}
EOF

source_of() {
    case $1 in
    bluemarble) echo "$DEMO" ;;
    rgb3857) echo "$RGB_3857" ;;
    tci) echo "$TCI" ;;
    dem) echo "$DEM" ;;
    *) die "no source for layer $1" ;;
    esac
}
extra_of() {
    case $1 in
    dem) echo "--colormap viridis" ;;
    *) echo "" ;;
    esac
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

# cold_row LABEL EXPECTED_RC CMD... : runs CMD COLD_N times, prints a table row.
cold_failed=0
cold_row() {
    local label=$1 want=$2 times="" rc t0 t1
    shift 2
    for _ in $(seq "$COLD_N"); do
        t0=$(now_ns)
        rc=0
        "$@" >/dev/null 2>"$OUT/cold.err" || rc=$?
        t1=$(now_ns)
        if [ "$rc" != "$want" ]; then
            echo "bench/run.sh: '$*' exited $rc: $(head -c 300 "$OUT/cold.err")" >&2
            cold_failed=1
        fi
        times="$times$(((t1 - t0) / 1000))"$'\n'
    done
    local mm
    mm=$(printf '%s' "$times" | awk 'NF { printf "%.3f\n", $1 / 1000 }' | median_max)
    echo "| $label | ${mm% *} | ${mm#* } |"
}

report() {
    echo "## cogtiler benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' (src/include modified)')"
    echo "- machine: $(uname -sm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "- $(gdalinfo --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    local rc=0
    "$bench" "$OUT/layers.json" "$ITER" || rc=$?

    echo
    echo "### Cold start (one \`bootstrap tile\` process per tile, $COLD_N runs, wall ms incl. fork/exec)"
    echo
    echo "| command | median ms | max ms |"
    echo "|---|---:|---:|"
    cold_row "bootstrap --help (process start and dynamic linking only)" 0 "$BOOTSTRAP" --help
    local layer kind z x y _expect src
    # shellcheck disable=SC2046
    while read -r layer kind z x y _expect; do
        [ "$kind" = native ] || continue
        src=$(source_of "$layer")
        cold_row "tile $z/$x/$y --source $(basename "$src")$(extra_of "$layer" | sed 's/^./ &/')" 0 \
            "$BOOTSTRAP" tile "$z/$x/$y" --source "$src" $(extra_of "$layer") -o /dev/null
    done < <("$bench" --list)
    rm -f "$OUT/cold.err"
    [ "$cold_failed" = 0 ] || rc=1
    lambda_cold || rc=1
    return "$rc"
}

# Lambda cold start through the Runtime API emulator (test/lambda_emulator.js):
# from starting `bootstrap` (no arguments, AWS_LAMBDA_RUNTIME_API set) until the
# response to its first event, a demo tile (HTTP API 2.0), reaches the emulator.
lambda_cold() {
    command -v node >/dev/null || { echo "(no node: Lambda cold start skipped)"; return 0; }
    node test/lambda_emulator.js >"$OUT/emu.out" 2>/dev/null &
    local emu=$! port="" times="" t0 t1 b ok=0
    for _ in $(seq 50); do
        port=$(sed -n 's/^PORT //p' "$OUT/emu.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { kill "$emu"; echo "bench/run.sh: emulator did not start" >&2; return 1; }
    for _ in $(seq "$COLD_N"); do
        t0=$(now_ns)
        AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port COGTILER_CONFIG=data/layers.json \
            "$BOOTSTRAP" 2>/dev/null &
        b=$!
        if curl -s -X POST --data-binary @test/lambda/http_v2.json \
            "http://127.0.0.1:$port/test/invoke?wait_s=10" | grep -Eq 'statusCode(\\)?":200'; then
            t1=$(now_ns)
            times="$times$(((t1 - t0) / 1000))"$'\n'
            ok=$((ok + 1))
        fi
        kill "$b" 2>/dev/null
        wait "$b" 2>/dev/null
    done
    curl -s -X POST "http://127.0.0.1:$port/test/shutdown" >/dev/null
    wait "$emu" 2>/dev/null
    local mm
    mm=$(printf '%s' "$times" | awk 'NF { printf "%.3f\n", $1 / 1000 }' | median_max)
    echo
    echo "### Lambda cold start (process start to first demo tile response, via the emulator, $COLD_N runs)"
    echo
    echo "| what | median ms | max ms | answered 200 |"
    echo "|---|---:|---:|---:|"
    echo "| bootstrap (runtime loop), tile 2/1/1 of bluemarble | ${mm% *} | ${mm#* } | $ok/$COLD_N |"
    [ "$ok" = "$COLD_N" ]
}

rc=0
report | tee "$OUT/results.md" || rc=$?
echo "bench/run.sh: report saved to $OUT/results.md" >&2
exit "$rc"
