#!/usr/bin/env python3
# make_tiles.py - (re)generate test/data/tiles.txt, the fixed tile list of the
# differential pixel test (cogtiler vs. gdalwarp).
#
# Usage (from anywhere; needs python3 and the GDAL command-line tools
# gdalinfo + gdalwarp on PATH, no GDAL Python bindings):
#     python3 test/data/make_tiles.py            # choose tiles, verify, write tiles.txt
#     python3 test/data/make_tiles.py --check    # only verify the existing tiles.txt
#
# Every tile is chosen from geometry and then rendered with exactly the
# reference command of the differential test
#     gdalwarp -t_srs EPSG:3857 -te <tile bounds> -ts 256 256 -r near -dstalpha
# into a temporary directory under /tmp (never into the repository); the
# alpha band of the result decides the choice and is verified:
#     outside                    -> alpha is 0 everywhere
#     edge                       -> both alpha=0 and alpha=max pixels
#     native/overzoom/overview   -> mostly data (>= 90 % when the raster is big
#                                   enough to cover a tile at that zoom, else the
#                                   best tile available; see the comments in tiles.txt)
# The selection is deterministic, so re-running gives the same list as long as
# the fixtures and the GDAL/PROJ version (3.6.2 when written) do not change.
#
# Tile maths (EPSG:3857, XYZ / "slippy map" numbering, y=0 at the north):
#   origin = 20037508.342789244; size = 2*origin/2^z
#   minx = -origin + x*size; maxx = minx + size; maxy = origin - y*size; miny = maxy - size
#   x = floor((lon+180)/360 * 2^z)
#   y = floor((1 - ln(tan(lat) + sec(lat))/pi) / 2 * 2^z)
# Native zoom: the 256-px tile pixel at zoom z is 156543.03392804097/2^z
# *projected* metres, and projected metres = ground metres / cos(lat), so
#   native z = round(log2(156543.034 / (ground_res / cos(lat))))
# (for EPSG:4326 sources the projected x-resolution is deg * 111319.49 at any
# latitude; for EPSG:3857 sources the pixel size already is projected metres).

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TILES_TXT = os.path.join(HERE, "tiles.txt")

ORIGIN = 20037508.342789244
R = 6378137.0
Z0_RES = 2 * ORIGIN / 256            # 156543.03392804097 m per pixel at z0
MAX_LAT = 85.0511287798066
MOSTLY = 0.90                        # "mostly data"

# ---------------------------------------------------------------- tile maths


def tile_bounds(z, x, y):
    """EPSG:3857 (minx, miny, maxx, maxy) of tile z/x/y."""
    size = 2 * ORIGIN / 2 ** z
    minx = -ORIGIN + x * size
    maxx = minx + size
    maxy = ORIGIN - y * size
    miny = maxy - size
    return minx, miny, maxx, maxy


