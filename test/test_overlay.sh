#!/bin/bash
# Derived layers and band math (docs/OVERLAY.md) against the independent
# reference test/overlay_ref.py (gdalwarp of each input to the tile window,
# -r near for the categorical one; gdaldem slope; gdal_calc.py for the remap
# and weighted sum or the expression; PNGs decoded by libpng through GDAL):
#   - tiles of the two-input overlay of test/overlay_fixtures.sh (a land cover
#     in EPSG:4326 at 0.0004 degree, the slope of a UTM DEM at 90 m) at z11-z13,
#     with restricted and NoData cells, other weights and remaps from the
#     query, 512 px tiles: pixel for pixel; the reference can fail (other
#     weights differ);
#   - seams: 2 x 2 tiles at z+1 against one 512 px tile at z: under 0.1 % of
#     the pixels differ (the warper's approximate transformer moves a few
#     near-tie cells), and no more of them along the inner seams than chance;
#   - expression= (NDVI over the Landsat bands, a division by zero, the
#     derived ndvi layer): pixel for pixel against gdal_calc.py;
#   - the 400s: a table of bad expressions (the position named), weights,
#     remaps and parameters that do not apply; configurations refused at start;
#   - statistics of the overlay in a polygon: equal to test/zonal_ref.py
#     (gdal_rasterize's rule) on the reference raster of the stated grid
#     (overlay_ref.py grid), also in small chunks, with other weights, and on
#     the default grid (the first input, geographic);
#   - /point: the value of the finest tile's pixel holding the point, as the
#     reference's;
#   - the ETag follows the weights; /layers and info describe the inputs.
# Everything in process (`bootstrap request`, `bootstrap stats`). TAP output.
set -u
BOOTSTRAP=$(cd "$(dirname "${BOOTSTRAP:-./bootstrap}")" && pwd)/$(basename "${BOOTSTRAP:-./bootstrap}")
PY=/usr/bin/python3
REF=$(pwd)/test/overlay_ref.py
ZREF=$(pwd)/test/zonal_ref.py
ZONE=$(pwd)/test/data/zones/olinda.geojson
L7=$(pwd)/test/data/r-cran-stars/L7_ETMs.tif
out=$(pwd)/test/out/overlay
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh

command -v gdal_calc.py >/dev/null && $PY -c 'import osgeo, numpy' 2>/dev/null ||
  stop "gdal_calc.py, python3-gdal and python3-numpy (make deps-test)"
test/overlay_fixtures.sh "$out/fx" || stop "fixtures (test/overlay_fixtures.sh)"
CFG=$out/fx/layers.json
cd "$out" || exit 1

# req PATH OUT: one request in process; prints the status
req() { "$BOOTSTRAP" request "$1" --config "$CFG" -o "$2" 2>&1 | sed -n 's/^HTTP \([0-9]*\).*/\1/p' | head -1; }

# --- tiles against the reference -----------------------------------------------------
TILES="11/825/1069 12/1650/2138 12/1651/2139 12/1650/2139 13/3303/4278 13/3302/4277"
QUERIES=("" "weights=30,70" "weights=100,0" "remap=cover:1:nodata,2:2,3:6,4:9"
  "remap=slope:0..2:9,2..90:restricted&weights=50,50")
restricted=0 nodata=0 n=0
for t in $TILES; do
  for q in "${QUERIES[@]}"; do
    n=$((n + 1))
    st=$(req "/tiles/priority/$t.png${q:+?$q}" "p$n.png")
    if [ "$st" != 200 ]; then
      notok "priority $t $q: 200" "$st"
      continue
    fi
    res=$($PY "$REF" tile --config "$CFG" --layer priority --zxy "$t" --query "$q" --png "p$n.png" 2>&1)
    verdict $? "priority $t ${q:-(configured weights)} equals gdalwarp + gdaldem slope + gdal_calc.py" "$res"
    r=$(sed -n 's/.*restricted \([0-9]*\),.*/\1/p' <<<"$res" | head -1)
    d=$(sed -n 's/.*nodata \([0-9]*\),.*/\1/p' <<<"$res" | head -1)
    restricted=$((restricted + ${r:-0})) nodata=$((nodata + ${d:-0}))
  done
