#!/usr/bin/env bash
# overlay.sh BENCH_TILES [BOOTSTRAP] - section "overlay" of make bench
# (bench/README.md): a derived layer's tile against its inputs' tiles rendered
# alone, warm, in process (bench_tiles --warm: handler_handle(), no process
# start, no HTTP), interleaved tile by tile, in one run.
#
# Layers: test/overlay_fixtures.sh in bench/out/overlay/ (Olinda, Brazil):
#   priority  weighted overlay: cover (categorical Byte, EPSG:4326) 60 % +
#             slope of dem (Float32 SRTM, UTM 25S, read bilinear with a
#             1-pixel pad) 40 %, remapped, summed, coloured, PNG
#   ndvi      expression (nir - red) / (nir + red) of l7's bands 4 and 3
# Tiles: every 256 px tile intersecting the priority layer's bounds (GET
# /layers) at z11, z12 and z13. For each tile, one after the other:
#   overlay    /tiles/priority/Z/X/Y.png
#   cover      /tiles/cover/Z/X/Y.png
#   dem        /tiles/dem/Z/X/Y.png?resampling=bilinear&rescale=0,100: the read
#              the slope input does (Float32, bilinear); the one in the sum
#   hillshade  /tiles/dem/Z/X/Y.png?algorithm=hillshade: a padded terrain read
#              with its shading (printed for comparison, not summed)
#   ndvi       /tiles/ndvi/Z/X/Y.png
#   l7 b4, b3  /tiles/l7/Z/X/Y.png?bidx=4 and ?bidx=3
# One untimed pass over the whole list, then BENCH_OVERLAY_ITER timed passes;
# per tile and request the median wall time; then per zoom and overall the
# median over the tiles of those medians, against the target "an overlay tile
# costs at most the sum of its inputs' tile reads plus 1 ms".
# Prints Markdown on stdout, progress on stderr. Timings are printed, never
# judged: the exit status is non-zero only when a request answers other than
# 200 (or the set-up fails: 2).
#
# Environment:
#   BENCH_OVERLAY_ITER  timed passes over the list (default 30: about 25 s on
#                       2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
say() { echo "bench/overlay.sh [$((SECONDS - START)) s]: $*" >&2; }
die() { echo "bench/overlay.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: bench/overlay.sh BENCH_TILES [BOOTSTRAP]"
BENCH=$1
BOOTSTRAP=${2:-./bootstrap}
case $BENCH in /*) ;; *) BENCH=$PWD/$BENCH ;; esac
case $BOOTSTRAP in /*) ;; *) BOOTSTRAP=$PWD/$BOOTSTRAP ;; esac
[ -x "$BENCH" ] || die "$BENCH is not an executable (make build/rel/bench_tiles)"
[ -x "$BOOTSTRAP" ] || die "$BOOTSTRAP is not an executable (make bootstrap)"
ITER=${BENCH_OVERLAY_ITER:-30}
case $ITER in '' | *[!0-9]* | 0) die "BENCH_OVERLAY_ITER must be a positive integer" ;; esac
PY=/usr/bin/python3
OUT=bench/out/overlay
CONFIG=$OUT/layers.json
LIST=$OUT/tiles.txt
SAMPLES=$OUT/samples.txt
ZOOMS="11 12 13"

[ -f test/overlay_fixtures.sh ] || die "missing test/overlay_fixtures.sh (the derived layers' fixtures)"
command -v gdal_calc.py >/dev/null || die "gdal_calc.py is needed (gdal-bin, python3-gdal)"
mkdir -p "$OUT"
# The fixtures take well under a second: made afresh, so they follow the script.
bash test/overlay_fixtures.sh "$OUT" >"$OUT/fixtures.log" 2>&1 ||
    die "test/overlay_fixtures.sh failed: $(tail -n 3 "$OUT/fixtures.log")"

# The priority layer's bounds, as the server reports them.
"$BOOTSTRAP" request /layers --config "$CONFIG" -o "$OUT/layers.out" >"$OUT/layers.hdr" 2>&1 ||
    die "GET /layers failed: $(head -c 300 "$OUT/layers.hdr")"

# The list: "LAYER ROLE Z X Y 200 [QUERY]", the seven requests of each tile together.
$PY - "$OUT/layers.out" "$ZOOMS" >"$LIST" <<'EOF' || die "no tile list (GET /layers: see $OUT/layers.out)"
import json, math, sys
layers = {l["name"]: l for l in json.load(open(sys.argv[1]))["layers"]}
w, s, e, n = layers["priority"]["bounds"]
def fx(lon, z): return (lon + 180.0) / 360.0 * 2 ** z
def fy(lat, z):
    r = math.radians(lat)
    return (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * 2 ** z
roles = [("priority", "overlay", ""), ("cover", "cover", ""),
         ("dem", "dem", "resampling=bilinear&rescale=0,100"),
         ("dem", "hillshade", "algorithm=hillshade"), ("ndvi", "ndvi", ""),
         ("l7", "b4", "bidx=4"), ("l7", "b3", "bidx=3")]
for z in map(int, sys.argv[2].split()):
    # tiles whose interior meets the box: a bound on a tile edge adds no tile
    x0, x1 = math.floor(fx(w, z)), math.ceil(fx(e, z)) - 1
    y0, y1 = math.floor(fy(n, z)), math.ceil(fy(s, z)) - 1
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            for layer, role, q in roles:
                print(layer, role, z, x, y, 200, q)
EOF
NTILES=$(awk '$2 == "overlay"' "$LIST" | wc -l)
BOUNDS=$($PY -c 'import json, sys
l = {x["name"]: x for x in json.load(open(sys.argv[1]))["layers"]}["priority"]
print(", ".join("%.4f" % v for v in l["bounds"]))' "$OUT/layers.out")

say "$ITER passes over $NTILES tiles x 7 requests (plus one untimed pass)"
rc=0
"$BENCH" --warm "$CONFIG" "$LIST" "$ITER" >"$SAMPLES" 2>"$OUT/warm.err" || rc=$?
if [ "$rc" != 0 ]; then
    cat "$OUT/warm.err" >&2
    [ "$rc" = 1 ] || die "bench_tiles --warm failed (status $rc)"
fi
say "done"

cat <<EOF
## Derived layers: an overlay tile against its inputs' tiles alone

Target: an overlay tile (256 px) costs at most the sum of its inputs' tile
reads plus 1 ms, measured side by side with the inputs rendered alone.

- **Data** (\`test/overlay_fixtures.sh\`, Olinda, Brazil): \`priority\` = \`cover\`
  (categorical Byte, EPSG:4326, remapped) 60 % + the slope of \`dem\` (Float32
  SRTM in UTM 25S, read bilinear with a 1-pixel pad) 40 %, then summed,
  coloured (rdylgn) and encoded; \`ndvi\` = \`(nir - red) / (nir + red)\` of
  \`l7\`'s bands 4 and 3 (6-band Landsat 7, UTM 25S).
- **Tiles**: all $NTILES tiles of 256 px intersecting the \`priority\` layer's bounds
  ($BOUNDS, from GET /layers) at z${ZOOMS// /, z}, each rendered as 7 requests one
  after the other: \`/tiles/priority/Z/X/Y.png\` (**overlay**), \`/tiles/cover/...\`
  (**cover**), \`/tiles/dem/...?resampling=bilinear&rescale=0,100\` (**dem**: the
  Float32 bilinear read the slope input does; the one summed),
  \`/tiles/dem/...?algorithm=hillshade\` (**hillshade**: a padded terrain read plus
  shading, for comparison only), \`/tiles/ndvi/...\`, \`/tiles/l7/...?bidx=4\` and
  \`?bidx=3\`.
- **How**: in process and warm (\`bench_tiles --warm\`: \`handler_handle()\`, no
  process start, no HTTP): one untimed pass over the list, then $ITER timed
  passes (BENCH_OVERLAY_ITER), so the requests are interleaved tile by tile
  and whatever else the machine does hits them alike. Each plain tile includes
  its own colouring and PNG encoding, as the overlay does once.
- **Figures**: per tile and request the median wall time of the $ITER calls; a row
  gives the median over its tiles of those per-tile medians (ms), of the
  per-tile budget *cover + dem + 1 ms*, and of the per-tile ratio
  *overlay / (cover + dem)*; **median holds**: the overlay's median is at most
  the budget's; **tiles within**: the tiles whose own overlay median is within
  their own budget. The same for ndvi against *l7 b4 + l7 b3*. Timings are
  printed, never judged.

EOF

$PY - "$SAMPLES" "$ZOOMS" <<'EOF' || rc=1
import sys
from collections import defaultdict
samples, zooms = sys.argv[1], [int(z) for z in sys.argv[2].split()]
t = defaultdict(list)   # (role, "z/x/y") -> wall ms
bad = 0
for line in open(samples):
    f = line.split()
    if f[0] != "S":
        continue
    _, _, layer, role, zxy, status, wall = f[:7]
    if status != "200":
        bad += 1
        continue
    t[(role, zxy)].append(float(wall))

def median(v):
    v = sorted(v)
    if not v:
        return float("nan")
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2

tiles = sorted({k[1] for k in t}, key=lambda s: tuple(map(int, s.split("/"))))
med = {k: median(v) for k, v in t.items()}
def m(role, tile): return med.get((role, tile), float("nan"))

def table(title, what, a, b, extra=None):
    cols = [what, a, b] + ([extra] if extra else [])
    print("### " + title + "\n")
    head = ["zoom", "tiles"] + ["%s ms" % c for c in cols] + [
        "%s + %s + 1 ms" % (a, b), "%s / (%s + %s)" % (what, a, b), "median holds",
        "tiles within"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for z in zooms + [None]:
        ts = [x for x in tiles if z is None or int(x.split("/")[0]) == z]
        if not ts:
            continue
        budget = [m(a, x) + m(b, x) + 1.0 for x in ts]
        ratio = [m(what, x) / (m(a, x) + m(b, x)) for x in ts]
        within = sum(m(what, x) <= m(a, x) + m(b, x) + 1.0 for x in ts)
        mo = median([m(what, x) for x in ts])
        row = ["z%d" % z if z is not None else "**all**", str(len(ts))]
        row += ["%.2f" % median([m(c, x) for x in ts]) for c in cols]
        row += ["%.2f" % median(budget), "%.2f" % median(ratio),
                "yes" if mo <= median(budget) else "**no**", "%d/%d" % (within, len(ts))]
        print("| " + " | ".join(row) + " |")
    print()

table("Weighted overlay: priority against cover + dem (median ms per tile)",
      "overlay", "cover", "dem", "hillshade")
table("Expression: ndvi against l7 b4 + l7 b3 (median ms per tile)", "ndvi", "b4", "b3")

roles = ["overlay", "cover", "dem", "hillshade", "ndvi", "b4", "b3"]
print("<details><summary>Per tile: median ms of each request</summary>\n")
print("| z/x/y | " + " | ".join(roles) + " |")
print("|---|" + "---:|" * len(roles))
for x in tiles:
    print("| %s | " % x + " | ".join("%.2f" % m(r, x) for r in roles) + " |")
print("\n</details>")
if bad:
    print("\n**%d requests answered other than 200** (see bench/out/overlay/warm.err)." % bad)
    sys.exit(1)
EOF
exit "$rc"
