#!/usr/bin/env bash
# zonal.sh [BOOTSTRAP] - section "zonal" of make bench (bench/README.md):
# `bootstrap stats` (docs/ZONAL.md) beside a baseline of GDAL's rasterizer and
# numpy (test/zonal_ref.py, the reference the tests compare with: it
# rasterizes the zone's window with gdal.RasterizeLayer and computes every
# statistic with numpy over the whole window in memory), on polygons of
# about 1 M, 10 M, 50 M and 170 M cells of a 170-million-cell COG, in one run:
# wall time, CPU time (user + system) and peak RSS (GNU time's %M), the
# median of BENCH_ZONAL_REPS runs, the tools taking turns on each polygon.
# Prints Markdown on stdout, progress on stderr; exits non-zero when a run
# fails or cogtiler's answer differs from the baseline's (center,
# all_touched: to 1e-9).
#
# Environment:
#   BENCH_ZONAL_REPS    runs per polygon and tool (default 3)
#   BENCH_ZONAL_SIZES   target cell counts in millions (default "1 10 50 170")
#   BENCH_ZONAL_DATA_ONLY  1: make the rasters and zones in bench/out/zonal/ and
#                       stop (bench/fanout.sh uses them)
#   BENCH_ZONAL_DEM     1 (default) to add the Float32 DEM enlarged 16 times
#                       (41 M cells, over 100,000 distinct values: the
#                       approximate histogram), 0 to leave it out
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP=${1:-./bootstrap}
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
REPS=${BENCH_ZONAL_REPS:-3}
SIZES=${BENCH_ZONAL_SIZES:-1 10 50 170}
WITH_DEM=${BENCH_ZONAL_DEM:-1}
PY=/usr/bin/python3
OUT=bench/out/zonal
TIME=/usr/bin/time
START=$SECONDS
say() { echo "bench/zonal.sh [$((SECONDS - START)) s]: $*" >&2; }
die() { echo "bench/zonal.sh: $*" >&2; exit 2; }

$TIME -f %M true >/dev/null 2>&1 || die "GNU time (/usr/bin/time, Debian package time) is needed"
$PY -c 'import numpy, osgeo.gdal' 2>/dev/null || die "python3-gdal and python3-numpy are needed (make deps-test)"
command -v gdal_translate >/dev/null || die "gdal_translate is needed (gdal-bin)"
mkdir -p "$OUT"

HAVE_STATS=1
"$BOOTSTRAP" --help 2>&1 | grep -q 'bootstrap stats' || HAVE_STATS=0

# --- data: lc.tif upsampled 210 times (nearest): 17,640 x 9,660 = 170.4 M cells,
# a DEFLATE COG of 512 x 512 blocks without overviews; the DEM 16 times:
# 6,400 x 6,400 = 41 M Float32 cells.
LC=$OUT/lc_x210.tif
DEM=$OUT/dem_x16.tif
if [ ! -f "$LC" ] || [ test/data/r-cran-stars/lc.tif -nt "$LC" ]; then
    say "creating $LC (170 M cells)"
    gdal_translate -q -r nearest -outsize 17640 9660 -of COG -co COMPRESS=DEFLATE -co BLOCKSIZE=512 \
        -co OVERVIEWS=NONE -co NUM_THREADS=2 test/data/r-cran-stars/lc.tif "$LC.tmp.tif"
    mv "$LC.tmp.tif" "$LC"
fi
if [ "$WITH_DEM" = 1 ] && { [ ! -f "$DEM" ] || [ test/data/titiler/dem.tif -nt "$DEM" ]; }; then
    say "creating $DEM (41 M cells)"
    gdal_translate -q -r nearest -outsize 6400 6400 -of COG -co COMPRESS=DEFLATE -co PREDICTOR=3 \
        -co BLOCKSIZE=512 -co OVERVIEWS=NONE -co NUM_THREADS=2 test/data/titiler/dem.tif "$DEM.tmp.tif"
    mv "$DEM.tmp.tif" "$DEM"
fi

# --- zones: octagons centred on the raster whose area is the target in cells
# (the last size: a quadrilateral beyond the raster's corners, every cell),
# written in lon/lat; the answer gives the cells actually counted.
$PY - "$LC" "$OUT" $SIZES <<'EOF'
import json, math, sys
from osgeo import gdal, osr
gdal.UseExceptions()
path, out, sizes = sys.argv[1], sys.argv[2], [float(s) for s in sys.argv[3:]]
ds = gdal.Open(path)
gt = ds.GetGeoTransform()
w, h = ds.RasterXSize, ds.RasterYSize
srs = ds.GetSpatialRef(); srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326); wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
ct = osr.CoordinateTransformation(srs, wgs)
cx, cy = gt[0] + w / 2 * gt[1], gt[3] + h / 2 * gt[5]
cell = abs(gt[1] * gt[5])
def ll(x, y):
    lon, lat, _ = ct.TransformPoint(x, y)
    return [round(lon, 7), round(lat, 7)]
