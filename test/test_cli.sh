#!/bin/bash
# The command line: `bootstrap tile` exit statuses, output and messages.
# Prints TAP lines (test/lib/tap.sh).
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
out=test/out/cli
mkdir -p "$out"
. test/lib/tap.sh
plan 33
# expect STATUS WHAT ARGS...: runs bootstrap, checks its exit status
expect() {
  local want=$1 what=$2; shift 2
  "$BOOTSTRAP" "$@" >"$out/stdout" 2>"$out/stderr"
  local rc=$?
  [ "$rc" = "$want" ]
  verdict $? "$what (exit $want)" "exit $rc: $(head -c 300 "$out/stderr")"
}
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

rm -f "$out/t.png"
expect 0 "default layer z0 tile" tile 0/0/0 -o "$out/t.png"
is_png "$out/t.png"; verdict $? "output is a PNG"
expect 0 "ad-hoc source with colormap and rescale" tile 9/175/99 \
  --source test/data/rio-tiler/cog.tif --colormap viridis --rescale 0,10000 -o "$out/t.png"
expect 0 "512 px tile" tile 1/0/0 --tilesize 512 -o "$out/t.png"
expect 0 "named layer from a config file" tile 2/1/1 --config data/layers.json \
  --layer bluemarble -o "$out/t.png"
expect 3 "tile outside the data" tile 5/0/0 --source test/data/rasterio/byte.tif -o "$out/t.png"
grep -q '"detail"' "$out/stderr"; verdict $? "prints the JSON error"
expect 1 "z/x/y out of range" tile 1/2/0 -o "$out/t.png"
expect 1 "garbage z/x/y" tile a/b/c -o "$out/t.png"
expect 1 "unknown colormap" tile 0/0/0 --colormap nope -o "$out/t.png"
expect 3 "unknown layer (404)" tile 0/0/0 --layer nope -o "$out/t.png"
expect 1 "missing source" tile 0/0/0 --source test/data/nope.tif -o "$out/t.png"
expect 1 "source without CRS" tile 0/0/0 --source test/data/rasterio/float.tif -o "$out/t.png"
expect 1 "missing config" tile 0/0/0 --config test/data/nope.json -o "$out/t.png"
grep -q 'nope.json' "$out/stderr"; verdict $? "names the missing config file"
# Inline configuration (COGTILER_CONFIG_JSON), as a Lambda environment would give it.
export COGTILER_CONFIG_JSON='{"layers": {"inline": {"source": "test/data/rio-tiler/cog.tif", "colormap": "viridis"}}}'
rm -f "$out/t.png" "$out/ref.png"
expect 0 "layer from COGTILER_CONFIG_JSON" tile 9/175/99 --layer inline -o "$out/t.png"
# The reference: made afresh (a stale ref.png must not pass) and checked.
expect 0 "... its reference tile from --source with that colormap" tile 9/175/99 \
  --source test/data/rio-tiler/cog.tif --colormap viridis -o "$out/ref.png"
cmp -s "$out/t.png" "$out/ref.png"; verdict $? "... renders the same tile as --source with that colormap"
expect 0 "--config wins over COGTILER_CONFIG_JSON" tile 2/1/1 --config data/layers.json \
  --layer bluemarble -o "$out/t.png"
export COGTILER_CONFIG_JSON='{"layers": {"bad": {"source": 7}}}'
expect 1 "invalid COGTILER_CONFIG_JSON" tile 0/0/0 -o "$out/t.png"
grep -q 'COGTILER_CONFIG_JSON' "$out/stderr" && grep -q '"bad"' "$out/stderr"
verdict $? "... names the variable and the problem" "$(cat "$out/stderr")"
export COGTILER_CONFIG_JSON='{"layers": {"a": {"source": "x"}}, "allowed_url_prefixes": ["file:///etc/"]}'
expect 1 "allow-list entry that is not an http(s)/s3 URL" tile 0/0/0 -o "$out/t.png"
grep -q 'file:///etc/' "$out/stderr"; verdict $? "... names the entry" "$(cat "$out/stderr")"
unset COGTILER_CONFIG_JSON
expect 2 "no output file" tile 0/0/0
expect 2 "--layer and --source together" tile 0/0/0 --layer a --source b -o "$out/t.png"
expect 2 "unknown option" tile 0/0/0 --bogus 1 -o "$out/t.png"
expect 2 "no subcommand" 
expect 0 "--help" --help
grep -q 'bootstrap tile' "$out/stdout"; verdict $? "--help shows usage"
expect 1 "unwritable output" tile 0/0/0 -o /nonexistent-dir/t.png
# bootstrap stats: the answer on stdout, errors and exit statuses as for tiles
printf '%s' '{"type":"Polygon","coordinates":[[[7.092,45.922],[7.1,45.921],[7.098,45.927],[7.092,45.922]]]}' >"$out/zone.geojson"
expect 0 "stats of a polygon" stats --source test/data/titiler/dem.tif --geojson "$out/zone.geojson" --query 'p=50'
jq -e '.type == "Feature" and .properties.statistics.b1.percentile_50 == .properties.statistics.b1.median' "$out/stdout" >/dev/null
verdict $? "... prints the Feature with its statistics" "$(head -c 200 "$out/stdout")"
printf '%s' '{"type":"Polygon","coordinates":[[[10,10],[11,10],[11,11],[10,10]]]}' | expect 3 "stats of a polygon outside the data (from stdin)" stats --source test/data/titiler/dem.tif --geojson -
