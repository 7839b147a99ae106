#!/bin/bash
# WMTS (README "WMTS for desktop GIS"): GET /tiles/{layer}/WMTSCapabilities.xml
# against two real clients and xmllint, on `bootstrap serve` started here on a
# free port of 127.0.0.1:
#   - every configured layer's document is well-formed XML (xmllint) and lists
#     what the server serves: the four formats (the layer's own first), one
#     ResourceURL each whose filled-in template answers 200 with that
#     Content-Type, the layer's bounds and zoom range (as /layers says), its
#     attribution (escaped); a request's rendering parameters are carried into
#     the templates, a WMTS client's SERVICE/REQUEST/VERSION are not;
#   - GDAL's WMTS driver (WMTS:URL,layer=...) reads windows of 2 x 2 tiles
#     equal to gdalwarp's tiles of the source (test/wmts_ref.py);
#   - OpenLayers' WMTS source from the document in Chromium: test/browser/run.js
#     (page ol-wmts.html), in test_browser.sh.
# TAP output.
set -u
BOOTSTRAP=$(cd "$(dirname "${BOOTSTRAP:-./bootstrap}")" && pwd)/$(basename "${BOOTSTRAP:-./bootstrap}")
PY=/usr/bin/python3
DATA=$(pwd)/test/data
out=$(pwd)/test/out/wmts
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
. test/lib/serve.sh
command -v xmllint >/dev/null || stop "xmllint (libxml2-utils: make deps-test)"
$PY -c 'import osgeo, numpy' 2>/dev/null || stop "python3-gdal and python3-numpy (make deps-test)"

CFG=$out/layers.json
cat >"$CFG" <<JSON
{"layers": {
  "tci": {"source": "$DATA/titiler/TCI.tif", "attribution": "<b>Copernicus</b> & \"ESA\"\u0001"},
  "dem": {"source": "$DATA/titiler/dem.tif", "colormap": "viridis", "rescale": [1600, 2020],
          "format": "webp"},
  "cmap": {"source": "$DATA/rio-tiler/cog_cmap.tif", "format": "jpg"},
  "world": {"source": "$DATA/rasterio/world.rgb.tif"}
}}
JSON
serve_start "$BOOTSTRAP" "$CFG" "$out" --workers 2 || stop "bootstrap serve started"
trap serve_stop EXIT
ok "bootstrap serve started at $SERVE_URL"

# x FILE XPATH: the text of the nodes (namespaces ignored through local-name())
x() { xmllint --xpath "$2" "$1" 2>/dev/null; }
layers=$(ccurl "$SERVE_URL/layers")
for layer in tci dem cmap world; do
  doc=$out/$layer.xml
  st=$(ccurl -o "$doc" -w '%{http_code} %{content_type}' "$SERVE_URL/tiles/$layer/WMTSCapabilities.xml")
  [ "$st" = "200 application/xml" ]; verdict $? "$layer: capabilities 200 application/xml" "$st"
  xmllint --noout "$doc" 2>"$out/xmllint.err"
  verdict $? "$layer: well-formed XML (xmllint)" "$(head -c 300 "$out/xmllint.err")"
  fmt=$(jq -r --arg l "$layer" '.layers[] | select(.name == $l) | .format' <<<"$layers")
  want_mime=$(case $fmt in png) echo image/png ;; webp) echo image/webp ;; jpg) echo image/jpeg ;; tif) echo image/tiff ;; esac)
  formats=$(x "$doc" "//*[local-name()='Layer']/*[local-name()='Format']/text()" | tr '\n' ' ')
  [ "$(echo "$formats" | awk '{ print $1 }')" = "$want_mime" ] &&
    [ "$(echo "$formats" | tr ' ' '\n' | grep -c .)" = 4 ]
  verdict $? "$layer: four formats, the layer's ($want_mime) first" "$formats"
  maxz=$(jq -r --arg l "$layer" '.layers[] | select(.name == $l) | .maxzoom' <<<"$layers")
  minz=$(jq -r --arg l "$layer" '.layers[] | select(.name == $l) | .minzoom' <<<"$layers")
  nm=$(x "$doc" "count(//*[local-name()='TileMatrixSet']/*[local-name()='TileMatrix'])")
  nl=$(x "$doc" "count(//*[local-name()='TileMatrixLimits'])")
  [ "$nm" = $((maxz + 1)) ] && [ "$nl" = $((maxz - minz + 1)) ]
  verdict $? "$layer: tile matrices 0..$maxz, limits for $minz..$maxz" "$nm matrices, $nl limits"
  lc=$(x "$doc" "string(//*[local-name()='WGS84BoundingBox']/*[local-name()='LowerCorner'])")
  uc=$(x "$doc" "string(//*[local-name()='WGS84BoundingBox']/*[local-name()='UpperCorner'])")
  wb=$(jq -r --arg l "$layer" '.layers[] | select(.name == $l) | .bounds | map(. * 1e6 | round) | join(" ")' <<<"$layers")
  gb=$(echo "$lc $uc" | awk '{ for (i = 1; i <= 4; i++) printf "%s%d", (i > 1 ? " " : ""), ($i < 0 ? int($i * 1e6 - 0.5) : int($i * 1e6 + 0.5)) }')
  [ "$gb" = "$wb" ]; verdict $? "$layer: WGS84BoundingBox is the layer's bounds" "$gb vs $wb"
  # the deepest limits' middle tile, through every ResourceURL
  read -r r0 r1 c0 c1 < <(x "$doc" "//*[local-name()='TileMatrixLimits'][last()]/*[local-name()!='TileMatrix']/text()" | tr '\n' ' ')
  tr_=$(( (r0 + r1) / 2 )) tc=$(( (c0 + c1) / 2 ))
  n=$(x "$doc" "count(//*[local-name()='ResourceURL'])")
  bad=""
  for i in $(seq "$n"); do
    mime=$(x "$doc" "string((//*[local-name()='ResourceURL'])[$i]/@format)")
    tpl=$(x "$doc" "string((//*[local-name()='ResourceURL'])[$i]/@template)")
    u=${tpl//\{TileMatrix\}/$maxz}; u=${u//\{TileCol\}/$tc}; u=${u//\{TileRow\}/$tr_}
    case $tpl in "$SERVE_URL/tiles/$layer/{TileMatrix}/{TileCol}/{TileRow}."*) ;; *) bad="$bad template $tpl;" ;; esac
    got=$(ccurl -o /dev/null -w '%{http_code} %{content_type}' "$u")
    [ "$got" = "200 $mime" ] || bad="$bad $u: $got;"
  done
  [ "$n" = 4 ] && [ -z "$bad" ]; verdict $? "$layer: each of the $n ResourceURLs serves $maxz/$tc/$tr_ in its format" "$bad"
