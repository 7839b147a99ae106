#!/bin/bash
# Tile formats (README "Tile formats") against independent references,
# test/formats_ref.py, which decodes every answer with the format's own
# library through GDAL (libpng, libwebp, libjpeg, libtiff):
#   - GeoTIFF tiles of every tile of test/data/tiles.txt (Byte RGB with and
#     without nodata, RGBA, UInt16, Float32 with NaN or -9999, palette): the
#     source's type, EPSG:3857, the tile's geotransform, DEFLATE, and the
#     values and validity of gdalwarp's window (-r near -dstalpha);
#   - coloured tiles (a viridis DEM, a palette, a grey ramp) as WebP: the PNG's
#     pixels exactly; imagery (RGB, RGBA with transparency) as WebP: lossy,
#     alpha exact, colours within 30 dB PSNR of the PNG; JPEG: within 30 dB of
#     the PNG composited over white, white where the PNG is transparent;
#   - band math as GeoTIFF: Float32, NaN where NoData, the values of 2 x the
#     band's own .tif;
#   - Content-Type, ETag and quality= per format; TileJSON's tile_format= and
#     the layer's "format"; the CLI's -o extension;
#   - per-layer defaults: "resampling" for its tiles, "minzoom"/"maxzoom" in
#     /layers, TileJSON and WMTS.
# TAP output.
set -u
BOOTSTRAP=$(cd "$(dirname "${BOOTSTRAP:-./bootstrap}")" && pwd)/$(basename "${BOOTSTRAP:-./bootstrap}")
PY=/usr/bin/python3
REF=$(pwd)/test/formats_ref.py
DATA=$(pwd)/test/data
out=$(pwd)/test/out/formats
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
$PY -c 'import osgeo, numpy' 2>/dev/null || stop "python3-gdal and python3-numpy (make deps-test)"

# --- GeoTIFF tiles against gdalwarp --------------------------------------------------
tap_ref < <($PY "$REF" geotiff "$BOOTSTRAP" "$DATA/tiles.txt" "$DATA" "$out" 2>"$out/geotiff.err")

# --- PNG, WebP and JPEG of coloured tiles and imagery ----------------------------------
CFG=$out/layers.json
cat >"$CFG" <<EOF
{"layers": {
  "dem": {"source": "$DATA/titiler/dem.tif", "colormap": "viridis", "rescale": [1600, 2020],
          "format": "webp"},
  "cmap": {"source": "$DATA/rio-tiler/cog_cmap.tif"},
  "temps": {"source": "$DATA/mapserver/temperatures.tif", "colormap": "magma"},
  "rgba": {"source": "$DATA/rasterio/RGBA.byte.tif", "format": "jpg"},
  "tci": {"source": "$DATA/titiler/TCI.tif"},
  "demb": {"source": "$DATA/titiler/dem.tif", "colormap": "viridis", "rescale": [1600, 2020],
           "resampling": "bilinear", "minzoom": 12, "maxzoom": 18},
  "demz": {"source": "$DATA/titiler/dem.tif", "minzoom": 19}
}}
EOF
for lt in dem:15/17029/11668 dem:15/17029/11667 cmap:17/36624/49695 cmap:17/36620/49695 \
  temps:2/1/1 rgba:9/145/219 rgba:9/145/221 tci:10/579/415 tci:10/580/417; do
  tap_ref < <($PY "$REF" images "$BOOTSTRAP" "$CFG" "$out" "${lt%%:*}" "${lt#*:}" 2>>"$out/images.err")
done

# --- band math as GeoTIFF ----------------------------------------------------------------
"$BOOTSTRAP" request "/tiles/dem/15/17029/11667.tif" --config "$CFG" -o "$out/plain.tif" >/dev/null 2>&1
"$BOOTSTRAP" request "/tiles/dem/15/17029/11667.tif?expression=b1*2&rescale=0,1" --config "$CFG" \
  -o "$out/expr.tif" >/dev/null 2>&1
