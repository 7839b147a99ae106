#!/usr/bin/python3
"""Tile formats against independent references (test/test_formats.sh).

Every answer is decoded by the format's own library through GDAL's drivers
(PNG: libpng, WEBP: libwebp, JPEG: libjpeg, GTiff: libtiff), never by
cogtiler's code; the values of a .tif tile are compared with gdalwarp's
window (the reference test_pixels uses: -t_srs EPSG:3857 -te <tile> -ts N N
-r near -dstalpha).

  formats_ref.py geotiff BOOTSTRAP TILES_TXT DATA OUT
      every tile of TILES_TXT (not "outside") as .tif: the source's data type,
      EPSG:3857, the tile's geotransform, the values and the validity of
      gdalwarp's window.
  formats_ref.py images BOOTSTRAP CONFIG OUT LAYER Z/X/Y [QUERY]
      the tile as .png, .webp, .jpg and .webp?quality=Q: WebP lossless equal
      to the PNG pixel for pixel (coloured layers), lossy WebP and JPEG within
      PSNR_MIN dB of the PNG on the visible pixels, their alpha (WebP) or the
      white background (JPEG) where the PNG is transparent.

Prints one line per check: "PASS what" or "FAIL what: why".
"""
import math
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
ORIGIN = 20037508.342789244
PSNR_MIN = {"webp": 30.0, "jpg": 30.0}


def bounds(z, x, y):
    size = 2 * ORIGIN / 2 ** z
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, (r.stderr or r.stdout).strip().replace("\n", " ")[:200]


def result(ok, what, why=""):
    print(("PASS %s" % what) if ok else ("FAIL %s: %s" % (what, why)), flush=True)


def geotiff(bootstrap, tiles_txt, data, out):
    for line in open(tiles_txt):
        f = line.split()
        if not f or f[0].startswith("#") or f[1] == "outside":
            continue
        src, kind, z, x, y = f[0], f[1], int(f[2]), int(f[3]), int(f[4])
        what = "%s %s %d/%d/%d .tif" % (src, kind, z, x, y)
        path = os.path.join(out, "g-%s-%d-%d-%d.tif" % (src.replace("/", "_"), z, x, y))
        rc, err = run([bootstrap, "tile", "%d/%d/%d" % (z, x, y), "--source",
                       os.path.join(data, src), "-o", path])
        if rc != 0:
            result(False, what, "bootstrap tile: %s" % err)
            continue
        why = compare_geotiff(os.path.join(data, src), path, z, x, y)
        result(why is None, what, why)


def compare_geotiff(src_path, path, z, x, y):
    b = bounds(z, x, y)
    ref = gdal.Warp("", src_path, format="MEM", dstSRS="EPSG:3857", outputBounds=b,
                    width=256, height=256, resampleAlg="near", dstAlpha=True)
    ds = gdal.Open(path)
    if ds.GetDriver().ShortName != "GTiff":
        return "not a GeoTIFF"
    src = gdal.Open(src_path)
    nb = ref.RasterCount - 1
    if ds.RasterCount != nb:
        return "%d bands, gdalwarp %d" % (ds.RasterCount, nb)
    want_type = src.GetRasterBand(1).DataType
    for i in range(nb):
        if ds.GetRasterBand(i + 1).DataType != want_type:
            return "band %d is %s, the source %s" % (i + 1, gdal.GetDataTypeName(
                ds.GetRasterBand(i + 1).DataType), gdal.GetDataTypeName(want_type))
    gt, rgt = ds.GetGeoTransform(), ref.GetGeoTransform()
    if any(abs(a - c) > 1e-6 * max(1.0, abs(c)) for a, c in zip(gt, rgt)):
        return "geotransform %s, gdalwarp %s" % (gt, rgt)
    srs = osr.SpatialReference(wkt=ds.GetProjection())
    if srs.GetAuthorityCode(None) != "3857":
        return "CRS is not EPSG:3857"
    if "DEFLATE" not in (ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or ""):
        return "not DEFLATE"
    alpha = ref.GetRasterBand(nb + 1).ReadAsArray() > 0
    valid = ds.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0
    if not np.array_equal(alpha, valid):
        return "validity differs on %d of %d pixels" % (int((alpha != valid).sum()), alpha.size)
    for i in range(nb):
        a = ds.GetRasterBand(i + 1).ReadAsArray()
        r = ref.GetRasterBand(i + 1).ReadAsArray()
        if not np.array_equal(a[valid], r[valid]):
            return "band %d: %d values differ" % (i + 1, int((a[valid] != r[valid]).sum()))
    return None


