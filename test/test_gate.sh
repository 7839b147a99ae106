#!/bin/bash
# The url= gate and the concurrent server against the hostile-input probe of
# issue 12, all on 127.0.0.1: an allow-listed upstream (nginx, test/lib/nginx.sh)
# and a "secret" upstream (test/lib/secret.js) that must never be reached.
# Each case: the status, the time taken, and that the next request is served;
# at the end, the secret server's log must be empty. expression= (band math)
# reads its bands through the same gate: a VRT refused, the request budget
# enforced. TAP output.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/gate
rm -rf "$out"
mkdir -p "$out/www/allowed/norange" "$out/www/allowed/slow" "$out/www/other"
www=$out/www

. test/lib/tap.sh
. test/lib/nginx.sh
. test/lib/serve.sh
secret_pid=
cleanup() {
  serve_stop
  nginx_stop
  [ -n "$secret_pid" ] && kill "$secret_pid" 2>/dev/null
}
trap cleanup EXIT

for tool in curl jq node gdal_translate "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || stop "$tool is installed (make deps-test)"
done

# --- the secret server and the allowed one ------------------------------------------
node test/lib/secret.js "$out/secret.log" >"$out/secret.out" 2>&1 &
secret_pid=$!
for _ in $(seq 100); do grep -q listening "$out/secret.out" 2>/dev/null && break; sleep 0.05; done
secret_port=$(awk '/listening/ {print $2}' "$out/secret.out")
[ -n "$secret_port" ] || stop "secret server started"
secret=http://127.0.0.1:$secret_port

cp test/data/rio-tiler/cog.tif "$www/allowed/cog.tif"
cp test/data/rio-tiler/cog.tif "$www/allowed/norange/cog.tif"
cp test/data/rio-tiler/cog.tif "$www/allowed/slow/cog.tif"
cp test/data/rio-tiler/cog.tif "$www/other/cog.tif"
head -c 300 test/data/rio-tiler/cog.tif >"$www/allowed/truncated.tif"
# blocks of 512 x 512 x 3 bytes, uncompressed: 786 KB each
gdal_translate -q -of COG -co COMPRESS=NONE -co BLOCKSIZE=512 test/data/titiler/TCI.tif \
  "$www/allowed/bigblocks.tif" || stop "made a COG of uncompressed 512 px blocks"

# VRTs GDAL reads though the old check did not see them as VRTs, all pointing
# at the secret server or at a local file.
band() { # SOURCE-ELEMENT: one simple-source band
  printf '<VRTRasterBand dataType="Byte" band="1"><SimpleSource>%s<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>' "$1"
}
vrt() { # BODY
  printf '<VRTDataset rasterXSize="20" rasterYSize="20"><SRS>EPSG:4326</SRS><GeoTransform>0, 1, 0, 0, 0, -1</GeoTransform>%s</VRTDataset>\n' "$1"
}
to_secret="<SourceFilename relativeToVRT=\"0\">/vsicurl/$secret/secret.tif</SourceFilename>"
{ echo '<?xml version="1.0" encoding="UTF-8"?>'; vrt "$(band "$to_secret")"; } >"$www/allowed/prolog.vrt"
{ echo '<!-- a mosaic -->'; vrt "$(band "$to_secret")"; } >"$www/allowed/comment.vrt"
{ printf '\xef\xbb\xbf'; vrt "$(band "$to_secret")"; } >"$www/allowed/bom.vrt"
# GDAL finds a VRT by "<VRTDataset" and then matches element names in any case.
vrt "$(band "$to_secret" | tr 'A-Z' 'a-z')" >"$www/allowed/lower.vrt"
cp "$www/allowed/lower.vrt" "$www/allowed/lower-disguised.tif"
vrt "$(band "$to_secret")" | tr 'A-Z' 'a-z' >"$www/allowed/all-lower.vrt"
cat >"$www/allowed/raw-lower.vrt" <<'EOF'
<VRTDataset rasterXSize="20" rasterYSize="20"><srs>EPSG:4326</srs><geotransform>0, 1, 0, 0, 0, -1</geotransform>
<vrtrasterband dataType="Byte" band="1" subclass="VRTRawRasterBand"><sourcefilename relativetovrt="0">/etc/passwd</sourcefilename><imageoffset>0</imageoffset><pixeloffset>1</pixeloffset><lineoffset>20</lineoffset></vrtrasterband></VRTDataset>
EOF
{ printf '<VRTDataset rasterXSize="2000" rasterYSize="1"><SRS>EPSG:4326</SRS><GeoTransform>0, 0.01, 0, 0, 0, -0.01</GeoTransform><VRTRasterBand dataType="Byte" band="1">'
  for i in $(seq 2000); do
    printf '<SimpleSource><SourceFilename relativeToVRT="0">/vsicurl/%s/allowed/src%d.tif</SourceFilename><SourceBand>1</SourceBand><DstRect xOff="%d" yOff="0" xSize="1" ySize="1"/></SimpleSource>' NGINX_URL_PLACEHOLDER "$i" "$((i - 1))"
  done
  printf '</VRTRasterBand></VRTDataset>\n'; } >"$www/allowed/sources-2000.vrt"