res=$($PY - "$out/plain.tif" "$out/expr.tif" <<'EOF' 2>&1
import sys
import numpy as np
from osgeo import gdal
p, e = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
b = e.GetRasterBand(1)
assert b.DataType == gdal.GDT_Float32, gdal.GetDataTypeName(b.DataType)
assert np.isnan(b.GetNoDataValue()), b.GetNoDataValue()
assert e.GetGeoTransform() == p.GetGeoTransform()
pv = p.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0
ev = b.GetMaskBand().ReadAsArray() > 0
assert 0 < pv.sum() < pv.size, "the edge tile has data and NoData"
assert np.array_equal(pv, ev), "validity differs"
a, r = b.ReadAsArray()[ev], 2 * p.GetRasterBand(1).ReadAsArray()[pv].astype(np.float64)
assert np.array_equal(a, r.astype(np.float32)), "%d values differ" % (a != r).sum()
assert np.isnan(b.ReadAsArray()[~ev]).all()
print("ok")
EOF
)
[ "$res" = ok ]; verdict $? "expression=b1*2 as .tif: Float32, NaN NoData, 2 x the band's .tif" "$res"

# --- headers, ETag, quality= ---------------------------------------------------------------
# hdr PATH: "STATUS CONTENT-TYPE ETAG BYTES" of one request in process
hdr() {
  local h
  h=$("$BOOTSTRAP" request "$1" --config "$CFG" -o "$out/h.bin" 2>&1 >/dev/null |
    awk '{ k = tolower($1) } k == "http" { s = $2 } k == "content-type:" { t = $2 }
         k == "etag:" { e = $2 } END { print s, t, e }')
  echo "$h $(stat -c %s "$out/h.bin")"
}
declare -A etag size
for ext in png webp jpg tif; do
  read -r st ct et n < <(hdr "/tiles/tci/10/579/415.$ext")
  want=$(case $ext in png) echo image/png ;; webp) echo image/webp ;; jpg) echo image/jpeg ;; tif) echo image/tiff ;; esac)
  [ "$st $ct" = "200 $want" ]; verdict $? ".$ext answers 200 $want" "$st $ct"
  etag[$ext]=$et size[$ext]=$n
done
[ "$(printf '%s\n' "${etag[@]}" | sort -u | wc -l)" = 4 ]; verdict $? "each format has its own ETag" "${etag[*]}"
read -r _ _ e50 n50 < <(hdr "/tiles/tci/10/579/415.webp?quality=50")
read -r _ _ e95 n95 < <(hdr "/tiles/tci/10/579/415.webp?quality=95")
[ "$n50" -lt "$n95" ] && [ "$e50" != "$e95" ]; verdict $? "quality=50 is smaller than quality=95 (WebP), another ETag" "$n50 $n95"
read -r _ _ _ j50 < <(hdr "/tiles/tci/10/579/415.jpg?quality=50")
[ "$j50" -lt "${size[jpg]}" ]; verdict $? "JPEG quality=50 smaller than the default 85" "$j50 ${size[jpg]}"
note "tci 10/579/415 bytes: png ${size[png]} webp ${size[webp]} jpg ${size[jpg]} tif ${size[tif]}"

# --- TileJSON and the layer's format ----------------------------------------------------------
tj() { "$BOOTSTRAP" request "$1" --config "$CFG" -o - -H 'Host: example.test' 2>/dev/null | jq -r "$2"; }
[ "$(tj /tiles/dem/tilejson.json '.tiles[0]')" = "http://example.test/tiles/dem/{z}/{x}/{y}.webp" ]
verdict $? "TileJSON: the layer's format (webp)" "$(tj /tiles/dem/tilejson.json '.tiles[0]')"
[ "$(tj '/tiles/dem/tilejson.json?tile_format=tif' '.format')" = tif ]
verdict $? "TileJSON: its \"format\" is the tiles' (tile_format=)"
[ "$(tj '/tiles/dem/tilejson.json?tile_format=tif&rescale=1,2' '.tiles[0]')" = \
  "http://example.test/tiles/dem/{z}/{x}/{y}.tif?rescale=1%2C2" ]
verdict $? "TileJSON: tile_format= picks the extension and is not carried" \
  "$(tj '/tiles/dem/tilejson.json?tile_format=tif&rescale=1,2' '.tiles[0]')"