def decode(path):
    ds = gdal.Open(path)
    a = np.stack([ds.GetRasterBand(i + 1).ReadAsArray() for i in range(ds.RasterCount)], axis=-1)
    drv = ds.GetDriver().ShortName
    if a.shape[-1] == 1:  # grey
        a = np.concatenate([a, a, a], axis=-1)
    if a.shape[-1] == 2:  # grey + alpha
        a = np.concatenate([a[..., :1]] * 3 + [a[..., 1:]], axis=-1)
    if ds.RasterCount == 1 and ds.GetRasterBand(1).GetColorTable() is not None:  # palette
        ct = ds.GetRasterBand(1).GetColorTable()
        lut = np.array([ct.GetColorEntry(i) if i < ct.GetCount() else (0, 0, 0, 0)
                        for i in range(256)], dtype=np.uint8)
        a = lut[ds.GetRasterBand(1).ReadAsArray()]
    if a.shape[-1] == 3:
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    return drv, a.astype(np.int32)


def psnr(a, b):
    mse = float(((a - b) ** 2).mean()) if a.size else 0.0
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def images(bootstrap, config, out, layer, zxy, query):
    tag = "%s %s%s" % (layer, zxy, "?" + query if query else "")
    got = {}
    for ext, q in (("png", ""), ("webp", ""), ("jpg", ""), ("webp", "quality=90")):
        qs = "&".join(s for s in (query, q) if s)
        path = os.path.join(out, "i-%s-%s-%s%s.%s" % (layer, zxy.replace("/", "-"),
                                                      abs(hash(qs)), q and "-q", ext))
        rc, err = run([bootstrap, "request", "/tiles/%s/%s.%s%s" % (layer, zxy, ext,
                                                                  "?" + qs if qs else ""),
                       "--config", config, "-o", path])
        if rc != 0:
            result(False, "%s .%s %s" % (tag, ext, q), "bootstrap request: %s" % err)
            return
        got[(ext, q)] = decode(path)
    want = {("png", ""): "PNG", ("webp", ""): "WEBP", ("jpg", ""): "JPEG",
            ("webp", "quality=90"): "WEBP"}
    for k, (drv, _) in got.items():
        result(drv == want[k], "%s .%s%s decodes as %s" % (tag, k[0], k[1] and "?" + k[1],
                                                           want[k]), drv)
    png = got[("png", "")][1]
    visible = png[..., 3] > 0
    opaque = png[..., 3] == 255
    for key in (("webp", ""), ("webp", "quality=90")):
        w = got[key][1]
        name = "%s .webp%s" % (tag, key[1] and "?" + key[1])
        if np.array_equal(w, png):
            result(True, name + " equals the PNG pixel for pixel")
            continue
        # lossy: the alpha is kept exactly, the colours within PSNR_MIN
        if not np.array_equal(w[..., 3], png[..., 3]):
            result(False, name + " alpha equals the PNG's",
                   "%d differ" % int((w[..., 3] != png[..., 3]).sum()))
            continue
        p = psnr(w[..., :3][visible], png[..., :3][visible])
        result(p >= PSNR_MIN["webp"], name + " lossy within %.0f dB of the PNG" % PSNR_MIN["webp"],
               "%.1f dB" % p)
    j = got[("jpg", "")][1]
    comp = (png[..., :3] * png[..., 3:] + 255 * (255 - png[..., 3:]) + 127) // 255
    p = psnr(j[..., :3], comp)
    result(p >= PSNR_MIN["jpg"], "%s .jpg within %.0f dB of the PNG over white" %
           (tag, PSNR_MIN["jpg"]), "%.1f dB" % p)
    result(bool((j[..., 3] == 255).all()), "%s .jpg is opaque" % tag)
    clear = png[..., 3] == 0
    if clear.any():
        m = float(j[..., :3][clear].mean())
        result(m >= 245, "%s .jpg white where the PNG is transparent (%d px)" %
               (tag, int(clear.sum())), "mean %.1f" % m)
    print("INFO %s psnr webp=%.1f jpg=%.1f opaque=%.3f" % (
        tag, psnr(got[("webp", "")][1][..., :3][visible], png[..., :3][visible]), p,
        float(opaque.mean())), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "geotiff":
        geotiff(*sys.argv[2:6])
    elif sys.argv[1] == "images":
        images(*sys.argv[2:8], sys.argv[8] if len(sys.argv) > 8 else "")
    else:
        sys.exit("usage: see the docstring")
