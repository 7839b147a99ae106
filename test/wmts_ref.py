#!/usr/bin/python3
"""GDAL's WMTS client over cogtiler's capabilities (test/test_wmts.sh).

  wmts_ref.py read URL LAYER Z X0 Y0 N SOURCE
      reads the N x N tiles from (X0, Y0) at zoom Z through
      WMTS:URL,layer=LAYER (GDAL's WMTS driver: it parses the capabilities,
      picks the tile matrix of the asked resolution and fetches the tiles) and
      compares the mosaic with gdalwarp's window of SOURCE, tile by tile
      (-t_srs EPSG:3857 -te <tile> -ts 256 256 -r near -dstalpha, the
      reference test_pixels uses): the RGB of every pixel gdalwarp marks
      valid, and the alpha.
Prints "PASS what" or "FAIL what: why".
"""
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
ORIGIN = 20037508.342789244


def tile_bounds(z, x, y):
    size = 2 * ORIGIN / 2 ** z
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def main(url, layer, z, x0, y0, n, source):
    z, x0, y0, n = int(z), int(x0), int(y0), int(n)
    what = "GDAL WMTS client: %s z%d %dx%d tiles from %d/%d equal gdalwarp" % (layer, z, n, n,
                                                                              x0, y0)
    minx, _, _, maxy = tile_bounds(z, x0, y0)
    _, miny, maxx, _ = tile_bounds(z, x0 + n - 1, y0 + n - 1)
    try:
        got = gdal.Translate("", "WMTS:%s,layer=%s" % (url, layer), format="MEM",
                             projWin=[minx, maxy, maxx, miny], width=256 * n, height=256 * n)
    except RuntimeError as e:
        print("FAIL %s: %s" % (what, str(e).replace("\n", " ")[:200]))
        return
    a = np.stack([got.GetRasterBand(i + 1).ReadAsArray() for i in range(got.RasterCount)])
    ref = np.zeros((4, 256 * n, 256 * n), np.uint8)
    for j in range(n):
        for i in range(n):
            w = gdal.Warp("", source, format="MEM", dstSRS="EPSG:3857",
                          outputBounds=tile_bounds(z, x0 + i, y0 + j), width=256, height=256,
                          resampleAlg="near", dstAlpha=True)
            r = np.stack([w.GetRasterBand(k + 1).ReadAsArray() for k in range(4)])
            ref[:, j * 256:(j + 1) * 256, i * 256:(i + 1) * 256] = r
    if a.shape[0] != 4:
        print("FAIL %s: %d bands, want RGBA" % (what, a.shape[0]))
        return
    valid = ref[3] > 0
    if not valid.any():
        print("FAIL %s: the window holds no data" % what)
        return
    alpha_bad = int(((a[3] > 0) != valid).sum())
    rgb_bad = int((a[:3, valid] != ref[:3, valid]).any(axis=0).sum())
    ok = alpha_bad == 0 and rgb_bad == 0
    print(("PASS %s (%d valid px)" % (what, int(valid.sum()))) if ok else
          "FAIL %s: alpha differs on %d px, RGB on %d of %d valid" % (what, alpha_bad, rgb_bad,
                                                                      int(valid.sum())))


if __name__ == "__main__":
    main(*sys.argv[2:9]) if sys.argv[1] == "read" else sys.exit(__doc__)
