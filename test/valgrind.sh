#!/bin/bash
# valgrind.sh BUILD_DIR - runs the in-process test programs and a few CLI
# renders under valgrind's memcheck; each run passes when valgrind reports no
# error and no definite leak. Ends with "N passed, N failed".
set -u
bdir=$1
mkdir -p test/out
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=test/valgrind.supp)
p=0 f=0
# check NAME WANT_STATUS COMMAND...: valgrind itself exits 99 on an error.
check() {
  local name=$1 want=$2; shift 2
  "${vg[@]}" "$@" >test/out/valgrind.log 2>&1
  if [ $? = "$want" ]; then
    p=$((p + 1)); echo "ok - valgrind $name"
  else
    f=$((f + 1)); echo "not ok - valgrind $name"; tail -n 40 test/out/valgrind.log
  fi
}
for t in test_tilemath test_route test_colormap test_pngenc test_config test_handler test_source; do
  check "$t" 0 "$bdir/$t"
done
check "bootstrap tile 0/0/0" 0 ./bootstrap tile 0/0/0 -o test/out/valgrind.png
check "bootstrap tile 3/1/1 --tilesize 512" 0 ./bootstrap tile 3/1/1 --tilesize 512 -o test/out/valgrind.png
check "bootstrap tile outside the data (exit 3)" 3 ./bootstrap tile 5/0/0 --source test/data/rasterio/byte.tif -o test/out/valgrind.png
# A remote source: GDAL's /vsicurl/ through a local nginx (test/lib/nginx.sh).
. test/lib/nginx.sh
if nginx_start test/out/valgrind-nginx test/data >/dev/null 2>&1; then
  check "bootstrap tile over HTTP (/vsicurl/)" 0 ./bootstrap tile 9/175/99 \
    --source "$NGINX_URL/rio-tiler/cog.tif" -o test/out/valgrind.png
  check "bootstrap tile over HTTP, object missing (exit 3)" 3 ./bootstrap tile 9/175/99 \
    --source "$NGINX_URL/rio-tiler/nope.tif" -o test/out/valgrind.png
  nginx_stop
else
  f=$((f + 1)); echo "not ok - nginx for the remote valgrind runs"
fi
echo "$p passed, $f failed"
[ "$f" = 0 ]
