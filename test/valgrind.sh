#!/bin/bash
# valgrind.sh BUILD_DIR - runs the in-process test programs and a few CLI
# renders under valgrind's memcheck; each run passes when valgrind reports no
# error and no definite leak. Prints TAP lines (test/lib/tap.sh) and ends with
# "N passed, N failed, N skipped".
set -u
bdir=$1
mkdir -p test/out
. test/lib/tap.sh
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=test/valgrind.supp)
programs="test_tilemath test_route test_params test_colormap test_pngenc test_config test_handler test_source test_transport test_stats test_geojson test_coverage test_statistics test_overlay"
# the programs, three local renders, four in the other formats, three zonal statistics runs, a part event and a
# refused polygon, four derived-layer requests, two renders over HTTP, a pyramid export,
# a GCP-referenced scene's tile (thin plate spline), point and statistics
plan $(( $(wc -w <<<"$programs") + 3 + 4 + 3 + 2 + 4 + 2 + 1 + 3 ))
# vg_run NAME WANT_STATUS COMMAND...: valgrind itself exits 99 on an error.
vg_run() {
  local name=$1 want=$2 rc; shift 2
  "${vg[@]}" "$@" >test/out/valgrind.log 2>&1
  rc=$?
  if [ $rc = "$want" ]; then
    ok "valgrind $name"
  else
    notok "valgrind $name" "exit $rc, want $want"; tail -n 40 test/out/valgrind.log | sed 's/^/# /'
  fi
}
for t in $programs; do
  vg_run "$t" 0 "$bdir/$t"
done
vg_run "bootstrap tile 0/0/0" 0 ./bootstrap tile 0/0/0 -o test/out/valgrind.png
vg_run "bootstrap tile 3/1/1 --tilesize 512" 0 ./bootstrap tile 3/1/1 --tilesize 512 -o test/out/valgrind.png
vg_run "bootstrap tile as WebP (lossy imagery, alpha)" 0 ./bootstrap tile 9/145/221 \
  --source test/data/rasterio/RGBA.byte.tif -o test/out/valgrind.webp
vg_run "bootstrap tile as lossless WebP (viridis DEM)" 0 ./bootstrap tile 15/17029/11667 \
  --source test/data/titiler/dem.tif --colormap viridis --rescale 1600,2020 -o test/out/valgrind.webp
vg_run "bootstrap tile as JPEG (transparency over white)" 0 ./bootstrap tile 9/145/221 \
  --source test/data/rasterio/RGBA.byte.tif -o test/out/valgrind.jpg
vg_run "bootstrap tile as GeoTIFF (Float32, nodata; RGBA, internal mask)" 0 ./bootstrap tile 15/17029/11667 \
  --source test/data/titiler/dem.tif -o test/out/valgrind.tif
vg_run "bootstrap tile outside the data (exit 3)" 3 ./bootstrap tile 5/0/0 --source test/data/rasterio/byte.tif -o test/out/valgrind.png
vg_run "bootstrap stats, exact coverage, a polygon with a hole, categories" 0 ./bootstrap stats \
  --source test/data/rio-tiler/cog_cmap.tif --geojson test/data/zones/cmap_hole.geojson \
  --query 'coverage=exact&categorical=true'
COGTILER_CHUNK_CELLS=1 vg_run "bootstrap stats, a DEM (floats), several zones in small chunks" 0 \
  ./bootstrap stats --source test/data/titiler/dem.tif --geojson test/data/zones/dem_partial.geojson \
 
COGTILER_CHUNK_CELLS=1 vg_run "bootstrap stats --jobs 3, 4 parts on part threads (fan-out)" 0 \
  ./bootstrap stats --source test/data/mapserver/temperatures.tif \
  --geojson test/data/zones/temp_multi.geojson --query 'coverage=exact&parts=4' --jobs 3
echo '{"layers": {"source": {"source": "'"$PWD"'/test/data/titiler/dem.tif"}}}' >test/out/valgrind-part.json
COGTILER_CONFIG=test/out/valgrind-part.json vg_run "bootstrap invoke, a part event (the whole DEM, packed accumulators)" 0 \
  ./bootstrap invoke test/events/part.json