nginx_start "$out/nginx" "$www" "
        location /allowed/norange/ { max_ranges 0; }
        location /allowed/slow/ { limit_rate 1; }
        location = /allowed/redirect-gdal.tif {
            if (\$http_range != \"bytes=0-0\") { return 302 $secret/secret.tif; }
            return 302 /allowed/cog.tif;
        }
        location = /allowed/redirect-out.tif { return 302 /other/cog.tif; }
        location = /allowed/redirect-in.tif { return 302 /allowed/cog.tif; }
" || stop "nginx started"
http=$NGINX_URL
port=${http##*:}
sed -i "s|NGINX_URL_PLACEHOLDER|$http|g" "$www/allowed/sources-2000.vrt"
ok "nginx serves the allowed files at $http, the secret server listens at $secret"

cat >"$out/layers.json" <<JSON
{"default_layer": "local", "dataset_ttl": 0,
 "allowed_url_prefixes": ["$http/allowed/", "http://localhost:$port/allowed/"],
 "layers": {
  "local": {"source": "$PWD/test/data/rio-tiler/cog.tif"},
  "slow": {"source": "$http/allowed/slow/cog.tif"},
  "truncated": {"source": "$PWD/$www/allowed/truncated.tif"}}}
JSON

# start_srv [ARG...]: (re)starts bootstrap serve; sets base.
start_srv() {
  serve_stop
  serve_start "$BOOTSTRAP" "$out/layers.json" "$out" "$@" || stop "bootstrap serve started"
  base=$SERVE_URL
}
start_srv --deadline 4 --receive-timeout 3
ok "bootstrap serve started (deadline 4 s, receive timeout 3 s)"

# get PATH [curl args]: sets code, ms (wall time) and the body in $out/body
get() {
  local p=$1 t0 t1
  shift
  t0=$(date +%s%N)
  code=$(ccurl -o "$out/body" -w '%{http_code}' --max-time 40 "$@" "$base$p")
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
}
detail() { jq -r .detail "$out/body" 2>/dev/null | head -c 160; }
next_ok() { # the request after a case; sets next (yes/no)
  local c
  c=$(ccurl -o /dev/null -w '%{http_code}' --max-time 20 "$base/tiles/local/9/175/99.png")
  [ "$c" = 200 ]; verdict $? "  ... and the next request is served" "$c"
  next=no
  [ "$c" = 200 ] && next=yes
}
# url_case WHAT URL STATUS [PATTERN] [ROUTE]: a url= request, its status, its time
url_case() {
  local what=$1 url=$2 want=$3 pat=${4:-} route=${5:-/cog/tiles/9/175/99.png}
  get "$route" -G --data-urlencode "url=$url"
  [ "$code" = "$want" ] && [[ $(detail) == *"$pat"* ]]
  verdict $? "$what -> $want in $ms ms ($(detail))" "got $code"
  next_ok
  fault_row "url=: $what" "$code" "$ms" "$next"
}

get /tiles/local/9/175/99.png
cp "$out/body" "$out/ref.png"
get /cog/tiles/9/175/99.png -G --data-urlencode "url=$http/allowed/cog.tif"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/ref.png"
verdict $? "url= COG through the gate: the same tile as the local file" "$code $(detail)"

# band math over a url= source: the same gate (expression= reads its bands through it)
get /tiles/local/9/175/99.png -G --data-urlencode "expression=b1*2" --data-urlencode "rescale=0,20000"
cp "$out/body" "$out/ref_expr.png"
get /cog/tiles/9/175/99.png -G --data-urlencode "url=$http/allowed/cog.tif" \
  --data-urlencode "expression=b1*2" --data-urlencode "rescale=0,20000"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/ref_expr.png"
verdict $? "expression= over a url= COG through the gate: the same tile as the local file's" "$code $(detail)"
url_case "expression= over a VRT naming the secret server" "$http/allowed/prolog.vrt" 403 \
  "not accepted" "/cog/tiles/9/175/99.png?expression=b1*2&rescale=0,20000"
# the routes of issues 17 and 18 over url=: the same gate
get /tiles/local/9/175/99.tif
cp "$out/body" "$out/ref.tif"
get /cog/tiles/9/175/99.tif -G --data-urlencode "url=$http/allowed/cog.tif"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/ref.tif"
verdict $? "a GeoTIFF tile of a url= COG through the gate: the local file's bytes" "$code $(detail)"
url_case "a GeoTIFF tile of a VRT naming the secret server" "$http/allowed/prolog.vrt" 403 \
  "not accepted" "/cog/tiles/9/175/99.tif"
url_case "WMTS capabilities of a VRT naming the secret server" "$http/allowed/prolog.vrt" 403 \
  "not accepted" "/cog/WMTSCapabilities.xml"

# --- 1. VRTs the old check missed (critical) ---------------------------------------------
for f in prolog.vrt comment.vrt bom.vrt lower.vrt lower-disguised.tif; do
  url_case "VRT $f naming the secret server" "$http/allowed/$f" 403 "not accepted"
done
url_case "an all-lower-case VRT (no format GDAL knows)" "$http/allowed/all-lower.vrt" 502 "not recognized"
url_case "lower-case raw-band VRT on /etc/passwd, through /cog/point" "$http/allowed/raw-lower.vrt" 403 "" "/cog/point/0.5,-0.5"
grep -q root "$out/body"; [ $? != 0 ]; verdict $? "  ... no byte of /etc/passwd in the answer"

# --- 2. redirects of GDAL's own requests (high) -------------------------------------------
url_case "a server redirecting every data request to the secret host" "$http/allowed/redirect-gdal.tif" 403 "redirects outside"
url_case "a redirect out of the allowed folder" "$http/allowed/redirect-out.tif" 403 "redirects outside"
get /cog/tiles/9/175/99.png -G --data-urlencode "url=$http/allowed/redirect-in.tif"
[ "$code" = 200 ] && cmp -s "$out/body" "$out/ref.png"
verdict $? "a redirect within the allowed folder is followed (by the gate)" "$code $(detail)"

# --- 3. a VRT of 2,000 sources (high) ----------------------------------------------------------
nl=$(nginx_log_lines)
url_case "a 2,000-source VRT" "$http/allowed/sources-2000.vrt" 403 "VRT"
reqs=$(( $(nginx_log_lines) - nl )) # (the next_ok request is to a local layer)
[ "$reqs" = 1 ]; verdict $? "  ... refused after one request ($reqs), before any of its sources" "$reqs requests"

# --- names resolving to internal addresses --------------------------------------------------
nl=$(nginx_log_lines)
url_case "http://localhost (allow-listed by name, resolves to 127.0.0.1)" "http://localhost:$port/allowed/cog.tif" 403 "not public"
[ "$(nginx_log_lines)" = "$nl" ]; verdict $? "  ... no request reached nginx"
# A name made to resolve to 127.0.0.1 in a hosts file of a mount namespace of its own.
printf '127.0.0.1 rebind.test\n' >"$out/hosts"
if unshare --mount true 2>/dev/null; then
  cat >"$out/layers-rebind.json" <<JSON
{"layers": {"local": {"source": "$PWD/test/data/rio-tiler/cog.tif"}},
 "allowed_url_prefixes": ["http://rebind.test:$port/allowed/"]}
JSON
  nl=$(nginx_log_lines)
  unshare --mount sh -c "mount --bind '$out/hosts' /etc/hosts && \
    '$BOOTSTRAP' request /cog/info?url=http://rebind.test:$port/allowed/cog.tif \
    --config '$out/layers-rebind.json'" >"$out/rebind.body" 2>"$out/rebind.err"
  grep -q '^HTTP 403' "$out/rebind.err" && grep -q 'not public' "$out/rebind.body" &&
    [ "$(nginx_log_lines)" = "$nl" ]
  verdict $? "rebind.test (a hosts-file name for 127.0.0.1, in a namespace) -> 403, no request" "$(head -c 200 "$out/rebind.err")"
else
  skip "rebind.test through a private /etc/hosts" "unshare --mount is not permitted here"
fi

# --- zonal statistics take the same gate (POST /cog/statistics?url=) ------------------------
# stats_case WHAT URL STATUS [PATTERN] [ZONE]: a posted zone over a url= source.
zone_cog='{"type":"Polygon","coordinates":[[[-58,73],[-57.5,73],[-57.5,73.5],[-58,73.5],[-58,73]]]}'
zone_big='{"type":"Polygon","coordinates":[[[23.3,31.7],[24,31.7],[24,32.3],[23.3,32.3],[23.3,31.7]]]}'
stats_case() {
  local what=$1 url=$2 want=$3 pat=${4:-} zone=${5:-$zone_cog}
  get /cog/statistics -X POST -H 'Content-Type: application/geo+json' --data-binary "$zone" \
    --url-query "url=$url"
  [ "$code" = "$want" ] && [[ $(detail) == *"$pat"* ]]
  verdict $? "statistics: $what -> $want in $ms ms ($(detail))" "got $code"
  next_ok
  fault_row "POST /cog/statistics: $what" "$code" "$ms" "$next"
}
get /statistics/local -X POST -H 'Content-Type: application/geo+json' --data-binary "$zone_cog"
jq -S .properties.statistics "$out/body" >"$out/stats-layer.json" 2>/dev/null
get /cog/statistics -X POST -H 'Content-Type: application/geo+json' --data-binary "$zone_cog" \
  --url-query "url=$http/allowed/cog.tif"
jq -S .properties.statistics "$out/body" >"$out/stats-url.json" 2>/dev/null
[ "$code" = 200 ] && jq -e '.b1.count > 0' "$out/stats-url.json" >/dev/null &&
  cmp -s "$out/stats-layer.json" "$out/stats-url.json"
verdict $? "statistics of a url= COG through the gate: the same answer as the local layer" "$code $(detail)"
stats_case "a VRT with an XML prolog naming the secret server" "$http/allowed/prolog.vrt" 403 "not accepted"
stats_case "a lower-case raw-band VRT on /etc/passwd" "$http/allowed/raw-lower.vrt" 403
grep -q root "$out/body"; [ $? != 0 ]; verdict $? "  ... no byte of /etc/passwd in the answer"
stats_case "a server redirecting data requests to the secret host" "$http/allowed/redirect-gdal.tif" 403 "redirects outside"
stats_case "the secret server itself (not allow-listed)" "$secret/secret.tif" 403
nl=$(nginx_log_lines)
stats_case "http://localhost (resolves to 127.0.0.1)" "http://localhost:$port/allowed/cog.tif" 403 "not public"
[ "$(nginx_log_lines)" = "$nl" ]; verdict $? "  ... no request reached nginx"

# --- budgets ----------------------------------------------------------------------------------
url_case "a server that ignores Range" "$http/allowed/norange/cog.tif" 502 "range requests"
url_case "a 300-byte truncated TIFF" "$http/allowed/truncated.tif" 502 "truncated"
get /tiles/truncated/9/175/99.png
[ "$code" = 502 ]; verdict $? "a 300-byte truncated TIFF as a layer -> 502 ($(detail))" "$code"
c=$code t=$ms
next_ok
fault_row "layer: a 300-byte truncated TIFF" "$c" "$t" "$next"
url_case "an upstream sending a byte a second (deadline 4 s)" "$http/allowed/slow/cog.tif" 504 ""
[ "$ms" -lt 4500 ]; verdict $? "  ... answered within the deadline ($ms ms)"

# servers with a small budget of bytes, then of requests
serve_stop
COGTILER_URL_MAX_BYTES=65536 serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || stop "bootstrap serve restarted"
base=$SERVE_URL
url_case "a COG whose 786 KB blocks are over url_max_bytes (64 KB)" "$http/allowed/bigblocks.tif" 502 "url_max_bytes" "/cog/tiles/10/579/415.png"
stats_case "a zone whose blocks are over url_max_bytes (64 KB)" "$http/allowed/bigblocks.tif" 502 "url_max_bytes" "$zone_big"
serve_stop
COGTILER_URL_MAX_REQUESTS=2 serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || stop "bootstrap serve restarted"
base=$SERVE_URL
url_case "a tile needing more than url_max_requests (2)" "$http/allowed/cog.tif" 502 "url_max_requests"
# again on a fresh server (the tile above leaves the file's first blocks cached)
serve_stop
COGTILER_URL_MAX_REQUESTS=2 serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || stop "bootstrap serve restarted"
base=$SERVE_URL
url_case "an expression= tile needing more than url_max_requests (2)" "$http/allowed/cog.tif" 502 \
  "url_max_requests" "/cog/tiles/9/175/99.png?expression=b1*2&rescale=0,20000"
start_srv --deadline 30 --receive-timeout 3 --workers 2

# --- a dead layer costs one timeout (negative cache) ------------------------------------------
get /tiles/slow/9/175/99.png
first=$code first_ms=$ms
nl=$(nginx_log_lines)
get /tiles/slow/9/175/99.png
[ "$first" = 504 ] && [ "$code" = 504 ] && [ "$ms" -lt 500 ] && [ "$(nginx_log_lines)" = "$nl" ]
verdict $? "a layer whose server trickles: 504 after $first_ms ms, then 504 in $ms ms without a request" "$first $code"
c=$code t=$ms
next_ok
fault_row "layer: a server sending a byte a second (GDAL's stall timeout)" "$first" "$first_ms" "$next"
fault_row "layer: the same, again within negative_ttl (no request made)" "$c" "$t" "$next"

# --- a slow upstream blocks nobody else (worker threads) --------------------------------------
sleep 5.5 # the failure is forgotten (negative_ttl 5 s)
ccurl -o /dev/null --max-time 40 "$base/tiles/slow/9/175/99.png" &
slow_pid=$!
sleep 0.3
get /tiles/local/9/175/99.png
[ "$code" = 200 ] && [ "$ms" -lt 2000 ]; verdict $? "a tile while another request waits on a trickling upstream: 200 in $ms ms" "$code"
fault_row "a local tile while another request waits on a 1 byte/s upstream" "$code" "$ms" "-"
wait "$slow_pid"

# --- connections that trickle (slowloris) -------------------------------------------------------
node test/lib/trickle.js "$SERVE_PORT" 80 127.0.0.2 8 >"$out/trickle.json" &
trickle_pid=$!
sleep 1
get /tiles/local/9/175/99.png
[ "$code" = 200 ] && [ "$ms" -lt 2000 ]; verdict $? "80 trickling connections from 127.0.0.2: a tile from 127.0.0.1 in $ms ms" "$code"
fault_row "a tile from 127.0.0.1 while 80 connections from 127.0.0.2 send a byte a second" "$code" "$ms" "-"
wait "$trickle_pid"
early=$(jq .early "$out/trickle.json") cut=$(jq .cut "$out/trickle.json")
last=$(jq .last_close_s "$out/trickle.json")
[ "$early" -ge 16 ]; verdict $? "  ... at most 64 held from one address: $early closed at once" "$(cat "$out/trickle.json")"
[ $((early + cut)) = 80 ] && awk -v t="$last" 'BEGIN { exit !(t < 4.5) }'
verdict $? "  ... the other $cut cut by the server at the receive timeout (the last after ${last} s)" "$(cat "$out/trickle.json")"

# --- nothing reached the secret server ------------------------------------------------------
[ ! -s "$out/secret.log" ]; verdict $? "the secret server received no request" "$(head -5 "$out/secret.log" | tr '\n' ';')"
done_testing
