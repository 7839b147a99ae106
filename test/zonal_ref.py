#!/usr/bin/python3
"""zonal_ref.py - an independent reference of docs/ZONAL.md (zonal statistics).

Written apart from the C code, with GDAL's Python bindings and numpy only
(Debian python3-gdal, python3-numpy; run it with /usr/bin/python3):

  zonal_ref.py --source RASTER --geojson FILE|- [--query 'coverage=exact&p=2,98']
      prints the answer docs/ZONAL.md asks for (the GeoJSON given back with
      properties.statistics = {"b1": {...}, ...}); exit 0, or 3 for a single
      feature wholly outside the raster (404), or 1 for a refused input (400,
      the JSON path of the fault on stderr).
  zonal_ref.py check --source RASTER --geojson FILE --query Q ANSWER.json
      compares ANSWER.json (cogtiler's answer) with the reference: one line per
      difference on stdout, exit 1 when there is one.
  zonal_ref.py same A.json B.json [--scale N] [--rel R]
      compares two answers of cogtiler: every statistic equal, floating ones to
      R relative (default 1e-12); with --scale N, the counts of B (valid_pixels,
      count, masked_pixels, sum, histogram counts, category counts) are N times
      A's (the resolution test: the raster upsampled by k, N = k^2). A
      majority or minority that differs passes when both answers' categories
      show a tie (equal counts to R); --skip KEY leaves a statistic out.

How the reference decides which cells count (docs/ZONAL.md, "Which cells"):

- The GeoJSON's geometries are read with OGR (CreateGeometryFromJson). For a
  source in a projected CRS they are segmentized in lon/lat (OGR Segmentize,
  0.01 degree) and transformed to the source's CRS (both SRSs with
  OAMS_TRADITIONAL_GIS_ORDER); a geographic source takes them as they are.
- coverage=center and all_touched: gdal.RasterizeLayer onto the source's own
  grid (a MEM raster over the zone's window, one cell wider on each side than
  the polygon's bounding box, clipped to the raster), ALL_TOUCHED=TRUE for
  all_touched; w = 1.
- coverage=exact, an approximation: cells that no ring segment touches
  (rasterized with ALL_TOUCHED, dilated by one cell) are wholly inside or
  outside, and take the centre rule; every other cell is rasterized on a grid
  64 x 64 times finer (GDAL's centre rule on each sub-cell) and w = covered
  sub-cells / 4096. For one straight edge crossing a cell the error of that
  count is at most 1/64 of the cell (at most half a sub-cell per sub-cell
  column or row, 64 of them), so the check mode allows, per cell, (number of
  ring segments touching the cell or its neighbours) / 64.

The values: the band read with numpy over the window; a cell is valid unless
GDAL's mask band says masked (nodata, alpha band, internal/external mask) or it
is NaN; with nodata= given, that value replaces the band's nodata (the other
masks still apply). Statistics follow the table of docs/ZONAL.md with numpy:
numpy.percentile(method="inverted_cdf") and numpy.histogram when w = 1, their
weighted definitions otherwise (values as float64 for the histogram, so its
edges are float64 whatever the band's type). area_m2: pixel width x height in
metres for a projected CRS; for a geographic one the quadrangle between the
cell's parallels (clamped to +-90) and meridians on the CRS's ellipsoid.
Past 100,000 distinct values in a zone the answer is expected to say
"approximate": true and give unique/majority/minority/categories null; the
reference still prints the exact median, percentiles and histogram, and the
check mode allows one bin of the 8,192-bin power-of-two histogram.
"""

import argparse
import json
import math
import sys
import urllib.parse

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

SUB = 64                  # sub-cells per cell side for coverage=exact
TILE = 32                 # cells per side of one supersampled tile (2048 x 2048 sub-cells)
MAX_UNIQUE = 100000       # stats_max_unique's default
APPROX_BINS = 8192
SEGMENT_DEG = 0.01
MAX_FEATURES = 1000
MAX_POSITIONS = 1000000


class Refused(Exception):
    """A 400: the JSON path of the fault and what is wrong."""

    def __init__(self, path, msg):
        super().__init__(f"{path}: {msg}")
        self.path = path


# --- the query ------------------------------------------------------------------
def parse_query(q):
    o = {"coverage": "center", "p": [], "bins": 10, "range": None, "categorical": False,
         "c": [], "nodata": None, "bidx": None}
    for part in (q or "").split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        k, v = urllib.parse.unquote_plus(k), urllib.parse.unquote_plus(v)
        if k == "coverage":
            if v not in ("center", "all_touched", "exact"):
                raise Refused("coverage", f"unknown coverage {v!r}")
            o["coverage"] = v
        elif k == "p":
            o["p"] += [float(x) for x in v.split(",") if x != ""]
        elif k == "histogram_bins":
            o["bins"] = int(v)
        elif k == "histogram_range":
            lo, hi = (float(x) for x in v.split(","))
            o["range"] = (lo, hi)
        elif k == "categorical":
            o["categorical"] = v.lower() in ("true", "1", "yes")
        elif k == "c":
            o["c"] += [float(x) for x in v.split(",") if x != ""]
        elif k == "nodata":
            o["nodata"] = float("nan") if v.lower() == "nan" else float(v)
        elif k == "bidx":
            o["bidx"] = [int(x) for x in v.split(",")]
        elif k == "parts":
            pass  # how the work is split (fan-out), not what is computed
        else:
            raise ValueError(f"zonal_ref.py: query parameter {k!r} is not modelled")
    if not o["p"]:
        o["p"] = [2.0, 98.0]
    return o


def pkey(p):
    return "percentile_" + (f"{p:g}" if p != int(p) else str(int(p)))