[ "$(tj /tiles/cmap/tilejson.json '.tiles[0]')" = "http://example.test/tiles/cmap/{z}/{x}/{y}.png" ]
verdict $? "TileJSON: png by default"
[ "$(tj /layers '[.layers[] | .name + ":" + .format] | join(",")')" = "dem:webp,cmap:png,temps:png,rgba:jpg,tci:png,demb:png,demz:png" ]
verdict $? "/layers: each layer's format" "$(tj /layers '[.layers[] | .name + ":" + .format] | join(",")')"
echo '{"layers": {"x": {"source": "a.tif", "format": "gif"}}}' >"$out/bad.json"
msg=$("$BOOTSTRAP" tile 0/0/0 --config "$out/bad.json" -o "$out/x.png" 2>&1)
[[ $msg == *'"format" must be png, webp, jpg or tif'* ]]; verdict $? "a configured format gif is refused at start" "$msg"

# --- per-layer defaults: resampling, minzoom, maxzoom ---------------------------------------
bin_of() { "$BOOTSTRAP" request "$1" --config "$CFG" -o "$2" >/dev/null 2>&1; }
bin_of "/tiles/demb/16/34058/23335.png" "$out/d1.png"
bin_of "/tiles/dem/16/34058/23335.png?resampling=bilinear" "$out/d2.png"
bin_of "/tiles/demb/16/34058/23335.png?resampling=nearest" "$out/d3.png"
cmp -s "$out/d1.png" "$out/d2.png" && ! cmp -s "$out/d1.png" "$out/d3.png"
verdict $? "a layer's resampling is its tiles' default, and resampling= overrides it"
z=$(tj /layers '.layers[] | select(.name == "demb") | "\(.minzoom) \(.maxzoom)"')
zd=$(tj /layers '.layers[] | select(.name == "dem") | "\(.minzoom) \(.maxzoom)"')
zt=$(tj /tiles/demb/tilejson.json '"\(.minzoom) \(.maxzoom) \(.center[2])"')
[ "$z" = "12 18" ] && [ "$zt" = "12 18 12" ] && [ "$zd" != "$z" ]
verdict $? "a layer's minzoom/maxzoom replace the data's in /layers and TileJSON" "$z / $zt (data: $zd)"
z=$(tj /layers '.layers[] | select(.name == "demz") | "\(.minzoom) \(.maxzoom)"')
[ "$z" = "19 19" ]; verdict $? "a minzoom past the data's finest zoom (16) is kept, maxzoom with it" "$z"
"$BOOTSTRAP" request /tiles/demb/WMTSCapabilities.xml --config "$CFG" -H 'Host: example.test' -o "$out/demb.xml" 2>/dev/null
n=$(xmllint --xpath "count(//*[local-name()='TileMatrixSet']/*[local-name()='TileMatrix'])" "$out/demb.xml" 2>/dev/null)
l=$(xmllint --xpath "string(//*[local-name()='TileMatrixLimits'][1]/*[local-name()='TileMatrix'])" "$out/demb.xml" 2>/dev/null)
[ "$n" = 19 ] && [ "$l" = 12 ]; verdict $? "and in WMTS: matrices 0..18, limits from 12" "$n $l"

# --- the CLI's -o extension --------------------------------------------------------------------
for ext in png webp jpg jpeg tif tiff; do
  rm -f "$out/cli.$ext"
  "$BOOTSTRAP" tile 10/579/415 --source "$DATA/titiler/TCI.tif" -o "$out/cli.$ext" 2>/dev/null
  drv=$($PY -c "from osgeo import gdal; print(gdal.Open('$out/cli.$ext').GetDriver().ShortName)" 2>&1)
  want=$(case $ext in png) echo PNG ;; webp) echo WEBP ;; jpg|jpeg) echo JPEG ;; tif|tiff) echo GTiff ;; esac)
  [ "$drv" = "$want" ]; verdict $? "bootstrap tile -o x.$ext writes $want" "$drv"
done
"$BOOTSTRAP" tile 10/579/415 --source "$DATA/titiler/TCI.tif" -o "$out/cli.gif" 2>"$out/cli.err"
rc=$?
[ "$rc" = 2 ] && grep -q "png, .webp, .jpg or .tif" "$out/cli.err"; verdict $? "-o x.gif: usage error (exit 2)" "exit $rc"
"$BOOTSTRAP" tile 10/579/415 --source "$DATA/titiler/TCI.tif" --quality 20 -o "$out/q20.jpg" 2>/dev/null
[ "$(stat -c %s "$out/q20.jpg")" -lt "$(stat -c %s "$out/cli.jpg")" ]; verdict $? "--quality 20 makes a smaller JPEG"

done_testing
