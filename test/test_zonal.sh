#!/bin/bash
# Zonal statistics (docs/ZONAL.md): `bootstrap stats` against the independent
# reference test/zonal_ref.py (GDAL's rasterizer and numpy, /usr/bin/python3),
# on four real rasters and the zones of test/data/zones/ and Natural Earth:
#   - a table of cases (raster x zones x coverage x query): center and
#     all_touched identical to the reference (cell counts, min/max, unique,
#     majority/minority, median and percentiles, histogram counts, categories
#     exactly; sums, means, std, areas to 1e-9 relative); exact within the
#     error bound of the reference's 64 x 64 supersampling (ring segments
#     touching a cell / 64 per cell), then within 1e-7 per cell of OGR's
#     intersection areas (valid polygons only);
#   - the resolution test: the raster upsampled k times (gdal_translate
#     -outsize, nearest) counts k^2 times the cells, with the same means,
#     percentiles and areas (center on cell-aligned zones, exact on any);
#   - chunk invariance: COGTILER_CHUNK_CELLS at one block, a few blocks and
#     more than the zone: the same answer (floating sums to 1e-12 relative);
#   - refused bodies (exit 1, "400" and the JSON path of the fault on stderr)
#     and a zone wholly outside the raster (exit 3);
#   - reads: a 4096 x 4096 COG of 256 blocks behind nginx (test/lib/nginx.sh),
#     its access log of byte ranges mapped to blocks: a zone over a corner reads
#     only blocks its bounding box overlaps; a diagonal band with one block per
#     chunk reads only blocks it touches.
# TAP output (test/lib/tap.sh).
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
PY=/usr/bin/python3
REF=test/zonal_ref.py
out=test/out/zonal
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
. test/lib/nginx.sh
cleanup() { nginx_stop; }
trap cleanup EXIT

CMAP=test/data/rio-tiler/cog_cmap.tif
LC=test/data/r-cran-stars/lc.tif
DEM=test/data/titiler/dem.tif
TEMP=test/data/mapserver/temperatures.tif
Z=test/data/zones

# --- the cases ----------------------------------------------------------------------
# NAME RASTER ZONES COVERAGES QUERY ("-" for none); exact cases are checked
# twice (supersampling bound, then OGR intersections).
CASES=(
  "cmap-hole $CMAP $Z/cmap_hole.geojson center,all_touched,exact categorical=true"
  "cmap-multi $CMAP $Z/cmap_multi.geojson center,all_touched,exact categorical=true&p=1,10,50,90,99&histogram_bins=12"
  "cmap-sliver $CMAP $Z/cmap_sliver.geojson center,all_touched,exact -"
  "cmap-chunks $CMAP $Z/cmap_chunks.geojson center,all_touched histogram_range=0,13&histogram_bins=13"
  "cmap-aligned @CROP $Z/cmap_aligned.geojson center,all_touched,exact categorical=true"
  "lc-tiny $LC $Z/lc_tiny.geojson center,all_touched,exact categorical=true"
  "lc-partial $LC $Z/lc_partial.geojson center,all_touched,exact categorical=true&c=11,42,71,250"
  "lc-partial-nodata $LC $Z/lc_partial.geojson center,exact nodata=0&categorical=true"
  "lc-zones $LC $Z/lc_zones.geojson center,all_touched,exact categorical=true"
  "lc-countries $LC @COUNTRIES center,all_touched,exact categorical=true"
  "dem-hole $DEM $Z/dem_hole.geojson center,all_touched,exact p=5,25,75,95"
  "dem-partial $DEM $Z/dem_partial.geojson center,all_touched,exact -"
  "dem-sliver $DEM $Z/dem_sliver.geojson center,all_touched,exact -"
  "temp-tiny $TEMP $Z/temp_tiny.geojson center,all_touched,exact -"
  "temp-multi $TEMP $Z/temp_multi.geojson center,all_touched,exact p=10,90&histogram_bins=5"
  "temp-aligned $TEMP $Z/temp_aligned.geojson center,all_touched,exact -"
  "temp-countries $TEMP @COUNTRIES center,all_touched,exact -"
  "temp-natural-earth $TEMP test/data/naturalearth/ne_110m_countries.geojson center,exact -"
)
# RASTER K ZONES COVERAGES [SKIP]: the resolution test. On a geographic grid
# area_m2 depends on the resolution where cells are partly covered (a
# fraction of the cell's area is counted at the cell's latitudes, docs/ZONAL.md),
# so temp_multi (a polar cap and edges across cells) leaves it out.
RESOLUTION=(
  "@CROP 3 $Z/cmap_aligned.geojson center,exact"
  "$TEMP 4 $Z/temp_aligned.geojson center,exact"
  "$TEMP 4 $Z/temp_multi.geojson exact area_m2"
  "$LC 4 $Z/lc_zones.geojson exact"
  "$DEM 2 $Z/dem_hole.geojson exact"
)
# RASTER ZONES COVERAGE BUDGETS...: chunk invariance (cells per chunk; the
# last, the most COGTILER_CHUNK_CELLS takes and larger than any zone's
# window, is the one the others are compared with).
# cog_cmap.tif has blocks of 512 x 512 (262,144 cells), the tiled DEM copy of
# 64 x 64 (4,096), temperatures.tif strips of 150 x 13 (1,950).
CHUNKS=(
  "$CMAP $Z/cmap_chunks.geojson center 262144 786432 1048576 67108864"
  "$CMAP $Z/cmap_chunks.geojson exact 262144 786432 67108864"
  "$CMAP $Z/cmap_hole.geojson all_touched 262144 524288 67108864"
  "@DEM64 $Z/dem_partial.geojson exact 4096 12288 67108864"
  "@DEM64 $Z/dem_hole.geojson center 4096 20480 67108864"
  "$TEMP @COUNTRIES all_touched 1950 5850 67108864"
)

