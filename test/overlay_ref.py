#!/usr/bin/python3
"""overlay_ref.py - an independent reference of docs/OVERLAY.md (derived layers).

Written apart from the C code, with GDAL's own tools: each input gdalwarp'ed
(gdal.Warp) to the window, slope and aspect by gdaldem (gdal.DEMProcessing),
the remap and the weighted sum (or the expression) by gdal_calc.py (Debian
python3-gdal), PNGs decoded by GDAL's PNG driver (libpng). Run it with
/usr/bin/python3.

  overlay_ref.py tile --config FILE --layer NAME --zxy Z/X/Y [--size 256]
                      [--query 'weights=..&remap=..'] --png OURS.png
      renders the reference of a derived layer's tile and compares it with
      OURS.png pixel for pixel: prints the counts of NoData, restricted and
      scored pixels and every difference (at most 10 listed); exit 1 on any.
  overlay_ref.py expr --source RASTER --calc CALC --zxy Z/X/Y [--size 256]
                      [--resampling near] --rescale MIN,MAX --colormap NAME --png OURS.png
      the same for expression= over a raster's bands; CALC is gdal_calc.py's
      (bands as A=b1, B=b2, ...), evaluated in float64.
  overlay_ref.py point --config FILE --layer NAME --lonlat LON,LAT --zoom Z [--query Q]
      the reference score at the pixel of zoom Z's 256 px tile that holds the
      point: a number, "restricted" or "nodata" (what /point answers).
  overlay_ref.py seams --big Z.png Q00.png Q10.png Q01.png Q11.png
      a 512 px tile against the 2 x 2 tiles at z+1 (missing ones transparent):
      under 0.1 % of the pixels differ, and no more along the seams than chance.
  overlay_ref.py grid --config FILE --layer NAME --out REF.tif
      the derived layer on its statistics grid (the "grid" input's raster, else
      the first input's; inputs warped with gdalwarp -et 0), as a GeoTIFF with nodata -9999 (restricted cells
      take scale_min - 1): the source test/zonal_ref.py computes the reference
      statistics of (gdal_rasterize's rule on the same grid).

The rules, from docs/OVERLAY.md, implemented here independently:
- an input's cell is NoData where its warp's alpha is 0 or its value NaN; a
  terrain input's cell where gdaldem writes its nodata (any of the 9
  neighbours NoData); a flat aspect is -1;
- remap: the first rule that matches (VALUE exactly, or LO..HI as [LO, HI));
  no rule: NoData;
- the cell: NoData if any input is; else restricted if any input is; else
  round(sum(w_i * v_i) / 100) (nearest = floor(s + 0.5), floor, ceil),
  clamped to the scale;
- tiles: the score coloured with the colormap's entry
  floor((s - min) / (max - min) * 255 + 0.5) (clamped), min/max the layer's
  rescale or else the scale; restricted in restricted_color; NoData
  transparent.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.parse

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOD, RES = -99999.0, -88888.0  # markers inside the gdal_calc expression
R = 6378137.0
HALF = math.pi * R


def merc_bounds(z, x, y):
    size = 2 * HALF / (1 << z)
    return (-HALF + x * size, HALF - (y + 1) * size, -HALF + (x + 1) * size, HALF - y * size)


def lat_of(z, y):
    n = math.pi * (1 - 2 * y / (1 << z))
    return math.degrees(math.atan(math.sinh(n)))


def colormap(name):
    rows = []
    with open(os.path.join(ROOT, "colormaps", name + ".txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                rows.append([int(v) for v in line.split()])
    return np.array(rows, dtype=np.uint8)


def scale_index(v, lo, hi):
    t = (v - lo) / (hi - lo) * 255.0
    idx = np.floor(t + 0.5)
    idx = np.where(~(t > 0), 0, np.where(t >= 255, 255, idx))
    return idx.astype(np.int64)


def band_vrt(path, band):
    return gdal.Translate("", path, format="VRT", bandList=[band])


def warp(path, band, bounds, size, resampling, srs="EPSG:3857", ot=None):
    """gdalwarp -r R -dstalpha of one band to the window: values, alpha."""
    ds = gdal.Warp("", band_vrt(path, band), format="MEM", dstSRS=srs, outputBounds=bounds,
                   width=size, height=size, resampleAlg=resampling, dstAlpha=True,
                   outputType=ot if ot is not None else gdal.GDT_Unknown)
    return ds.GetRasterBand(1).ReadAsArray().astype(np.float64), ds.GetRasterBand(2).ReadAsArray()


def gdaldem(kind, values, valid, gt, srs_wkt, scale):
    """gdaldem slope|aspect (no -compute_edges) of a window; flat aspect -1."""
    h, w = values.shape
    src = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Float32)
    src.SetGeoTransform(gt)
    src.SetProjection(srs_wkt)
    b = src.GetRasterBand(1)
    b.SetNoDataValue(-9999)
    b.WriteArray(np.where(valid, values, -9999).astype(np.float32))
    out = gdal.DEMProcessing("", src, kind, format="MEM", scale=scale, computeEdges=False)
    a = out.GetRasterBand(1).ReadAsArray().astype(np.float64)
    nd = out.GetRasterBand(1).GetNoDataValue()
    ok = a != nd
    if kind == "aspect":
        # gdaldem writes nodata for a flat cell too: flat when all 9 are valid
        win_ok = np.zeros_like(valid, dtype=bool)
        v = valid.astype(bool)
        win_ok[1:-1, 1:-1] = np.all([v[1 + dr:h - 1 + dr, 1 + dc:w - 1 + dc]
                                     for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
        flat = (~ok) & win_ok
        a = np.where(flat, -1.0, a)
        ok = ok | flat
    return a, ok


def parse_remap(text):
    rules = []
    for rule in text.split(","):
        frm, to = rule.split(":")
        if ".." in frm:
            lo, hi = frm.split("..")
            rules.append(("range", float(lo), float(hi), to))
        else:
            rules.append(("value", float(frm), None, to))
    return rules


def remap_calc(letter, rules):
    conds, outs = [], []
    for kind, lo, hi, to in rules:
        conds.append(f"({letter} == {lo!r})" if kind == "value"
                     else f"(({letter} >= {lo!r}) & ({letter} < {hi!r}))")
        outs.append(repr(RES) if to == "restricted" else repr(NOD) if to == "nodata"
                    else repr(float(to)))
    return f"select([{', '.join(conds)}], [{', '.join(outs)}], {NOD!r})"


def gdal_calc(tmp, arrays, calc):
    """gdal_calc.py over arrays (letter -> 2D array), in float64."""
    args = ["gdal_calc.py", "--quiet", "--type=Float64", "--overwrite"]
    h, w = next(iter(arrays.values())).shape
    for letter, a in arrays.items():
        p = os.path.join(tmp, letter + ".tif")
        ds = gdal.GetDriverByName("GTiff").Create(p, w, h, 1, gdal.GDT_Float64)
        ds.GetRasterBand(1).WriteArray(a)
        ds = None
        args += ["-" + letter, p]
    out = os.path.join(tmp, "out.tif")
    args += ["--outfile=" + out, "--calc=" + calc]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    ds = gdal.Open(out)  # kept: a band outliving its dataset crashes GDAL's bindings
    return ds.GetRasterBand(1).ReadAsArray()


def overlay_calc(layer, query, n):
    d = layer["derived"]
    weights = [float(i.get("weight", 0)) for i in d["inputs"]]
    remaps = [i.get("remap") for i in d["inputs"]]
    q = urllib.parse.parse_qs(query or "")
    if "weights" in q:
        weights = [float(v) for v in q["weights"][0].split(",")]
    for item in q.get("remap", []):
        name, rules = item.split(":", 1)
        k = [i["name"] for i in d["inputs"]].index(name)
        remaps[k] = rules
    smin, smax = d.get("scale", [1, 9])
    rnd = d.get("round", "nearest")
    letters = [(chr(ord("A") + 2 * k), chr(ord("B") + 2 * k)) for k in range(n)]
    rv = [f"where({m} == 0, {NOD!r}, {remap_calc(v, parse_remap(remaps[k]))})"
          for k, (v, m) in enumerate(letters)]
    # gdal_calc.py evaluates one expression: the remapped inputs inline
    any_nod = " | ".join(f"({r} == {NOD!r})" for r in rv)
    any_res = " | ".join(f"({r} == {RES!r})" for r in rv)
    s = "(" + " + ".join(f"{weights[k]!r} * ({rv[k]})" for k in range(n)) + ") / 100"
    rounded = {"nearest": f"floor({s} + 0.5)", "floor": f"floor({s})", "ceil": f"ceil({s})"}[rnd]
    calc = (f"where({any_nod}, -9999, where({any_res}, {smin - 1!r}, "
            f"clip({rounded}, {smin!r}, {smax!r})))")
    return letters, calc, smin, smax


def load(config, name):
    with open(config) as f:
        c = json.load(f)
    base = os.path.dirname(os.path.abspath(config))
    layers = c["layers"]

    def src(layer):
        p = layers[layer]["source"]
        return p if os.path.isabs(p) else os.path.join(base, p)
    return layers, layers[name], src


def decode(png, size=256):
    """A PNG as rows x cols x RGBA (libpng through GDAL's PNG driver; a palette
    expanded with its tRNS alphas); a missing or non-PNG file (a 404 outside
    the data) as transparent."""
    try:
        ds = gdal.Open(png)
    except RuntimeError:
        return np.zeros((size, size, 4), int)
    if ds.RasterCount == 1 and ds.GetRasterBand(1).GetColorTable() is not None:
        ds = gdal.Translate("", ds, format="MEM", rgbExpand="rgba")
    a = ds.ReadAsArray()  # bands x rows x cols
    if a.ndim == 2:
        a = a[np.newaxis]
    h, w = a.shape[1:]
    opaque = np.full((1, h, w), 255, a.dtype)
    a = {1: lambda: np.concatenate([a, a, a, opaque]),  # grey
         2: lambda: np.stack([a[0], a[0], a[0], a[1]]),  # grey + alpha
         3: lambda: np.concatenate([a, opaque]),
         4: lambda: a}[a.shape[0]]()
    return np.transpose(a, (1, 2, 0)).astype(int)


def compare(expected, png, size):
    ours = decode(png, size)
    exp = expected.astype(int)
    transparent = (ours[:, :, 3] == 0) & (exp[:, :, 3] == 0)
    diff = np.any(ours != exp, axis=2) & ~transparent
    bad = np.argwhere(diff)
    for r, c in bad[:10]:
        print(f"  pixel row {r} col {c}: ours {list(ours[r, c])} reference {list(exp[r, c])}")
    return len(bad)


def cmd_seams(a):
    """2 x 2 tiles at z+1 (q00 q10 q01 q11: x then y) against one 512 px tile
    at z. The windows of 512 and 256 px take GDAL's approximate transformer
    (gdalwarp's -et 0.125) over different extents, so a few near-tie cells
    differ anywhere (a categorical cell, a slope at a class boundary); a seam
    would put differences along the inner edges: at most 3 times the share of
    the 2 px bands around them, plus 3, and under 0.1 % in all."""
    big = decode(a.big, 512)
    q = np.zeros_like(big)
    for k, png in enumerate(a.quads):
        dx, dy = k % 2, k // 2
        q[dy * 256:(dy + 1) * 256, dx * 256:(dx + 1) * 256] = decode(png)
    big[big[:, :, 3] == 0] = 0
    q[q[:, :, 3] == 0] = 0
    d = np.any(big != q, axis=2)
    Y, X = np.mgrid[0:512, 0:512]
    seam = (np.abs(X - 255.5) < 2.5) | (np.abs(Y - 255.5) < 2.5)
    n, ns = int(d.sum()), int(d[seam].sum())
    allowed = 3 * n * seam.mean() + 3
    print(f"{n} of {int((big[:, :, 3] > 0).sum())} opaque pixels differ, {ns} of them along the "
          f"inner seams (allowed {allowed:.1f})")
    return 1 if ns > allowed or n > 0.001 * 512 * 512 else 0


def tile_score(config, name, z, x, y, size, query):
    """The reference scores of a derived layer's tile: -9999 NoData,
    scale_min - 1 restricted; with the layer and its scale."""
    layers, layer, src = load(config, name)
    d = layer["derived"]
    n = len(d["inputs"])
    b = merc_bounds(z, x, y)
    px = (b[2] - b[0]) / size
    lat = (lat_of(z, y) + lat_of(z, y + 1)) / 2
    arrays = {}
    letters, calc, smin, smax = overlay_calc(layer, query, n)
    for k, inp in enumerate(d["inputs"]):
        path, band = src(inp["layer"]), int(inp.get("band", 1))
        rs = inp.get("resampling", "near")
        rs = {"nearest": "near"}.get(rs, rs)
        if inp.get("terrain"):
            pb = (b[0] - px, b[1] - px, b[2] + px, b[3] + px)
            v, al = warp(path, band, pb, size + 2, rs, ot=gdal.GDT_Float32)
            gt = (pb[0], px, 0, pb[3], 0, -px)
            srs = osr.SpatialReference()
            srs.ImportFromEPSG(3857)
            t, ok = gdaldem(inp["terrain"], v, (al != 0) & ~np.isnan(v), gt, srs.ExportToWkt(),
                            math.cos(math.radians(lat)))
            v, ok = t[1:-1, 1:-1], ok[1:-1, 1:-1]
        else:
            v, al = warp(path, band, b, size, rs)
            ok = (al != 0) & ~np.isnan(v)
        arrays[letters[k][0]] = np.where(ok, v, 0)
        arrays[letters[k][1]] = ok.astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        score = gdal_calc(tmp, arrays, calc)
    return score, layer, smin, smax


def cmd_tile(a):
    z, x, y = (int(v) for v in a.zxy.split("/"))
    score, layer, smin, smax = tile_score(a.config, a.layer, z, x, y, a.size, a.query)
    d = layer["derived"]
    rs = layer.get("rescale", [smin, smax])
    lut = colormap(layer.get("colormap", "rdylgn"))
    rc = d.get("restricted_color", [0, 0, 0, 255])
    rc = list(rc) + [255] * (4 - len(rc))
    exp = lut[scale_index(score, rs[0], rs[1])]
    exp[score == smin - 1] = rc
    exp[score == -9999] = [0, 0, 0, 0]
    counts = (int((score == -9999).sum()), int((score == smin - 1).sum()),
              int(((score != -9999) & (score != smin - 1)).sum()))
    nbad = compare(exp, a.png, a.size)
    print(f"{a.layer} {a.zxy} {a.query or ''}: nodata {counts[0]}, restricted {counts[1]}, "
          f"scored {counts[2]}, distinct scores {sorted(set(score[(score >= smin)].tolist()))}; "
          f"{nbad} pixels differ")
    return 1 if nbad else 0


def cmd_point(a):
    """The reference of /point: the pixel of the zoom's tile holding lon, lat."""
    lon, lat = (float(v) for v in a.lonlat.split(","))
    n = 1 << a.zoom
    mx = R * math.radians(lon)
    my = R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    gx, gy = (mx + HALF) / (2 * HALF) * n * 256, (HALF - my) / (2 * HALF) * n * 256
    x, y = int(gx // 256), int(gy // 256)
    score, layer, smin, smax = tile_score(a.config, a.layer, a.zoom, x, y, 256, a.query)
    s = score[int(gy) - 256 * y, int(gx) - 256 * x]
    print("nodata" if s == -9999 else "restricted" if s == smin - 1 else f"{s:g}")
    return 0


def cmd_expr(a):
    z, x, y = (int(v) for v in a.zxy.split("/"))
    b = merc_bounds(z, x, y)
    n = gdal.Open(a.source).RasterCount
    arrays, valid = {}, np.ones((a.size, a.size), bool)
    for k in range(n):
        letter = chr(ord("A") + k)
        if letter not in a.calc:
            continue
        v, al = warp(a.source, k + 1, b, a.size, a.resampling)
        arrays[letter] = v
        valid &= al != 0
    with tempfile.TemporaryDirectory() as tmp:
        with np.errstate(all="ignore"):
            val = gdal_calc(tmp, arrays, a.calc)
    valid &= np.isfinite(val)
    lo, hi = (float(v) for v in a.rescale.split(","))
    exp = colormap(a.colormap)[scale_index(np.where(valid, val, lo), lo, hi)]
    exp[~valid] = [0, 0, 0, 0]
    nbad = compare(exp, a.png, a.size)
    print(f"expression {a.calc} {a.zxy}: nodata {int((~valid).sum())}, "
          f"valued {int(valid.sum())}; {nbad} pixels differ")
    return 1 if nbad else 0


def cmd_grid(a):
    layers, layer, src = load(a.config, a.layer)
    d = layer["derived"]
    inputs = d["inputs"]
    g = 0
    if "grid" in d:
        g = [i["name"] for i in inputs].index(d["grid"])
    grid = gdal.Open(src(inputs[g]["layer"]))
    gt, w, h, wkt = grid.GetGeoTransform(), grid.RasterXSize, grid.RasterYSize, grid.GetProjection()
    bounds = (gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3])
    letters, calc, smin, smax = overlay_calc(layer, a.query, len(inputs))
    arrays = {}
    srs = osr.SpatialReference(wkt=wkt)
    scale = 111120 if srs.IsGeographic() else srs.GetLinearUnits()
    for k, inp in enumerate(inputs):
        path, band = src(inp["layer"]), int(inp.get("band", 1))
        own = os.path.realpath(path) == os.path.realpath(src(inputs[g]["layer"]))
        rs = "near" if own else {"nearest": "near"}.get(inp.get("resampling", "near"),
                                                        inp.get("resampling", "near"))
        if inp.get("terrain"):
            pb = (bounds[0] - gt[1], bounds[1] + gt[5], bounds[2] + gt[1], bounds[3] - gt[5])
            ds = gdal.Warp("", band_vrt(path, band), format="MEM", dstSRS=wkt, outputBounds=pb,
                           width=w + 2, height=h + 2, resampleAlg=rs, dstAlpha=True,
                           errorThreshold=0)
            v = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
            al = ds.GetRasterBand(2).ReadAsArray()
            t, ok = gdaldem(inp["terrain"], v, (al != 0) & ~np.isnan(v),
                            (pb[0], gt[1], 0, pb[3], 0, gt[5]), wkt, scale)
            v, ok = t[1:-1, 1:-1], ok[1:-1, 1:-1]
        else:
            ds = gdal.Warp("", band_vrt(path, band), format="MEM", dstSRS=wkt,
                           outputBounds=bounds, width=w, height=h, resampleAlg=rs, dstAlpha=True,
                           errorThreshold=0)
            v = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
            ok = (ds.GetRasterBand(2).ReadAsArray() != 0) & ~np.isnan(v)
        arrays[letters[k][0]] = np.where(ok, v, 0)
        arrays[letters[k][1]] = ok.astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        score = gdal_calc(tmp, arrays, calc)
    out = gdal.GetDriverByName("GTiff").Create(a.out, w, h, 1, gdal.GDT_Float64)
    out.SetGeoTransform(gt)
    out.SetProjection(wkt)
    out.GetRasterBand(1).SetNoDataValue(-9999)
    out.GetRasterBand(1).WriteArray(score)
    out = None
    vals, cnt = np.unique(score[score != -9999], return_counts=True)
    print(f"{a.layer} on {w}x{h} cells: " +
          ", ".join(f"{v:g}: {c}" for v, c in zip(vals, cnt)) +
          f"; nodata {int((score == -9999).sum())}")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tile")
    t.add_argument("--config", required=True)
    t.add_argument("--layer", required=True)
    t.add_argument("--zxy", required=True)
    t.add_argument("--size", type=int, default=256)
    t.add_argument("--query", default="")
    t.add_argument("--png", required=True)
    e = sub.add_parser("expr")
    e.add_argument("--source", required=True)
    e.add_argument("--calc", required=True)
    e.add_argument("--zxy", required=True)
    e.add_argument("--size", type=int, default=256)
    e.add_argument("--resampling", default="near")
    e.add_argument("--rescale", required=True)
    e.add_argument("--colormap", required=True)
    e.add_argument("--png", required=True)
    g = sub.add_parser("grid")
    g.add_argument("--config", required=True)
    g.add_argument("--layer", required=True)
    g.add_argument("--query", default="")
    g.add_argument("--out", required=True)
    o = sub.add_parser("point")
    o.add_argument("--config", required=True)
    o.add_argument("--layer", required=True)
    o.add_argument("--lonlat", required=True)
    o.add_argument("--zoom", type=int, required=True)
    o.add_argument("--query", default="")
    m = sub.add_parser("seams")
    m.add_argument("--big", required=True)
    m.add_argument("quads", nargs=4)
    a = p.parse_args()
    return {"tile": cmd_tile, "expr": cmd_expr, "grid": cmd_grid, "seams": cmd_seams,
            "point": cmd_point}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
