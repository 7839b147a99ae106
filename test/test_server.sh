#!/bin/bash
# The local server over real HTTP: started here on 127.0.0.1 with a free port
# (--port 0), queried with curl, stopped at the end. Every JSON error answer
# must carry Access-Control-Allow-Origin. Needs curl and jq. Prints TAP lines
# (test/lib/tap.sh).
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/server
mkdir -p "$out"
. test/lib/tap.sh
plan 49
for tool in curl jq; do
  command -v "$tool" >/dev/null || stop "$tool is installed (make deps-test)"
done

cat >"$out/layers.json" <<JSON
{"default_layer": "world", "layers": {
  "world": {"source": "$PWD/test/data/rasterio/world.rgb.tif"},
  "dem": {"source": "$PWD/test/data/titiler/dem.tif", "colormap": "viridis"},
  "broken": {"source": "$PWD/test/data/rasterio/float.tif"},
  "olinda": {"source": "$PWD/test/data/r-cran-stars/olinda_dem_utm25s.tif", "colormap": "terrain",
             "rescale": [0, 120]}}}
JSON

. test/lib/serve.sh
trap serve_stop EXIT
rm -f "$out/serve.err"
serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || stop "server started"
pid=$SERVE_PID port=$SERVE_PORT
ok "server started on port $port"
base=$SERVE_URL

