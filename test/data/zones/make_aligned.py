#!/usr/bin/python3
"""make_aligned.py - writes cmap_aligned.geojson and temp_aligned.geojson, the
two zones whose edges follow cell edges (the resolution test of
test/test_zonal.sh: with coverage=center a raster upsampled k times must then
count exactly k^2 times the cells). Run from the repository root:
    /usr/bin/python3 test/data/zones/make_aligned.py          # writes both
    /usr/bin/python3 test/data/zones/make_aligned.py --check  # compares
The staircase and its hole are given in cells; each corner becomes lon/lat
through GDAL's geotransform and (for the EPSG:3857 source) OSR, printed with 17
significant digits. Edges along meridians and parallels stay straight in
EPSG:3857, and in lon/lat for the geographic temperatures.tif."""
import json
import sys

from osgeo import gdal, osr

gdal.UseExceptions()
# (x, y) cell corners, x to the east, y down
OUTER = [(10, 10), (200, 10), (200, 60), (120, 60), (120, 150), (230, 150), (230, 240),
         (10, 240), (10, 10)]
HOLE = [(40, 100), (80, 100), (80, 130), (40, 130), (40, 100)]
CMAP_OFF = (3400, 2000)     # the crop the test makes: gdal_translate -srcwin 3400 2000 256 256
TEMP_OUTER = [(5, 5), (60, 5), (60, 20), (30, 20), (30, 50), (70, 50), (70, 70), (5, 70), (5, 5)]
TEMP_HOLE = [(10, 30), (20, 30), (20, 40), (10, 40), (10, 30)]


def lonlat(path, off, ring):
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform()
    srs = ds.GetSpatialRef()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = None
    if not srs.IsGeographic():
        wgs = osr.SpatialReference()
        wgs.ImportFromEPSG(4326)
        wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        ct = osr.CoordinateTransformation(srs, wgs)
    out = []
    for x, y in ring:
        px, py = gt[0] + (off[0] + x) * gt[1], gt[3] + (off[1] + y) * gt[5]
        if ct:
            px, py, _ = ct.TransformPoint(px, py)
        out.append([float(f"{px:.17g}"), float(f"{py:.17g}")])
    out[-1] = out[0]
    return out


def feature(path, off, outer, hole, what):
    return {"type": "Feature", "properties": {"name": what},
            "geometry": {"type": "Polygon",
                         "coordinates": [lonlat(path, off, outer), lonlat(path, off, hole)]}}


def main():
    files = {
        "test/data/zones/cmap_aligned.geojson": feature(
            "test/data/rio-tiler/cog_cmap.tif", CMAP_OFF, OUTER, HOLE,
            "a staircase with a hole on the cell edges of cog_cmap.tif "
            "(columns 3410..3630, rows 2010..2240)"),
        "test/data/zones/temp_aligned.geojson": feature(
            "test/data/mapserver/temperatures.tif", (0, 0), TEMP_OUTER, TEMP_HOLE,
            "a staircase with a hole on the cell edges of temperatures.tif"),
    }
    bad = 0
    for path, f in files.items():
        text = json.dumps(f) + "\n"
        if "--check" in sys.argv:
            if open(path).read() != text:
                print(f"{path} differs")
                bad = 1
        else:
            open(path, "w").write(text)
    return bad


if __name__ == "__main__":
    sys.exit(main())
