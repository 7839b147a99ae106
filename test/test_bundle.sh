#!/bin/bash
# The Lambda bundle (`make bundle`, tools/bundle.sh): unzipped into an empty
# directory and run as Lambda runs it, with an empty environment plus the
# variables Lambda sets, under the Runtime API emulator
# (test/lambda_emulator.js). Its tiles, from local COGs of every codec and from
# COGs over HTTP and HTTPS (nginx on 127.0.0.1), must be byte-for-byte those of
# ./bootstrap tile; every shared object it maps must come from the bundle;
# every ELF file's GLIBC needs are listed; and it must also run in a chroot
# that holds nothing but the bundle and a static busybox (no host C library
# at all: the bundle does not depend on the host's glibc version).
#
#   BUNDLE_ZIP=dist/cogtiler-x86_64.zip BOOTSTRAP=./bootstrap bash test/test_bundle.sh
#
# Needs node, jq, curl, unzip, objdump (binutils), nginx (test/lib/nginx.sh), openssl,
# gdal_translate (the codec COGs) and, for the chroot case, root and
# busybox-static (skipped otherwise). Prints TAP lines (test/lib/tap.sh), the
# plan at the end.
set -u
BOOTSTRAP=${BOOTSTRAP:-./bootstrap}
NODE=${NODE:-node}
case $(uname -m) in aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
ZIP=${BUNDLE_ZIP:-dist/cogtiler-$arch.zip}
out=test/out/bundle
. test/lib/tap.sh
. test/lib/proc.sh
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

emu_pid='' bs_pid='' api='' ctl=''
# shellcheck source=test/lib/nginx.sh
. test/lib/nginx.sh
. test/lib/s3rver.sh
. test/lib/lambda_env.sh
trap 'kill_wait $bs_pid $emu_pid; nginx_stop; s3_stop' EXIT

for tool in "$NODE" jq curl unzip objdump readelf base64; do
    command -v "$tool" >/dev/null || stop "$tool is installed"
done
if [ ! -f "$ZIP" ]; then
    stop "the bundle $ZIP exists (make bundle)"
fi
rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
repo=$PWD