for s in sizes:
    cells = s * 1e6
    if cells >= w * h * 0.99:
        m = 0.02 * w * gt[1]
        x0, x1 = gt[0] - m, gt[0] + w * gt[1] + m
        y0, y1 = gt[3] + h * gt[5] - m, gt[3] + m
        ring = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1)]
    else:
        # a regular octagon of area 2 sqrt(2) r^2, squeezed to the raster's aspect
        r = math.sqrt(cells * cell / (2 * math.sqrt(2)))
        ax = math.sqrt(w / h)
        ring = [ll(cx + r * ax * math.cos(math.pi / 8 + k * math.pi / 4),
                   cy + r / ax * math.sin(math.pi / 8 + k * math.pi / 4)) for k in range(8)]
    ring.append(ring[0])
    f = {"type": "Feature", "properties": {"target_cells": cells},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
    json.dump(f, open(f"{out}/zone_{s:g}M.geojson", "w"))
EOF
if [ "$WITH_DEM" = 1 ]; then
    # the DEM's whole extent and beyond (about 41 M cells)
    echo '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[7.0890, 45.9150], [7.1050, 45.9150], [7.1050, 45.9260], [7.0890, 45.9260], [7.0890, 45.9150]]]}}' \
        >"$OUT/zone_dem.geojson"
fi

[ "${BENCH_ZONAL_DATA_ONLY:-0}" = 1 ] && exit 0

# --- runs ----------------------------------------------------------------------------
# run TOOL COVERAGE RASTER ZONE: one timed process; appends
# "TOOL COVERAGE ZONE WALL_S CPU_S RSS_KB RC" to $OUT/samples.txt; the answer
# in $OUT/ans-TOOL-COVERAGE-ZONE.json.
SAMPLES=$OUT/samples.txt
: >"$SAMPLES"
FAILED=0
run() {
    local tool=$1 cov=$2 raster=$3 zone=$4 zn ans rc=0
    zn=$(basename "$zone" .geojson)
    ans=$OUT/ans-$tool-$cov-$zn.json
    case $tool in
    baseline) $TIME -f '%e %U %S %M' -o "$OUT/time.txt" $PY test/zonal_ref.py --source "$raster" \
        --geojson "$zone" --query "coverage=$cov" >"$ans" 2>"$OUT/err.txt" || rc=$? ;;
    cogtiler) $TIME -f '%e %U %S %M' -o "$OUT/time.txt" "$BOOTSTRAP" stats --source "$raster" \
        --geojson "$zone" --query "coverage=$cov" >"$ans" 2>"$OUT/err.txt" || rc=$? ;;
    esac
    local wall user sys rss
    read -r wall user sys rss < <(tail -n 1 "$OUT/time.txt")
    echo "$tool $cov $zn $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss $rc" >>"$SAMPLES"
    if [ "$rc" != 0 ]; then
        say "$tool $cov $zn: exit $rc: $(head -c 300 "$OUT/err.txt")"
        FAILED=1
    fi
}

ZONES=()
for s in $SIZES; do ZONES+=("$LC $OUT/zone_${s}M.geojson"); done
[ "$WITH_DEM" = 1 ] && ZONES+=("$DEM $OUT/zone_dem.geojson")
TOOLS=("baseline center" "baseline all_touched")
[ "$HAVE_STATS" = 1 ] && TOOLS+=("cogtiler center" "cogtiler all_touched" "cogtiler exact")
[ "$HAVE_STATS" = 1 ] || say "$BOOTSTRAP has no stats command: only the baseline is measured"
for z in "${ZONES[@]}"; do
    read -r raster zone <<<"$z"
    say "$(basename "$zone"): ${#TOOLS[@]} tools x $REPS runs"
    for _ in $(seq "$REPS"); do
        for t in "${TOOLS[@]}"; do
            read -r tool cov <<<"$t"
            run "$tool" "$cov" "$raster" "$zone"
        done
    done
done

# cogtiler's answers against the baseline's (center and all_touched: to 1e-9;
# approximate answers within the reference's tolerance)
AGREE=$OUT/agree.txt
: >"$AGREE"
if [ "$HAVE_STATS" = 1 ]; then
    for z in "${ZONES[@]}"; do
        read -r raster zone <<<"$z"
        zn=$(basename "$zone" .geojson)
        for cov in center all_touched; do
            ans=$OUT/ans-cogtiler-$cov-$zn.json
            # an approximate answer (over 100,000 values): the reference's check,
            # which allows a bin of the power-of-two histogram
            if grep -q '"approximate": *true' "$ans"; then
                cmp_cmd=("$PY" test/zonal_ref.py check --source "$raster" --geojson "$zone"
                    --query "coverage=$cov" "$ans")
            else
                cmp_cmd=("$PY" test/zonal_ref.py same --rel 1e-9 "$OUT/ans-baseline-$cov-$zn.json" "$ans")
            fi
            if "${cmp_cmd[@]}" >"$OUT/same-$cov-$zn.txt" 2>&1; then
                echo "$zn $cov yes" >>"$AGREE"
            else
                echo "$zn $cov no" >>"$AGREE"
                say "$zn $cov: cogtiler differs from the baseline: $(head -n 3 "$OUT/same-$cov-$zn.txt" | tr '\n' ' ')"
                FAILED=1
            fi
        done
    done