def vkey(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


# --- the GeoJSON (docs/ZONAL.md, "Input") --------------------------------------
def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_polygon(coords, path, count):
    if not isinstance(coords, list) or not coords:
        raise Refused(path, "a polygon is a non-empty array of rings")
    for r, ring in enumerate(coords):
        rp = f"{path}[{r}]"
        if not isinstance(ring, list) or len(ring) < 4:
            raise Refused(rp, "a ring has at least four positions")
        for i, pos in enumerate(ring):
            pp = f"{rp}[{i}]"
            if not isinstance(pos, list) or len(pos) < 2 or len(pos) > 3 or \
                    not all(is_num(x) for x in pos):
                raise Refused(pp, "a position is 2 or 3 finite numbers")
            if not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90):
                raise Refused(pp, "longitude or latitude out of range")
            if i and abs(pos[0] - ring[i - 1][0]) > 180 and \
                    not (abs(pos[1]) == 90 and pos[1] == ring[i - 1][1]):
                raise Refused(pp, "an edge spans more than 180 degrees of longitude")
        if ring[0][:2] != ring[-1][:2]:
            raise Refused(rp, "the ring is not closed")
        count[0] += len(ring)


def check_geometry(g, path, count):
    if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
        raise Refused(path, "a Polygon or MultiPolygon is required")
    c = g.get("coordinates")
    if g["type"] == "Polygon":
        check_polygon(c, f"{path}.coordinates", count)
    else:
        if not isinstance(c, list) or not c:
            raise Refused(f"{path}.coordinates", "a MultiPolygon is a non-empty array of polygons")
        for i, poly in enumerate(c):
            check_polygon(poly, f"{path}.coordinates[{i}]", count)


def zones_of(doc):
    """[(feature dict to answer, geometry dict)], and whether it is a collection."""
    if not isinstance(doc, dict) or "type" not in doc:
        raise Refused("type", "not a GeoJSON object")
    count = [0]
    t = doc["type"]
    if t == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise Refused("features", "an array of features is required")
        if len(feats) > MAX_FEATURES:
            raise Refused("features", "more than 1,000 features")
        out = []
        for i, f in enumerate(feats):
            if not isinstance(f, dict) or f.get("type") != "Feature":
                raise Refused(f"features[{i}]", "a Feature is required")
            check_geometry(f.get("geometry"), f"features[{i}].geometry", count)
            out.append((f, f["geometry"]))
        coll = True
    elif t == "Feature":
        check_geometry(doc.get("geometry"), "geometry", count)
        out, coll = [(doc, doc["geometry"])], False
    elif t in ("Polygon", "MultiPolygon"):
        check_geometry(doc, "", count)
        out, coll = [({"type": "Feature", "geometry": doc, "properties": {}}, doc)], False
    else:
        raise Refused("type", f"{t!r} is not a Feature, FeatureCollection, Polygon or MultiPolygon")
    if count[0] > MAX_POSITIONS:
        raise Refused("", "more than 1,000,000 positions")
    return out, coll


# --- the source ------------------------------------------------------------------
class Source:
    def __init__(self, path, opts):
        self.ds = gdal.Open(path)
        self.gt = self.ds.GetGeoTransform()
        if self.gt[2] or self.gt[4] or self.gt[1] <= 0 or self.gt[5] >= 0:
            raise SystemExit("zonal_ref.py: only north-up rasters are modelled")
        self.w, self.h = self.ds.RasterXSize, self.ds.RasterYSize
        srs = self.ds.GetSpatialRef()
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.srs = srs
        self.geographic = bool(srs.IsGeographic())
        wgs84 = osr.SpatialReference()
        wgs84.ImportFromEPSG(4326)
        wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.ct = None if self.geographic else osr.CoordinateTransformation(wgs84, srs)
        self.bands = opts["bidx"] or list(range(1, self.ds.RasterCount + 1))
        self.nodata = opts["nodata"]
        if self.geographic:
            a, b = srs.GetSemiMajor(), srs.GetSemiMinor()
            e2 = 1 - (b * b) / (a * a)
            self.e = math.sqrt(e2) if e2 > 0 else 0.0
            self.a, self.b = a, b
            self.rad = srs.GetAngularUnits()        # radians per unit
        else:
            self.cell_area = abs(self.gt[1] * self.gt[5]) * srs.GetLinearUnits() ** 2

    def geometry(self, gjson):
        g = ogr.CreateGeometryFromJson(json.dumps(gjson))
        g.FlattenTo2D()
        if self.ct is not None:
            g.Segmentize(SEGMENT_DEG)
            g.Transform(self.ct)
        return g

    def window(self, g, pad):
        """(x0, y0, w, h) of the polygon's bounding box in cells, plus pad cells
        on each side, clipped; None when the box misses the raster."""
        minx, maxx, miny, maxy = g.GetEnvelope()
        gt = self.gt
        c0 = math.floor((minx - gt[0]) / gt[1])
        c1 = math.ceil((maxx - gt[0]) / gt[1])
        r0 = math.floor((maxy - gt[3]) / gt[5])
        r1 = math.ceil((miny - gt[3]) / gt[5])
        if c1 <= 0 or r1 <= 0 or c0 >= self.w or r0 >= self.h:
            return None
        c0, r0 = max(c0 - pad, 0), max(r0 - pad, 0)
        c1, r1 = min(c1 + pad, self.w), min(r1 + pad, self.h)
        return c0, r0, c1 - c0, r1 - r0

    def row_areas(self, y0, h):
        """Area in m2 of one cell of each row y0..y0+h-1 (geographic CRS)."""
        gt = self.gt
        top = gt[3] + np.arange(y0, y0 + h + 1) * gt[5]
        phi = np.clip(top * self.rad, -math.pi / 2, math.pi / 2)
        s = np.sin(phi)
        # Area between the equator and phi per radian of longitude:
        # a^2 (1 - e^2) (s / (2 (1 - e^2 s^2)) + atanh(e s) / (2 e)); a sphere: R^2 s.
        if self.e == 0:
            band = self.a * self.a * s
        else:
            e = self.e
            band = self.a * self.a * (1 - e * e) * (s / (2 * (1 - e * e * s * s)) +
                                                    np.arctanh(e * s) / (2 * e))
        dlon = abs(gt[1]) * self.rad
        return np.abs(band[:-1] - band[1:]) * dlon