done
[ "$restricted" -gt 1000 ] && [ "$nodata" -gt 1000 ]
verdict $? "the compared tiles have restricted and NoData cells" "restricted $restricted, nodata $nodata"
# 512 px
st=$(req "/tiles/priority/12/1651/2139@2x.png" "p512.png")
res=$($PY "$REF" tile --config "$CFG" --layer priority --zxy 12/1651/2139 --size 512 --png p512.png 2>&1)
verdict $? "priority 12/1651/2139@2x (512 px) equals the reference" "$st $res"
# the reference can fail: the tile of other weights is not the configured one
req "/tiles/priority/12/1651/2139.png?weights=30,70" other.png >/dev/null
res=$($PY "$REF" tile --config "$CFG" --layer priority --zxy 12/1651/2139 --png other.png 2>&1)
[ $? = 1 ] && grep -q "pixels differ" <<<"$res" && ! grep -q " 0 pixels differ" <<<"$res"
verdict $? "the reference tells weights 30,70 from the configured 60,40" "$res"

# --- seams: four z+1 tiles against one 512 px tile at z ------------------------------
for zxy in 11/825/1069 12/1651/2139 12/1650/2138; do
  IFS=/ read -r z x y <<<"$zxy"
  req "/tiles/priority/$zxy@2x.png" big.png >/dev/null
  for dy in 0 1; do for dx in 0 1; do
    req "/tiles/priority/$((z + 1))/$((2 * x + dx))/$((2 * y + dy)).png" "q$dx$dy.png" >/dev/null
  done; done
  res=$($PY "$REF" seams --big big.png q00.png q10.png q01.png q11.png 2>&1)
  verdict $? "seams: 2x2 tiles at z$((z + 1)) join like the 512 px tile $zxy" "$res"
done

# --- expression= against gdal_calc.py ------------------------------------------------
for t in 11/825/1069 12/1651/2139 13/3302/4277; do
  st=$(req "/tiles/l7/$t.png?expression=(b4-b3)/(b4%2Bb3)&rescale=-1,1&colormap_name=rdylgn" e.png)
  res=$($PY "$REF" expr --source "$L7" --calc "(D-C)/(D+C)" --zxy "$t" --rescale=-1,1 --colormap rdylgn --png e.png 2>/dev/null)
  verdict $? "NDVI expression=(b4-b3)/(b4+b3) $t equals gdal_calc.py" "$st $res"
  st=$(req "/tiles/l7/$t.png?expression=1/(b4-b3)&rescale=-0.2,0.2" z.png)
  res=$($PY "$REF" expr --source "$L7" --calc "1/(D-C)" --zxy "$t" --rescale=-0.2,0.2 --colormap gray --png z.png 2>/dev/null)
  verdict $? "division by zero: expression=1/(b4-b3) $t equals gdal_calc.py, inf as NoData" "$st $res"
  st=$(req "/tiles/ndvi/$t.png" n.png)
  res=$($PY "$REF" expr --source "$L7" --calc "(D-C)/(D+C)" --zxy "$t" --rescale=-1,1 --colormap rdylgn --png n.png 2>/dev/null)
  verdict $? "derived layer ndvi (nir, red inputs) $t equals gdal_calc.py" "$st $res"
done
res=$($PY "$REF" expr --source "$L7" --calc "(D-C)/(D+C)" --zxy 12/1651/2139 --rescale=-1,1 --colormap rdylgn --png z.png 2>/dev/null)
[ $? = 1 ]
verdict $? "the expression reference tells NDVI from another expression" "$res"