fi

# --- the report ----------------------------------------------------------------------------
$PY - "$SAMPLES" "$AGREE" "$OUT" "$HAVE_STATS" "$REPS" <<'EOF'
import json, os, statistics, sys
samples, agree, out, have, reps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5]
runs = {}
order = []
for line in open(samples):
    tool, cov, zn, wall, cpu, rss, rc = line.split()
    k = (zn, tool, cov)
    if k not in runs:
        runs[k] = []
        order.append(k)
    if rc == "0":
        runs[k].append((float(wall), float(cpu), int(rss)))
agreed = {}
for line in open(agree):
    zn, cov, a = line.split()
    agreed[(zn, cov)] = a
zones = []
for k in order:
    if k[0] not in zones:
        zones.append(k[0])
def cells(zn):
    """cells counted (valid + masked) in the baseline's center answer."""
    try:
        d = json.load(open(f"{out}/ans-baseline-center-{zn}.json"))
        s = d["properties"]["statistics"]["b1"]
        return s["valid_pixels"] + s["masked_pixels"]
    except Exception:
        return None
def med(k, i):
    v = [r[i] for r in runs.get(k, [])]
    return statistics.median(v) if v else None
def f(x, fmt):
    return "-" if x is None else format(x, fmt)
print("## Zonal statistics: `bootstrap stats` beside GDAL's rasterizer + numpy\n")
print(f"Medians of {reps} runs per polygon and tool, taking turns, in this run (`bench/zonal.sh`):")
print("wall time, CPU time (user + system) and peak RSS (GNU time) of one process each.")
print("Baseline: `test/zonal_ref.py` (gdal.RasterizeLayer over the zone's window, then numpy")
print("over the whole window in memory; the reference the tests compare with). Raster:")
print("`lc.tif` upsampled 210 times (17,640 x 9,660 = 170 M Byte cells, DEFLATE COG, 512 px")
print("blocks)" + (", and `dem_x16`: `dem.tif` upsampled 16 times (6,400 x 6,400 = 41 M Float32 cells, over" if any(z == "zone_dem" for z in zones) else ""))
if any(z == "zone_dem" for z in zones):
    print("100,000 distinct values: the approximate histogram)")
print()
print("| zone | cells | tool | coverage | wall s | CPU s | peak RSS MB | agrees |")
print("|---|---:|---|---|---:|---:|---:|---|")
for zn in zones:
    n = cells(zn)
    for k in order:
        if k[0] != zn:
            continue
        _, tool, cov = k
        a = agreed.get((zn, cov), "") if tool == "cogtiler" and cov != "exact" else ""
        rss = med(k, 2)
        print(f"| {zn[5:]} | {f(n, ',')} | {tool} | {cov} | {f(med(k, 0), '.2f')} | {f(med(k, 1), '.2f')} | "
              f"{f(rss / 1024 if rss else None, '.0f')} | {a} |")
print()
if not have:
    print("`bootstrap stats` is not in this build: the cogtiler rows and the ratios are missing.")
    sys.exit(0)
print("### Ratios (same run)\n")
print("| zone | cells | CPU: baseline center / cogtiler center | wall: baseline / cogtiler (center) | CPU: exact / center | RSS MB: cogtiler center / exact / baseline center |")
print("|---|---:|---:|---:|---:|---|")
rss_c = []
for zn in zones:
    bc, cc, ce = (zn, "baseline", "center"), (zn, "cogtiler", "center"), (zn, "cogtiler", "exact")
    r = lambda a, b, i: (med(a, i) / med(b, i)) if med(a, i) and med(b, i) else None
    rc, re_, rb = med(cc, 2), med(ce, 2), med(bc, 2)
    if zn != "zone_dem" and rc:
        rss_c.append((zn, rc / 1024))
    print(f"| {zn[5:]} | {f(cells(zn), ',')} | {f(r(bc, cc, 1), '.1f')}x | {f(r(bc, cc, 0), '.1f')}x | "
          f"{f(r(ce, cc, 1), '.2f')}x | {f(rc / 1024 if rc else None, '.0f')} / {f(re_ / 1024 if re_ else None, '.0f')} / "
          f"{f(rb / 1024 if rb else None, '.0f')} |")
if len(rss_c) >= 2:
    lo, hi = rss_c[0], rss_c[-1]
    print(f"\ncogtiler's peak RSS (center) from the smallest to the largest zone of lc: "
          f"{lo[1]:.0f} MB -> {hi[1]:.0f} MB ({hi[1] / lo[1]:.2f}x; flat means bounded by the chunk, docs/ZONAL.md).")
EOF
exit "$FAILED"