def mem_layer(geoms, srs):
    drv = ogr.GetDriverByName("Memory")
    src = drv.CreateDataSource("")
    lyr = src.CreateLayer("zone", srs, ogr.wkbUnknown)
    for g in geoms:
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(g)
        lyr.CreateFeature(f)
    return src, lyr


def burn(src, geoms, x0, y0, w, h, sub=1, options=(), dtype=gdal.GDT_Byte):
    """Rasterizes geoms onto the source's grid (sub x finer) over a window."""
    gt = src.gt
    ds = gdal.GetDriverByName("MEM").Create("", w * sub, h * sub, 1, dtype)
    ds.SetGeoTransform((gt[0] + x0 * gt[1], gt[1] / sub, 0.0, gt[3] + y0 * gt[5], 0.0, gt[5] / sub))
    ds.SetSpatialRef(src.srs)   # the layer's too: no reprojection
    keep, lyr = mem_layer(geoms, src.srs)
    gdal.RasterizeLayer(ds, [1], lyr, burn_values=[1], options=list(options))
    a = ds.GetRasterBand(1).ReadAsArray()
    del keep
    return a


def segments(g):
    """Every ring segment of the polygon(s) g, as OGR line strings."""
    out = []
    polys = [g] if g.GetGeometryType() == ogr.wkbPolygon else \
        [g.GetGeometryRef(i) for i in range(g.GetGeometryCount())]
    for p in polys:
        for r in range(p.GetGeometryCount()):
            pts = p.GetGeometryRef(r).GetPoints()
            for a, b in zip(pts, pts[1:]):
                ls = ogr.Geometry(ogr.wkbLineString)
                ls.AddPoint_2D(a[0], a[1])
                ls.AddPoint_2D(b[0], b[1])
                out.append(ls)
    return out


def dilate(a):
    """3 x 3 maximum filter (edges: the cells present)."""
    p = np.pad(a, 1, mode="constant")
    h, w = a.shape
    return np.max(np.stack([p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]), axis=0)


def box(x0, y0, x1, y1):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        ring.AddPoint_2D(x, y)
    p = ogr.Geometry(ogr.wkbPolygon)
    p.AddGeometry(ring)
    return p


def surface(g):
    """Area of the polygons of g (an intersection may hold lines and points)."""
    t = ogr.GT_Flatten(g.GetGeometryType())
    if t in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return g.GetArea()
    if t == ogr.wkbGeometryCollection:
        return sum(surface(g.GetGeometryRef(i)) for i in range(g.GetGeometryCount()))
    return 0.0


def weights(src, g, win, coverage, with_error=False, method="supersample"):
    """w over the window (float64 for exact, uint8 otherwise), and for exact
    with_error the per-cell error bound (else None). method "geos" computes
    the border cells' fractions as areas of OGR (GEOS) intersections instead
    of supersampling (valid polygons only; error bound 1e-7 per cell)."""
    x0, y0, w, h = win
    if coverage == "center":
        return burn(src, [g], x0, y0, w, h), None
    if coverage == "all_touched":
        return burn(src, [g], x0, y0, w, h, options=["ALL_TOUCHED=TRUE"]), None
    centre = burn(src, [g], x0, y0, w, h).astype(np.float64)
    segs = segments(g)
    k = burn(src, segs, x0, y0, w, h, options=["ALL_TOUCHED=TRUE", "MERGE_ALG=ADD"],
             dtype=gdal.GDT_UInt32).astype(np.int64)
    kd = dilate(k)
    border = kd > 0
    wt = centre
    gt = src.gt
    for ty in range(0, h, TILE):
        for tx in range(0, w, TILE):
            b = border[ty:ty + TILE, tx:tx + TILE]
            if not b.any():
                continue
            th, tw = b.shape
            blk = wt[ty:ty + th, tx:tx + tw]
            if method == "supersample":
                fine = burn(src, [g], x0 + tx, y0 + ty, tw, th, sub=SUB)
                frac = fine.reshape(th, SUB, tw, SUB).sum(axis=(1, 3), dtype=np.int64) / float(SUB * SUB)
                blk[b] = frac[b]
                continue
            X = lambda c: gt[0] + (x0 + tx + c) * gt[1]     # noqa: E731
            Y = lambda r: gt[3] + (y0 + ty + r) * gt[5]     # noqa: E731
            part = g.Intersection(box(X(0), Y(th), X(tw), Y(0)))
            ca = abs(gt[1] * gt[5])
            for r, c in zip(*np.nonzero(b)):
                blk[r, c] = surface(part.Intersection(box(X(c), Y(r + 1), X(c + 1), Y(r)))) / ca \
                    if not part.IsEmpty() else 0.0
    if not with_error:
        return wt, None
    if method == "supersample":
        return wt, np.minimum(kd / SUB, 1.0)
    return wt, np.where(border, 1e-7, 0.0)


# --- statistics of one band over one zone ------------------------------------------
def band_data(src, b, win):
    x0, y0, w, h = win
    band = src.ds.GetRasterBand(b)
    v = band.ReadAsArray(x0, y0, w, h)
    flags = band.GetMaskFlags()
    if src.nodata is None or not flags & (gdal.GMF_NODATA | gdal.GMF_ALL_VALID):
        valid = band.GetMaskBand().ReadAsArray(x0, y0, w, h) != 0
    else:   # nodata= replaces the band's nodata value; other masks still apply
        valid = np.ones(v.shape, bool)
    if src.nodata is not None and not math.isnan(src.nodata):
        nd = np.array(src.nodata).astype(v.dtype)
        if float(nd) == src.nodata:     # representable in the band's type
            valid &= v != nd
    if v.dtype.kind == "f":
        valid &= ~np.isnan(v)
    return v, valid


def cell_areas(src, win):
    """Area of each cell of the window (m2), as an array broadcastable to it."""
    x0, y0, w, h = win
    if src.geographic:
        return src.row_areas(y0, h)[:, None]
    return np.full((1, 1), src.cell_area)


