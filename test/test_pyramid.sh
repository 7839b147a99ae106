#!/bin/bash
# Pyramid export (README "Pyramid export"): `bootstrap pyramid` into MBTiles
# and into a folder, checked by test/pyramid_ref.py against `bootstrap request`
# tile by tile (its own enumeration from the TileJSON bounds; GDAL's MBTiles
# driver for the metadata, SQLite for the rows); a re-run that renders
# nothing; a run interrupted by SIGINT, resumed, equal to an uninterrupted
# one; WebP tiles; a source whose blocks cannot be read (failed tiles, exit
# 1); the exit statuses of bad arguments (2) and unknown layers (3).
# TAP output.
set -u
BOOTSTRAP=$(cd "$(dirname "${BOOTSTRAP:-./bootstrap}")" && pwd)/$(basename "${BOOTSTRAP:-./bootstrap}")
PY=/usr/bin/python3
REF=$(pwd)/test/pyramid_ref.py
DATA=$(pwd)/test/data
out=$(pwd)/test/out/pyramid
rm -rf "$out"
mkdir -p "$out"
. test/lib/tap.sh
plan 49
$PY -c 'import osgeo' 2>/dev/null || stop "python3-gdal (make deps-test)"
command -v sqlite3 >/dev/null || stop "the sqlite3 command (make deps-test)"

CFG=$out/layers.json
cat >"$CFG" <<EOF
{"default_layer": "dem", "layers": {
  "dem": {"source": "$DATA/titiler/dem.tif", "colormap": "viridis", "rescale": [1600, 2020],
          "attribution": "test DEM"},
  "cog": {"source": "$DATA/rio-tiler/cog.tif"},
  "broken": {"source": "$out/truncated.tif"},
  "world": {"source": "$(pwd)/data/bluemarble_topo_bathy_200412_4326_cog.tif"},
  "dateline": {"source": "$DATA/rio-tiler/cog_dateline.tif", "rescale": [0, 5000]}
}}
EOF

# each "PASS what" / "FAIL what: why" line of the reference as a TAP line;
# its COUNT line into $ref_count
ref() { tap_ref "$out/ref.err" < <($PY "$REF" "$BOOTSTRAP" "$CFG" "$@" 2>>"$out/ref.err"); }
# the summary line's NAME count ("pyramid: 30 tiles, ... 12 written ...") from a run's stderr
count() { grep 'to do: ' "$2" | tail -n 1 | grep -o "[0-9][0-9]* $1" | head -n 1 | cut -d' ' -f1; }
rows() { sqlite3 "$1" 'SELECT count(*) FROM tiles'; }
digest() { sqlite3 "$1" 'SELECT zoom_level, tile_column, tile_row, hex(tile_data) FROM tiles ORDER BY 1, 2, 3' | md5sum; }

# --- MBTiles: a coloured DEM at three zooms --------------------------------------------------
P=(pyramid --config "$CFG")
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 13-16 --jobs 2 -o "$out/dem.mbtiles" 2>"$out/dem.err"
verdict $? "dem z13-16 into MBTiles (--jobs 2): exit 0" "$(tail -n 2 "$out/dem.err")"
ref dem png 13 16 "$out/dem.mbtiles"
read -r n_enum n_ok n_outside <<<"$ref_count"
[ "$(count tiles "$out/dem.err")" = "$n_enum" ] && [ "$(count written "$out/dem.err")" = "$n_ok" ] &&
  [ "$(rows "$out/dem.mbtiles")" = "$n_ok" ]
verdict $? "the run enumerated the reference's $n_enum tiles and wrote the $n_ok the service renders" \
  "$(tail -n 1 "$out/dem.err"), $(rows "$out/dem.mbtiles") rows"
sqlite3 "$out/dem.mbtiles" "PRAGMA integrity_check" | grep -qx ok
verdict $? "SQLite's integrity check passes"
sqlite3 "$out/dem.mbtiles" ".schema tiles" | grep -q 'tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)'
verdict $? "the tiles table has the MBTiles 1.3 columns"