# --- the zip ----------------------------------------------------------------------
dir=$out/task        # plays /var/task
mkdir -p "$dir"
unzip -q "$ZIP" -d "$dir"
verdict $? "unzip $ZIP into an empty directory"
zbytes=$(stat -c %s "$ZIP")
ubytes=$(find "$dir" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
nso=$(find "$dir/lib" -name '*.so*' | wc -l)
note "zip $(mb "$zbytes") ($zbytes bytes), unzipped $(mb "$ubytes"), $nso shared objects"
[ "$zbytes" -lt 50000000 ] && [ "$ubytes" -lt 250000000 ]
verdict $? "within Lambda's limits: $(mb "$zbytes") zipped (< 50 MB), $(mb "$ubytes") unzipped (< 250 MB)"

# bootstrap at the root, executable for everyone; nothing but the binary, its
# libraries, proj.db and an optional layers.json.
perm=$(unzip -Z "$ZIP" bootstrap 2>/dev/null | awk '{print $1}')
[ -f "$dir/bootstrap" ] && [[ $perm == -rwxr-xr-x ]]
verdict $? "bootstrap at the zip root, mode $perm"
extra=$(cd "$dir" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' |
        grep -vE '^(bootstrap|bin/cogtiler|lib/[^/]+\.so(\.[0-9]+)*|share/proj/proj\.db|layers\.json)$')
[ -z "$extra" ]
verdict $? "nothing else in the zip" "$(oneline <<<"$extra")"
bad=$(find "$dir" -type l -lname '*/*' -printf '%p -> %l\n')
dangling=$(find "$dir" -xtype l)
[ -z "$bad$dangling" ]
verdict $? "symlinks are relative, within lib/, and resolve" "$(oneline <<<"$bad $dangling")"

# Every DT_NEEDED of every ELF file is in lib/ (nothing resolved from the host).
missing=''
elfs=$(cd "$dir" && find bin lib -type f | LC_ALL=C sort)
for f in $elfs; do
    for need in $(readelf -d "$dir/$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -e "$dir/lib/$need" ] || missing="$missing $f:$need"
    done
done
[ -z "$missing" ]
verdict $? "every library named in DT_NEEDED is in lib/" "$missing"

# The GLIBC symbol versions each ELF file needs (objdump -T, undefined symbols), and that the
# bundled libc.so.6 (+ loader) defines the highest of them.
libc_has=$(objdump -p "$dir/lib/libc.so.6" 2>/dev/null | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -n 1)
note "bundled libc.so.6 defines up to $libc_has"
worst='' report=''
for f in $elfs; do
    need=$(objdump -T "$dir/$f" 2>/dev/null | grep -F '*UND*' | grep -oE '\(GLIBC_[0-9.]+\)' | tr -d '()' |
           sort -uV | tail -n 1)
    [ -n "$need" ] || continue
    report="$report $f=${need#GLIBC_}"
    worst=$(printf '%s\n%s\n' "$worst" "$need" | sed '/^$/d' | sort -V | tail -n 1)
done
note "highest GLIBC version needed per file:$report"
[ -n "$worst" ] && [ "$(printf '%s\n%s\n' "$worst" "$libc_has" | sort -V | tail -n 1)" = "$libc_has" ]
verdict $? "highest GLIBC needed ($worst) is provided by the bundled libc ($libc_has), not the host's"

# --- fixtures: COGs of each codec, a layers file ------------------------------------
# The same small RGB image as COGs of each compression real COGs use; LERC on
# a Float32 DEM. Made with Debian's gdal_translate (not the bundle's GDAL).
cogs=$out/cogs
mkdir -p "$cogs"
rgb=test/data/rasterio/RGB.byte.tif
dem=test/data/titiler/dem.tif
codecs="DEFLATE ZSTD LZW JPEG WEBP"
made=0
if command -v gdal_translate >/dev/null; then
    made=1
    for c in $codecs; do
        gdal_translate -q -of COG -co COMPRESS="$c" -co BLOCKSIZE=256 "$rgb" "$cogs/rgb_$c.tif" \
            >>"$out/cogs.err" 2>&1 || made=0
    done
    gdal_translate -q -of COG -co COMPRESS=LERC_ZSTD -co MAX_Z_ERROR=0 "$dem" "$cogs/dem_LERC.tif" \
        >>"$out/cogs.err" 2>&1 || made=0
fi
verdict $((1 - made)) "codec COGs made with gdal_translate ($codecs LERC_ZSTD)" "$(oneline <"$out/cogs.err" 2>/dev/null)"

# HTTPS: a throw-away CA and a certificate for 127.0.0.1, served by the same
# nginx on a second port. The bundle's libcurl and OpenSSL must verify it
# against SSL_CERT_FILE (which the bundle's bootstrap otherwise points at the
# host's CA bundle).
tls=$out/tls
mkdir -p "$tls"
tls_ok=0
if command -v openssl >/dev/null &&
   openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cogtiler-test-ca \
       -keyout "$tls/ca.key" -out "$tls/ca.crt" >"$tls/log" 2>&1 &&
   openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/server.key" \
       -out "$tls/server.csr" >>"$tls/log" 2>&1 &&
   printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/ext" &&
   openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
       -days 2 -extfile "$tls/ext" -out "$tls/server.crt" >>"$tls/log" 2>&1; then
    tls_ok=1
fi
verdict $((1 - tls_ok)) "a test CA and a certificate for 127.0.0.1 (openssl)" "$(oneline <"$tls/log")"
tls_port=$(free_port)
tls_conf=''
[ $tls_ok = 1 ] && tls_conf="listen 127.0.0.1:$tls_port ssl; ssl_certificate $tls/server.crt; ssl_certificate_key $tls/server.key;"

mkdir -p "$out/www"
cp data/bluemarble_topo_bathy_200412_4326_cog.tif "$cogs/rgb_DEFLATE.tif" "$out/www/" 2>/dev/null
if nginx_start "$out/nginx" "$out/www" "$tls_conf" 2>"$out/nginx.err"; then
    ok "nginx serves the remote COGs on $NGINX_URL (and https://127.0.0.1:$tls_port)"
else
    notok "nginx serves the remote COGs ($(oneline <"$out/nginx.err"))"
fi
url=${NGINX_URL:-http://127.0.0.1:9}
tls_url=https://127.0.0.1:$tls_port
# S3: s3rver on 127.0.0.1 (test/lib/s3rver.sh exports AWS_S3_ENDPOINT and
# s3rver's credentials; the bundle gets them as Lambda passes a role's).
if s3_start "$out/s3" cogs 2>"$out/s3.err" && s3_put "$cogs/rgb_DEFLATE.tif" cogs/rgb_DEFLATE.tif; then
    ok "s3rver holds a COG in bucket cogs (port $S3_PORT)"
else
    notok "s3rver holds a COG ($(oneline <"$out/s3.err"))"
fi

# One layers file for the reference and the bundle. Tiles: "NAME Z/X/Y".
cat >"$out/layers.json" <<EOF
{
  "default_layer": "bluemarble",
  "layers": {
    "bluemarble": { "source": "$repo/data/bluemarble_topo_bathy_200412_4326_cog.tif" },
    "rgb_deflate": { "source": "$cogs/rgb_DEFLATE.tif" },
    "rgb_zstd": { "source": "$cogs/rgb_ZSTD.tif" },
    "rgb_lzw": { "source": "$cogs/rgb_LZW.tif" },
    "rgb_jpeg": { "source": "$cogs/rgb_JPEG.tif" },
    "rgb_webp": { "source": "$cogs/rgb_WEBP.tif" },
    "dem_lerc": { "source": "$cogs/dem_LERC.tif", "colormap": "viridis", "rescale": [1000, 3000] },
    "http_bluemarble": { "source": "$url/bluemarble_topo_bathy_200412_4326_cog.tif" },
    "http_rgb": { "source": "/vsicurl/$url/rgb_DEFLATE.tif" },
    "https_rgb": { "source": "$tls_url/rgb_DEFLATE.tif" },
    "s3_rgb": { "source": "s3://cogs/rgb_DEFLATE.tif" }
  }
}
EOF
# RGB.byte.tif lies off North Carolina (UTM 18N); dem.tif in the Alps.
tiles="bluemarble 2/1/1
bluemarble 5/9/12
rgb_deflate 9/145/219
rgb_zstd 9/145/219
rgb_lzw 9/144/218
rgb_jpeg 9/145/219
rgb_webp 8/72/109
dem_lerc 15/17029/11668
http_bluemarble 2/1/1
http_bluemarble 6/33/22
http_rgb 9/145/219
https_rgb 9/145/219
s3_rgb 9/145/219
s3_rgb 8/72/109"
# Reference tiles: ./bootstrap tile, the build every other test checks.
refs_ok=0 refs_err=''
while read -r layer zxy; do
    f=$out/ref_${layer}_${zxy//\//_}.png
    if ! SSL_CERT_FILE=$tls/ca.crt "$BOOTSTRAP" tile "$zxy" --config "$out/layers.json" --layer "$layer" \
            -o "$f" 2>"$out/ref.err"; then
        refs_err="$refs_err $layer $zxy: $(oneline 120 <"$out/ref.err");"
    else
        refs_ok=$((refs_ok + 1))
    fi
done <<<"$tiles"
[ -z "$refs_err" ]
verdict $? "reference tiles from $BOOTSTRAP tile ($refs_ok)" "$refs_err"

# --- the CLI of the bundle, environment empty ------------------------------------------
env -i "$dir/bootstrap" tile 2/1/1 --config "$out/layers.json" -o "$out/cli.png" 2>"$out/cli.err"
rc=$?
[ $rc = 0 ] && cmp -s "$out/cli.png" "$out/ref_bluemarble_2_1_1.png"
verdict $? "env -i bundle/bootstrap tile 2/1/1 writes the same bytes as $BOOTSTRAP" "exit $rc: $(oneline <"$out/cli.err")"

# Derived layers with the bundle's own muparser and libgomp: an overlay tile
# (slope input) and an expression tile, the same bytes as $BOOTSTRAP's.
test/overlay_fixtures.sh "$out/overlay" >/dev/null 2>&1
derived_err=''
for path in "/tiles/priority/12/1651/2139.png?weights=30,70" \
        "/tiles/ndvi/12/1651/2139.png" "/tiles/l7/12/1651/2139.png?expression=(b4-b3)/(b4%2Bb3)&rescale=-1,1"; do
    "$BOOTSTRAP" request "$path" --config "$out/overlay/layers.json" -o "$out/dref.png" >/dev/null 2>&1
    env -i "$dir/bootstrap" request "$path" --config "$out/overlay/layers.json" -o "$out/dgot.png" \
        >/dev/null 2>"$out/dgot.err"
    cmp -s "$out/dref.png" "$out/dgot.png" || derived_err="$derived_err $path: $(oneline 120 <"$out/dgot.err");"
done
[ -z "$derived_err" ]
verdict $? "derived layers and expression= (muparser in the bundle): the same bytes as $BOOTSTRAP" "$derived_err"

# The other tile formats with the bundle's own libwebp, libjpeg-turbo and GTiff
# writer (linked in), and a paletted PNG (libdeflate): the same bytes.
fmt_err=''
for path in "/tiles/bluemarble/2/1/1.webp" "/tiles/bluemarble/2/1/1.jpg" "/tiles/bluemarble/2/1/1.tif" \
        "/tiles/bluemarble/2/1/1.webp?quality=60" "/tiles/ndvi/12/1651/2139.webp" \
        "/tiles/ndvi/12/1651/2139.tif"; do
    cfg=$out/layers.json
    case $path in /tiles/ndvi/*) cfg=$out/overlay/layers.json ;; esac
    "$BOOTSTRAP" request "$path" --config "$cfg" -o "$out/fref.bin" >/dev/null 2>&1
    env -i "$dir/bootstrap" request "$path" --config "$cfg" -o "$out/fgot.bin" >/dev/null 2>"$out/fgot.err"
    [ -s "$out/fref.bin" ] && cmp -s "$out/fref.bin" "$out/fgot.bin" ||
        fmt_err="$fmt_err $path: $(oneline 120 <"$out/fgot.err");"
done
[ -z "$fmt_err" ]
verdict $? "WebP, JPEG and GeoTIFF tiles (codecs linked into the bundle): the same bytes as $BOOTSTRAP" "$fmt_err"

# TLS is verified: without the test CA the https layer fails (the host's CA
# bundle, which bootstrap picks, does not know it); with it, the tile is right.
env -i "$dir/bootstrap" tile 9/145/219 --config "$out/layers.json" --layer https_rgb -o "$out/tls0.png" \
    2>"$out/tls0.err"
rc=$?
[ $rc != 0 ] && grep -qi 'certificate\|SSL\|TLS' "$out/tls0.err"
verdict $? "https source with an unknown CA is refused by the bundle" "exit $rc: $(oneline <"$out/tls0.err")"
env -i SSL_CERT_FILE="$tls/ca.crt" "$dir/bootstrap" tile 9/145/219 --config "$out/layers.json" --layer https_rgb \
    -o "$out/tls1.png" 2>"$out/tls1.err"
rc=$?
[ $rc = 0 ] && cmp -s "$out/tls1.png" "$out/ref_https_rgb_9_145_219.png"
verdict $? "https source verified against SSL_CERT_FILE: same tile as $BOOTSTRAP" "exit $rc: $(oneline <"$out/tls1.err")"

# --- Lambda: emulator and the bundle's bootstrap -----------------------------------------
"$NODE" test/lambda_emulator.js --timeout-ms 30000 --idle-s 120 >"$out/emu.out" 2>"$out/emu.err" </dev/null &
emu_pid=$!
port=''
for _ in $(seq 100); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out/emu.out")
    [ -n "$port" ] && break
    exited $emu_pid && break
    sleep 0.1
done
api=127.0.0.1:$port ctl=http://127.0.0.1:$port/test
[ -n "$port" ]
verdict $? "Runtime API emulator on $api" "$(oneline <"$out/emu.err")"

# What Lambda gives a provided.al2023 function (see start_bootstrap in
# test/test_lambda.sh) and nothing else: env -i, plus the test CA as
# SSL_CERT_FILE for the https layer. LD_LIBRARY_PATH is Lambda's,
# with Debian's library directories added so that any library the bundle
# failed to resolve itself would visibly come from the host.
start_bundle() { # LOG
    lambda_vars "$api" "$dir"
    (cd "$dir" && exec env -i \
        PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin \
        LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu \
        "${LAMBDA_VARS[@]}" \
        COGTILER_CONFIG="$out/layers.json" \
        SSL_CERT_FILE="$tls/ca.crt" \
        AWS_S3_ENDPOINT="${AWS_S3_ENDPOINT:-}" AWS_HTTPS=NO AWS_VIRTUAL_HOSTING=FALSE \
        AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-}" \
        AWS_SESSION_TOKEN=test-session-token \
        "$dir/bootstrap" </dev/null >>"$out/bundle.out" 2>>"$1") &
    bs_pid=$!
}
wait_next() {
    for _ in $(seq 100); do
        [ "$(ccurl "$ctl/state" | jq -r .waitingNext 2>/dev/null)" -ge 1 ] 2>/dev/null && return 0
        exited "$bs_pid" && return 1
        sleep 0.1
    done
    return 1
}
start_bundle "$out/bundle.err"
wait_next
verdict $? "the bundle's bootstrap (no arguments, env -i + Lambda's variables) waits on GET /next" \
    "$(tail -n 5 "$out/bundle.err" | oneline)"

# invoke_tile LAYER Z/X/Y: a payload 2.0 event for the tile; true when the
# body is the reference tile's bytes.
seq_id=0
invoke_tile() {
    local layer=$1 zxy=$2 id kind
    seq_id=$((seq_id + 1)); id=t$seq_id
    jq --arg p "/tiles/$layer/$zxy.png" \
        '.rawPath = $p | .requestContext.http.path = $p | .rawQueryString = "" | .queryStringParameters = null' \
        test/lambda/http_v2.json >"$out/event.json"
    ccurl --max-time 10 -o /dev/null -X POST --data-binary "@$out/event.json" "$ctl/event?id=$id"
    for _ in $(seq 20); do
        ccurl --max-time 5 -o "$out/outcome.json" "$ctl/outcome/$id?wait_s=1"
        kind=$(jq -r .kind "$out/outcome.json" 2>/dev/null)
        [ "$kind" != pending ] && break
        exited "$bs_pid" && break
    done
    jq -r '.payload // empty' "$out/outcome.json" >"$out/payload.json" 2>/dev/null
    jq -r 'select(.statusCode == 200) | .body // empty' "$out/payload.json" 2>/dev/null |
        base64 -d >"$out/got.png" 2>/dev/null
    cmp -s "$out/got.png" "$out/ref_${layer}_${zxy//\//_}.png"
}
while read -r layer zxy; do
    if [ ! -s "$out/ref_${layer}_${zxy//\//_}.png" ]; then
        notok "$layer $zxy through the bundle: no reference tile"; continue
    fi
    invoke_tile "$layer" "$zxy"
    verdict $? "$layer $zxy through the bundle = $BOOTSTRAP tile" \
        "$(jq -r '"kind \(.kind): \(.payload // .errorBody // "" | .[0:200])"' "$out/outcome.json" 2>/dev/null | oneline)"
done <<<"$tiles"
ranges=$(nginx_requests 2>/dev/null | grep -c ' 206 ')
[ "$ranges" -gt 0 ]
verdict $? "the HTTP layers were read with range requests ($ranges answered 206)"

# Every shared object in the process, loader included, comes from the bundle.
if ! exited "$bs_pid"; then
    maps=$(awk '$6 ~ /^\// { print $6 }' "/proc/$bs_pid/maps" | sort -u)
    sos=$(grep -E '\.so(\.[0-9]+)*$' <<<"$maps")
    foreign=$(grep -vF "$dir/" <<<"$sos")
    exe=$(readlink "/proc/$bs_pid/exe")
    note "mapped files: $(wc -l <<<"$maps"), shared objects: $(wc -l <<<"$sos"), /proc/PID/exe = $exe"
    [ -n "$sos" ] && [ -z "$foreign" ] && grep -qxF "$dir/bin/cogtiler" <<<"$maps"
    verdict $? "every shared object mapped ($(wc -l <<<"$sos")) and the program come from the bundle" \
        "$(oneline <<<"$foreign")"
else
    notok "every shared object mapped comes from the bundle (the process exited: $(tail -n 3 "$out/bundle.err" | oneline))"
fi
kill_wait "$bs_pid"; bs_pid=''

jsonl=$(jq -R 'fromjson? | objects | select(.status == 200)' "$out/bundle.err" 2>/dev/null | jq -s length)
note "bundle log: $jsonl lines with status 200; first lines: $(head -c 300 "$out/bundle.err" | oneline)"

# --- a root that holds nothing but the bundle ---------------------------------------------
# chroot into a directory with the bundle in /var/task, a static busybox as
# /bin/sh and the test COG: no host C library or loader exists there, so this
# proves the bundle needs none (AL2023's glibc 2.34 would not be used either).
busybox=$(command -v busybox || true)
chroot=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot || true)
if [ "$(id -u)" != 0 ] || [ -z "$chroot" ]; then
    skip "the bundle runs in an empty root (busybox sh only)" "needs root for chroot"
elif [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    skip "the bundle runs in an empty root (busybox sh only)" "needs a static busybox (busybox-static)"
else
    root=$out/root
    mkdir -p "$root/var" "$root/bin" "$root/data" "$root/tmp"
    cp -a "$dir" "$root/var/task"
    cp "$busybox" "$root/bin/sh"
    cp "$cogs/rgb_ZSTD.tif" "$root/data/"
    env -i PATH=/bin "$chroot" "$root" /bin/sh /var/task/bootstrap tile 9/145/219 --source /data/rgb_ZSTD.tif \
        -o /tmp/t.png 2>"$out/chroot.err"
    rc=$?
    [ $rc = 0 ] && cmp -s "$root/tmp/t.png" "$out/ref_rgb_zstd_9_145_219.png"
    verdict $? "the bundle runs in an empty root (busybox sh only): same tile as $BOOTSTRAP" \
        "exit $rc: $(oneline <"$out/chroot.err")"
    find "$root" -mindepth 1 -maxdepth 1 ! -name var -exec rm -rf {} +
fi
done_testing