# fetch PATH [curl args...]: sets code and ctype; the headers in $out/headers,
# the body in $out/body
fetch() {
  local path=$1 got
  shift
  rm -f "$out/headers" "$out/body"
  got=$(ccurl -o "$out/body" -D "$out/headers" -w '%{http_code} %{content_type}' --max-time 20 "$@" "$base$path")
  code=${got%% *} ctype=${got#* }
}
# hdr NAME: the last answer's header NAME (name in any case), "" when absent
hdr() { sed -n "s/^$1: *//Ip" "$out/headers" 2>/dev/null | tr -d '\r' | head -n 1; }
# json_error: the last answer is a JSON error ({"detail": "..."}) carrying
# Access-Control-Allow-Origin
json_error() {
  [[ $ctype == application/json* ]] && [ -n "$(hdr Access-Control-Allow-Origin)" ] &&
    jq -e 'type == "object" and (.detail | type) == "string"' "$out/body" >/dev/null 2>&1
}
answer() { echo "got $code $ctype, Access-Control-Allow-Origin '$(hdr Access-Control-Allow-Origin)': $(head -c 200 "$out/body" | tr -d '\0')"; }

# expect STATUS CONTENT-TYPE-PREFIX PATH [what]: a 4xx or 5xx must be a JSON error
expect() {
  local want=$1 type=$2 path=$3 what=${4:-$3}
  fetch "$path"
  [[ "$code $ctype" == "$want $type"* ]] && { [ "$want" -lt 400 ] || json_error; }
  verdict $? "$what -> $want" "$(answer)"
}

expect 200 text/html "/" "map page"
grep -q 'static/leaflet.js' "$out/body"; verdict $? "page loads Leaflet locally"
expect 200 application/javascript "/static/leaflet.js"
expect 200 image/png "/tiles/world/0/0/0.png"
file_type=$(head -c 8 "$out/body" | od -An -c | tr -d ' ')
[ "$file_type" = '211PNG\r\n032\n' ]; verdict $? "tile body is a PNG" "$file_type"
expect 200 image/png "/tiles/world/1/0/1@2x.png"
expect 200 image/png "/tiles/dem/14/8514/5833.png?colormap_name=gray&rescale=1000%2C3000" "query string is decoded"
expect 400 application/json "/tiles/world/x/0/0.png"
expect 400 application/json "/tiles/world/1/5/0.png"
expect 400 application/json "/tiles/world/0/0/0.png?rescale=9,1"
expect 400 application/json "/tiles/world/0/0/0.png?colormap_name=nope"
expect 404 application/json "/tiles/nolayer/0/0/0.png"
expect 404 application/json "/no/such/route"
expect 404 application/json "/tiles/dem/3/0/0.png" "tile outside the data"
expect 500 application/json "/tiles/broken/0/0/0.png" "source without CRS"
expect 400 application/json "/tiles/world/0/0/0.png%00.jpg" "an encoded NUL in the path"
query=$(seq 100 | sed 's/.*/p&=1/' | paste -sd '&')
expect 414 application/json "/tiles/world/0/0/0.png?$query" "100 query parameters"
expect 200 image/png "/tiles/world/2/1/1.png" "served normally after errors"

hdrs=$(ccurl -D - -o /dev/null "$base/tiles/world/0/0/0.png")
grep -qi '^cache-control: public, max-age=' <<<"$hdrs"; verdict $? "tiles carry Cache-Control"
grep -qi '^access-control-allow-origin: \*' <<<"$hdrs"; verdict $? "tiles carry CORS header"
fetch /tiles/world/0/0/0.png -X POST
[ "$code" = 405 ]; verdict $? "POST -> 405" "got $code"
allow=$(hdr Allow)
[ "$allow" = "GET, HEAD, OPTIONS" ]; verdict $? "... with Allow: GET, HEAD, OPTIONS" "Allow: '$allow'"
json_error; verdict $? "... a JSON error" "$(answer)"
code=$(ccurl -o /dev/null -w '%{http_code}' -I "$base/tiles/world/0/0/0.png")
[ "$code" = 200 ]; verdict $? "HEAD -> 200" "got $code"

# A CORS preflight: the methods, the request headers asked for that are
# allowed (X-Evil is not), how long to keep it, the origin.
fetch /tiles/world/0/0/0.png -X OPTIONS -H 'Origin: https://x.example' \
  -H 'Access-Control-Request-Method: GET' \
  -H 'Access-Control-Request-Headers: Content-Type, If-None-Match, X-Evil'
[ "$code" = 204 ]; verdict $? "CORS preflight (OPTIONS) -> 204" "$(answer)"
methods=$(hdr Access-Control-Allow-Methods)
[ "$methods" = "GET, HEAD, POST, OPTIONS" ]
verdict $? "... Access-Control-Allow-Methods: GET, HEAD, POST, OPTIONS" "'$methods'"
allowed=$(hdr Access-Control-Allow-Headers)
names=$(tr 'A-Z,' 'a-z\n' <<<"$allowed" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
grep -qx content-type <<<"$names" && grep -qx if-none-match <<<"$names" && ! grep -q evil <<<"$names"
verdict $? "... Access-Control-Allow-Headers lists content-type and if-none-match, not x-evil" "'$allowed'"
max_age=$(hdr Access-Control-Max-Age)
[[ $max_age =~ ^[0-9]+$ ]] && [ "$max_age" -gt 0 ]; verdict $? "... Access-Control-Max-Age ($max_age s)" "'$max_age'"
origin=$(hdr Access-Control-Allow-Origin)
[ "$origin" = '*' ] || [ "$origin" = https://x.example ]
verdict $? "... Access-Control-Allow-Origin ($origin)" "'$origin'"

# Host goes into the TileJSON's tile URLs: a valid host[:port] only.
fetch /tiles/world/tilejson.json -H 'Host: evil.example"><script>'
[ "$code" = 400 ] && json_error; verdict $? "TileJSON with Host: evil.example\"><script> -> 400 JSON" "$(answer)"
fetch /tiles/world/tilejson.json -H 'Host: tiles.example:8080'
tiles0=$(jq -r '.tiles[0]' "$out/body" 2>/dev/null)
[ "$code" = 200 ] && [[ $tiles0 == http://tiles.example:8080/tiles/world/* ]]
verdict $? "TileJSON with Host: tiles.example:8080 -> 200, tiles at http://tiles.example:8080/tiles/world/" "$code $tiles0"

# a burst of parallel requests, each answered, then one more: nothing hangs or dies
rm -f "$out"/burst.*
for i in $(seq 0 7); do
  ccurl -o /dev/null -w '%{http_code}' --max-time 30 "$base/tiles/world/3/$i/3.png" >"$out/burst.$i" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
for i in $(seq 0 7); do
  c=$(cat "$out/burst.$i" 2>/dev/null)
  [ "$c" = 200 ]; verdict $? "parallel request 3/$i/3 -> 200" "got '$c'"
done
expect 200 image/png "/tiles/world/3/4/3.png" "served after a parallel burst"

# zonal statistics: a POSTed GeoJSON body
poly='{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Polygon","coordinates":[[[7.092,45.922],[7.1,45.921],[7.098,45.927],[7.092,45.922]]]}}'
got=$(ccurl -o "$out/body" -w '%{http_code}' -X POST -H 'Content-Type: application/geo+json' \
  --data-binary "$poly" "$base/statistics/dem?coverage=exact")
[ "$got" = 200 ] && jq -e '.properties.name == "x" and .properties.statistics.b1.count > 0' "$out/body" >/dev/null
verdict $? "POST /statistics/dem with a GeoJSON Feature -> 200, the feature back with its statistics" "$got $(head -c 200 "$out/body")"
got=$(ccurl -o "$out/body" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' --data-binary "$poly" "$base/statistics/dem")
[ "$got" = 415 ] && jq -e .detail "$out/body" >/dev/null; verdict $? "... as text/plain -> 415 JSON" "$got"
got=$(ccurl -o "$out/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary '{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}' "$base/statistics/dem")
[ "$got" = 400 ] && grep -q 'coordinates\[0\]' "$out/body"; verdict $? "... a ring of 3 positions -> 400 naming coordinates[0]" "$got $(cat "$out/body")"
hdrs=$(ccurl -D - -o /dev/null -X OPTIONS -H 'Origin: https://x.example' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: content-type' "$base/statistics/dem")
grep -qi '^access-control-allow-methods: .*POST' <<<"$hdrs" && grep -qi '^access-control-allow-headers: content-type' <<<"$hdrs"
verdict $? "a CORS preflight for a POST of JSON -> allowed"

# Warps are kept per worker across tiles (raster.c): whatever came before, a
# tile is the bytes a fresh process renders. Two passes, the second reversed,
# from low zooms (outside the projection's domain) to over-zoom, PNG and GeoTIFF.
order_tiles="dem/0/0/0.png dem/1/1/0.png dem/14/8514/5834.png dem/15/17029/11668.png
  dem/15/17029/11667.tif dem/18/136239/93344.png olinda/0/0/0.png olinda/9/206/267.png
  olinda/11/825/1069.png olinda/12/1650/2138.tif olinda/13/3302/4278.png world/1/1/0.webp"
for t in $order_tiles; do
  "$BOOTSTRAP" request "/tiles/$t" --config "$out/layers.json" -o "$out/fresh_${t//\//_}" >/dev/null 2>&1
done
for pass in forward reverse; do
  list=$order_tiles
  [ $pass = reverse ] && list=$(tr ' \n' '\n\n' <<<"$order_tiles" | awk 'NF' | tac)
  bad=""
  for t in $list; do
    ccurl -o "$out/kept.bin" --max-time 20 "$base/tiles/$t"
    cmp -s "$out/kept.bin" "$out/fresh_${t//\//_}" || bad="$bad $t"
  done
  [ -z "$bad" ]; verdict $? "a tile after others ($pass pass) is the bytes a fresh process renders" "$bad"
done

grep -q '"status":404' "$out/serve.err"; verdict $? "one JSON log line per request"

kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then notok "stops on SIGTERM"; else
  wait $pid; rc=$?
  [ $rc = 0 ]; verdict $? "stops on SIGTERM with status 0" "status $rc"
fi
trap - EXIT
