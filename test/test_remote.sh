#!/bin/bash
# Remote sources through real servers started here on 127.0.0.1: nginx (Debian)
# serves the fixtures with Range support for /vsicurl/, s3rver (npm, pinned in
# test/s3/) holds them in a bucket for /vsis3/. A `bootstrap serve` reads them
# as configured layers and as allow-listed url= sources. Checks: tiles from HTTP
# and S3 are byte-identical to the same tiles from the local files (the PNG
# encoder is deterministic, so equal bytes are equal pixels), remote VRT
# mosaics render like the local one, faults get their status and the next
# request works, and the allow-list table answers 403 without any request
# reaching a server (their request logs). TAP lines (test/lib/tap.sh), the plan
# at the end.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/remote
rm -rf "$out"
mkdir -p "$out/www/allowed" "$out/www/secret" "$out/www/mosaic" "$out/tiles"

. test/lib/tap.sh
. test/lib/nginx.sh
. test/lib/s3rver.sh
. test/lib/serve.sh
cleanup() {
  serve_stop
  nginx_stop
  s3_stop
}
trap cleanup EXIT

for tool in curl jq gdal_translate gdalbuildvrt node "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || stop "$tool is installed (make deps-test)"
done
[ -d test/s3/node_modules/s3rver ] || stop "test/s3/node_modules (make test runs npm ci there)"

# --- the files served -----------------------------------------------------------
FIXTURES="rio-tiler/cog.tif titiler/TCI.tif rasterio/cogeo.tif rio-tiler/cog_cmap.tif
          titiler/cog_with_nan.tif rio-tiler/nocog.tif"
www=$out/www
for f in $FIXTURES; do
  mkdir -p "$www/$(dirname "$f")"
  cp "test/data/$f" "$www/$f"