n_cases=0
for c in "${CASES[@]}"; do
  read -r _ _ _ covs _ <<<"$c"
  for cov in ${covs//,/ }; do n_cases=$((n_cases + 1 + $([ "$cov" = exact ] && echo 1 || echo 0))); done
done
n_res=0
for r in "${RESOLUTION[@]}"; do
  read -r _ _ _ covs _ <<<"$r"
  for _ in ${covs//,/ }; do n_res=$((n_res + 1)); done
done
n_chunks=0
for c in "${CHUNKS[@]}"; do
  read -r _ _ _ budgets <<<"$c"
  set -- $budgets
  n_chunks=$((n_chunks + $# - 1))
done
N_ERRORS=13
N_READS=6
plan $((2 + n_cases + n_res + n_chunks + N_ERRORS + N_READS))

for tool in gdal_translate gdalinfo curl node "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || stop "$tool is installed (make deps-test)"
done
$PY -c 'import numpy, osgeo.gdal' 2>/dev/null
verdict $? "python3-gdal and python3-numpy for $REF (make deps-test)" || exit 1
"$BOOTSTRAP" --help >"$out/help.txt" 2>&1
grep -q 'bootstrap stats' "$out/help.txt" ||
  stop "$BOOTSTRAP has a stats command" "not in its --help: build it from a branch with docs/ZONAL.md implemented"
ok "$BOOTSTRAP has a stats command"

# --- rasters and zones the test derives ------------------------------------------------
CROP=$out/cmap_crop.tif
gdal_translate -q -srcwin 3400 2000 256 256 -co TILED=YES -co BLOCKXSIZE=128 -co BLOCKYSIZE=128 \
  "$CMAP" "$CROP" || stop "cropped cog_cmap.tif"
DEM64=$out/dem64.tif
gdal_translate -q -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 -co COMPRESS=DEFLATE \
  "$DEM" "$DEM64" || stop "tiled the DEM in 64 x 64 blocks"
# Natural Earth without Antarctica (whose ring runs along the pole from 180 to -180)
COUNTRIES=$out/countries.geojson
$PY - test/data/naturalearth/ne_110m_countries.geojson "$COUNTRIES" <<'EOF' || stop "countries without Antarctica"
import json, sys
d = json.load(open(sys.argv[1]))
d["features"] = [f for f in d["features"] if f["properties"]["name"] != "Antarctica"]
json.dump(d, open(sys.argv[2], "w"))
EOF
resolve() {
  case $1 in @CROP) echo "$CROP" ;; @DEM64) echo "$DEM64" ;; @COUNTRIES) echo "$COUNTRIES" ;; *) echo "$1" ;; esac
}

