#!/bin/bash
# GCP-referenced sources (README "GCP-referenced sources"): a Sentinel-1 scene
# placed only by 210 GCPs (test/data/rio-tiler/cog_gcps.tif), against GDAL's
# own tools through test/gcps_ref.py:
#   - tiles (GeoTIFF of the values, at zooms from the overviews to past the
#     full resolution, inside the scene and over its outline): the pixels of
#     gdalwarp -t_srs EPSG:3857 -r near -dstalpha -et 0.01 of the same window,
#     exactly, for the polynomial gdalwarp chooses, -order 1 and -tps;
#     the thin plate spline and order 1 give other pixels than the default;
#   - a raster of the scene's own pixel positions, warped both ways: every
#     pixel samples within 1 px of where gdalwarp with its default error
#     bound (0.125) samples;
#   - /info's bounds: gdalwarp -t_srs EPSG:4326's extent within a pixel;
#   - /point: the source pixel `gdaltransform -i` finds, 404 off the scene;
#   - zonal statistics: test/zonal_ref.py on gdalwarp's warp of the scene
#     into its GCPs' CRS (-et 0 -dstalpha), for every coverage rule; in parts
#     on threads the same; at max_size the first overview level;
#   - a tile off the scene is 404.
# The seams test of GCP tiles is in test_handler (test_no_seams), the refused
# sources (no georeferencing, too few or collinear GCPs) too. TAP output.
set -u
BOOTSTRAP=$(cd "$(dirname "${BOOTSTRAP:-./bootstrap}")" && pwd)/$(basename "${BOOTSTRAP:-./bootstrap}")
PY=/usr/bin/python3
REF=$(pwd)/test/gcps_ref.py
ZREF=$(pwd)/test/zonal_ref.py
SRC=$(pwd)/test/data/rio-tiler/cog_gcps.tif
out=$(pwd)/test/out/gcps
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
$PY -c 'import osgeo, numpy' 2>/dev/null || stop "python3-gdal and python3-numpy (make deps-test)"

$PY "$REF" coords "$SRC" "$out/coords.tif" 2>"$out/coords.err" || stop "the position raster" "$(head -c 300 "$out/coords.err")"
CFG=$out/layers.json
cat >"$CFG" <<EOF
{"layers": {
  "gcps": {"source": "$SRC"},
  "tps": {"source": "$SRC", "gcp_transform": "tps"},
  "order1": {"source": "$SRC", "gcp_order": 1},
  "pos": {"source": "$out/coords.tif"},
  "postps": {"source": "$out/coords.tif", "gcp_transform": "tps"}
}}
EOF
# from the overviews' zooms (3..8) to past the full resolution (12, 14); 5/22/15,
# 6/45/30, 7/91/60 and 8/182/120 cross the scene's outline
TILES="3/5/3 5/22/15 6/45/30 7/91/60 8/182/120 9/365/241 10/731/482 12/2924/1931 14/11696/7725"

# --- tiles against gdalwarp ---------------------------------------------------------------
tap_ref < <($PY "$REF" tiles "$BOOTSTRAP" "$CFG" gcps "$SRC" "$out" poly $TILES 2>"$out/tiles.err")
tap_ref < <($PY "$REF" tiles "$BOOTSTRAP" "$CFG" tps "$SRC" "$out" tps 6/45/30 9/365/241 12/2924/1931 2>>"$out/tiles.err")
tap_ref < <($PY "$REF" tiles "$BOOTSTRAP" "$CFG" order1 "$SRC" "$out" order1 6/45/30 9/365/241 2>>"$out/tiles.err")
# the options change the warp (else the checks above would not tell them apart)
for l in tps order1; do
  ! cmp -s "$out/gcps-9-365-241.tif" "$out/$l-9-365-241.tif"
  verdict $? "\"$l\" warps other pixels than the default polynomial (9/365/241)"
done

# --- positions against gdalwarp's default error bound ---------------------------------------
tap_ref < <($PY "$REF" positions "$BOOTSTRAP" "$CFG" pos "$out/coords.tif" "$out" poly $TILES 2>"$out/pos.err")
tap_ref < <($PY "$REF" positions "$BOOTSTRAP" "$CFG" postps "$out/coords.tif" "$out" tps 7/91/60 10/731/482 11/1462/965 2>>"$out/pos.err")

