#!/usr/bin/python3
"""Independent references for GCP-referenced sources (test/test_gcps.sh).

Prints one "PASS what" / "FAIL what: why" / "INFO ..." line per check.

  tiles BOOTSTRAP CONFIG LAYER SOURCE OUT METHOD Z/X/Y...
      Each tile as a GeoTIFF of values (.tif) from the server, against GDAL's
      own GCP warp of the same window: gdalwarp -t_srs EPSG:3857 -te ... -ts
      256 256 -r near -dstalpha -et 0.01 (the error bound cogtiler warps GCP
      sources with) with METHOD "poly" (the order gdalwarp chooses),
      "order1".."order3" (-order N) or "tps" (-tps): every pixel, value and
      validity, the same.
  coords SOURCE OUT
      A raster of SOURCE's own pixel positions (column, row) with its GCPs
      and overview levels, for:
  positions BOOTSTRAP CONFIG LAYER COORDS OUT METHOD Z/X/Y...
      Tiles of that raster against gdalwarp's with its default error bound
      (0.125 px): every pixel samples a source position within one tile pixel
      of the one gdalwarp samples there (in source pixels over the source
      pixels a tile pixel spans), or one gdalwarp samples at a neighbour.
  info BOOTSTRAP CONFIG LAYER SOURCE
      /info's bounds against the extent gdalwarp -t_srs EPSG:4326 gives the
      scene, within one pixel of that grid.
  points BOOTSTRAP CONFIG LAYER SOURCE LON,LAT...
      /point's values against the source pixel `gdaltransform -i` (GDAL's
      inverse GCP transformer) finds at the position; 404 for a position
      that falls outside the scene.
"""
import json
import math
import subprocess
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
ORIGIN = 20037508.342789244


def say(ok, what, why=""):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + why), flush=True)


def request(bootstrap, config, path, out=None):
    cmd = [bootstrap, "request", path, "--config", config]
    if out:
        cmd += ["-o", out]
    p = subprocess.run(cmd, capture_output=True, text=out is not None)
    head = p.stderr if out else p.stderr.decode()
    status = int(head.split()[1]) if head.startswith("HTTP ") else -1
    return status, (None if out else p.stdout)


def tile_bounds(z, x, y):
    size = 2 * ORIGIN / (1 << z)
    return (-ORIGIN + x * size, ORIGIN - (y + 1) * size, -ORIGIN + (x + 1) * size,
            ORIGIN - y * size)


def warp_options(method):
    if method == "tps":
        return {"tps": True}
    if method.startswith("order"):
        return {"polynomialOrder": int(method[5:])}
    return {}


def warp_ds(src, z, x, y, method, **kw):
    """gdalwarp -t_srs EPSG:3857 -te (the tile) -ts 256 256 -r near -dstalpha"""
    return gdal.Warp("", src, format="MEM", dstSRS="EPSG:3857", outputBounds=tile_bounds(z, x, y),
                     width=256, height=256, resampleAlg="near", dstAlpha=True,
                     **warp_options(method), **kw)


def warp(src, z, x, y, method, **kw):
    """warp_ds's one band (as floats) and its validity"""
    ref = warp_ds(src, z, x, y, method, **kw)
    return (ref.GetRasterBand(1).ReadAsArray().astype(np.float64),
            ref.GetRasterBand(2).ReadAsArray() > 0)


def served(bootstrap, config, layer, out, zxys, tag, what):
    """(z, x, y, name, dataset) of each tile of zxys the server answers as a
    GeoTIFF of its values (kept in out), name = what(zxy); a failed request
    is a FAIL of that check."""
    for zxy in zxys:
        z, x, y = (int(v) for v in zxy.split("/"))
        path = f"{out}/{layer}-{tag}{z}-{x}-{y}.tif"
        status, _ = request(bootstrap, config, f"/tiles/{layer}/{zxy}.tif", path)
        if status != 200:
            say(False, what(zxy), f"status {status}")
            continue
        yield z, x, y, what(zxy), gdal.Open(path)


def tiles(bootstrap, config, layer, source, out, method, zxys):
    src = gdal.Open(source)
    for z, x, y, what, got in served(
            bootstrap, config, layer, out, zxys, "",
            lambda zxy: f"{layer} {zxy}.tif is gdalwarp -et 0.01's GCP warp ({method}) exactly"):
        gv = got.GetRasterBand(1).ReadAsArray().astype(np.float64)
        gm = got.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0
        # at the error bound cogtiler warps GCP sources with: the same pixels
        ev, em = warp(src, z, x, y, method, errorThreshold=0.01)
        if not em.any():
            say(False, what, "the reference window is empty: not a test")
            continue
        same = (gm == em) & (~gm | (gv == ev))
        say(same.all(), what, f"{int((~same).sum())} pixels differ")


