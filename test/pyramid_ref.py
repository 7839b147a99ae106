#!/usr/bin/python3
"""The reference of test/test_pyramid.sh: an exported pyramid (MBTiles or a
folder) against the service itself, tile by tile.

usage: pyramid_ref.py BOOTSTRAP CONFIG LAYER EXT MINZ MAXZ OUT [BBOX|-] [QUERY]

The tiles are enumerated here from the layer's TileJSON bounds (and the
W,S,E,N box) with each tile's own longitude/latitude edges (not cogtiler's
enumeration); each one is asked of `bootstrap request` (the same handler as
HTTP). A 200 must be in OUT byte for byte, a 404 absent, and OUT must hold
nothing else. An MBTiles file is also opened with GDAL's MBTiles driver (its
metadata) and read with SQLite (rows counted from the south: TMS).
Prints "PASS what", "FAIL what: why", "INFO ..." and "COUNT enumerated ok
outside" lines."""
import json
import math
import os
import sqlite3
import subprocess
import sys

MAXLAT = 85.0511287798066


def tile_lonlat(z, x, y):
    n = 2 ** z
    lat = lambda t: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def lon_ivs(w, e):
    return [(w, e)] if w < e else [(w, 180), (-180, e)]


def overlaps(t, b, clip):
    lo = max(b[1], clip[1], -MAXLAT)
    hi = min(b[3], clip[3], MAXLAT)
    if not max(lo, t[1]) < min(hi, t[3]):
        return False
    return any(max(a0, c0, t[0]) < min(a1, c1, t[2])
               for a0, a1 in lon_ivs(b[0], b[2]) for c0, c1 in lon_ivs(clip[0], clip[2]))


def expected(bounds, clip, minz, maxz):
    for z in range(minz, maxz + 1):
        n = 2 ** z
        # candidates: every column and row near the box (the whole row of
        # columns when it crosses the antimeridian), then the exact test
        lat_row = lambda lat: (1 - math.asinh(math.tan(math.radians(
            max(-MAXLAT, min(MAXLAT, lat))))) / math.pi) / 2 * n
        y0 = max(0, int(lat_row(bounds[3])) - 1)
        y1 = min(n - 1, int(lat_row(bounds[1])) + 1)
        if bounds[0] < bounds[2]:
            x0 = max(0, int((bounds[0] + 180) / 360 * n) - 1)
            x1 = min(n - 1, int((bounds[2] + 180) / 360 * n) + 1)
        else:
            x0, x1 = 0, n - 1
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                if overlaps(tile_lonlat(z, x, y), bounds, clip):
                    yield z, x, y


def stored(out, ext):
    tiles = {}
    if out.endswith(".mbtiles"):
        db = sqlite3.connect(out)
        for z, x, row, data in db.execute(
                "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
            tiles[(z, x, 2 ** z - 1 - row)] = bytes(data)
        db.close()
    else:
        for root, _, files in os.walk(out):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), out).split(os.sep)
                if rel == ["metadata.json"]:
                    continue
                if len(rel) != 3 or not rel[2].endswith("." + ext):
                    tiles[("stray", "/".join(rel), 0)] = b""
                    continue
                with open(os.path.join(root, f), "rb") as fh:
                    tiles[(int(rel[0]), int(rel[1]), int(rel[2][:-len(ext) - 1]))] = fh.read()
    return tiles


def main():
    boot, config, layer, ext, minz, maxz, out = sys.argv[1:8]
    bbox = sys.argv[8] if len(sys.argv) > 8 and sys.argv[8] != "-" else None
    query = sys.argv[9] if len(sys.argv) > 9 else ""
    minz, maxz = int(minz), int(maxz)
    q = "?" + query if query else ""
    tj = json.loads(subprocess.run([boot, "request", f"/tiles/{layer}/tilejson.json{q}",
                                    "--config", config], capture_output=True, check=True).stdout)
    bounds = tj["bounds"]
    clip = [float(v) for v in bbox.split(",")] if bbox else [-180, -90, 180, 90]
    have = stored(out, ext)
    n_ok = n_out = 0
    bad = []
    for z, x, y in expected(bounds, clip, minz, maxz):
        r = subprocess.run([boot, "request", f"/tiles/{layer}/{z}/{x}/{y}.{ext}{q}",
                            "--config", config, "--quiet"], capture_output=True)
        got = have.pop((z, x, y), None)
        if r.returncode == 0:
            n_ok += 1
            if got != r.stdout:
                bad.append(f"{z}/{x}/{y} " + ("missing" if got is None else "differs"))
        elif r.returncode == 3:
            n_out += 1
            if got is not None:
                bad.append(f"{z}/{x}/{y} stored but the service answers 404")
        else:
            bad.append(f"{z}/{x}/{y}: the service failed: {r.stderr.decode()[:200]}")
    print(f"COUNT {n_ok + n_out} {n_ok} {n_out}")
    what = f"{out.split('/')[-1] or out.split('/')[-2]}"
    if bad:
        print(f"FAIL {what}: every tile is the service's answer byte for byte: "
              f"{len(bad)} bad: {'; '.join(bad[:5])}")
    else:
        print(f"PASS {what}: the {n_ok} tiles are the service's answers byte for byte, "
              f"the {n_out} it answers 404 absent")
    if have:
        print(f"FAIL {what}: nothing but the enumerated tiles: {len(have)} more, "
              f"e.g. {sorted(map(str, have))[:3]}")
    else:
        print(f"PASS {what}: nothing but the enumerated tiles")
    if out.endswith(".mbtiles"):
        from osgeo import gdal
        gdal.UseExceptions()
        ds = gdal.Open(out)
        md = ds.GetMetadata()
        b = [float(v) for v in md.get("bounds", "0,0,0,0").split(",")]
        want_b = [max(bounds[0], clip[0]), max(bounds[1], clip[1]),
                  min(bounds[2], clip[2]), min(bounds[3], clip[3])]
        problems = []
        if ds.GetDriver().ShortName != "MBTiles":
            problems.append("driver " + ds.GetDriver().ShortName)
        for k, v in (("format", ext), ("minzoom", str(minz)), ("maxzoom", str(maxz)),
                     ("name", tj["name"]), ("type", "overlay")):
            if md.get(k) != v:
                problems.append(f"{k}={md.get(k)!r}, want {v!r}")
        if tj.get("attribution") != md.get("attribution"):
            problems.append(f"attribution {md.get('attribution')!r}")
        if "version" not in md or "description" not in md or "center" not in md:
            problems.append("version, description or center missing")
        if any(abs(p - w) > 1e-9 for p, w in zip(b, want_b)):
            problems.append(f"bounds {b}, want {want_b}")
        if problems:
            print(f"FAIL {what}: GDAL's MBTiles driver reads the metadata: {'; '.join(problems)}")
        else:
            print(f"PASS {what}: GDAL's MBTiles driver opens it (format {ext}, zooms "
                  f"{minz}-{maxz}, bounds, name, type, attribution)")


main()
