#!/bin/bash
# The local server over real HTTP: started here on 127.0.0.1 with a free port
# (--port 0), queried with curl, stopped at the end. Prints TAP lines
# (test/lib/tap.sh).
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/server
mkdir -p "$out"
. test/lib/tap.sh
plan 24

cat >"$out/layers.json" <<JSON
{"default_layer": "world", "layers": {
  "world": {"source": "$PWD/test/data/rasterio/world.rgb.tif"},
  "dem": {"source": "$PWD/test/data/titiler/dem.tif", "colormap": "viridis"},
  "broken": {"source": "$PWD/test/data/rasterio/float.tif"}}}
JSON

. test/lib/serve.sh
trap serve_stop EXIT
rm -f "$out/serve.err"
serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || stop "server started"
pid=$SERVE_PID port=$SERVE_PORT
ok "server started on port $port"
base=$SERVE_URL

# expect STATUS CONTENT-TYPE-PREFIX PATH [what]
expect() {
  local want=$1 type=$2 path=$3 what=${4:-$3}
  local got
  got=$(ccurl -o "$out/body" -w '%{http_code} %{content_type}' --max-time 20 "$base$path")
  [[ $got == "$want $type"* ]]
  verdict $? "$what -> $want" "got $got: $(head -c 200 "$out/body")"
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
expect 200 image/png "/tiles/world/2/1/1.png" "served normally after errors"

hdrs=$(ccurl -D - -o /dev/null "$base/tiles/world/0/0/0.png")
grep -qi '^cache-control: public, max-age=' <<<"$hdrs"; verdict $? "tiles carry Cache-Control"
grep -qi '^access-control-allow-origin: \*' <<<"$hdrs"; verdict $? "tiles carry CORS header"
code=$(ccurl -o /dev/null -w '%{http_code}' -X POST "$base/tiles/world/0/0/0.png")
[ "$code" = 405 ]; verdict $? "POST -> 405" "got $code"
code=$(ccurl -o /dev/null -w '%{http_code}' -I "$base/tiles/world/0/0/0.png")
[ "$code" = 200 ]; verdict $? "HEAD -> 200" "got $code"

# a burst of parallel requests, then one more: nothing hangs or dies
for i in $(seq 8); do ccurl -o /dev/null --max-time 30 "$base/tiles/world/3/$i/3.png" & done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
expect 200 image/png "/tiles/world/3/4/3.png" "served after a parallel burst"

grep -q '"status":404' "$out/serve.err"; verdict $? "one JSON log line per request"

kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then notok "stops on SIGTERM"; else
  wait $pid; rc=$?
  [ $rc = 0 ]; verdict $? "stops on SIGTERM with status 0" "status $rc"
fi
trap - EXIT