# stats OUT RASTER ZONES QUERY [ENV...]: bootstrap stats into OUT.json (stderr
# OUT.err); sets RC.
stats() {
  local o=$1 r=$2 zf=$3 q=$4
  shift 4
  env "$@" "$BOOTSTRAP" stats --source "$r" --geojson "$zf" ${q:+--query "$q"} >"$o.json" 2>"$o.err"
  RC=$?
}
why() { { head -c 300 "$1.err"; echo; head -n 8 "$1.diff" 2>/dev/null; } | tr '\n' ' ' | head -c 900; }

# --- the table against the reference ----------------------------------------------------
for c in "${CASES[@]}"; do
  read -r name r zf covs q <<<"$c"
  r=$(resolve "$r") zf=$(resolve "$zf")
  [ "$q" = - ] && q=
  for cov in ${covs//,/ }; do
    query="coverage=$cov${q:+&$q}"
    o=$out/$name-$cov
    stats "$o" "$r" "$zf" "$query"
    what="$name $cov ($(basename "$r") x $(basename "$zf")${q:+, $q})"
    if [ "$RC" != 0 ]; then
      notok "$what: as the reference" "exit $RC: $(why "$o")"
      [ "$cov" = exact ] && notok "$what: within 1e-7 per cell of OGR's intersections" "no answer"
      continue
    fi
    $PY "$REF" check --source "$r" --geojson "$zf" --query "$query" "$o.json" >"$o.diff" 2>&1
    verdict $? "$what: as the reference$([ "$cov" = exact ] && echo ' (within the 64x64 supersampling bound)')" "$(why "$o")"
    if [ "$cov" = exact ]; then
      $PY "$REF" check --exact geos --source "$r" --geojson "$zf" --query "$query" "$o.json" >"$o.geos.diff" 2>&1
      verdict $? "$what: within 1e-7 per cell of OGR's intersections" "$(head -n 8 "$o.geos.diff" | tr '\n' ' ')"
    fi
  done
done

# --- the resolution test ---------------------------------------------------------------------
for rr in "${RESOLUTION[@]}"; do
  read -r r k zf covs skipkey <<<"$rr"
  r=$(resolve "$r")
  base=$(basename "$r" .tif)
  up=$out/${base}_x$k.tif
  if [ ! -f "$up" ]; then
    read -r w h < <(gdalinfo "$r" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)/\1 \2/p')
    gdal_translate -q -r nearest -outsize $((w * k)) $((h * k)) -co TILED=YES "$r" "$up" ||
      stop "upsampled $base $k times"
  fi
  for cov in ${covs//,/ }; do
    o=$out/res-$base-$(basename "$zf" .geojson)-$cov
    stats "$o.1" "$r" "$zf" "coverage=$cov&categorical=true"
    rc1=$RC
    stats "$o.$k" "$up" "$zf" "coverage=$cov&categorical=true"
    what="resolution: $base upsampled $k times, $(basename "$zf") $cov: counts x$((k * k)), same means, percentiles${skipkey:+ (not $skipkey)}"
    if [ "$rc1" != 0 ] || [ "$RC" != 0 ]; then
      notok "$what" "exit $rc1 and $RC: $(why "$o.1") $(why "$o.$k")"
      continue
    fi
    $PY "$REF" same --scale $((k * k)) --rel 1e-9 ${skipkey:+--skip "$skipkey"} "$o.1.json" "$o.$k.json" >"$o.diff" 2>&1
    verdict $? "$what" "$(head -n 8 "$o.diff" | tr '\n' ' ')"
  done
done

# --- chunk invariance --------------------------------------------------------------------------
for cc in "${CHUNKS[@]}"; do
  read -r r zf cov budgets <<<"$cc"
  r=$(resolve "$r") zf=$(resolve "$zf")
  set -- $budgets
  last=${!#}
  o=$out/chunks-$(basename "$r" .tif)-$(basename "$zf" .geojson)-$cov
  stats "$o.$last" "$r" "$zf" "coverage=$cov&categorical=true" COGTILER_CHUNK_CELLS="$last"
  rcl=$RC
  for b in "$@"; do
    [ "$b" = "$last" ] && continue
    stats "$o.$b" "$r" "$zf" "coverage=$cov&categorical=true" COGTILER_CHUNK_CELLS="$b"
    what="chunks: $(basename "$r") x $(basename "$zf") $cov, $b cells per chunk = $last"
    if [ "$rcl" != 0 ] || [ "$RC" != 0 ]; then
      notok "$what" "exit $RC and $rcl: $(why "$o.$b") $(why "$o.$last")"
      continue
    fi
    $PY "$REF" same --rel 1e-12 "$o.$b.json" "$o.$last.json" >"$o.$b.diff" 2>&1
    verdict $? "$what" "$(head -n 8 "$o.$b.diff" | tr '\n' ' ')"
  done
done

# --- refused bodies and a zone outside ------------------------------------------------------------
# refused NAME FILE PATH: exit 1, stderr has "400" and PATH (the reference
# must refuse FILE at PATH too, or the case itself is wrong).
refused() {
  local name=$1 f=$2 path=$3 o=$out/err-$1
  $PY "$REF" --source "$LC" --geojson "$f" >/dev/null 2>"$o.ref"
  local rrc=$?
  "$BOOTSTRAP" stats --source "$LC" --geojson "$f" >"$o.json" 2>"$o.err"
  local rc=$?
  [ "$rrc" = 1 ] && grep -qF "$path" "$o.ref" && [ "$rc" = 1 ] && grep -q '400' "$o.err" &&
    grep -qF "$path" "$o.err"
  verdict $? "refused: $name: exit 1, HTTP 400 naming $path" \
    "exit $rc: $(head -c 300 "$o.err" | tr '\n' ' '); reference: $(head -c 200 "$o.ref")"
}
feature() { # GEOMETRY-JSON [ID]
  printf '{"type": "Feature"%s, "properties": {}, "geometry": %s}' "${2:+, \"id\": $2}" "$1"
}
sq='{"type": "Polygon", "coordinates": [[[-66.5, 18.1], [-66.4, 18.1], [-66.4, 18.2], [-66.5, 18.1]]]}'
printf '{"type": "FeatureCollection", "features": [' >"$out/bad-json.geojson"
feature "$sq" >>"$out/bad-json.geojson"   # unterminated
refused "not JSON" "$out/bad-json.geojson" "400"
{ echo '{"type": "FeatureCollection", "features": ['
  feature "$sq" 1; echo ','
  feature '{"type": "Polygon", "coordinates": [[[-66.5, 18.1], [-66.4, 18.1], [-66.4, 91.0], [-66.5, 18.1]]]}' 2
  echo ']}'; } >"$out/bad-lat.geojson"
refused "latitude 91" "$out/bad-lat.geojson" "features[1].geometry.coordinates[0][2]"
{ echo '{"type": "FeatureCollection", "features": ['
  feature '{"type": "Polygon", "coordinates": [[[-66.5, 18.1], [-66.4, 18.1], [-66.4, 18.2], [-66.5, 18.15]]]}'
  echo ']}'; } >"$out/bad-open.geojson"
refused "ring not closed" "$out/bad-open.geojson" "features[0].geometry.coordinates[0]"
{ echo '{"type": "FeatureCollection", "features": ['
  feature "$sq"; echo ','; feature "$sq"; echo ','
  feature '{"type": "LineString", "coordinates": [[-66.5, 18.1], [-66.4, 18.1]]}'
  echo ']}'; } >"$out/bad-type.geojson"
refused "a LineString" "$out/bad-type.geojson" "features[2].geometry"
{ echo '{"type": "FeatureCollection", "features": ['
  feature "$sq"; echo ','; echo '{"type": "Feature", "properties": {}, "geometry": null}'
  echo ']}'; } >"$out/bad-null.geojson"
refused "a feature without geometry" "$out/bad-null.geojson" "features[1].geometry"
feature '{"type": "MultiPolygon", "coordinates": [[[[-66.5, 18.1], [-66.4, 18.1], [-66.5, 18.1]]]]}' \
  >"$out/bad-short.geojson"
refused "a ring of three positions" "$out/bad-short.geojson" "geometry.coordinates[0][0]"
feature '{"type": "Polygon", "coordinates": [[[-66.5, 18.1], [-66.4, 18.1], [-66.4, "18.2"], [-66.5, 18.1]]]}' \
  >"$out/bad-string.geojson"
refused "a coordinate that is a string" "$out/bad-string.geojson" "geometry.coordinates[0][2]"
$PY - "$out/bad-many.geojson" <<'EOF'
import json, sys
f = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[-66.5, 18.1], [-66.4, 18.1], [-66.4, 18.2], [-66.5, 18.1]]]}}
json.dump({"type": "FeatureCollection", "features": [f] * 1001}, open(sys.argv[1], "w"))
EOF
refused "1,001 features" "$out/bad-many.geojson" "features"
# (Natural Earth as it is, Antarctica's edge along the pole included, is a case above.)
# wholly outside: 404, exit 3
"$BOOTSTRAP" stats --source "$DEM" --geojson "$Z/dem_outside.geojson" >"$out/outside.json" 2>"$out/outside.err"
rc=$?
$PY "$REF" --source "$DEM" --geojson "$Z/dem_outside.geojson" >/dev/null 2>&1
rrc=$?
[ "$rc" = 3 ] && [ "$rrc" = 3 ]
verdict $? "a zone wholly outside the raster: exit 3 (404)" "exit $rc, reference $rrc: $(head -c 300 "$out/outside.err")"
grep -q 404 "$out/outside.err"; verdict $? "... says 404" "$(head -c 300 "$out/outside.err")"
# the same zone in a collection: count 0 for it, the others answered
{ echo '{"type": "FeatureCollection", "features": ['
  cat "$Z/dem_outside.geojson"; echo ','; cat "$Z/dem_hole.geojson"; echo ']}'; } >"$out/outside-coll.geojson"