echo '{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}' >test/out/valgrind-bad.geojson
vg_run "bootstrap stats, a refused polygon (exit 1)" 1 ./bootstrap stats \
  --source test/data/titiler/dem.tif --geojson test/out/valgrind-bad.geojson
# Derived layers (docs/OVERLAY.md): an overlay tile with a slope input, an
# expression tile with a division by zero, a refused expression (muparser
# throws inside), the overlay's statistics on its grid.
test/overlay_fixtures.sh test/out/valgrind-overlay >/dev/null
OV=test/out/valgrind-overlay/layers.json
vg_run "bootstrap request, a weighted overlay tile (slope input, weights=)" 0 ./bootstrap request \
  "/tiles/priority/12/1651/2139.png?weights=30,70" --config "$OV" -o test/out/valgrind.png
vg_run "bootstrap request, expression=1/(b4-b3) (division by zero)" 0 ./bootstrap request \
  "/tiles/l7/12/1651/2139.png?expression=1/(b4-b3)&rescale=-1,1" --config "$OV" -o test/out/valgrind.png
vg_run "bootstrap request, a refused expression (400, exit 1)" 1 ./bootstrap request \
  "/tiles/l7/12/1651/2139.png?expression=(b4-b3&rescale=-1,1" --config "$OV" -o test/out/valgrind.json
vg_run "bootstrap stats, the overlay on its grid (warped inputs, slope)" 0 ./bootstrap stats \
  --layer priority --config "$OV" --geojson test/data/zones/olinda.geojson --query categorical=true
# A remote source: GDAL's /vsicurl/ through a local nginx (test/lib/nginx.sh).
. test/lib/nginx.sh
if nginx_start test/out/valgrind-nginx test/data >/dev/null 2>&1; then
  vg_run "bootstrap tile over HTTP (/vsicurl/)" 0 ./bootstrap tile 9/175/99 \
    --source "$NGINX_URL/rio-tiler/cog.tif" -o test/out/valgrind.png
  vg_run "bootstrap tile over HTTP, object missing (exit 3)" 3 ./bootstrap tile 9/175/99 \
    --source "$NGINX_URL/rio-tiler/nope.tif" -o test/out/valgrind.png
  nginx_stop
else
  notok "valgrind bootstrap tile over HTTP (/vsicurl/)" "nginx for the remote valgrind runs did not start"
  notok "valgrind bootstrap tile over HTTP, object missing (exit 3)" "nginx for the remote valgrind runs did not start"
fi
# A pyramid export: two render threads with a worker each, SQLite.
rm -f test/out/valgrind.mbtiles
vg_run "bootstrap pyramid --jobs 2 into MBTiles (a coloured DEM, z13-15)" 0 ./bootstrap pyramid \
  --source test/data/titiler/dem.tif --query 'colormap_name=viridis&rescale=1600,2020' \
  --zoom 13-15 --jobs 2 -o test/out/valgrind.mbtiles
# A scene placed by GCPs: a thin plate spline tile, a point, statistics on its warped grid.
echo '{"layers": {"s1": {"source": "'"$PWD"'/test/data/rio-tiler/cog_gcps.tif", "gcp_transform": "tps"}}}' \
  >test/out/valgrind-gcps.json
vg_run "bootstrap request, a GCP scene's tile (thin plate spline)" 0 ./bootstrap request \
  /tiles/s1/9/365/241.png --config test/out/valgrind-gcps.json -o test/out/valgrind.png
vg_run "bootstrap request, a GCP scene's point" 0 ./bootstrap request \
  /tiles/s1/point/77,10.5 --config test/out/valgrind-gcps.json -o test/out/valgrind.json
echo '{"type": "Polygon", "coordinates": [[[76.6, 10.1], [77.3, 10.1], [77.3, 10.7], [76.6, 10.1]]]}' \
  >test/out/valgrind-gcps.geojson
vg_run "bootstrap stats, a GCP scene (its warped grid, max_size=100)" 0 ./bootstrap stats \
  --source test/data/rio-tiler/cog_gcps.tif --geojson test/out/valgrind-gcps.geojson --query max_size=100
echo "$TAP_PASS passed, $TAP_FAIL failed, $TAP_SKIP skipped"
[ "$TAP_FAIL" = 0 ]