done
cp test/data/rio-tiler/cog.tif "$www/allowed/cog.tif"
cp test/data/rio-tiler/cog_gcps.tif "$www/allowed/gcps.tif" # placed by GCPs
cp test/data/titiler/dem.tif "$www/secret/dem.tif"
# A mosaic: TCI.tif cut in two COGs side by side, and a VRT of them (relative names).
gdal_translate -q -of COG -srcwin 0 0 549 1098 test/data/titiler/TCI.tif "$www/mosaic/left.tif"
gdal_translate -q -of COG -srcwin 549 0 549 1098 test/data/titiler/TCI.tif "$www/mosaic/right.tif"
(cd "$www/mosaic" && gdalbuildvrt -q mosaic.vrt left.tif right.tif)
cp "$www"/mosaic/* "$www/allowed/"
# A truncated COG (its header intact), and the same scene inverted (to replace one).
head -c 700000 test/data/titiler/TCI.tif >"$www/truncated.tif"
gdal_translate -q -of COG -scale 0 255 255 0 test/data/titiler/TCI.tif "$out/inverted.tif"
cp test/data/titiler/TCI.tif "$www/swap.tif"

nginx_start "$out/nginx" "$www" '
        location /e503/ { return 503; }
        location /e403/ { return 403; }
        location /slow/ { alias '"$PWD/$www"'/; limit_rate 1; }
        location = /allowed/redirect-out.tif { return 302 /secret/dem.tif; }
        location = /allowed/redirect-in.tif { return 302 /allowed/cog.tif; }
' || stop "nginx started"
ok "nginx serves the fixtures at $NGINX_URL"
http=$NGINX_URL

# VRTs in the allowed folder that point outside it, and one disguised as a .tif.
vrt_to() { # SOURCE-ELEMENT... -> a one-band VRT over TCI's grid reading those sources
  printf '<VRTDataset rasterXSize="20" rasterYSize="20"><SRS>EPSG:4326</SRS>'
  printf '<GeoTransform>0, 1, 0, 0, 0, -1</GeoTransform>'
  printf '<VRTRasterBand dataType="Byte" band="1"><SimpleSource>%s<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>\n' "$1"
}
vrt_to "<SourceFilename relativeToVRT=\"0\">$PWD/test/data/titiler/dem.tif</SourceFilename>" >"$www/allowed/local-file.vrt"
vrt_to "<SourceFilename relativeToVRT=\"0\">/vsicurl/$http/secret/dem.tif</SourceFilename>" >"$www/allowed/outside-url.vrt"
vrt_to '<SourceFilename relativeToVRT="1">../secret/dem.tif</SourceFilename>' >"$www/allowed/dotdot.vrt"
vrt_to "<SourceFilename relativeToVRT=\"0\">/vsicurl/$http/allowed/outside-url.vrt</SourceFilename>" >"$www/allowed/nested.vrt"
cp "$www/allowed/outside-url.vrt" "$www/allowed/disguised.tif"
cat >"$www/allowed/raw.vrt" <<'EOF'
<VRTDataset rasterXSize="20" rasterYSize="20"><SRS>EPSG:4326</SRS><GeoTransform>0, 1, 0, 0, 0, -1</GeoTransform>
<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename relativeToVRT="0">/etc/hostname</SourceFilename><ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>20</LineOffset></VRTRasterBand></VRTDataset>
EOF

s3_start "$out/s3" cogs || stop "s3rver started"
for f in $FIXTURES mosaic/left.tif mosaic/right.tif mosaic/mosaic.vrt allowed/cog.tif allowed/gcps.tif \
         allowed/outside-url.vrt; do
  s3_put "$www/$f" "cogs/$f" || stop "upload $f to s3rver"
done
ok "s3rver holds the fixtures in bucket cogs (port $S3_PORT)"

# --- the server ------------------------------------------------------------------
{
  echo '{"default_layer": "local_0", "dataset_ttl": 1,'
  echo " \"allowed_url_prefixes\": [\"$http/allowed/\", \"s3://cogs/allowed/\"],"
  echo ' "layers": {'
  i=0
  for f in $FIXTURES; do
    echo "  \"local_$i\": {\"source\": \"$PWD/test/data/$f\"},"
    echo "  \"http_$i\": {\"source\": \"$http/$f\"},"
    echo "  \"s3_$i\": {\"source\": \"s3://cogs/$f\"},"
    i=$((i + 1))
  done
  echo "  \"local_mosaic\": {\"source\": \"$PWD/$www/mosaic/mosaic.vrt\"},"
  echo "  \"http_mosaic\": {\"source\": \"$http/mosaic/mosaic.vrt\"},"
  echo "  \"s3_mosaic\": {\"source\": \"s3://cogs/mosaic/mosaic.vrt\"},"
  echo "  \"local_tci\": {\"source\": \"$PWD/test/data/titiler/TCI.tif\"},"
  echo "  \"local_gcps\": {\"source\": \"$PWD/test/data/rio-tiler/cog_gcps.tif\"},"
  echo "  \"local_inverted\": {\"source\": \"$PWD/$out/inverted.tif\"},"
  echo "  \"http_swap\": {\"source\": \"$http/swap.tif\"},"
  echo "  \"http_missing\": {\"source\": \"$http/no-such.tif\"},"
  echo "  \"s3_missing\": {\"source\": \"s3://cogs/no-such.tif\"},"
  echo "  \"s3_nobucket\": {\"source\": \"s3://no-such-bucket/x.tif\"},"
  echo "  \"http_403\": {\"source\": \"$http/e403/x.tif\"},"
  echo "  \"http_503\": {\"source\": \"$http/e503/x.tif\"},"
  echo "  \"http_slow\": {\"source\": \"$http/slow/rio-tiler/cog.tif\"},"
  echo "  \"http_truncated\": {\"source\": \"$http/truncated.tif\"},"
  echo "  \"http_later_down\": {\"source\": \"$http/titiler/cog_with_nan.tif\"}"
  echo ' }}'
} >"$out/layers.json"
jq -e . "$out/layers.json" >/dev/null || stop "layers.json is valid"

# start_srv CONFIG [ARG...]: (re)starts `bootstrap serve` on a free port; sets base.
start_srv() {
  local cfg=$1
  shift
  serve_stop
  serve_start "$BOOTSTRAP" "$cfg" "$out" "$@" || stop "bootstrap serve started"
  base=$SERVE_URL
}
start_srv "$out/layers.json"

# get PATH [curl args...]: sets code, ctype, cache and the body in $out/body
get() {
  local p=$1; shift
  local w
  w=$(ccurl -o "$out/body" -D "$out/headers" -w '%{http_code} %{content_type}' --max-time 40 "$@" "$base$p")
  code=${w%% *}; ctype=${w#* }
  cache=$(sed -n 's/^Cache-Control: *//Ip' "$out/headers" | tr -d '\r')
}
detail() { jq -r .detail "$out/body" 2>/dev/null | head -c 200; }

