#!/bin/bash
# overlay_fixtures.sh DIR - the inputs of the derived-layer tests and bench
# (docs/OVERLAY.md), made in DIR from two real rasters of test/data:
#   cover.tif   a categorical land cover of Olinda (Brazil): the NDVI of the
#               Landsat 7 scene r-cran-stars/L7_ETMs.tif (bands 4 and 3, in
#               float) in four classes, 1 water (< -0.4), 2 built/bare (< 0),
#               3 sparse vegetation (< 0.2), 4 vegetation, by gdal_calc.py;
#               then warped by gdalwarp (-r near) from UTM 25S at 28.5 m to
#               EPSG:4326 at 0.0004 degree, nodata 0 around it: a categorical
#               input in another CRS and resolution than the DEM.
#   layers.json cover, dem (r-cran-stars/olinda_dem_utm25s.tif, SRTM 90 m,
#               UTM 25S), l7 (the scene itself), and the derived layers
#               priority (cover 60 % + slope of dem 40 %) and ndvi (an
#               expression of l7's bands 4 and 3).
# Needs gdal_calc.py and gdalwarp (gdal-bin, python3-gdal).
set -euo pipefail
dir=$1
data=$(cd "$(dirname "$0")/data/r-cran-stars" && pwd)
mkdir -p "$dir"
ndvi='((A.astype(float) - B) / (A.astype(float) + B + 1e-9))'
gdal_calc.py --quiet -A "$data/L7_ETMs.tif" --A_band=4 -B "$data/L7_ETMs.tif" --B_band=3 \
  --type=Byte --NoDataValue=0 --overwrite --outfile="$dir/cover_utm.tif" \
  --calc="1 + ($ndvi >= -0.4) + ($ndvi >= 0) + ($ndvi >= 0.2)" >/dev/null
rm -f "$dir/cover.tif"
gdalwarp -q -t_srs EPSG:4326 -tr 0.0004 0.0004 -r near -dstnodata 0 \
  "$dir/cover_utm.tif" "$dir/cover.tif"
rm -f "$dir/cover_utm.tif"
cat > "$dir/layers.json" <<JSON
{"default_layer": "priority",
 "layers": {
  "cover": {"source": "cover.tif"},
  "dem": {"source": "$data/olinda_dem_utm25s.tif"},
  "l7": {"source": "$data/L7_ETMs.tif"},
  "priority": {"derived": {"inputs": [
      {"name": "cover", "layer": "cover", "remap": "1:restricted,2:2,3:6,4:9", "weight": 60},
      {"name": "slope", "layer": "dem", "terrain": "slope", "resampling": "bilinear",
       "remap": "0..1:9,1..3:7,3..6:4,6..90:restricted", "weight": 40}],
      "scale": [1, 9], "round": "nearest", "grid": "slope"},
    "attribution": "Landsat 7 ETM+ and SRTM of Olinda, from R's stars package (Apache-2.0)"},
  "ndvi": {"derived": {"inputs": [{"name": "nir", "layer": "l7", "band": 4},
                                  {"name": "red", "layer": "l7", "band": 3}],
                       "expression": "(nir - red) / (nir + red)"},
           "rescale": [-1, 1], "colormap": "rdylgn"}
 }}
JSON
