#!/bin/bash
# bench/gcps.sh BENCH_TILES [ITER] - what placing a scene by its GCPs costs a
# warm tile (section "gcps" of bench/run.sh; runs alone too).
#
# The Sentinel-1 scene test/data/rio-tiler/cog_gcps.tif (1280 x 837, 210 GCPs)
# served three ways from one bench_tiles process, interleaved tile by tile:
# through its GCPs with the default polynomial, with a thin plate spline, and
# the same scene warped once beforehand by gdalwarp into EPSG:4326 (a
# geotransform, tiled, with overviews: what a user without GCP support would
# have to make). Every tile of zooms 8-11 over the scene, ITER timed passes
# (default 20) after one untimed one. Prints a Markdown table of medians.
set -eu
BENCH=$1
ITER=${2:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/gcps
SRC=$ROOT/test/data/rio-tiler/cog_gcps.tif
mkdir -p "$OUT"
rm -f "$OUT/prewarped.tif"
gdalwarp -q -overwrite -t_srs EPSG:4326 -r near -dstalpha -co TILED=YES "$SRC" "$OUT/prewarped.tif"
gdaladdo -q -r nearest "$OUT/prewarped.tif" 2 4 8
cat >"$OUT/layers.json" <<EOF
{"layers": {
  "gcp_poly": {"source": "$SRC"},
  "gcp_tps": {"source": "$SRC", "gcp_transform": "tps"},
  "prewarped": {"source": "$OUT/prewarped.tif"}
}}
EOF
# the tiles of zooms 8..11 over the scene's bounds (75.605..78.205 E, 9.226..11.191 N)
awk 'function tx(lon, n) { return int((lon + 180) / 360 * n) }
     function ty(lat, n,   r) { r = lat * atan2(0, -1) / 180
                               return int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / atan2(0, -1)) / 2 * n) }
     BEGIN { for (z = 8; z <= 11; z++) { n = 2 ^ z
               for (x = tx(75.606, n); x <= tx(78.204, n); x++)
                 for (y = ty(11.190, n); y <= ty(9.227, n); y++)
                   for (l = 1; l <= 3; l++)
                     print (l == 1 ? "gcp_poly" : l == 2 ? "gcp_tps" : "prewarped"), "s1", z, x, y, 200 } }' \
    >"$OUT/tiles.txt"
"$BENCH" --warm "$OUT/layers.json" "$OUT/tiles.txt" "$ITER" >"$OUT/samples.txt"
ntiles=$(($(wc -l <"$OUT/tiles.txt") / 3))
echo "The same $ntiles tiles (zooms 8-11 over the scene) of each layer, warm, in process,"
echo "interleaved, $ITER passes; median and 90th percentile of the wall time per tile."
echo
echo "| layer | median ms | p90 ms | median / prewarped |"
echo "|---|---:|---:|---:|"
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'; }
p90() { sort -g | awk '{ v[NR] = $1 } END { i = int(NR * 0.9); if (i < 1) i = 1; print v[i] }'; }
base=$(awk '$1 == "S" && $3 == "prewarped" { print $7 }' "$OUT/samples.txt" | median)
for l in gcp_poly gcp_tps prewarped; do
    med=$(awk -v l="$l" '$1 == "S" && $3 == l { print $7 }' "$OUT/samples.txt" | median)
    p=$(awk -v l="$l" '$1 == "S" && $3 == l { print $7 }' "$OUT/samples.txt" | p90)
    echo "| $l | $(printf %.2f "$med") | $(printf %.2f "$p") | $(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f", a / b }') |"
done