# --- resumed: nothing to do ------------------------------------------------------------------
before=$(digest "$out/dem.mbtiles")
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 13-16 -o "$out/dem.mbtiles" 2>"$out/dem2.err"
rc=$?
[ $rc = 0 ] && grep -q " $n_ok present, $((n_enum - n_ok)) to do" "$out/dem2.err" &&
  [ "$(count written "$out/dem2.err")" = 0 ] && [ "$(digest "$out/dem.mbtiles")" = "$before" ]
verdict $? "a re-run finds every tile present and writes nothing" "exit $rc: $(head -n 1 "$out/dem2.err")"

# --- a box, and a format the file does not hold ---------------------------------------------
BOX=7.09,45.91,7.097,45.93
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 14-16 --bbox $BOX -o "$out/box.mbtiles" 2>"$out/box.err"
verdict $? "--bbox $BOX: exit 0" "$(tail -n 1 "$out/box.err")"
ref dem png 14 16 "$out/box.mbtiles" $BOX
[ "$(rows "$out/box.mbtiles")" -lt "$(sqlite3 "$out/dem.mbtiles" 'SELECT count(*) FROM tiles WHERE zoom_level >= 14')" ]
verdict $? "the box holds fewer tiles than the whole layer"
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 14 --format webp -o "$out/dem.mbtiles" 2>"$out/mixed.err"
rc=$?
[ $rc = 2 ] && grep -q "holds png tiles, not webp" "$out/mixed.err"
verdict $? "adding WebP tiles to a PNG MBTiles file: exit 2" "exit $rc: $(cat "$out/mixed.err")"

# --- across the antimeridian ---------------------------------------------------------------
# planned from /info's bounds (west > east): only the tiles on either side of
# 180; the metadata's bounds do not wrap (TileJSON's, every longitude)
"$BOOTSTRAP" "${P[@]}" --layer dateline --zoom 4-6 -o "$out/dateline.mbtiles" 2>"$out/dateline.err"
verdict $? "a layer across the antimeridian, z4-6: exit 0" "$(tail -n 1 "$out/dateline.err")"
ref dateline png 4 6 "$out/dateline.mbtiles"
[ "$(sqlite3 "$out/dateline.mbtiles" "SELECT count(DISTINCT tile_column) FROM tiles WHERE zoom_level = 6 AND tile_column IN (0, 63)")" = 2 ] &&
  [ "$(count tiles "$out/dateline.err")" -le 8 ]
verdict $? "its tiles lie on both sides of 180, and the plan held no more than 8 (of the reference's $ref_count)" \
  "$(tail -n 1 "$out/dateline.err")"

# --- WebP -------------------------------------------------------------------------------------
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 14-15 --format webp -o "$out/webp.mbtiles" 2>"$out/webp.err"
verdict $? "--format webp: exit 0" "$(tail -n 1 "$out/webp.err")"
ref dem webp 14 15 "$out/webp.mbtiles"
[ "$(sqlite3 "$out/webp.mbtiles" "SELECT count(*) FROM tiles WHERE substr(hex(tile_data), 1, 8) = '52494646' AND substr(hex(tile_data), 17, 8) = '57454250'")" = "$(rows "$out/webp.mbtiles")" ]
verdict $? "every tile is RIFF....WEBP"

# --- a folder -----------------------------------------------------------------------------------
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 13-16 -o "$out/dem-dir/" 2>"$out/dir.err"
verdict $? "dem z13-16 into a folder: exit 0" "$(tail -n 1 "$out/dir.err")"
ref dem png 13 16 "$out/dem-dir/"
same=1
while IFS='|' read -r z x row hex; do
  y=$(( (1 << z) - 1 - row ))
  [ "$(od -An -v -tx1 "$out/dem-dir/$z/$x/$y.png" | tr -d ' \n')" = "${hex,,}" ] || { same=0; break; }