# --- info and points ------------------------------------------------------------------------
tap_ref < <($PY "$REF" info "$BOOTSTRAP" "$CFG" gcps "$SRC" 2>"$out/info.err")
tap_ref < <($PY "$REF" points "$BOOTSTRAP" "$CFG" gcps "$SRC" 77,10.5 76.0,10.9 78.0,9.9 \
  75.7,10.8 77.9,10.2 76.1,9.5 78.1,11.0 0,0 2>"$out/points.err")
st=$("$BOOTSTRAP" request /tiles/gcps/9/0/0.png --config "$CFG" 2>&1 >/dev/null | head -n 1)
[ "$st" = "HTTP 404" ]
verdict $? "a tile off the scene is 404" "$st"

# --- zonal statistics -------------------------------------------------------------------------
# a box inside the scene, and a triangle over its outline
cat >"$out/zones.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"id": "box"}, "geometry": {"type": "Polygon",
  "coordinates": [[[76.6, 10.1], [77.3, 10.1], [77.3, 10.7], [76.6, 10.7], [76.6, 10.1]]]}},
 {"type": "Feature", "properties": {"id": "edge"}, "geometry": {"type": "Polygon",
  "coordinates": [[[77.8, 10.4], [78.6, 11.3], [77.2, 11.4], [77.8, 10.4]]]}}
]}
EOF
# (its alpha band made the per-dataset mask, which zonal_ref.py reads as validity)
gdalwarp -q -overwrite -r near -dstalpha -et 0 "$SRC" "$out/warped-alpha.tif" 2>"$out/warp.err" &&
  gdal_translate -q -b 1 -mask 2 "$out/warped-alpha.tif" "$out/warped.tif" 2>>"$out/warp.err"
verdict $? "gdalwarp of the scene into its GCPs' CRS" "$(head -c 300 "$out/warp.err")"
for cov in center all_touched exact; do
  q="coverage=$cov&categorical=false"
  "$BOOTSTRAP" stats --source "$SRC" --geojson "$out/zones.geojson" --query "$q" \
    >"$out/stats-$cov.json" 2>"$out/stats-$cov.err"
  rc=$?
  if [ $rc != 0 ]; then
    notok "statistics ($cov) of the scene: gdalwarp's grid as zonal_ref.py counts it" "exit $rc: $(head -c 300 "$out/stats-$cov.err")"
    continue
  fi
  $PY "$ZREF" check --source "$out/warped.tif" --geojson "$out/zones.geojson" --query "$q" \
    "$out/stats-$cov.json" >"$out/stats-$cov.diff" 2>&1
  verdict $? "statistics ($cov) of the scene: gdalwarp's grid as zonal_ref.py counts it" \
    "$(head -n 6 "$out/stats-$cov.diff" | tr '\n' ' ')"
done
# in parts (fan-out on local threads, small chunks): the same answer as one run
COGTILER_CHUNK_CELLS=1000 "$BOOTSTRAP" stats --source "$SRC" --geojson "$out/zones.geojson" \
  --query "coverage=center&categorical=false&parts=4" --jobs 3 >"$out/stats-parts.json" 2>"$out/stats-parts.err"
$PY "$ZREF" same "$out/stats-center.json" "$out/stats-parts.json" >"$out/stats-parts.diff" 2>&1
verdict $? "statistics in 4 parts on 3 threads, chunks of 1,000 cells: the one run's answer" \
  "$(head -n 4 "$out/stats-parts.diff" | tr '\n' ' ') $(head -c 200 "$out/stats-parts.err")"
# the overview level max_size picks (the box's window is about 340 x 290 cells):
# the first, a quarter of the cells, or so
"$BOOTSTRAP" stats --source "$SRC" --geojson "$out/zones.geojson" --query "max_size=200" \
  >"$out/stats-ovr.json" 2>"$out/stats-ovr.err"
res=$($PY - "$out/stats-center.json" "$out/stats-ovr.json" <<'EOF' 2>&1
import json, sys
full, ovr = (json.load(open(p)) for p in sys.argv[1:])
for f, o in zip(full["features"][:1], ovr["features"][:1]):  # the box: about 340 x 290 cells
    a, b = f["properties"]["statistics"]["b1"], o["properties"]["statistics"]["b1"]
    ratio = a["count"] / b["count"]
    assert 3.0 < ratio < 5.5, (f["properties"]["id"], a["count"], b["count"])
    assert abs(a["mean"] - b["mean"]) < 0.1 * a["mean"], (a["mean"], b["mean"])
print("ok")
EOF
)
[ "$res" = ok ]
verdict $? "statistics at max_size=200: the first overview level (a quarter of the cells, the same mean within 10 %)" "$res $(head -c 200 "$out/stats-ovr.err")"

done_testing