# --- the 400s ------------------------------------------------------------------------
# PATH-AND-QUERY | the detail expected (a fixed string)
BAD=(
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=(b4-b3|expression: missing parenthesis at position 6"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b4%2B|expression: unexpected end of expression at position 3"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=foo(b1)|expression: unknown name \"foo\" at position 0"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1%2Bb7|expression: unknown name \"b7\" at position 3"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1,b2|expression: one result expected, not 2"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=%22x%22|expression: strings are not allowed at position 3"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=(b1))|expression: unexpected parenthesis at position 4"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1%20b2|expression: unexpected variable at position 3"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=sum(b1,b2)|expression: unknown name \"sum\" at position 0"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=|expression: empty expression at position 0"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1%01|expression: invalid character at position 2"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=$(printf '1%.0s' $(seq 257))|expression: longer than 256 characters"
  "/tiles/l7/12/1651/2139.png?expression=b1|expression: give rescale=min,max (or a colormap= of values)"
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1&bidx=1|bidx: not with expression="
  "/tiles/l7/12/1651/2139.png?rescale=0,1&expression=b1&algorithm=hillshade|algorithm: not with expression="
  "/tiles/ndvi/12/1651/2139.png?expression=nir%2Bblue|expression: unknown name \"blue\" at position 4"
  "/tiles/priority/12/1651/2139.png?weights=30,60|weights: they must sum to 100 (they sum to 90)"
  "/tiles/priority/12/1651/2139.png?weights=100|weights: expected 2 weights, one per input"
  "/tiles/priority/12/1651/2139.png?weights=120,-20|weights: each weight is a percentage, 0..100"
  "/tiles/priority/12/1651/2139.png?weights=a,b|weights: weight 1 is not a number"
  "/tiles/priority/12/1651/2139.png?remap=water:1:2|remap: expected INPUT:RULES, INPUT one of the layer's inputs"
  "/tiles/priority/12/1651/2139.png?remap=cover:1:10|remap: rule 1 \"1:10\": expected VALUE:TO or LO..HI:TO (LO < HI), TO a number in 1..9, restricted or nodata"
  "/tiles/priority/12/1651/2139.png?remap=slope:5..1:3|remap: rule 1 \"5..1:3\": expected VALUE:TO or LO..HI:TO (LO < HI), TO a number in 1..9, restricted or nodata"
  "/tiles/priority/12/1651/2139.png?remap=cover:1:2&remap=cover:1:3|remap: input \"cover\" given twice"
  "/tiles/priority/12/1651/2139.png?resampling=bilinear|resampling: not with a derived layer"
  "/tiles/priority/12/1651/2139.png?bidx=1|bidx: not with a derived layer"
  "/tiles/cover/12/1651/2139.png?weights=50,50|weights: only for a derived layer's weighted overlay"
  "/tiles/ndvi/12/1651/2139.png?weights=50,50|weights: only for a derived layer's weighted overlay"
  "/tiles/l7/12/1651/2139.png?remap=b1:1:2|remap: only for a derived layer's weighted overlay"
)
for row in "${BAD[@]}"; do
  path=${row%%|*} want=${row#*|}
  st=$(req "$path" bad.json)
  got=$(jq -r .detail bad.json 2>/dev/null)
  [ "$st" = 400 ] && [ "$got" = "$want" ]
  verdict $? "400 ${path#/tiles/}: $want" "$st $got"
done
# the next request is served normally
st=$(req "/tiles/priority/12/1651/2139.png" after.png)
[ "$st" = 200 ]
verdict $? "a good tile after the refusals" "$st"

# --- /point of a derived layer against the reference's pixel -------------------------
# the pixel of the layer's finest tile (zoom 12 here) holding the point
POINTS=("-34.87,-8.0|" "-34.9,-7.98|" "-34.86,-7.96|" "-34.8423,-8.0211|" "-34.88,-8.03|"
  "-34.87,-8.0|weights=0,100" "-34.86,-7.96|remap=cover:1:nodata,2:2,3:6,4:9&weights=90,10")
for row in "${POINTS[@]}"; do
  ll=${row%%|*} q=${row#*|}
  "$BOOTSTRAP" request "/tiles/priority/point/$ll${q:+?$q}" --config "$CFG" -o pt.json >/dev/null 2>&1
  got=$(jq -r 'if .restricted then "restricted" elif .values[0] == null then "nodata" else (.values[0] | tostring) end' pt.json 2>/dev/null)
  z=$(jq -r .zoom pt.json 2>/dev/null)
  want=$($PY "$REF" point --config "$CFG" --layer priority --lonlat="$ll" --zoom "${z:-12}" --query "$q" 2>&1)
  [ -n "$got" ] && [ "$got" = "$want" ]
  verdict $? "point $ll ${q:-(configured)}: $want, as the reference's pixel at z$z" "got $got: $(head -c 200 pt.json)"
done
st=$(req "/tiles/priority/point/-34.95,-8.0" pt.json)
[ "$st" = 404 ]
verdict $? "a point outside the inputs' data is 404" "$st"
st=$(req "/tiles/ndvi/point/-34.87,-8.0" pt.json)
jq -e '.values[0] > 0 and .values[0] < 1 and .restricted == false' pt.json >/dev/null
verdict $? "point on the derived expression layer ndvi" "$st $(cat pt.json)"

# --- ETag and descriptions --------------------------------------------------------
etag() { "$BOOTSTRAP" request "$1" --config "$CFG" -o /dev/null 2>&1 | sed -n 's/^ETag: //p'; }
e1=$(etag "/tiles/priority/12/1651/2139.png")
e2=$(etag "/tiles/priority/12/1651/2139.png?weights=60,40")
e3=$(etag "/tiles/priority/12/1651/2139.png?weights=30,70")
[ -n "$e1" ] && [ "$e1" = "$e2" ] && [ "$e1" != "$e3" ]
verdict $? "the ETag follows the weights (same image, same tag)" "$e1 $e2 $e3"
req "/tiles/priority/info" info.json >/dev/null
jq -e '.derived.inputs | map(.name + ":" + .layer + ":" + (.weight|tostring)) == ["cover:cover:60", "slope:dem:40"]' info.json >/dev/null &&
  jq -e '.derived.scale == [1, 9] and .derived.restricted_value == 0 and .derived.inputs[1].terrain == "slope" and .colormap == "rdylgn" and .rescale == [1, 9]' info.json >/dev/null
verdict $? "info describes the inputs, weights, scale and restricted value" "$(head -c 400 info.json)"
req "/layers" layers.json >/dev/null
jq -e '[.layers[] | select(.name == "priority" or .name == "ndvi") | .derived != null] == [true, true] and (.layers[] | select(.name == "ndvi") | .derived.expression) == "(nir - red) / (nir + red)"' layers.json >/dev/null
verdict $? "/layers lists the derived layers with their inputs" "$(head -c 300 layers.json)"
# the derived layer's bounds are the inputs' common extent
jq -e '(.layers | map(select(.name == "cover"))[0].bounds) as $c | (.layers | map(select(.name == "dem"))[0].bounds) as $d | (.layers | map(select(.name == "priority"))[0].bounds) == [([$c[0], $d[0]] | max), ([$c[1], $d[1]] | max), ([$c[2], $d[2]] | min), ([$c[3], $d[3]] | min)]' layers.json >/dev/null
verdict $? "the derived layer's bounds are the intersection of its inputs'"
st=$(req "/tiles/priority/12/1640/2139.png" far.png)
[ "$st" = 404 ]
verdict $? "a tile outside the inputs' common extent is 404" "$st"

# --- statistics against gdal_rasterize + gdal_calc.py on the stated grid ---------------
stats_case() { # NAME QUERY LAYER [ENV...]
  local name=$1 q=$2 layer=$3
  shift 3
  local refq
  refq=$(tr '&' '\n' <<<"$q" | grep -E '^(weights|remap)=' | paste -sd'&')
  env "$@" "$BOOTSTRAP" stats --layer "$layer" --config "$CFG" --geojson "$ZONE" --query "$q" \
    >"s_$name.json" 2>"s_$name.err"
  local rc=$?
  local res
  res=$($PY "$REF" grid --config "$CFG" --layer "$layer" --query "$refq" --out "ref_$name.tif" 2>&1) &&
    res="$res; $($PY "$ZREF" check --source "ref_$name.tif" --geojson "$ZONE" \
      --query "$(tr '&' '\n' <<<"$q" | grep -vE '^(weights|remap)=' | paste -sd'&')" "s_$name.json" 2>&1)"
  [ $rc = 0 ] && [ -z "$(sed -n '/^feature/p' <<<"$res")" ] && jq -e '.properties.statistics.b1.valid_pixels > 1000' "s_$name.json" >/dev/null
  verdict $? "statistics $name ($layer${q:+, $q}) equal zonal_ref on overlay_ref's grid" "rc $rc $res $(head -c 200 "s_$name.err")"
}
stats_case center "categorical=true" priority
stats_case all_touched "categorical=true&coverage=all_touched" priority
stats_case chunks "categorical=true" priority COGTILER_CHUNK_CELLS=64
stats_case weights "categorical=true&weights=20,80&remap=cover:1:nodata,2:3,3:5,4:8" priority
jq -e '.properties.statistics.b1.categories["0"].count > 100' s_center.json >/dev/null
verdict $? "the statistics count restricted cells (value scale_min - 1 = 0)" "$(jq -c '.properties.statistics.b1.categories' s_center.json)"
# the default grid: the first input's (cover, geographic); slope on it with gdaldem's -s 111120
jq '.layers.priority4326 = (.layers.priority | .derived |= del(.grid))' "$CFG" >"$out/fx/g.json" &&
  CFG=$out/fx/g.json stats_case geographic "categorical=true" priority4326
CFG=$out/fx/layers.json
st=$("$BOOTSTRAP" stats --layer priority --config "$CFG" --geojson "$ZONE" --query "bidx=1" 2>&1 >/dev/null)
grep -q "bidx: not with a derived layer" <<<"$st"
verdict $? "statistics of a derived layer refuse bidx" "$st"

# --- configurations refused at start -------------------------------------------------
# the "priority" layer's "derived" object replaced by each, then the message expected
CONF_BAD=(
  '{"inputs": [{"name": "a", "layer": "cover", "weight": 100}]}|layer "x", input 1: a weighted overlay needs a "remap" for every input'
  '{"inputs": [{"name": "a", "layer": "cover", "remap": "1:2", "weight": 90}]}|layer "x": weights: they must sum to 100 (they sum to 90)'
  '{"inputs": [{"name": "a", "layer": "nope", "remap": "1:2", "weight": 100}]}|layer "x", input "a": "nope" is not a configured layer with a source'
  '{"inputs": [{"name": "a", "layer": "ndvi", "remap": "1:2", "weight": 100}]}|layer "x", input "a": "ndvi" is not a configured layer with a source'
  '{"inputs": [{"name": "1a", "layer": "cover", "remap": "1:2", "weight": 100}]}|layer "x", input 1: needs a "name" of 1-32 characters of A-Z a-z 0-9 _ (not starting with a digit)'
  '{"inputs": [{"name": "a", "layer": "cover"}], "expression": "a +"}|layer "x": expression: unexpected end of expression at position 3'
  '{"inputs": [{"name": "a", "layer": "cover", "remap": "1:12", "weight": 100}]}|layer "x", input 1: remap: rule 1 "1:12": expected VALUE:TO or LO..HI:TO (LO < HI), TO a number in 1..9, restricted or nodata'
  '{"inputs": [{"name": "a", "layer": "cover", "terrain": "hills", "remap": "1:2", "weight": 100}]}|layer "x", input 1: "terrain" must be "slope" or "aspect"'
  '{"inputs": [{"name": "a", "layer": "cover", "remap": "1:2", "weight": 100}], "grid": "b"}|layer "x": "grid" must name one of its inputs'
  '{"inputs": []}|layer "x": "derived" needs "inputs", 1 to 8 of them'
)
for row in "${CONF_BAD[@]}"; do
  d=${row%%|*} want=${row#*|}
  jq --argjson d "$d" '.layers.x = {"derived": $d}' "$CFG" >bad.json
  got=$("$BOOTSTRAP" request /layers --config bad.json 2>&1 >/dev/null)
  grep -qF "$want" <<<"$got"
  verdict $? "configuration refused: $want" "$got"
done
done_testing
