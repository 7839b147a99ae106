#!/usr/bin/env bash
# remote.sh - HTTP requests and bytes per tile for remote sources (issue 5's
# targets), counted in the access logs of a local nginx (/vsicurl/) and s3rver
# (/vsis3/) that this script starts on 127.0.0.1 and stops. Prints a Markdown
# section on stdout. Run from the repository root by `make bench`, or alone:
#   bench/remote.sh [BOOTSTRAP]
# Needs nginx, node with test/s3/node_modules (make test installs both), tiffinfo
# (libtiff-tools) to map byte ranges to the TIFF's internal blocks, and GDAL's
# command-line tools for the "unconfigured GDAL" line.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP=${1:-./bootstrap}
OUT=bench/out/remote
rm -rf "$OUT"
mkdir -p "$OUT/www"
. test/lib/nginx.sh
. test/lib/s3rver.sh
. test/lib/serve.sh
cleanup() {
    serve_stop
    nginx_stop
    s3_stop
}
trap cleanup EXIT

# name | file | tiles (kind:z/x/y ...), from test/data/tiles.txt and test/tiles-extra.txt
DATASETS=(
    "bluemarble|data/bluemarble_topo_bathy_200412_4326_cog.tif|world:0/0/0 overview:2/2/1 native:4/8/5 overzoom:6/32/20 edge:4/0/0"
    "tci|test/data/titiler/TCI.tif|world:0/0/0 overview:9/289/208 native:10/579/415 overzoom:13/4635/3326 edge:10/580/417"
    "cog_uint16|test/data/rio-tiler/cog.tif|world:0/0/0 overview:7/43/24 native:9/175/99 overzoom:12/1401/792 edge:9/181/94"
    "cogeo_3857|test/data/rasterio/cogeo.tif|world:0/0/0 overview:16/56189/25355 native:18/224758/101422 overzoom:21/1798064/811376 edge:15/28094/12677"
)
for d in "${DATASETS[@]}"; do
    IFS='|' read -r name file _ <<<"$d"
    cp "$file" "$OUT/www/$name.tif"
    # Every internal block (tiles or strips, all IFDs) as "offset count".
    tiffinfo -s "$file" 2>/dev/null | sed -n 's/^ *[0-9]*: \[ *\([0-9]*\), *\([0-9]*\)\]$/\1 \2/p' \
        >"$OUT/$name.blocks"
done

nginx_start "$OUT/nginx" "$OUT/www" >/dev/null
s3_start "$OUT/s3" bench >/dev/null
for d in "${DATASETS[@]}"; do
    IFS='|' read -r name _ _ <<<"$d"
    s3_put "$OUT/www/$name.tif" "bench/$name.tif"
done
: >"$S3_LOG"

{
    echo '{"dataset_ttl": 0, "layers": {'
    sep=
    for d in "${DATASETS[@]}"; do
        IFS='|' read -r name _ _ <<<"$d"
        printf '%s"http_%s": {"source": "%s/%s.tif"}, "s3_%s": {"source": "s3://bench/%s.tif"}' \
            "$sep" "$name" "$NGINX_URL" "$name" "$name" "$name"
        sep=', '
    done
    echo '}}'
} >"$OUT/layers.json"

start_server() {
    serve_stop
    # one worker: what one dataset handle costs (each worker of a server opens its
    # own, and GDAL does not share what one handle read with another thread's)
    serve_start "$BOOTSTRAP" "$OUT/layers.json" "$OUT" --workers 1 || exit 2
    port=$SERVE_PORT
}

# fetch PATH: the HTTP status of our server's answer
fetch() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$1"; }