stats "$out/outside-coll" "$DEM" "$out/outside-coll.geojson" "coverage=center"
[ "$RC" = 0 ] && $PY "$REF" check --source "$DEM" --geojson "$out/outside-coll.geojson" --query coverage=center \
  "$out/outside-coll.json" >"$out/outside-coll.diff" 2>&1
verdict $? "a collection with a zone outside: 200, count 0 for it" "exit $RC: $(why "$out/outside-coll")"
# the body from stdin: the same answer
"$BOOTSTRAP" stats --source "$LC" --geojson - --query coverage=exact <"$Z/lc_zones.geojson" \
  >"$out/stdin.json" 2>"$out/stdin.err"
rc=$?
stats "$out/file" "$LC" "$Z/lc_zones.geojson" coverage=exact
[ "$rc" = 0 ] && cmp -s "$out/stdin.json" "$out/file.json"
verdict $? "--geojson - (stdin): the same answer as from the file" "exit $rc: $(head -c 300 "$out/stdin.err")"
# a layer of a configuration
cat >"$out/layers.json" <<EOF
{"layers": {"landcover": {"source": "../../../$LC"}}}
EOF
"$BOOTSTRAP" stats --layer landcover --config "$out/layers.json" --geojson "$Z/lc_zones.geojson" \
  --query coverage=exact >"$out/layer.json" 2>"$out/layer.err"