def coords(source, out):
    """A raster of the scene's own pixel positions: band 1 the column, band 2
    the row (UInt16), with the source's GCPs, tiling and overview levels
    (gdaladdo -r nearest: each overview cell keeps the position it samples)."""
    src = gdal.Open(source)
    w, h = src.RasterXSize, src.RasterYSize
    ds = gdal.GetDriverByName("GTiff").Create(out, w, h, 2, gdal.GDT_UInt16,
                                                ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512"])
    ds.SetGCPs(src.GetGCPs(), src.GetGCPProjection())
    cols, rows = np.meshgrid(np.arange(w, dtype=np.uint16), np.arange(h, dtype=np.uint16))
    ds.GetRasterBand(1).WriteArray(cols)
    ds.GetRasterBand(2).WriteArray(rows)
    b1 = src.GetRasterBand(1)
    levels = [round(w / b1.GetOverview(i).XSize) for i in range(b1.GetOverviewCount())]
    ds.BuildOverviews("NEAREST", levels)
    ds = None


def positions(bootstrap, config, layer, source, out, method, zxys):
    """Each tile of the position raster against gdalwarp's (its default error
    bound, 0.125): the source position every pixel samples within one tile
    pixel of gdalwarp's; a pixel valid in one and void in the other only on
    the scene's outline (its 3 x 3 neighbourhood in gdalwarp holds both)."""
    src = gdal.Open(source)
    for z, x, y, what, got in served(
            bootstrap, config, layer, out, zxys, "pos-",
            lambda zxy: f"{layer} {zxy}: every pixel samples within 1 px of gdalwarp's position "
                        f"({method})"):
        zxy = f"{z}/{x}/{y}"
        gc = got.GetRasterBand(1).ReadAsArray().astype(np.float64)
        gr = got.GetRasterBand(2).ReadAsArray().astype(np.float64)
        gm = got.GetRasterBand(1).GetMaskBand().ReadAsArray() > 0
        ref = warp_ds(src, z, x, y, method)
        rc = ref.GetRasterBand(1).ReadAsArray().astype(np.float64)
        rr = ref.GetRasterBand(2).ReadAsArray().astype(np.float64)
        rm = ref.GetRasterBand(3).ReadAsArray() > 0
        if not rm.any():
            say(False, what, "the reference window is empty: not a test")
            continue
        # full-resolution source pixels per tile pixel, from gdalwarp's own positions
        both = gm & rm
        scale = max(np.abs(np.diff(rc, axis=1))[both[:, 1:] & both[:, :-1]].mean(),
                    np.abs(np.diff(rr, axis=0))[both[1:, :] & both[:-1, :]].mean(), 1.0)
        dist = np.hypot(gc - rc, gr - rr) / scale
        # or where a source pixel spans tile pixels: gdalwarp samples the same
        # position at this pixel or one of its 8 neighbours
        key, rkey = gc * 65536 + gr, np.where(rm, rc * 65536 + rr, -1)
        pad = np.pad(rkey, 1, constant_values=-1)
        near = np.zeros(rm.shape, dtype=bool)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                near |= pad[dy:dy + 256, dx:dx + 256] == key
        dist = np.where(near, np.minimum(dist, 1.0), dist)[both]
        padm = np.pad(rm, 1, mode="edge")
        any_valid = np.zeros(rm.shape, dtype=bool)
        any_void = np.zeros(rm.shape, dtype=bool)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                any_valid |= padm[dy:dy + 256, dx:dx + 256]
                any_void |= ~padm[dy:dy + 256, dx:dx + 256]
        stray = int(((gm != rm) & ~(any_valid & any_void)).sum())
        worst = float(dist.max()) if dist.size else 0.0
        print(f"INFO {layer} {zxy}: {(dist == 0).mean() * 100:.2f} % at gdalwarp's position, "
              f"worst {worst:.3f} px ({scale:.2f} source px a tile px), "
              f"{int((gm != rm).sum())} pixels differ in validity", flush=True)
        say(worst <= 1.0 and stray == 0, what,
            f"worst {worst:.3f} px, {stray} validity differences off the outline")


def info(bootstrap, config, layer, source):
    status, body = request(bootstrap, config, f"/tiles/{layer}/info")
    what = f"{layer} /info bounds are gdalwarp -t_srs EPSG:4326's extent within 1 px"
    if status != 200:
        say(False, what, f"status {status}")
        return
    j = json.loads(body)
    ref = gdal.Warp("", gdal.Open(source), format="VRT", dstSRS="EPSG:4326")
    gt = ref.GetGeoTransform()
    want = [gt[0], gt[3] + ref.RasterYSize * gt[5], gt[0] + ref.RasterXSize * gt[1], gt[3]]
    tol = max(abs(gt[1]), abs(gt[5]))
    diff = max(abs(a - b) for a, b in zip(j["bounds"], want))
    say(diff <= tol, what, f"{j['bounds']} vs {want} (off by {diff:.3g} deg, a pixel {tol:.3g})")
    say(j.get("gcps") == gdal.Open(source).GetGCPCount(), f"{layer} /info counts the GCPs",
        str(j.get("gcps")))


def points(bootstrap, config, layer, source, positions):
    src = gdal.Open(source)
    tr = gdal.Transformer(src, None, ["DST_SRS=EPSG:4326"])
    band = src.GetRasterBand(1)
    for pos in positions:
        lon, lat = (float(v) for v in pos.split(","))
        ok, (px, py, _) = tr.TransformPoint(1, lon, lat, 0)
        inside = ok and 0 <= px < src.RasterXSize and 0 <= py < src.RasterYSize
        status, body = request(bootstrap, config, f"/tiles/{layer}/point/{lon},{lat}")
        if not inside:
            say(status == 404, f"{layer} point {pos} outside the scene: 404", f"status {status}")
            continue
        want = float(band.ReadAsArray(int(px), int(py), 1, 1)[0, 0])
        what = f"{layer} point {pos} is source pixel ({int(px)}, {int(py)}) = {want:g}"
        if status != 200:
            say(False, what, f"status {status}")
            continue
        got = json.loads(body)["values"][0]
        say(got == want, what, f"got {got}")


def main():
    cmd = sys.argv[1]
    if cmd == "tiles":
        tiles(*sys.argv[2:8], sys.argv[8:])
    elif cmd == "coords":
        coords(*sys.argv[2:4])
    elif cmd == "positions":
        positions(*sys.argv[2:8], sys.argv[8:])
    elif cmd == "info":
        info(*sys.argv[2:6])
    elif cmd == "points":
        points(*sys.argv[2:6], sys.argv[6:])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