def null_stats(valid_pixels, masked, opts):
    """No valid cell (docs/ZONAL.md): the sums of weights are numbers, categories
    only the listed classes, valid_percent 0 when masked cells were in the zone."""
    total = valid_pixels + masked
    s = {"valid_pixels": valid_pixels, "count": valid_pixels, "masked_pixels": masked,
         "valid_percent": 100.0 * valid_pixels / total if total > 0 else None,
         "sum": None, "mean": None, "std": None, "min": None,
         "max": None, "unique": None, "majority": None, "minority": None, "median": None}
    for p in opts["p"]:
        s[pkey(p)] = None
    s["histogram"] = None
    s["area_m2"] = 0.0
    if opts["categorical"]:
        s["categories"] = {vkey(c): {"count": 0.0, "fraction": None, "area_m2": 0.0}
                           for c in opts["c"]}
    return s


def wpercentile(u, tw, total, p):
    """Inverted CDF over the value table: the smallest u with cum >= p/100 * total."""
    cum = np.cumsum(tw)
    i = int(np.searchsorted(cum, p / 100.0 * total, side="left"))
    return u[min(i, len(u) - 1)]


def num(x):
    """A numpy scalar as a JSON number (int when integral-typed)."""
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    return x


def stats(v, w, valid, area, opts):
    """The statistics of one band: v values, w weights (0 = not in the zone),
    valid mask, area per cell (broadcast)."""
    unit = w.dtype != np.float64
    inzone = w > 0
    sel = inzone & valid
    msk = inzone & ~valid
    if unit:
        count = int(np.count_nonzero(sel))
        masked = int(np.count_nonzero(msk))
    else:
        count = float(w[sel].sum())
        masked = float(w[msk].sum())
    if count == 0:
        return null_stats(count, masked, opts), None
    vals = v[sel]
    wv = None if unit else w[sel]
    areas = np.broadcast_to(area, v.shape)[sel]
    x = vals.astype(np.float64)
    if unit:
        total = float(x.sum())
        mean = total / count
        std = float(np.sqrt(np.sum((x - mean) ** 2) / count))
        u, tw = np.unique(vals, return_counts=True)
        area_m2 = float(areas.sum())
    else:
        total = float(np.sum(wv * x))
        mean = total / count
        std = float(np.sqrt(np.sum(wv * (x - mean) ** 2) / count))
        u, inv = np.unique(vals, return_inverse=True)
        tw = np.bincount(inv, weights=wv, minlength=len(u))
        area_m2 = float(np.sum(wv * areas))
    vmin, vmax = u[0], u[-1]
    s = {"valid_pixels": count, "count": count, "masked_pixels": masked,
         "valid_percent": 100.0 * count / (count + masked), "sum": total, "mean": mean,
         "std": std, "min": num(vmin), "max": num(vmax)}
    approx = len(u) > MAX_UNIQUE
    if approx:
        s.update(unique=None, majority=None, minority=None)
    else:
        s.update(unique=int(len(u)), majority=num(u[int(np.argmax(tw))]),
                 minority=num(u[int(np.argmin(tw))]))
    ps = [50.0] + opts["p"]
    if unit:
        pv = [vals.dtype.type(np.percentile(vals, p, method="inverted_cdf")) for p in ps]
        # the weighted definition of the contract gives the same (self-check)
        for p, a in zip(ps, pv):
            b = wpercentile(u, tw, count, p)
            if a != b:
                raise SystemExit(f"zonal_ref.py: percentile {p}: numpy {a} != table {b}")
    else:
        pv = [wpercentile(u, tw, count, p) for p in ps]
    s["median"] = num(pv[0])
    for p, val in zip(opts["p"], pv[1:]):
        s[pkey(p)] = num(val)
    lo, hi = opts["range"] if opts["range"] else (float(vmin), float(vmax))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(x, bins=opts["bins"], range=(lo, hi), weights=wv)
    s["histogram"] = [[num(c) for c in counts], [float(e) for e in edges]]
    s["area_m2"] = area_m2
    if opts["categorical"]:
        if approx:
            s["categories"] = None
        else:
            if unit:
                inv = np.searchsorted(u, vals)
                ta = np.bincount(inv, weights=np.asarray(areas, np.float64), minlength=len(u))
            else:
                ta = np.bincount(inv, weights=wv * areas, minlength=len(u))
            cats = {}
            keys = opts["c"] if opts["c"] else [float(k) for k in u]
            for k in keys:
                i = int(np.searchsorted(u, k))
                if i < len(u) and float(u[i]) == float(k):
                    c = int(tw[i]) if unit else float(tw[i])
                    cats[vkey(k)] = {"count": c, "fraction": c / count, "area_m2": float(ta[i])}
                else:
                    cats[vkey(k)] = {"count": 0, "fraction": 0.0, "area_m2": 0.0}
            s["categories"] = cats
    if approx:
        s["approximate"] = True
    return s, {"u": u, "tw": tw, "approx": approx}


# --- the answer ----------------------------------------------------------------------
def load(path):
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    return json.loads(text)


def compute(source, doc, query, with_error=False, method="supersample"):
    """(status, answer, per-zone check data)."""
    opts = parse_query(query)
    src = Source(source, opts)
    zones, coll = zones_of(doc)
    out, extra = [], []
    pad = 1
    for feat, gj in zones:
        g = src.geometry(gj)
        win = src.window(g, pad)
        bands, bx = {}, {}
        if win is None:
            if not coll:
                return 404, None, None
            for b in src.bands:
                bands[f"b{b}"] = null_stats(0, 0, opts)
                bx[f"b{b}"] = None
        else:
            wt, err = weights(src, g, win, opts["coverage"], with_error, method)
            area = cell_areas(src, win)
            for b in src.bands:
                v, valid = band_data(src, b, win)
                s, info = stats(v, wt, valid, area, opts)
                bands[f"b{b}"] = s
                if with_error:
                    bx[f"b{b}"] = {"v": v, "w": wt, "err": err, "valid": valid,
                                   "area": np.broadcast_to(area, v.shape), "info": info}
        f = json.loads(json.dumps(feat))
        props = f.get("properties")
        if not isinstance(props, dict):
            props = {}
        props["statistics"] = bands
        f["properties"] = props
        out.append(f)
        extra.append(bx)
    if coll:
        answer = dict(doc)
        answer["features"] = out
    else:
        answer = out[0]
    return 200, answer, {"opts": opts, "zones": extra, "coll": coll, "doc": doc}