rc=$?
[ "$rc" = 0 ] && cmp -s "$out/layer.json" "$out/file.json"
verdict $? "--layer NAME --config FILE: the same answer as --source" "exit $rc: $(head -c 300 "$out/layer.err")"

# --- reads: which blocks of a remote COG a zone reads ------------------------------------------------
# A 4096 x 4096 COG of 16 x 16 uncompressed blocks of 256 x 256 (65,536 bytes
# each, larger than GDAL's 16 KB read granularity), no overviews.
www=$out/www
mkdir -p "$www"
gdal_translate -q -srcwin 3072 0 4096 4096 -of COG -co COMPRESS=NONE -co BLOCKSIZE=256 \
  -co OVERVIEWS=NONE "$CMAP" "$www/x.tif" || stop "made a 4096 x 4096 COG of 256 blocks"
# zones.py: writes the corner and diagonal zones (lon/lat of cell positions)
# and, given a log, maps byte ranges to blocks.
cat >"$out/blocks.py" <<'EOF'
import json, sys
import numpy as np
from osgeo import gdal, ogr, osr
gdal.UseExceptions()
tif = sys.argv[2]
ds = gdal.Open(tif)
gt = ds.GetGeoTransform()
srs = ds.GetSpatialRef(); srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326); wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
to_ll = osr.CoordinateTransformation(srs, wgs)
B = 256
def ll(c, r):
    x, y, _ = to_ll.TransformPoint(gt[0] + c * gt[1], gt[3] + r * gt[5])
    return [x, y]