def lonlat_to_tile(lon, lat, z):
    n = 2 ** z
    lon = (lon + 180.0) % 360.0 - 180.0
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = int(math.floor((lon + 180.0) / 360.0 * n))
    r = math.radians(lat)
    y = int(math.floor((1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * n))
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def merc_to_lonlat(mx, my):
    return (math.degrees(mx / R),
            math.degrees(2.0 * math.atan(math.exp(my / R)) - math.pi / 2.0))

# --------------------------------------------------------------- raster facts


def gdalinfo(path):
    out = subprocess.run(["gdalinfo", "-json", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


class Raster:
    def __init__(self, rel, dateline=False):
        self.rel = rel
        self.path = os.path.join(HERE, rel)
        self.dateline = dateline
        info = gdalinfo(self.path)
        ring = info["wgs84Extent"]["coordinates"][0][:-1]
        if dateline:   # unwrap: longitudes east of 180 become > 180
            ring = [(lon + 360.0 if lon < 0 else lon, lat) for lon, lat in ring]
        self.ring = [tuple(p) for p in ring]
        self.lon_c = sum(p[0] for p in self.ring) / len(self.ring)
        self.lat_c = sum(p[1] for p in self.ring) / len(self.ring)
        gt = info["geoTransform"]
        res = math.sqrt(abs(gt[1] * gt[5] - gt[2] * gt[4]))
        wkt = info["coordinateSystem"]["wkt"]
        if wkt.startswith("GEOGCRS"):
            self.proj_res = res * math.pi * R / 180.0
            self.crs_kind = "geographic"
        elif 'ID["EPSG",3857]' in wkt.replace(" ", "").splitlines()[-1] or \
                "Pseudo-Mercator" in wkt.split("\n", 1)[0]:
            self.proj_res = res
            self.crs_kind = "EPSG:3857"
        else:
            self.proj_res = res / math.cos(math.radians(self.lat_c))
            self.crs_kind = "projected"
        self.native_zf = math.log2(Z0_RES / self.proj_res)
        self.native = max(0, min(24, int(round(self.native_zf))))

    def contains(self, lon, lat):
        if self.dateline and lon < 0:
            lon += 360.0
        inside = False
        ring = self.ring
        j = len(ring) - 1
        for i in range(len(ring)):
            xi, yi = ring[i]
            xj, yj = ring[j]
            if (yi > lat) != (yj > lat) and \
                    lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def geom_cover(self, z, x, y, n=16):
        """Fraction of the tile inside the footprint polygon (approximate)."""
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        hit = 0
        for i in range(n):
            for j in range(n):
                lon, lat = merc_to_lonlat(minx + (i + 0.5) * (maxx - minx) / n,
                                          miny + (j + 0.5) * (maxy - miny) / n)
                hit += self.contains(lon, lat)
        return hit / float(n * n)

    def tiles_near(self, z, radius=4):
        """Tiles of zoom z around the footprint (window around its centre)."""
        n = 2 ** z
        xs = [lonlat_to_tile(lon, 0, z)[0] for lon, _ in self.ring]
        ys = [lonlat_to_tile(0, lat, z)[1] for _, lat in self.ring]
        cx, cy = lonlat_to_tile(self.lon_c, self.lat_c, z)
        if self.dateline:      # x range wraps: walk from the centre
            xr = [(cx + d) % n for d in range(-radius, radius + 1)]
        else:
            xr = range(max(min(xs), cx - radius), min(max(xs), cx + radius) + 1)
        yr = range(max(min(ys), cy - radius), min(max(ys), cy + radius) + 1)
        out = []
        for x in xr:
            for y in yr:
                d = min(abs(x - cx), n - abs(x - cx)) + abs(y - cy)
                out.append((d, x, y))
        out.sort()
        return [(x, y) for _, x, y in out]

# ----------------------------------------------------------- gdalwarp oracle


class Warper:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="cogtiler-tiles-", dir="/tmp")
        self.cache = {}
        self.messages = {}

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def alpha(self, rel, z, x, y):
        """(fraction of alpha>0, has alpha 0, has alpha>0) of the reference tile."""
        key = (rel, z, x, y)
        if key in self.cache:
            return self.cache[key]
        out = os.path.join(self.tmp, "t.tif")
        for f in (out, out + ".aux.xml"):
            if os.path.exists(f):
                os.remove(f)
        b = tile_bounds(z, x, y)
        cmd = ["gdalwarp", "-q", "-t_srs", "EPSG:3857",
               "-te", repr(b[0]), repr(b[1]), repr(b[2]), repr(b[3]),
               "-ts", "256", "256", "-r", "near", "-dstalpha",
               os.path.join(HERE, rel), out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        msg = [l for l in p.stderr.splitlines() if l.strip()]
        if msg:
            self.messages[key] = msg
        if p.returncode != 0:
            raise RuntimeError("gdalwarp failed for %s %d/%d/%d: %s" % (rel, z, x, y, msg))
        st = json.loads(subprocess.run(["gdalinfo", "-json", "-stats", out], check=True,
                                       capture_output=True, text=True).stdout)
        a = st["bands"][-1]
        amin, amax, amean = a["minimum"], a["maximum"], a["mean"]
        res = ((amean / amax) if amax > 0 else 0.0, amin == 0, amax > 0)
        self.cache[key] = res
        return res

# ------------------------------------------------------------- tile choosers


def side_ok(side, z, x):
    if side is None:
        return True
    half = 2 ** z // 2
    return x >= half if side == "hi" else x < half


def pick_full(r, w, z, side=None, exclude=(), tries=30):
    """Tile at zoom z with the most data (first one >= MOSTLY wins)."""
    cands = [(x, y) for x, y in r.tiles_near(z) if side_ok(side, z, x)
             and (z, x, y) not in exclude]
    scored = sorted(cands, key=lambda t: -r.geom_cover(z, *t))  # stable: centre first
    best = None
    for x, y in scored[:tries]:
        f = w.alpha(r.rel, z, x, y)[0]
        if best is None or f > best[0]:
            best = (f, x, y)
        if f >= MOSTLY:
            break
    return best


def pick_edge(r, w, z, side=None, exclude=()):
    """Tile at zoom z with both transparent and data pixels, ~50 % data.

    1. tiles that straddle the footprint polygon (the raster's outline);
    2. else (outline on tile borders, or nodata/mask areas inside the
       outline) walk from the centre tile outwards along its row and column
       and take the first tile with both alpha 0 and alpha>0 pixels.
    Returns (coverage, x, y) or None."""
    n = 2 ** z
    cands = []
    for x, y in r.tiles_near(z, radius=6):
        if not side_ok(side, z, x) or (z, x, y) in exclude:
            continue
        g = r.geom_cover(z, x, y)
        if 0.05 < g < 0.95:
            cands.append((abs(g - 0.5), x, y))
    cands.sort()
    best = None
    for _, x, y in cands[:16]:
        f, has0, has1 = w.alpha(r.rel, z, x, y)
        if has0 and has1:
            score = abs(f - 0.5)
            if best is None or score < best[0]:
                best = (score, f, x, y)
            if 0.25 <= f <= 0.75:
                break
    if best is not None:
        return best[1:]
    cx, cy = lonlat_to_tile(r.lon_c, r.lat_c, z)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        for step in range(1, 65):
            x, y = (cx + step * dx) % n, cy + step * dy
            if not 0 <= y < n or r.geom_cover(z, x, y, n=8) == 0.0:
                break               # left the raster's outline: no data beyond
            if not side_ok(side, z, x) or (z, x, y) in exclude:
                continue
            f, has0, has1 = w.alpha(r.rel, z, x, y)
            if has0 and has1:
                return f, x, y
    return None


def pick_outside(r, w, z):
    """Tile at zoom z on the other side of the world, same latitude band (so a
    footprint bbox wrongly spanning the whole world, e.g. across 180, hits it)."""
    lon = r.lon_c + 180.0
    x, y = lonlat_to_tile(lon, r.lat_c, z)
    return w.alpha(r.rel, z, x, y)[0], x, y

# ---------------------------------------------------------------- the list
#
# (fixture, options).  Default kinds: world (0/0/0), overview, native,
# overzoom, edge, outside.  Options:
#   dateline=True   footprint crosses 180: unwrap it, and pick native/edge
#                   tiles on both sides (x near 2^z-1 and x near 0)
#   overzoom=dz     zooms above native for the overzoom tile (default 3)
#   overview_d      zoom steps below native tried for the overview tile
#                   (default (3, 2, 1); steps less than 1.7x coarser than the
#                   source are skipped; first zoom with a >=90 % tile wins,
#                   else the zoom/tile with the most data)
#   edge_z          "native" (default) or "native+2"; if no tile at that zoom
#                   straddles the border, lower zooms are tried
#   tiles           explicit [(kind, z, x, y, note)] instead of the search
#   kinds           subset of kinds; same_as: reuse another fixture's tiles
#   all_nodata      source has no valid pixel: expect transparent tiles
#   notes / world_note   extra comment text (world_note checked by hand)

FIXTURES = [
    ("rasterio/RGB.byte.tif", {}),
    ("rasterio/RGBA.byte.tif", {}),
    ("rasterio/cogeo.tif", {}),
    ("rasterio/world.rgb.tif", {"tiles": [
        ("world", 0, 0, 0, "the whole world (z0 is also 2x decimation of the z1-native source)"),
        ("native", 1, 0, 0, "z1 = native zoom (0.703125 deg = 78 km = z1 pixel); NW quarter"),
        ("world", 2, 2, 1, "z2, Europe/Africa"),
        ("world", 2, 1, 3, "z2 bottom row: Antarctica, source lat -90 clamped at -85.05"),
        ("overzoom", 3, 7, 3, "z3 last column: right tile edge = source right edge (lon 180)"),
        ("overzoom", 4, 8, 0, "z4 top row: lat 82.7..85.05 (polar clamp), 3 source rows"),
    ], "notes": ["no edge/outside tile possible: the data covers the whole Web Mercator world"]}),
    ("rio-tiler/cog.tif", {"overview_d": (4, 3, 2, 1)}),
    ("rio-tiler/nocog.tif", {"same_as": "rio-tiler/cog.tif"}),
    ("rio-tiler/cog_dateline.tif", {"dateline": True, "world_note":
        "data only in pixel columns 0 and 255 (both sides of 180), no smear across the world"}),
    ("rio-tiler/cog_cmap.tif", {}),
    ("titiler/dem.tif", {}),
    ("titiler/cog_with_nan.tif", {}),
    ("titiler/TCI.tif", {}),
    ("rio-tiler/201404_13SED190110_201404_0x1500m_CL_1.tif", {"overzoom": 2}),
    ("rio-tiler/201404_13SED190110_201404_0x1500m_CL_1_extmask.tif", {"overzoom": 2}),
    ("mapserver/temperatures.tif", {"tiles": [
        ("world", 0, 0, 0, "z0 is also the native zoom (2.4 deg = 267 km > z0 pixel)"),
        ("world", 1, 1, 0, "z1 NE quarter"),
        ("overzoom", 2, 3, 1, "z2 last column: lon 90..180"),
        ("overzoom", 3, 7, 3, "z3 last column: source ends at 179.88, gdalwarp wraps column 0 in"),
        ("overzoom", 3, 0, 0, "z3 first column, top row: west overhang (-180.12) and lat > 85"),
        ("overzoom", 3, 4, 7, "z3 bottom row: south overhang (-90.12)"),
    ], "notes": ["no edge/outside tile possible: the data covers the whole Web Mercator world",
                 "(gdalwarp fills the 179.88..180 gap by wrapping source column 0);",
                 "no overview tile possible: native is already z0"]}),
    ("r-cran-stars/lc.tif", {"edge_z": "native+2"}),
    # extras (not in the original brief; copied fixtures otherwise unused)
    ("rasterio/byte.tif", {"kinds": ["world", "native", "overzoom", "outside"]}),
    ("mapserver/nan.tif", {"kinds": ["world", "native", "overview"], "all_nodata": True}),
]

DEFAULT_KINDS = ["world", "overview", "native", "overzoom", "edge", "outside"]
DATELINE_KINDS = ["world", "overview", "native:hi", "native:lo", "edge:hi", "edge:lo", "outside"]


def choose(rel, opt, w):
    """Return (header comment lines, [(kind, z, x, y, note)])."""
    r = Raster(rel, dateline=opt.get("dateline", False))
    head = ["%s: %s, pixel %.4g projected m at lat %.2f -> native z%.2f ~ z%d"
            % (rel, r.crs_kind, r.proj_res, r.lat_c, r.native_zf, r.native)]
    head.extend(opt.get("notes", []))
    if "tiles" in opt:
        return head, list(opt["tiles"])
    kinds = opt.get("kinds") or (DATELINE_KINDS if r.dateline else DEFAULT_KINDS)
    nz = r.native
    out = []
    chosen = set()

    def add(kind, z, x, y, note):
        out.append((kind, z, x, y, note))
        chosen.add((z, x, y))

    for k in kinds:
        kind, _, side = k.partition(":")
        side = side or None
        sidenote = {"hi": "west of 180 (x near 2^z-1)", "lo": "east of 180 (x near 0)",
                    None: ""}[side]
        if kind == "world":
            add("world", 0, 0, 0, opt.get("world_note", ""))
        elif kind == "native" and opt.get("all_nodata"):
            x, y = lonlat_to_tile(r.lon_c, r.lat_c, nz)
            add("native", nz, x, y, "")
        elif kind == "native":
            f, x, y = pick_full(r, w, nz, side, chosen)
            add("native", nz, x, y, sidenote)
        elif kind == "overzoom":
            z = nz + opt.get("overzoom", 3)
            f, x, y = pick_full(r, w, z, side, chosen)
            add("overzoom", z, x, y, "native+%d" % (z - nz))
        elif kind == "overview":
            # zooms 1..3 (4 with overview_d) below native that are at least
            # 2^0.75 = 1.7x coarser than the source: the first with a >=90 %
            # tile wins, else the zoom/tile with the most data.
            best = None
            for d in opt.get("overview_d", (3, 2, 1)):
                z = nz - d
                if z < 0 or r.native_zf - z < 0.75:
                    continue
                if opt.get("all_nodata"):
                    x, y = lonlat_to_tile(r.lon_c, r.lat_c, z)
                    best = (0.0, z, x, y)
                    break
                f, x, y = pick_full(r, w, z, side, chosen)
                if best is None or f > best[0]:
                    best = (f, z, x, y)
                if f >= MOSTLY:
                    break
            if best is not None:
                add("overview", best[1], best[2], best[3], "native-%d, %.1fx coarser"
                    % (nz - best[1], 2 ** (r.native_zf - best[1])))
        elif kind == "edge":
            ez = opt.get("edge_z", "native")
            z0 = nz + 2 if ez == "native+2" else nz
            got = None
            for z in range(z0, max(-1, z0 - 5), -1):   # lower zooms if need be
                got = pick_edge(r, w, z, side, chosen)
                if got is not None:
                    break
                head.append("no edge tile at z%d%s: the outline follows tile borders "
                            "and there is no nodata/mask inside it" % (z, " " + side if side else ""))
            if got is not None:
                note = sidenote if z == nz else (
                    "native%+d" % (z - nz) + (", " + sidenote if sidenote else ""))
                add("edge", z, got[1], got[2], note)
        elif kind == "outside":
            f, x, y = pick_outside(r, w, nz)
            add("outside", nz, x, y, "data centre longitude + 180, same latitude")
    return head, out


def expect_ok(kind, f, has0, has1, opt):
    if opt.get("all_nodata"):
        return not has1
    if kind == "outside":
        return not has1
    if kind == "edge":
        return has0 and has1
    if kind in ("native", "overzoom", "overview"):
        return has1
    return True


def fmt_cover(f, has0, has1):
    if not has1:
        return "alpha 0 on all pixels"
    if not has0:
        return "alpha set on all pixels"
    return "alpha set on %d/65536 px (%.1f%%)" % (int(round(f * 65536)), 100.0 * f)


def write_tiles(w):
    lines = []
    lines.append("# tiles.txt - fixed tile list of the differential pixel test (cogtiler vs gdalwarp).")
    lines.append("# GENERATED by make_tiles.py (same folder): edit the script, not this file.")
    lines.append("# Format: FIXTURE_PATH KIND Z X Y   (FIXTURE_PATH relative to test/data; '#' starts a comment line)")
    lines.append("# KIND: world | overview | native | overzoom | edge | outside")
    lines.append("# Reference: gdalwarp -t_srs EPSG:3857 -te <tile bounds> -ts 256 256 -r near -dstalpha SRC OUT")
    lines.append("# Tile bounds: origin=20037508.342789244; size=2*origin/2^z; minx=-origin+x*size;")
    lines.append("#              maxx=minx+size; maxy=origin-y*size; miny=maxy-size")
    lines.append("# The comment above each tile gives the alpha coverage of the gdalwarp reference (GDAL 3.6.2).")
    lines.append("# Reference alpha band: 0 = transparent; opaque = 255 for Byte and Float32 output, but")
    lines.append("# 65535 for UInt16 output (cog.tif, nocog.tif, cog_dateline.tif). Paletted sources")
    lines.append("# (cog_cmap.tif, lc.tif) stay 1 palette-index band + colour table + alpha.")
    lines.append("")
    problems = []
    by_rel = {}
    for rel, opt in FIXTURES:
        if "same_as" in opt:
            head, tiles = by_rel[opt["same_as"]]
            head = ["%s: same pixels as %s but striped, no overviews -> same tiles"
                    % (rel, opt["same_as"])]
        else:
            t0 = time.time()
            nwarp = len(w.cache)
            head, tiles = choose(rel, opt, w)
            sys.stderr.write("%-62s %3d warps %5.1f s\n"
                             % (rel, len(w.cache) - nwarp, time.time() - t0))
        by_rel[rel] = (head, tiles)
        if rel == "rasterio/byte.tif":
            lines.append("# ---- extras: copied fixtures not in the original coverage brief ----")
            lines.append("")
        for h in head:
            lines.append("# " + h)
        for kind, z, x, y, note in tiles:
            f, has0, has1 = w.alpha(rel, z, x, y)
            ok = expect_ok(kind, f, has0, has1, opt)
            if not ok:
                problems.append("%s %s %d/%d/%d: %s" % (rel, kind, z, x, y, fmt_cover(f, has0, has1)))
            c = "#   %s%s" % (fmt_cover(f, has0, has1), ("; " + note) if note else "")
            if opt.get("all_nodata"):
                c += "; source is all NaN: expect an empty/transparent tile"
            if kind in ("native", "overzoom", "overview") and has1 and f < MOSTLY and \
                    not opt.get("all_nodata"):
                c += "; best found: no tile at this zoom is >= 90% data (small raster or nodata inside)"
            msgs = w.messages.get((rel, z, x, y))
            if msgs:
                uniq = []
                for m in msgs:
                    if m not in uniq:
                        uniq.append(m)
                c += "; gdalwarp exit 0 but stderr: " + ", ".join(
                    "%d x '%s'" % (msgs.count(m), m if len(m) <= 72 else m[:69] + "...")
                    for m in uniq)
            lines.append(c)
            lines.append("%-62s %-8s %2d %8d %8d" % (rel, kind, z, x, y))
        lines.append("")
    lines.extend(TRAILER)
    return lines, problems


TRAILER = """\
# ---- fixtures that are NOT rendered in the differential test ----
# What gdalwarp (GDAL 3.6.2) does with each of them when asked for EPSG:3857, both
# `gdalwarp -t_srs EPSG:3857 -r near -dstalpha SRC OUT` and the tile form with -te/-ts:
#
# REFUSE  rasterio/float.tif (no CRS, no real geotransform)
#   gdalwarp SUCCEEDS silently (exit 0, no warning): with no source CRS it does
#   no reprojection, takes the pixel coordinates 0..300 x 0..200 as if they were
#   already EPSG:3857 metres, flips the positive-y transform and writes a 3x2
#   raster labelled EPSG:3857 at "null island"; tile 16/32768/32767 comes out
#   16% opaque. cogtiler must refuse it (no CRS / no georeferencing); gdalwarp
#   is NOT an oracle for it.
#
# SPECIAL rio-tiler/cog_gcps.tif (GCPs only: 210 GCPs in WGS 84, no geotransform)
#   gdalwarp SUCCEEDS silently (exit 0): it fits a GCP polynomial (default order)
#   and writes 1414x1086 px at 204.66 m, lon 75.61..78.20 E, lat 9.23..11.19 N;
#   tiles 9/365/241 and 10/731/482 come out fully opaque. cogtiler may support
#   it through a GCP transformer or refuse it cleanly.
#
# SPECIAL r-cran-sf/geomatrix.tif (rotated/sheared geotransform, EPSG:32611)
#   gdalwarp SUCCEEDS silently (exit 0): the general warper honours the rotation;
#   output 24x24 px at 5.21 m around 104.85 W, 10.12 N; tile 18/54724/123664
#   comes out 32% opaque. cogtiler must warp it correctly (no axis-aligned
#   window-read shortcut) or refuse it.
#
# REFUSE  rio-tiler/cog_nonearth.tif ("Equirectangular EUROPA", non-Earth body)
#   gdalwarp FAILS (exit 1, no output), with or without -te:
#     ERROR 1: PROJ: proj_create_operations: Source and target ellipsoid do not
#              belong to the same celestial body
#     ERROR 6: Cannot find coordinate operations from `PROJCRS["Equirectangular EUROPA",...' to `EPSG:3857'
#   cogtiler must refuse it too (and never fall back to treating it as WGS 84).
""".splitlines()


def check_existing(w):
    problems = []
    n = 0
    for line in open(TILES_TXT):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rel, kind, z, x, y = line.split()
        z, x, y = int(z), int(x), int(y)
        f, has0, has1 = w.alpha(rel, z, x, y)
        opt = dict(FIXTURES).get(rel, {})
        ok = expect_ok(kind, f, has0, has1, opt)
        n += 1
        print("%-4s %-62s %-8s %2d/%d/%d  %s" % ("ok" if ok else "FAIL", rel, kind, z, x, y,
                                                 fmt_cover(f, has0, has1)))
        if not ok:
            problems.append(line)
    print("%d tiles, %d problems" % (n, len(problems)))
    return problems


def main():
    w = Warper()
    try:
        if "--check" in sys.argv[1:]:
            problems = check_existing(w)
        else:
            lines, problems = write_tiles(w)
            with open(TILES_TXT, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            print("wrote %s" % TILES_TXT)
            for p in problems:
                print("PROBLEM: " + p)
        return 1 if problems else 0
    finally:
        w.close()


if __name__ == "__main__":
    sys.exit(main())