# --- configured layers: HTTP and S3 tiles equal the local ones --------------------
i=0
for f in $FIXTURES; do
  tiles=$(awk -v f="$f" '$1 == f { print $3 "/" $4 "/" $5 }' test/data/tiles.txt)
  for kind in http s3; do
    bad=
    count=0
    for t in $tiles; do
      get "/tiles/local_$i/$t.png"; lc=$code; cp "$out/body" "$out/tiles/local.png"
      get "/tiles/${kind}_$i/$t.png"
      count=$((count + 1))
      if [ "$code" != "$lc" ] || ! cmp -s "$out/body" "$out/tiles/local.png"; then
        bad="$bad $t($lc vs $code $(detail))"
      fi
    done
    [ -z "$bad" ] && [ $count -ge 5 ]
    verdict $? "$kind: $count tiles of $f identical to the local file's" "$bad"
  done
  i=$((i + 1))
done

# Tiles of TCI.tif (tiles.txt): overview, native, edge, over-zoom. Native and
# finer tiles of the mosaic equal the whole file's (overviews differ: the
# halves have their own).
for t in 0/0/0 9/289/208 10/579/415 10/580/417 13/4635/3326; do
  get "/tiles/local_mosaic/$t.png"; lc=$code; cp "$out/body" "$out/tiles/local.png"
  get "/tiles/local_tci/$t.png"; cp "$out/body" "$out/tiles/tci.png"
  case $t in 0/*|9/*) ;; *)
    [ "$lc" = 200 ] && cmp -s "$out/tiles/local.png" "$out/tiles/tci.png"
    verdict $? "local VRT mosaic of two halves renders tile $t like the whole file" "$lc" ;;
  esac
  for kind in http s3; do
    get "/tiles/${kind}_mosaic/$t.png"
    [ "$code" = 200 ] && cmp -s "$out/body" "$out/tiles/local.png"
    verdict $? "$kind VRT mosaic: tile $t identical to the local VRT's" "$code $(detail)"
  done
done

# --- faults: each gets its status, and the next request works ------------------------
good() { # the request after a fault; sets next (yes/no)
  get "/tiles/local_0/9/175/99.png"
  [ "$code" = 200 ]
  verdict $? "  ... and the next request is served (200)" "$code"
  next=no
  [ "$code" = 200 ] && next=yes
}
fault() { # WHAT LAYER STATUS [detail-pattern [TILE]]
  local t0 t1 want=$3 pat=${4:-}
  t0=$(date +%s%N)
  get "/tiles/$2/${5:-9/175/99}.png"
  t1=$(date +%s%N)
  local want_cache='no-store'
  [ "$want" -lt 500 ] && want_cache='public, max-age=60'
  [ "$code" = "$want" ] && [ "$ctype" = application/json ] && [ "$cache" = "$want_cache" ] && [[ $(detail) == *"$pat"* ]]
  verdict $? "$1 -> $want JSON, Cache-Control $want_cache ($(( (t1 - t0) / 1000000 )) ms: $(detail))" \
    "got $code $ctype '$cache'"
  local got=$code
  good
  fault_row "layer: $1" "$got" "$(( (t1 - t0) / 1000000 ))" "$next"
}
n503=$(grep -c ' /e503/' "$NGINX_LOG")
fault "HTTP object missing" http_missing 404
fault "S3 object missing" s3_missing 404 "does not exist"
fault "S3 bucket missing" s3_nobucket 404
fault "HTTP 403" http_403 403
fault "HTTP 503" http_503 502 "503"
tries=$(( $(grep -c ' /e503/' "$NGINX_LOG") - n503 ))
[ "$tries" = 3 ]
verdict $? "HTTP 503 was retried twice (3 requests in all)" "$tries requests"
fault "HTTP server too slow (1 byte/s)" http_slow 504
fault "truncated COG (tile past the end)" http_truncated 502 "" 10/579/415
# The server goes away after the dataset was opened.
get "/tiles/http_later_down/8/184/111.png"
[ "$code" = 200 ]
verdict $? "HTTP layer served before its server stops" "$code $(detail)"
saved_log=$NGINX_LOG
nginx_stop
fault "HTTP server stopped mid-run (new blocks needed)" http_later_down 502 "" 9/369/223
get "/tiles/s3_0/9/175/99.png"
[ "$code" = 200 ]
verdict $? "  ... S3 layers still work" "$code"

# --- url= and the allow-list --------------------------------------------------------------
nginx_start "$out/nginx" "$www" '
        location = /allowed/redirect-out.tif { return 302 /secret/dem.tif; }
        location = /allowed/redirect-in.tif { return 302 /allowed/cog.tif; }
' || stop "nginx restarted"
old_http=$http http=$NGINX_URL
# The allow-list names the old port: a server with the new one.
sed "s|$old_http|$http|g" "$out/layers.json" >"$out/layers2.json"
for f in allowed/outside-url.vrt allowed/nested.vrt allowed/disguised.tif; do
  sed -i "s|$old_http|$http|g" "$www/$f"
done
s3_put "$www/allowed/outside-url.vrt" cogs/allowed/outside-url.vrt
start_srv "$out/layers2.json"

get "/tiles/local_0/9/175/99.png"; cp "$out/body" "$out/tiles/cog.png"
for u in "$http/allowed/cog.tif" "s3://cogs/allowed/cog.tif" "$http/allowed/redirect-in.tif"; do
  get "/cog/tiles/9/175/99.png" -G --data-urlencode "url=$u"
  [ "$code" = 200 ] && cmp -s "$out/body" "$out/tiles/cog.png"
  verdict $? "url=$u: tile identical to the local file's" "$code $(detail)"
done
# A scene placed by GCPs, over HTTP and S3 as url=: its tiles (an overview level
# and the full resolution) and its statistics those of the local file.
echo '{"type": "Polygon", "coordinates": [[[76.6, 10.1], [77.3, 10.1], [77.3, 10.7], [76.6, 10.1]]]}' \
  >"$out/gcps-zone.geojson"
for t in 7/91/60 10/731/482; do
  get "/tiles/local_gcps/$t.tif"; cp "$out/body" "$out/tiles/gcps.tif"
  for u in "$http/allowed/gcps.tif" "s3://cogs/allowed/gcps.tif"; do
    get "/cog/tiles/$t.tif" -G --data-urlencode "url=$u"
    [ "$code" = 200 ] && cmp -s "$out/body" "$out/tiles/gcps.tif"
    verdict $? "url=$u (GCPs): tile $t.tif identical to the local file's" "$code $(detail)"
  done
done
get "/statistics/local_gcps" -X POST -H 'Content-Type: application/geo+json' \
  --data-binary "@$out/gcps-zone.geojson"
cp "$out/body" "$out/gcps-local.json"
get "/cog/statistics?url=$(jq -rn --arg u "$http/allowed/gcps.tif" '$u | @uri')" -X POST \
  -H 'Content-Type: application/geo+json' --data-binary "@$out/gcps-zone.geojson"
[ "$code" = 200 ] && [ "$(jq -S .properties.statistics "$out/body")" = "$(jq -S .properties.statistics "$out/gcps-local.json")" ] &&
  [ "$(jq '.properties.statistics.b1.count' "$out/body")" -gt 1000 ]
verdict $? "url= (GCPs over HTTP): statistics of a polygon equal the local file's" "$code $(detail)"
# A VRT, even of allowed COGs only, is not taken for url= (GDAL would open what
# it names itself, outside the url= gate): 403, and only the VRT itself read.
nl=$(nginx_log_lines)
get "/cog/tiles/10/579/415.png" -G --data-urlencode "url=$http/allowed/mosaic.vrt"
read_vrt=$(nginx_requests $((nl + 1)) | grep -vc ' /allowed/mosaic.vrt ')
[ "$code" = 403 ] && [[ $(detail) == *VRT* ]] && [ "$read_vrt" = 0 ]
verdict $? "url=$http/allowed/mosaic.vrt (a VRT of allowed COGs) -> 403 naming the VRT, nothing but the VRT read" \
  "$code $(detail), $read_vrt other requests"
get "/cog/tilejson.json" -G --data-urlencode "url=$http/allowed/cog.tif" --data-urlencode "colormap_name=viridis"
tj=$(jq -r '.tiles[0]' "$out/body" 2>/dev/null)
[ "$code" = 200 ] && [[ $tj == "$base/cog/tiles/{z}/{x}/{y}.png?url=http%3A%2F%2F127.0.0.1%3A"*"colormap_name=viridis" ]]
verdict $? "url= TileJSON carries url= into its tiles URL" "$code $tj"
get "/cog/tiles/9/175/99.png"
[ "$code" = 400 ]
verdict $? "/cog/ without url= -> 400" "$code"

# Each attempt: 403 JSON, and no request at all reaches nginx or s3rver.
refused() { # URL [WHY]
  local nl sl
  nl=$(nginx_log_lines); sl=$(s3_log_lines)
  get "/cog/tiles/9/175/99.png" -G --data-urlencode "url=$1"
  local reached=$(( $(nginx_log_lines) - nl + $(s3_log_lines) - sl ))
  [ "$code" = 403 ] && [ "$reached" = 0 ]
  verdict $? "url=$1 -> 403, no request made (${2:-$(detail)})" "$code, $reached requests: $(detail)"
}
refused "$PWD/test/data/titiler/dem.tif"
refused "file://$PWD/test/data/titiler/dem.tif"
refused "/vsicurl/$http/allowed/cog.tif"
refused "/vsis3/cogs/allowed/cog.tif"
refused "/vsicurl/$http/secret/dem.tif"
refused "vrt://$PWD/test/data/titiler/dem.tif"
refused "GTIFF_DIR:1:$PWD/test/data/titiler/dem.tif"
refused "$http/secret/dem.tif"
refused "$http/allowed/../secret/dem.tif"
refused "$http/allowed/%2e%2e/secret/dem.tif"
refused "$http/allowed/%252e%252e/secret/dem.tif"
refused "$http/allowed%2f..%2fsecret/dem.tif"
refused "$http/allowedx/cog.tif"
refused "$http@127.0.0.1:$S3_PORT/allowed/cog.tif"
refused "http://localhost:${http##*:}/allowed/cog.tif"
refused "http://169.254.169.254/latest/meta-data/"
refused "http://2852039166/latest/meta-data/"
refused "http://[::1]:${http##*:}/allowed/cog.tif"
refused "ftp://127.0.0.1/allowed/cog.tif"
refused "s3://cogs/mosaic/left.tif"
refused "s3://other/allowed/cog.tif"
refused "$http/allowed/cog.tif#x"

# VRTs and redirects: the VRT (or the redirect) is read, nothing outside is.
refused_after_read() { # URL
  local nl
  nl=$(nginx_log_lines)
  get "/cog/tiles/9/175/99.png" -G --data-urlencode "url=$1"
  local outside
  outside=$(nginx_requests $((nl + 1)) | grep -vc ' /allowed/')
  [ "$code" = 403 ] && [ "$outside" = 0 ]
  verdict $? "url=$1 -> 403, nothing outside /allowed/ requested ($(detail))" \
    "$code, $outside outside: $(detail)"
}
refused_after_read "$http/allowed/local-file.vrt"
refused_after_read "$http/allowed/outside-url.vrt"
refused_after_read "$http/allowed/dotdot.vrt"
refused_after_read "$http/allowed/nested.vrt"
refused_after_read "$http/allowed/disguised.tif"
refused_after_read "$http/allowed/raw.vrt"
refused_after_read "$http/allowed/redirect-out.tif"
nl=$(nginx_log_lines)
get "/cog/tiles/9/175/99.png" -G --data-urlencode "url=s3://cogs/allowed/outside-url.vrt"
[ "$code" = 403 ] && [ "$(nginx_log_lines)" = "$nl" ]
verdict $? "url=s3://cogs/allowed/outside-url.vrt (VRT in S3 naming an HTTP file outside) -> 403" \
  "$code $(detail)"
get "/tiles/local_0/9/175/99.png"
[ "$code" = 200 ]
verdict $? "after the refusals the next request is served" "$code"

# --- a replaced object is picked up after dataset_ttl (1 s) ----------------------------
get "/tiles/local_tci/10/579/415.png"; cp "$out/body" "$out/tiles/tci.png"
get "/tiles/local_inverted/10/579/415.png"; cp "$out/body" "$out/tiles/inverted.png"
get "/tiles/http_swap/10/579/415.png"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/tiles/tci.png"
verdict $? "swap.tif served as TCI.tif" "$code $(detail)"
cp "$out/inverted.tif" "$www/swap.tif.new" && mv "$www/swap.tif.new" "$www/swap.tif"
sleep 1.2
get "/tiles/http_swap/10/579/415.png"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/tiles/inverted.png"
verdict $? "after dataset_ttl the replaced swap.tif is served" "$code $(detail)"

# --- how many requests (counted in nginx's log) ----------------------------------------
# A server whose datasets are never reopened (dataset_ttl 0), so counts are exact,
# with one worker: every worker keeps datasets (and their cached blocks) of its own.
sed 's|"dataset_ttl": 1|"dataset_ttl": 0|' "$out/layers2.json" >"$out/layers3.json"
start_srv "$out/layers3.json" --workers 1
# An overview tile read again costs nothing: the overview level's blocks stay
# cached (GDALWarp's own per-tile overview dataset would drop them), and its
# first use probes no sidecar files.
get "/tiles/http_swap/9/289/208.png"; first=$code
nl=$(nginx_log_lines)
get "/tiles/http_swap/9/289/208.png"
again=$(( $(nginx_log_lines) - nl ))
[ "$first" = 200 ] && [ "$code" = 200 ] && [ "$again" = 0 ]
verdict $? "an overview tile requested again makes no request" "$first $code, $again requests"
heads=$(grep -c '^HEAD /swap' "$NGINX_LOG")
[ "$heads" -le 3 ]
verdict $? "no HEAD requests for swap.tif beyond one per open (no sidecar probes)" "$heads HEADs"
nl=$(nginx_log_lines)
get "/cog/info" -G --data-urlencode "url=$http/allowed/cog.tif?fresh=1"
opened=$(nginx_requests $((nl + 1)))
heads=$(grep -c '^HEAD' <<<"$opened"); lists=$(grep -c ' /allowed/ ' <<<"$opened")
[ "$(wc -l <<<"$opened")" = 1 ] && [ "$heads" = 0 ] && [ "$lists" = 0 ] && grep -q "bytes=0-32767 206" <<<"$opened"
verdict $? "opening a url= COG through the gate: one GET of its first 32 KB, no HEAD, no listing, no sidecar probes ($(wc -l <<<"$opened") requests)" \
  "$(tr '\n' ';' <<<"$opened")"
note "server log: $out/serve.err"
done_testing