done
ab=$(x "$out/tci.xml" "string(//*[local-name()='Layer']/*[local-name()='Abstract'])")
[ "$ab" = '<b>Copernicus</b> & "ESA"' ]
verdict $? "the attribution, escaped, reads back as configured (a control character XML forbids left out)" "$ab"
ccurl -o "$out/hs.xml" "$SERVE_URL/tiles/dem/WMTSCapabilities.xml?algorithm=hillshade"
f=$(x "$out/hs.xml" "//*[local-name()='ResourceURL']/@format" | tr -s ' \n' ' ')
n=$(x "$out/hs.xml" "count(//*[local-name()='ResourceURL'])")
[ "$n" = 3 ] && [[ $f != *image/tiff* ]]; verdict $? "algorithm=: no GeoTIFF ResourceURL (a .tif tile of it is a 400)" "$n: $f"

# rendering parameters carried, a client's KVP not
ccurl -o "$out/q.xml" "$SERVE_URL/tiles/dem/WMTSCapabilities.xml?colormap_name=magma&rescale=1700,1900&SERVICE=WMTS&REQUEST=GetCapabilities&VERSION=1.0.0"
tpl=$(x "$out/q.xml" "string((//*[local-name()='ResourceURL'])[1]/@template)")
[ "$tpl" = "$SERVE_URL/tiles/dem/{TileMatrix}/{TileCol}/{TileRow}.webp?colormap_name=magma&rescale=1700%2C1900" ]
verdict $? "query: colormap_name and rescale carried, SERVICE/REQUEST/VERSION not" "$tpl"
st=$(ccurl -o "$out/e.json" -w '%{http_code}' "$SERVE_URL/tiles/dem/WMTSCapabilities.xml?colormap_name=nope")
[ "$st" = 400 ] && grep -q colormap_name "$out/e.json"; verdict $? "a bad parameter: 400 naming it" "$st $(cat "$out/e.json")"
st=$(ccurl -o "$out/e.json" -w '%{http_code}' "$SERVE_URL/tiles/nosuch/WMTSCapabilities.xml")
[ "$st" = 404 ]; verdict $? "an unknown layer: 404" "$st"
st=$(ccurl -o /dev/null -w '%{http_code}' -H 'Host: evil.test/x' "$SERVE_URL/tiles/tci/WMTSCapabilities.xml")
[ "$st" = 400 ]; verdict $? "a Host that is no host[:port]: 400" "$st"

# --- GDAL's WMTS driver --------------------------------------------------------------------
for w in "tci 10 579 415 $DATA/titiler/TCI.tif" "tci 10 579 416 $DATA/titiler/TCI.tif" \
  "world 1 0 0 $DATA/rasterio/world.rgb.tif"; do
  set -- $w
  # no tile cache: each read fetches from this server (and writes nothing in the tree)
  res=$(GDAL_ENABLE_WMS_CACHE=NO GDAL_DEFAULT_WMS_CACHE_PATH="$out/wmscache" GDAL_HTTP_TIMEOUT=20 NO_PROXY='*' $PY test/wmts_ref.py read "$SERVE_URL/tiles/$1/WMTSCapabilities.xml" \
    "$1" "$2" "$3" "$4" 2 "$5" 2>>"$out/gdal.err" | tail -1)
  case $res in PASS\ *) ok "${res#PASS }" ;; *) notok "${res#FAIL }" "$(tail -c 300 "$out/gdal.err")" ;; esac
done
done_testing