# counts LOGFILE FROM BLOCKS: "requests heads gets lists bytes blocks" for log lines FROM..end;
# blocks = internal blocks overlapped by the GETs' byte ranges.
counts() {
    tail -n "+$2" "$1" | awk -v blocks="$3" '
        BEGIN { while ((getline l < blocks) > 0) { split(l, a, " "); off[++nb] = a[1]; len[nb] = a[2] } }
        { req++ }
        $1 == "HEAD" { heads++ }
        $1 == "GET" { gets++ }
        $2 ~ /\/$/ { lists++ }
        NF >= 5 && $5 ~ /^[0-9]+$/ { bytes += $5 }
        $3 ~ /^bytes=/ {
            split(substr($3, 7), r, "-")
            for (i = 1; i <= nb; i++)
                if (off[i] <= r[2] + 0 && off[i] + len[i] - 1 >= r[1] + 0 && !seen[i]++) nblk++
        }
        END { printf "%d %d %d %d %d %d\n", req, heads, gets, lists, bytes, nblk }'
}

echo "## Remote reads: HTTP requests per tile"
echo
echo "Counted in the access logs of nginx (\`/vsicurl/\`) and s3rver (\`/vsis3/\`) on 127.0.0.1,"
echo "each dataset opened by a fresh \`bootstrap serve --workers 1\` (one dataset handle: with N"
echo "workers each opens its own, so a cold dataset costs up to N opens and a tile asked of"
echo "another worker reads its blocks again). *blocks*: internal TIFF blocks the GETs' byte"
echo "ranges overlap (from \`tiffinfo -s\`). *warm*: the same tile again."
echo
echo "| source | dataset | step | requests | HEAD | GET | listings | bytes | blocks | warm repeat |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
worst_ratio=ok
for kind in http s3; do
    for d in "${DATASETS[@]}"; do
        IFS='|' read -r name _ tiles <<<"$d"
        start_server
        if [ $kind = http ]; then log=$NGINX_LOG; else log=$S3_LOG; fi
        from=$(($(wc -l <"$log") + 1))
        st=$(fetch "/tiles/${kind}_$name/info")
        read -r req heads gets lists bytes nblk <<<"$(counts "$log" "$from" "$OUT/$name.blocks")"
        [ $kind = s3 ] && bytes=-
        echo "| $kind | $name | open ($st) | $req | $heads | $gets | $lists | $bytes | $nblk | |"
        for t in $tiles; do
            tk=${t%%:*} zxy=${t#*:}
            from=$(($(wc -l <"$log") + 1))
            st=$(fetch "/tiles/${kind}_$name/$zxy.png")
            read -r req heads gets lists bytes nblk <<<"$(counts "$log" "$from" "$OUT/$name.blocks")"
            from2=$(($(wc -l <"$log") + 1))
            fetch "/tiles/${kind}_$name/$zxy.png" >/dev/null
            read -r warm _ <<<"$(counts "$log" "$from2" "$OUT/$name.blocks")"
            [ $kind = s3 ] && bytes=-
            [ "$req" -gt "$nblk" ] && [ "$req" -gt 0 ] && worst_ratio="$kind $name $tk: $req requests for $nblk blocks"
            echo "| $kind | $name | $tk $zxy ($st) | $req | $heads | $gets | $lists | $bytes | $nblk | $warm |"
        done
    done
done
echo
if [ "$worst_ratio" = ok ]; then
    echo "Every tile made at most as many requests as the internal blocks it read."
else
    echo "More requests than blocks: $worst_ratio."
fi
echo
# For scale: GDAL without our settings opening the same COG over HTTP.
from=$(($(wc -l <"$NGINX_LOG") + 1))
env -u GDAL_DISABLE_READDIR_ON_OPEN gdalinfo "/vsicurl/$NGINX_URL/tci.tif" >/dev/null 2>&1 || true
read -r req heads gets lists _ <<<"$(counts "$NGINX_LOG" "$from" /dev/null)"
echo "For scale, \`gdalinfo /vsicurl/...\` with GDAL's defaults opening tci.tif: $req requests"
echo "($heads HEAD, $gets GET, $lists directory listings)."