# --- comparing an answer with the reference ----------------------------------------------
# Values printed with 15 significant digits (cJSON prints a double with "%1.15g"
# when that reads back within its relative epsilon) are off the raster's value
# by up to 5e-15 relative: such a value is taken as the same value.
VREL = 5e-15


def veq(a, b):
    if a is None or b is None or isinstance(a, (str, bool, dict, list)) or isinstance(b, (str, bool, dict, list)):
        return a == b
    return a == b or abs(float(a) - float(b)) <= VREL * max(abs(float(a)), abs(float(b)))


def jeq(a, b):
    """JSON values equal, numbers to VREL."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(jeq(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(jeq(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return veq(a, b)
    return a == b


def vfind(up, v):
    """Index of the value v (to VREL) in the sorted values up, or None."""
    i = int(np.searchsorted(up, v))
    for j in (i - 1, i):
        if 0 <= j < len(up) and veq(float(up[j]), v):
            return j
    return None


class Diff:
    def __init__(self):
        self.lines = []

    def __call__(self, where, msg):
        self.lines.append(f"{where}: {msg}")


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol


def approx_bin(vmin, vmax):
    """Width 2^e of a bin of the 8,192-bin histogram over [vmin, vmax]: the
    smallest e with floor(vmax / 2^e) - floor(vmin / 2^e) < 8192."""
    e = math.floor(math.log2(max(vmax - vmin, 1e-300) / APPROX_BINS)) - 2
    while math.floor(vmax / 2.0 ** e) - math.floor(vmin / 2.0 ** e) >= APPROX_BINS:
        e += 1
    return 2.0 ** e


def check_band(d, where, got, ref, bx, opts, coverage):
    REL = 1e-9
    exact = coverage == "exact"
    if not isinstance(got, dict):
        d(where, f"not an object: {got!r}")
        return
    want_keys = set(ref)
    have = set(got)
    optional = {"approximate", "overview"}
    if want_keys - have:
        d(where, f"missing keys {sorted(want_keys - have)}")
    if have - want_keys - optional:
        d(where, f"unexpected keys {sorted(have - want_keys - optional)}")
    if ref.get("approximate") != got.get("approximate") and (ref.get("approximate") or got.get("approximate")):
        d(where, f"approximate: got {got.get('approximate')!r}, reference {ref.get('approximate')!r}")
    approx = bool(ref.get("approximate"))

    def eq(key, a=None, b=None):
        a = got.get(key) if a is None else a
        b = ref.get(key) if b is None else b
        if not veq(a, b):
            d(where, f"{key}: got {a!r}, reference {b!r}")

    def near(key, tol, a=None, b=None, label=None):
        a = got.get(key) if a is None and label is None else a
        b = ref.get(key) if b is None and label is None else b
        if not close(a, b, tol):
            d(where, f"{label or key}: got {a!r}, reference {b!r} (tolerance {tol:.3g})")

    if ref["count"] == 0 and not exact:
        for k in ref:
            eq(k)
        return
    if not exact:
        for k in ("valid_pixels", "count", "masked_pixels", "min", "max", "unique", "majority", "minority"):
            eq(k)
        info = bx["info"] if bx else None
        scale = max(abs(float(ref["min"] or 0)), abs(float(ref["max"] or 0)), 1e-300)
        near("sum", REL * max(abs(ref["sum"]), scale * ref["count"]))
        near("mean", REL * scale)
        near("std", REL * max(ref["std"], scale * 1e-6))
        near("area_m2", REL * abs(ref["area_m2"]))
        near("valid_percent", REL * 100)
        pkeys = ["median"] + [pkey(p) for p in opts["p"]]
        if approx and info is not None:
            width = approx_bin(float(ref["min"]), float(ref["max"]))
            for k in pkeys:
                near(k, width * (1 + 1e-12))
            hist_approx(d, where, got.get("histogram"), ref["histogram"], info, width, tol_extra=0)
        else:
            for k in pkeys:
                eq(k)
            gh, rh = got.get("histogram"), ref["histogram"]
            if not (isinstance(gh, list) and len(gh) == 2):
                d(where, f"histogram: got {gh!r}")
            else:
                if gh[0] != rh[0]:
                    d(where, f"histogram counts: got {gh[0]}, reference {rh[0]}")
                if len(gh[1]) != len(rh[1]) or any(not close(a, b, REL * max(abs(b), 1e-300) + 1e-300)
                                                   for a, b in zip(gh[1], rh[1])):
                    d(where, f"histogram edges: got {gh[1]}, reference {rh[1]}")
        if "categories" in ref:
            gc, rc = got.get("categories"), ref["categories"]
            if rc is None or gc is None:
                eq("categories")
            elif set(gc) != set(rc):
                d(where, f"category keys: got {sorted(gc)}, reference {sorted(rc)}")
            else:
                for k in rc:
                    if gc[k].get("count") != rc[k]["count"]:
                        d(where, f"categories[{k}].count: got {gc[k].get('count')}, reference {rc[k]['count']}")
                    near(None, REL, gc[k].get("fraction"), rc[k]["fraction"], f"categories[{k}].fraction")
                    near(None, REL * max(rc[k]["area_m2"], 1.0), gc[k].get("area_m2"), rc[k]["area_m2"],
                         f"categories[{k}].area_m2")
        return
    check_exact(d, where, got, ref, bx, opts, approx)


def hist_approx(d, where, gh, rh, info, width, tol_extra):
    """Histogram counts from the power-of-two bins: each count within the mass of
    the fine bins holding its two edges."""
    if not (isinstance(gh, list) and len(gh) == 2):
        d(where, f"histogram: got {gh!r}")
        return
    u, tw = info["u"], info["tw"]
    fb = np.floor(u.astype(np.float64) / width)
    edges = rh[1]
    for i, (a, b) in enumerate(zip(gh[0], rh[0])):
        tol = tol_extra
        for e in (edges[i], edges[i + 1]):
            k = math.floor(e / width)
            tol += float(tw[(fb >= k - 1) & (fb <= k + 1)].sum())
        if abs(a - b) > tol + 1e-9 * max(abs(b), 1):
            d(where, f"histogram count {i}: got {a}, reference {b} (tolerance {tol:g})")
    if len(gh[1]) != len(edges) or any(not close(a, b, 1e-9 * max(abs(b), 1e-300)) for a, b in zip(gh[1], edges)):
        d(where, f"histogram edges: got {gh[1]}, reference {edges}")


def check_exact(d, where, got, ref, bx, opts, approx):
    """coverage=exact against the supersampled reference, within its error bound."""
    if bx is None:      # outside the raster
        for k in ref:
            if ref[k] is not None and got.get(k) != ref[k]:
                d(where, f"{k}: got {got.get(k)!r}, reference {ref[k]!r}")
        return
    v, w, err, valid, area = bx["v"], bx["w"], bx["err"], bx["valid"], bx["area"]
    x = v.astype(np.float64)
    lo = np.maximum(w - err, 0.0)
    hi = np.minimum(w + err, 1.0)
    possible = (hi > 0)
    sure = lo > 0
    pv, sv = possible & valid, sure & valid
    E = float(err[pv].sum())
    Em = float(err[possible & ~valid].sum())
    slack = 1e-9
    W = float(w[valid].sum())

    def near(key, tol, a=None, b=None):
        a = got.get(key) if a is None else a
        b = ref.get(key) if b is None else b
        if not close(a, b, tol + slack * max(abs(b or 0), 1)):
            d(where, f"{key}: got {a!r}, reference {b!r} (tolerance {tol:.4g})")

    near("valid_pixels", E)
    near("count", E)
    near("masked_pixels", Em)
    gc = got.get("count") or 0
    if not pv.any():
        return
    if W == 0 and gc == 0:
        return
    if W == 0:
        d(where, f"count {gc} where the reference has none (possible up to {E:g})")
        return
    mean = ref["mean"] if ref["mean"] is not None else 0.0
    near("sum", float((err * np.abs(x))[pv].sum()))
    dm = float((err * np.abs(x - mean))[pv].sum()) / max(W - E, 1e-300)
    near("mean", dm)
    var = (ref["std"] or 0.0) ** 2
    dvar = (float((err * (x - mean) ** 2)[pv].sum()) + var * E) / max(W - E, 1e-300) + dm * dm
    near("std", min(math.sqrt(dvar), dvar / ref["std"]) if ref["std"] else math.sqrt(dvar))
    near("area_m2", float((err * area)[pv].sum()))
    tot = W + float(w[~valid].sum())
    near("valid_percent", 100.0 * (E + Em) / max(tot - E - Em, 1e-300))
    # min / max / unique: between the cells surely in and the cells possibly in
    vals_p, vals_s = v[pv], v[sv]
    gmin, gmax = got.get("min"), got.get("max")
    if vals_s.size:
        lo_v, hi_v = float(vals_p.min()), float(vals_s.min())
        if gmin is None or not (lo_v <= gmin <= hi_v or veq(gmin, lo_v) or veq(gmin, hi_v)):
            d(where, f"min: got {gmin!r}, expected within [{lo_v}, {hi_v}]")
        lo_v, hi_v = float(vals_s.max()), float(vals_p.max())
        if gmax is None or not (lo_v <= gmax <= hi_v or veq(gmax, lo_v) or veq(gmax, hi_v)):
            d(where, f"max: got {gmax!r}, expected within [{lo_v}, {hi_v}]")
    up, inv_p = np.unique(vals_p, return_inverse=True)
    lo_u = np.bincount(inv_p, weights=lo[pv], minlength=len(up))
    hi_u = np.bincount(inv_p, weights=hi[pv], minlength=len(up))
    w_u = np.bincount(inv_p, weights=w[pv], minlength=len(up))
    ns, np_ = int((lo_u > 0).sum()), len(up)
    if not approx:
        gu = got.get("unique")
        if gu is None or not (ns <= gu <= np_):
            d(where, f"unique: got {gu!r}, expected within [{ns}, {np_}]")
        maj = got.get("majority")
        i = vfind(up, maj) if maj is not None else None
        if i is None or hi_u[i] + slack < lo_u.max():
            d(where, f"majority: got {maj!r}, reference {ref['majority']!r}")
        mino = got.get("minority")
        i = vfind(up, mino) if mino is not None else None
        surev = lo_u > 0
        if i is None or (surev.any() and lo_u[i] - slack > hi_u[surev].min()):
            d(where, f"minority: got {mino!r}, reference {ref['minority']!r}")
    # percentiles: a value v is acceptable when some weights within the bounds
    # make it the inverted CDF's answer.
    Flo, Fhi = np.cumsum(lo_u), np.cumsum(hi_u)
    Tlo, Thi = Flo[-1], Fhi[-1]
    width = approx_bin(float(ref["min"]), float(ref["max"])) if approx else 0.0
    for p, key in [(50.0, "median")] + [(p, pkey(p)) for p in opts["p"]]:
        gv = got.get(key)
        if gv is None:
            d(where, f"{key}: got null, reference {ref[key]!r}")
            continue
        q = p / 100.0
        if approx:
            ok_vals = []
            for i in range(len(up)):
                at = (1 - q) * Fhi[i] >= q * (Tlo - Flo[i]) - slack * Thi
                below = (1 - q) * (Flo[i - 1] if i else 0.0) < q * (Thi - (Fhi[i - 1] if i else 0.0)) + slack * Thi
                if at and below:
                    ok_vals.append(up[i])
            if not ok_vals or not (min(ok_vals) - width * (1 + 1e-12) <= gv <= max(ok_vals) + width * (1 + 1e-12)):
                d(where, f"{key}: got {gv!r}, reference {ref[key]!r} (approximate, bin {width:g})")
            continue
        i = vfind(up, gv)
        if i is None:
            d(where, f"{key}: got {gv!r}, not a value of the zone (reference {ref[key]!r})")
            continue
        # F(v) >= q T  <=>  (1-q) F(v) >= q (T - F(v)); F(v-) < q T likewise
        at = (1 - q) * Fhi[i] >= q * (Tlo - Flo[i]) - slack * Thi
        below = (1 - q) * (Flo[i - 1] if i else 0.0) < q * (Thi - (Fhi[i - 1] if i else 0.0)) + slack * Thi
        if not (at and below):
            d(where, f"{key}: got {gv!r}, reference {ref[key]!r} (outside the error bound)")
    # histogram: with the reference's edges, each count within the error of its cells
    gh, rh = got.get("histogram"), ref["histogram"]
    if not (isinstance(gh, list) and len(gh) == 2):
        d(where, f"histogram: got {gh!r}")
    elif opts["range"] is None and (got.get("min") != ref["min"] or got.get("max") != ref["max"]):
        pass    # other edges (a cell of tiny weight beyond the reference's min or max): not comparable
    else:
        edges = np.array(rh[1])
        if len(gh[1]) != len(edges) or any(not close(a, b, 1e-9 * max(abs(b), 1e-300)) for a, b in zip(gh[1], edges)):
            d(where, f"histogram edges: got {gh[1]}, reference {list(edges)}")
        xb = x[pv]
        idx = np.searchsorted(edges, xb, side="right") - 1
        idx[xb == edges[-1]] = len(edges) - 2
        inb = (idx >= 0) & (idx < len(edges) - 1)
        eb = np.bincount(idx[inb], weights=err[pv][inb], minlength=len(edges) - 1)
        extra = 0.0
        if approx:
            info = bx["info"]
            hist_approx(d, where, gh, rh, info, width, tol_extra=E)
        else:
            for i, (a, b) in enumerate(zip(gh[0], rh[0])):
                if abs(a - b) > eb[i] + extra + slack * max(abs(b), 1):
                    d(where, f"histogram count {i}: got {a}, reference {b} (tolerance {eb[i]:.4g})")
    if "categories" in ref:
        gcats, rcats = got.get("categories"), ref["categories"]
        if rcats is None or gcats is None:
            if rcats != gcats:
                d(where, f"categories: got {gcats!r}, reference {rcats!r}")
            return
        for k in set(gcats) | set(rcats):
            g = gcats.get(k)
            kv = float(k)
            j = vfind(up, kv)
            has = j is not None
            e = float(hi_u[j] - w_u[j]) if has else 0.0
            ewin = max(e, float(w_u[j] - lo_u[j]) if has else 0.0)
            r = rcats.get(k, {"count": 0.0, "fraction": 0.0, "area_m2": 0.0})
            if g is None:
                if not opts["c"] and has and lo_u[j] <= 0:
                    continue    # a value only possibly in the zone
                d(where, f"categories[{k}]: missing (reference {r})")
                continue
            if abs(g.get("count", -1) - r["count"]) > ewin + slack:
                d(where, f"categories[{k}].count: got {g.get('count')}, reference {r['count']} (tolerance {ewin:.4g})")


def check(source, geojson, query, answer_path, method="supersample"):
    doc = load(geojson)
    status, ref, ex = compute(source, doc, query, with_error=True, method=method)
    d = Diff()
    try:
        got = load(answer_path)
    except (OSError, ValueError) as e:
        print(f"answer: not JSON: {e}")
        return 1
    if status == 404:
        print("reference: 404 (the polygon is wholly outside the raster); an answer was given")
        return 1
    opts = ex["opts"]
    if ex["coll"]:
        if got.get("type") != "FeatureCollection" or not isinstance(got.get("features"), list):
            print("answer: not a FeatureCollection")
            return 1
        pairs = list(zip(got["features"], ref["features"], doc["features"], ex["zones"]))
        if len(got["features"]) != len(ref["features"]):
            d("features", f"{len(got['features'])} features, reference {len(ref['features'])}")
        for k in doc:
            if k != "features" and not jeq(got.get(k), doc[k]):
                d(k, f"not given back: got {got.get(k)!r}, sent {doc[k]!r}")
    else:
        sent = doc if doc.get("type") == "Feature" else None
        pairs = [(got, ref, sent, ex["zones"][0])]
    for n, (g, r, sent, bx) in enumerate(pairs):
        where = f"features[{n}]" if ex["coll"] else "feature"
        if not isinstance(g, dict) or g.get("type") != "Feature":
            d(where, "not a Feature")
            continue
        if sent is not None:
            for k in sent:
                if k == "properties":
                    continue
                if not jeq(g.get(k), sent[k]):
                    d(f"{where}.{k}", "not given back as sent (numbers compared to 5e-15)")
            sp = dict(sent.get("properties") or {})
            gp = dict(g.get("properties") or {})
            gp.pop("statistics", None)
            if not jeq(gp, sp):
                d(f"{where}.properties", f"not given back as sent: {gp!r} != {sp!r}")
        gs = (g.get("properties") or {}).get("statistics")
        rs = r["properties"]["statistics"]
        if not isinstance(gs, dict) or set(gs) != set(rs):
            d(f"{where}.statistics", f"bands {sorted(gs) if isinstance(gs, dict) else gs!r}, reference {sorted(rs)}")
            continue
        for b in rs:
            check_band(d, f"{where}.statistics.{b}", gs[b], rs[b], bx.get(b), opts, opts["coverage"])
    for line in d.lines[:200]:
        print(line)
    if len(d.lines) > 200:
        print(f"... and {len(d.lines) - 200} more")
    return 1 if d.lines else 0


# --- two answers of cogtiler --------------------------------------------------------------
COUNTS = ("valid_pixels", "count", "masked_pixels", "sum")
FLOATS = ("sum", "mean", "std", "area_m2", "valid_percent")


def tie(p, q, k, scale, rel):
    """majority/minority p[k] != q[k]: true when both answers' categories give
    the two values counts equal to rel (a tie broken by rounding)."""
    cp, cq = p.get("categories"), q.get("categories")
    if not cp or not cq or p.get(k) is None or q.get(k) is None:
        return False
    ka, kb = vkey(p[k]), vkey(q[k])
    try:
        x, y = cp[ka]["count"], cp[kb]["count"]
        u, v = cq[ka]["count"], cq[kb]["count"]
    except KeyError:
        return False
    return close(x, y, rel * max(abs(x), abs(y))) and close(u, v, rel * max(abs(u), abs(v)))


def same(a_path, b_path, scale, rel, skip=()):
    a, b = load(a_path), load(b_path)
    d = Diff()
    fa = a["features"] if a.get("type") == "FeatureCollection" else [a]
    fb = b["features"] if b.get("type") == "FeatureCollection" else [b]
    if len(fa) != len(fb):
        print(f"{len(fa)} features against {len(fb)}")
        return 1

    def cmp(where, x, y, floating, floor=1e-300):
        """equal; floating: to rel of the larger, or of floor (1 for counts
        in cells: a rounding of the weights of a few cells)."""
        if x is None or y is None or not floating:
            if not veq(x, y):
                d(where, f"{x!r} != {y!r}")
        elif not close(x, y, rel * max(abs(x), abs(y), floor)):
            d(where, f"{x!r} != {y!r} (relative {rel:g})")

    for n, (x, y) in enumerate(zip(fa, fb)):
        sx = x["properties"]["statistics"]
        sy = y["properties"]["statistics"]
        for band in set(sx) | set(sy):
            p, q = sx.get(band) or {}, sy.get(band) or {}
            w = f"features[{n}].{band}"
            for k in set(p) | set(q):
                u, v = p.get(k), q.get(k)
                if k in skip:
                    continue
                if k in ("majority", "minority") and u != v and tie(p, q, k, scale, max(rel, 1e-12)):
                    continue
                if k == "histogram" and u is not None and v is not None:
                    for i, (c1, c2) in enumerate(zip(u[0], v[0])):
                        cmp(f"{w}.histogram[0][{i}]", c1 * scale, c2,
                            scale != 1 or isinstance(c1, float) or isinstance(c2, float), scale)
                    for i, (e1, e2) in enumerate(zip(u[1], v[1])):
                        cmp(f"{w}.histogram[1][{i}]", e1, e2, True)
                    if len(u[0]) != len(v[0]) or len(u[1]) != len(v[1]):
                        d(f"{w}.histogram", "lengths differ")
                elif k == "categories" and u is not None and v is not None:
                    if set(u) != set(v):
                        d(f"{w}.categories", f"keys {sorted(u)} != {sorted(v)}")
                    n = p.get("count") or 1
                    cell = (p.get("area_m2") or 0) / n      # about one cell's area
                    for c in set(u) & set(v):
                        cmp(f"{w}.categories[{c}].count", u[c]["count"] * scale, v[c]["count"],
                            isinstance(u[c]["count"], float) or scale != 1, scale)
                        cmp(f"{w}.categories[{c}].fraction", u[c]["fraction"], v[c]["fraction"], True, 1 / n)
                        if "area_m2" not in skip:
                            cmp(f"{w}.categories[{c}].area_m2", u[c]["area_m2"], v[c]["area_m2"], True, cell)
                elif k in COUNTS and u is not None and v is not None:
                    cmp(f"{w}.{k}", u * scale, v, k in FLOATS or isinstance(u, float) or isinstance(v, float),
                        scale)
                else:
                    cmp(f"{w}.{k}", u, v, k in FLOATS)
    for line in d.lines[:200]:
        print(line)
    return 1 if d.lines else 0


def main(argv):
    if argv and argv[0] == "check":
        ap = argparse.ArgumentParser(prog="zonal_ref.py check")
        ap.add_argument("--source", required=True)
        ap.add_argument("--geojson", required=True)
        ap.add_argument("--query", default="")
        ap.add_argument("--exact", choices=("supersample", "geos"), default="supersample",
                        help="coverage=exact reference: 64 x 64 supersampling (error bound: ring "
                             "segments touching a cell / 64 per cell) or OGR intersections (1e-7)")
        ap.add_argument("answer")
        a = ap.parse_args(argv[1:])
        try:
            return check(a.source, a.geojson, a.query, a.answer, a.exact)
        except Refused as e:
            print(f"reference: HTTP 400 {e}")
            return 1
    if argv and argv[0] == "same":
        ap = argparse.ArgumentParser(prog="zonal_ref.py same")
        ap.add_argument("a")
        ap.add_argument("b")
        ap.add_argument("--scale", type=float, default=1.0)
        ap.add_argument("--rel", type=float, default=1e-12)
        ap.add_argument("--skip", action="append", default=[],
                        help="a statistic not to compare (e.g. area_m2)")
        a = ap.parse_args(argv[1:])
        return same(a.a, a.b, a.scale, a.rel, a.skip)
    ap = argparse.ArgumentParser(prog="zonal_ref.py")
    ap.add_argument("--source", required=True)
    ap.add_argument("--geojson", required=True)
    ap.add_argument("--query", default="")
    ap.add_argument("--exact", choices=("supersample", "geos"), default="supersample")
    a = ap.parse_args(argv)
    try:
        doc = load(a.geojson)
    except ValueError as e:
        print(f"HTTP 400 body: not JSON: {e}", file=sys.stderr)
        return 1
    try:
        status, answer, _ = compute(a.source, doc, a.query, method=a.exact)
    except Refused as e:
        print(f"HTTP 400 {e}", file=sys.stderr)
        return 1
    if status == 404:
        print("HTTP 404 the polygon is wholly outside the raster", file=sys.stderr)
        return 3
    json.dump(answer, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
