#!/bin/bash
# The local server over real HTTP: started here on 127.0.0.1 with a free port
# (--port 0), queried with curl, stopped at the end. Prints TAP-style lines.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/server
mkdir -p "$out"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

cat >"$out/layers.json" <<JSON
{"default_layer": "world", "layers": {
  "world": {"source": "$PWD/test/data/rasterio/world.rgb.tif"},
  "dem": {"source": "$PWD/test/data/titiler/dem.tif", "colormap": "viridis"},
  "broken": {"source": "$PWD/test/data/rasterio/float.tif"}}}
JSON

. test/lib/serve.sh
trap serve_stop EXIT
rm -f "$out/serve.err"
serve_start "$BOOTSTRAP" "$out/layers.json" "$out" || { notok "server started"; exit 1; }
pid=$SERVE_PID port=$SERVE_PORT
ok "server started on port $port"
base=$SERVE_URL

# expect STATUS CONTENT-TYPE-PREFIX PATH [what]
expect() {
  local want=$1 type=$2 path=$3 what=${4:-$3}
  local got
  got=$(curl -s -o "$out/body" -w '%{http_code} %{content_type}' --max-time 20 "$base$path")
  if [[ $got == "$want $type"* ]]; then ok "$what -> $want"; else notok "$what -> $want (got $got: $(head -c 200 "$out/body"))"; fi
}

expect 200 text/html "/" "map page"
grep -q 'static/leaflet.js' "$out/body" && ok "page loads Leaflet locally" || notok "page loads Leaflet locally"
expect 200 application/javascript "/static/leaflet.js"
expect 200 image/png "/tiles/world/0/0/0.png"
file_type=$(head -c 8 "$out/body" | od -An -c | tr -d ' ')
[ "$file_type" = '211PNG\r\n032\n' ] && ok "tile body is a PNG" || notok "tile body is a PNG ($file_type)"
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

hdrs=$(curl -s -D - -o /dev/null "$base/tiles/world/0/0/0.png")
grep -qi '^cache-control: public, max-age=' <<<"$hdrs" && ok "tiles carry Cache-Control" || notok "tiles carry Cache-Control"
grep -qi '^access-control-allow-origin: \*' <<<"$hdrs" && ok "tiles carry CORS header" || notok "tiles carry CORS header"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/tiles/world/0/0/0.png")
[ "$code" = 405 ] && ok "POST -> 405" || notok "POST -> 405 (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$base/tiles/world/0/0/0.png")
[ "$code" = 200 ] && ok "HEAD -> 200" || notok "HEAD -> 200 (got $code)"

# a burst of parallel requests, then one more: nothing hangs or dies
for i in $(seq 8); do curl -s -o /dev/null --max-time 30 "$base/tiles/world/3/$i/3.png" & done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
expect 200 image/png "/tiles/world/3/4/3.png" "served after a parallel burst"

grep -q '"status":404' "$out/serve.err" && ok "one JSON log line per request" || notok "one JSON log line per request"

kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then notok "stops on SIGTERM"; else
  wait $pid; rc=$?
  [ $rc = 0 ] && ok "stops on SIGTERM with status 0" || notok "stops on SIGTERM (status $rc)"
fi
trap - EXIT