def zone(cells):
    ring = [ll(c, r) for c, r in cells]
    ring.append(ring[0])
    return {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
if sys.argv[1] == "zones":
    # over the bottom-right corner and beyond: cells 3500.3..4200 x 3300.6..4300
    json.dump(zone([(3500.3, 3300.6), (4200, 3320.2), (4200, 4300), (3480.7, 4300)]), open(sys.argv[3], "w"))
    # a band 40 cells wide from the top-left corner to the bottom-right one
    json.dump(zone([(10.5, 30.5), (30.5, 10.5), (4085.5, 4065.5), (4065.5, 4085.5)]), open(sys.argv[4], "w"))
    sys.exit(0)
# blocks LOG ZONE: prints "READ r,c ..." of blocks a GET covered more than
# 16 KB of; "ASKED ..." the block each GET was for: the one holding its byte
# start + 16383 (GDAL rounds a read down to a 16 KB chunk, and a GET may
# continue a block partly cached). GDAL's /vsicurl/ reads ahead: a read that
# follows the previous one in the file downloads twice as much, so READ may
# hold the next block or two in the file beyond ASKED; "BOX ..." the blocks
# the zone's bounding box overlaps, "TOUCHED ..." the blocks one of its
# cells is in (all_touched).
log, zf = sys.argv[3], sys.argv[4]
band = ds.GetRasterBand(1)
nb = ds.RasterXSize // B
spans = {}
for r in range(nb):
    for c in range(nb):
        off = int(band.GetMetadataItem(f"BLOCK_OFFSET_{c}_{r}", "TIFF"))
        size = int(band.GetMetadataItem(f"BLOCK_SIZE_{c}_{r}", "TIFF"))
        spans[(r, c)] = (off, off + size)
read, asked = set(), set()
gets = 0
for line in open(log):
    f = line.split()
    if len(f) < 3 or f[0] != "GET" or not f[2].startswith("bytes="):
        continue
    a, b = f[2][6:].split("-")
    a, b = int(a), int(b) + 1
    if a == 0:
        continue    # the open: the header (GDAL_INGESTED_BYTES_AT_OPEN)
    gets += 1
    for k, (s, e) in spans.items():
        if min(b, e) - max(a, s) > 16384:
            read.add(k)
        if s <= a + 16383 < e:
            asked.add(k)
g = ogr.CreateGeometryFromJson(json.dumps(json.load(open(zf))["geometry"]))
ct = osr.CoordinateTransformation(wgs, srs)
g.Segmentize(0.01); g.Transform(ct)
minx, maxx, miny, maxy = g.GetEnvelope()
c0, c1 = int((minx - gt[0]) // gt[1]), int(-((maxx - gt[0]) // -gt[1]))
r0, r1 = int((maxy - gt[3]) // gt[5]), int(-((miny - gt[3]) // -gt[5]))
box = {(r, c) for r in range(nb) for c in range(nb)
       if r * B < r1 and (r + 1) * B > r0 and c * B < c1 and (c + 1) * B > c0}
mem = gdal.GetDriverByName("MEM").Create("", ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Byte)
mem.SetGeoTransform(gt); mem.SetSpatialRef(srs)
src = ogr.GetDriverByName("Memory").CreateDataSource(""); lyr = src.CreateLayer("z", srs)
feat = ogr.Feature(lyr.GetLayerDefn()); feat.SetGeometry(g); lyr.CreateFeature(feat)
gdal.RasterizeLayer(mem, [1], lyr, burn_values=[1], options=["ALL_TOUCHED=TRUE"])
a = mem.GetRasterBand(1).ReadAsArray()
touched = {(r, c) for r in range(nb) for c in range(nb) if a[r * B:(r + 1) * B, c * B:(c + 1) * B].any()}
fmt = lambda s: " ".join(f"{r},{c}" for r, c in sorted(s))
print("GETS", gets)
print("READ", fmt(read))
print("ASKED", fmt(asked))
print("BOX", fmt(box))
print("TOUCHED", fmt(touched))
EOF
$PY "$out/blocks.py" zones "$www/x.tif" "$out/corner.geojson" "$out/diagonal.geojson" ||
  stop "zones over the COG's corner and diagonal"
if ! nginx_start "$out/nginx" "$www"; then
  for _ in $(seq "$N_READS"); do skip "reads of a remote COG" "nginx did not start"; done
else
  # blocks KEY: the blocks of that line of $out/blocks.txt, one per line
  blocks_of() { sed -n "s/^$1 //p" "$out/blocks.txt" | tr ' ' '\n' | sed '/^$/d' | sort; }
  from=$(($(nginx_log_lines) + 1))
  stats "$out/corner" "$NGINX_URL/x.tif" "$out/corner.geojson" "coverage=exact"
  nginx_requests "$from" >"$out/corner.log"
  verdict "$RC" "remote COG, a zone over its corner: answered" "exit $RC: $(why "$out/corner")"
  $PY "$out/blocks.py" blocks "$www/x.tif" "$out/corner.log" "$out/corner.geojson" >"$out/blocks.txt"
  extra=$(comm -23 <(blocks_of ASKED) <(blocks_of BOX) | tr '\n' ' ')
  nasked=$(blocks_of ASKED | wc -l)
  [ -z "$extra" ] && [ "$nasked" -gt 0 ]
  verdict $? "... asks only for blocks its bounding box overlaps ($nasked asked of $(blocks_of BOX | wc -l) in the box)" \
    "asked outside the box: $extra; $(grep GETS "$out/blocks.txt")"
  note "corner: blocks downloaded (GDAL's read-ahead included) outside the box: $(comm -23 <(blocks_of READ) <(blocks_of BOX) | tr '\n' ' ')"
  stats "$out/corner-local" "$www/x.tif" "$out/corner.geojson" "coverage=exact"
  [ "$RC" = 0 ] && $PY "$REF" same --rel 0 "$out/corner-local.json" "$out/corner.json" >"$out/corner.diff" 2>&1
  verdict $? "... the same answer as from the local file" "$(why "$out/corner")"
  from=$(($(nginx_log_lines) + 1))
  stats "$out/diagonal" "$NGINX_URL/x.tif" "$out/diagonal.geojson" "coverage=center" COGTILER_CHUNK_CELLS=65536
  nginx_requests "$from" >"$out/diagonal.log"
  verdict "$RC" "remote COG, a diagonal band, one block per chunk: answered" "exit $RC: $(why "$out/diagonal")"
  $PY "$out/blocks.py" blocks "$www/x.tif" "$out/diagonal.log" "$out/diagonal.geojson" >"$out/blocks.txt"
  extra=$(comm -23 <(blocks_of ASKED) <(blocks_of TOUCHED) | tr '\n' ' ')
  nasked=$(blocks_of ASKED | wc -l) nread=$(blocks_of READ | wc -l) nbox=$(blocks_of BOX | wc -l)
  [ -z "$extra" ] && [ "$nasked" -gt 0 ] && [ $((nread * 2)) -lt "$nbox" ]
  verdict $? "... asks only for blocks the band touches ($nasked asked, $nread downloaded with GDAL's read-ahead; $(blocks_of TOUCHED | wc -l) touched of $nbox in its box)" \
    "asked but not touched: $extra"
  $PY "$REF" check --source "$www/x.tif" --geojson "$out/diagonal.geojson" --query coverage=center \
    "$out/diagonal.json" >"$out/diagonal.diff" 2>&1
  verdict $? "... as the reference" "$(why "$out/diagonal")"
  nginx_stop
fi
done_testing