done < <(sqlite3 "$out/dem.mbtiles" 'SELECT zoom_level, tile_column, tile_row, hex(tile_data) FROM tiles')
[ $same = 1 ] && [ "$(find "$out/dem-dir" -name '*.png' | wc -l)" = "$n_ok" ]
verdict $? "the folder holds the MBTiles file's tiles, byte for byte"
[ -z "$(find "$out/dem-dir" -name '*.tmp*')" ] && jq -e '.format == "png" and .name == "dem"' \
  "$out/dem-dir/metadata.json" >/dev/null
verdict $? "no temporary file is left; metadata.json names the layer and format"
empty=$(find "$out/dem-dir/16" -name '*.png' | sort | head -n 1)
: >"$empty" # an empty file (written by something else, cut short) is redone
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 13-16 -o "$out/dem-dir/" 2>"$out/dir2.err"
[ "$(count written "$out/dir2.err")" = 1 ] && [ -s "$empty" ]
verdict $? "a re-run of the folder writes only the empty tile again" "$(tail -n 1 "$out/dir2.err")"

# --- a re-run of another rendering is refused (its tiles would mix with these) ---------------------
before=$(digest "$out/dem.mbtiles")
"$BOOTSTRAP" "${P[@]}" --layer dem --zoom 13-16 --query colormap_name=magma -o "$out/dem.mbtiles" \
  2>"$out/other.err"
rc=$?
[ $rc = 2 ] && grep -q "holds tiles of layer dem .* not of layer dem .* with colormap_name=magma" \
  "$out/other.err" && [ "$(digest "$out/dem.mbtiles")" = "$before" ]
verdict $? "MBTiles: a re-run with another --query exits 2 and leaves the file as it was" \
  "exit $rc: $(cat "$out/other.err")"
before=$(find "$out/dem-dir" -type f | sort | xargs md5sum | md5sum)
"$BOOTSTRAP" "${P[@]}" --layer cog --zoom 13 -o "$out/dem-dir/" 2>"$out/other2.err"
rc=$?
[ $rc = 2 ] && grep -q "holds tiles of layer dem" "$out/other2.err" &&
  [ "$(find "$out/dem-dir" -type f | sort | xargs md5sum | md5sum)" = "$before" ]
verdict $? "a folder: a re-run of another layer exits 2 and writes nothing" \
  "exit $rc: $(cat "$out/other2.err")"

# --- interrupted by SIGINT, then resumed ----------------------------------------------------------
W=(--layer world --zoom 0-5 --jobs 1)
"$BOOTSTRAP" "${P[@]}" "${W[@]}" -o "$out/whole.mbtiles" 2>"$out/whole.err"
verdict $? "the world z0-5 in one run: exit 0" "$(tail -n 1 "$out/whole.err")"
"$BOOTSTRAP" "${P[@]}" "${W[@]}" -o "$out/int.mbtiles" 2>"$out/int.err" &
pid=$!
for _ in $(seq 200); do # until the first progress line: some tiles are done
  grep -q '^pyramid: [0-9]*/' "$out/int.err" 2>/dev/null && break
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
n_int=$(rows "$out/int.mbtiles" 2>/dev/null)
[ $rc = 130 ] && grep -q "interrupted" "$out/int.err" && [ "${n_int:-0}" -gt 0 ] &&
  [ "$n_int" -lt "$(rows "$out/whole.mbtiles")" ]
verdict $? "SIGINT: exit 130 with part of the tiles committed ($n_int)" "exit $rc: $(tail -n 1 "$out/int.err")"
sqlite3 "$out/int.mbtiles" "PRAGMA integrity_check" | grep -qx ok && [ ! -e "$out/int.mbtiles-journal" ] &&
  $PY -c 'import sys; from osgeo import gdal; gdal.UseExceptions(); assert gdal.Open(sys.argv[1]).GetMetadataItem("format") == "png"' "$out/int.mbtiles"
verdict $? "the interrupted file is a valid MBTiles file (integrity check, no journal left, GDAL opens it)"
"$BOOTSTRAP" "${P[@]}" "${W[@]}" -o "$out/int.mbtiles" 2>"$out/int2.err"
rc=$?
[ $rc = 0 ] && grep -q " $n_int present, " "$out/int2.err" &&
  [ "$(count written "$out/int2.err")" = $(($(rows "$out/whole.mbtiles") - n_int)) ]
verdict $? "the resumed run renders only the missing tiles" "exit $rc: $(tail -n 1 "$out/int2.err")"
[ "$(digest "$out/int.mbtiles")" = "$(digest "$out/whole.mbtiles")" ]
verdict $? "interrupted + resumed = one uninterrupted run, tile for tile"

# --- progress ------------------------------------------------------------------------------------
n_lines=$(grep -c '^pyramid: [0-9]*/' "$out/whole.err")
grep -Eq '^pyramid: [0-9]+/1365 tiles, [0-9.]+ tiles/s, ETA [0-9:]+$' "$out/whole.err" && [ "$n_lines" -le 21 ]
verdict $? "not on a terminal: plain progress lines, one per 5% at most ($n_lines)" "$(head -n 3 "$out/whole.err")"
if command -v script >/dev/null; then # a terminal: util-linux's script gives the run a pty
  script -qec "'$BOOTSTRAP' pyramid --config '$CFG' --layer dem --zoom 13-16 -o '$out/tty.mbtiles'" \
    /dev/null >"$out/tty.out" 2>&1
  [ "$(grep -o $'\r\\[[#.]' "$out/tty.out" | wc -l)" -ge 2 ] && # drawn, then redrawn
    tr '\r' '\n' <"$out/tty.out" | grep -Eq '^\[#{30}\] 26/26 tiles +[0-9.]+ tiles/s +ETA [0-9:]+ '
  verdict $? "on a terminal: a bar redrawn in place with \\r, tiles/s and ETA" "$(tr '\r' '|' <"$out/tty.out" | head -c 300)"
else
  skip "on a terminal: a bar redrawn in place" "no script(1) to give the run a terminal"
fi

# --- tiles that fail: a COG cut short -------------------------------------------------------------
head -c 480000 "$DATA/rio-tiler/cog.tif" >"$out/truncated.tif"
"$BOOTSTRAP" "${P[@]}" --layer broken --zoom 5-9 -o "$out/broken.mbtiles" 2>"$out/broken.err"
rc=$?
failed=$(count failed "$out/broken.err")
[ $rc = 1 ] && [ "${failed:-0}" -gt 0 ] && grep -q "bootstrap pyramid: $failed tiles failed" "$out/broken.err" &&
  grep -q 'HTTP 502' "$out/broken.err" && [ "$(rows "$out/broken.mbtiles")" = "$(count written "$out/broken.err")" ] &&
  [ "$(rows "$out/broken.mbtiles")" -gt 0 ]
verdict $? "unreadable blocks: the failures reported and counted ($failed), the rest written, exit 1" \
  "exit $rc: $(tail -n 2 "$out/broken.err" | tr '\n' ' ')"

# --- exit statuses ------------------------------------------------------------------------------
status() { # status WANT WHAT ARGS...: the exit status of bootstrap pyramid ARGS
  local want=$1 what=$2 rc
  shift 2
  "$BOOTSTRAP" pyramid --config "$CFG" "$@" >"$out/status.out" 2>&1
  rc=$?
  [ $rc = "$want" ]
  verdict $? "$what: exit $want" "exit $rc: $(head -n 2 "$out/status.out")"
}
status 2 "no -o" --layer dem
status 2 "-o neither .mbtiles nor a folder" --layer dem -o "$out/x.zip"
status 2 "bad --zoom 9-3" --layer dem --zoom 9-3 -o "$out/x.mbtiles"
status 2 "bad --bbox 1,2,3" --layer dem --bbox 1,2,3 -o "$out/x.mbtiles"
status 2 "--format tif" --layer dem --format tif -o "$out/x.mbtiles"
status 2 "--jobs 0, an unknown option" --layer dem --jobs 0 --bogus 1 -o "$out/x.mbtiles"
status 2 "a --query the tiles refuse (400)" --layer dem --query colormap_name=nope -o "$out/x.mbtiles"
status 3 "an unknown layer" --layer nope -o "$out/x.mbtiles"
[ ! -e "$out/x.mbtiles" ]
verdict $? "no output is created by a refused run"
