#!/bin/bash
# bundle-deps.sh - builds, once, the lean libraries the Lambda bundle links
# against, into a cache outside the repository, and prints their prefixes
# (one per line, GDAL's last). Each is a static archive (tools/bundle.sh
# links them into bin/cogtiler).
#
#   proj        PROJ without libtiff and libcurl (no grid download, no TIFF grids)
#   curl        libcurl with HTTP(S) only: OpenSSL, zlib, threaded resolver (no
#               HTTP/2: S3 speaks HTTP/1.1)
#   microhttpd  libmicrohttpd without HTTPS (no GnuTLS)
#   cjson       cJSON (Debian ships no archive of it)
#   muparser    muparser without OpenMP (Debian ships no archive of it)
#   gdal        GDAL with GTiff/COG, VRT, MEM (and the core drivers GDAL always
#               builds: HFA, OGR MEM/GeoJSON/TAB/Shape/KML/VRT); codecs deflate
#               (zlib + libdeflate), zstd, LZW, PackBits, JPEG, WebP, LERC;
#               /vsicurl/ and /vsis3/ through the libcurl above; PROJ above.
#               No apps, no bindings, no optional drivers, internal libtiff
#               and libgeotiff.
#
# Each lands in $CACHE/NAME-VERSION-HASH, where CACHE is $COGTILER_CACHE or
# ${XDG_CACHE_HOME:-$HOME/.cache}/cogtiler and HASH covers the source, the
# recipe (the build function's own text and options), the compiler, the C
# library and the prefixes it was built against: a second run finds them and
# takes a second; changing a recipe rebuilds that one and what depends on it.
#
# Sources: on Debian the distribution's source packages (`apt-get source`:
# gdal 3.6.2+dfsg-1, proj 9.1.1, curl and libmicrohttpd with Debian's security
# patches; deb-src lines are added under /etc/apt/sources.list.d/ if missing);
# elsewhere the pinned upstream releases in tools/bundle-sources.txt, checked
# against their SHA-256 there (see that file). Elsewhere the system's libcurl
# is used (Amazon Linux 2023's libcurl-minimal is already HTTP-only).
#
# Environment: COGTILER_CACHE, BUNDLE_JOBS (parallel jobs, default 2).
# Build output goes to NAME-VERSION-HASH.log in the cache; its tail is shown
# on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${COGTILER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cogtiler}
JOBS=${BUNDLE_JOBS:-2}
SRC=$CACHE/src
mkdir -p "$CACHE" "$SRC"

say() { echo "bundle-deps: $*" >&2; }
die() { say "$*"; exit 1; }
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }

# --- sources ----------------------------------------------------------------------
# deb_src_enable: adds deb-src entries mirroring the deb ones when apt has none.
deb_src_enable() {
    if apt-get indextargets 2>/dev/null | grep -q '^Identifier: Sources$'; then return 0; fi
    local f=/etc/apt/sources.list.d/cogtiler-deb-src.sources tmp
    say "no deb-src entries: adding $f (Debian's source packages, for apt-get source)"
    tmp=$(mktemp)
    {
        echo "# Added by cogtiler tools/bundle-deps.sh: source packages for apt-get source."
        if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
            # deb822 files: the same stanzas with Types: deb-src.
            awk 'BEGIN { RS = ""; ORS = "\n\n" }
                 /(^|\n)Types:[^\n]*deb([ \n]|$)/ && !/(^|\n)Enabled: *no/ {
                     gsub(/Types:[^\n]*/, "Types: deb-src"); print }' /etc/apt/sources.list.d/*.sources
        fi
        if [ -r /etc/apt/sources.list ]; then
            # one-line entries: Types URIs Suites Components
            awk '$1 == "deb" {
                   i = 2; opts = ""
                   if ($i ~ /^\[/) while (i <= NF) { opts = opts " " $i; if ($(i++) ~ /\]$/) break }
                   printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:", $i, $(i + 1)
                   for (j = i + 2; j <= NF; j++) printf " %s", $j
                   printf "\n"
                   if (opts ~ /signed-by=/) { s = opts; sub(/.*signed-by=/, "", s); sub(/[] ].*/, "", s)
                                              printf "Signed-By: %s\n", s }
                   printf "\n" }' /etc/apt/sources.list
        fi
    } >"$tmp"
    grep -q '^Types: deb-src' "$tmp" || { rm -f "$tmp"; die "found no deb entries to mirror as deb-src"; }
    $SUDO install -m 644 "$tmp" "$f"
    rm -f "$tmp"
    $SUDO apt-get update -qq
}

# deb_version PKG [WANT-PREFIX]: the newest source version apt offers (that
# starts with WANT-PREFIX when given).
deb_version() {
    apt-cache showsrc "$1" 2>/dev/null | awk '/^Version:/ { print $2 }' |
        grep -E "^${2:-}" | sort -V | tail -n 1
}

# deb_source PKG VERSION: unpacks the Debian source package (patches applied)
# under $SRC and prints its directory.
deb_source() {
    local pkg=$1 ver=$2 dir=$SRC/deb-$1-$2
    if [ ! -f "$dir/.unpacked" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        (cd "$dir" && apt-get source -qq --only-source "$pkg=$ver" >&2) ||
            die "apt-get source $pkg=$ver failed"
        touch "$dir/.unpacked"
    fi
    find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1
}

# upstream_source NAME: downloads and unpacks the release pinned in
# tools/bundle-sources.txt (NAME VERSION URL SHA256); prints its directory.
upstream_source() {
    local name=$1 line ver url sum file dir
    line=$(awk -v n="$name" '$1 == n && !/^#/' "$here/bundle-sources.txt")
    [ -n "$line" ] || die "no pinned source for $name in tools/bundle-sources.txt"
    read -r _ ver url sum <<<"$line"
    file=$SRC/${url##*/}
    dir=$SRC/up-$name-$ver
    if [ ! -f "$dir/.unpacked" ]; then
        if [ ! -f "$file" ]; then
            curl -fsSL --retry 3 -o "$file.part" "$url" || die "download of $url failed"
            mv "$file.part" "$file"
        fi
        local got
        got=$(sha256sum "$file" | awk '{print $1}')
        if [ "$sum" = "-" ]; then
            say "WARNING: $name $ver is not pinned by checksum; downloaded SHA-256 $got"
            say "         check it against the project's published checksum and record it in tools/bundle-sources.txt"
            [ "${BUNDLE_ALLOW_UNPINNED:-0}" = 1 ] || die "refusing an unpinned source (BUNDLE_ALLOW_UNPINNED=1 to accept)"
        elif [ "$got" != "$sum" ]; then
            rm -f "$file"
            die "$file: SHA-256 $got, expected $sum"
        fi
        rm -rf "$dir" && mkdir -p "$dir"
        tar -xf "$file" -C "$dir"
        touch "$dir/.unpacked"
    fi
    find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1
}

# source_id NAME DEBPKG DEBVERSION-PREFIX: what identifies the source (for the
# hash): "debian PKG VERSION" or "upstream VERSION URL SHA256".
source_id() {
    if is_debian; then
        local v
        v=$(deb_version "$2" "$3")
        [ -n "$v" ] || { deb_src_enable; v=$(deb_version "$2" "$3"); }
        [ -n "$v" ] || die "Debian offers no source package $2 ${3:+($3*)}"
        echo "debian $2 $v"
    else
        awk -v n="$1" '$1 == n { print "upstream", $2, $3, $4 }' "$here/bundle-sources.txt"
    fi
}
# unpack NAME SOURCE-ID...: the source tree for an id from source_id.
unpack() {
    if [ "$2" = debian ]; then deb_source "$3" "$4"; else upstream_source "$1"; fi
}

# --- recipes ----------------------------------------------------------------------
# Each build_NAME SRCDIR PREFIX DESTDIR [DEP-PREFIXES...] configures for PREFIX and
# installs under DESTDIR (the prefix path is baked into .pc files and GDAL).
# Static archives of position-independent code, every function and object in
# its own section: tools/bundle.sh links them into bin/cogtiler with
# --gc-sections, so the loader has no libgdal/libproj/libcurl to map and
# relocate at start, and code nothing reaches is dropped.
SECTIONS_FLAGS='-ffunction-sections -fdata-sections'
CMAKE_COMMON=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF
              -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_C_FLAGS="$SECTIONS_FLAGS"
              -DCMAKE_CXX_FLAGS="$SECTIONS_FLAGS" -DBUILD_TESTING=OFF)
# The same for autoconf builds.
AC_STATIC=(--enable-static --disable-shared --with-pic CFLAGS="-O2 $SECTIONS_FLAGS")

build_proj() {
    local src=$1 prefix=$2 dest=$3
    cmake -S "$src" -B "$BUILD" "${CMAKE_COMMON[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DENABLE_TIFF=OFF -DENABLE_CURL=OFF -DBUILD_APPS=OFF -DBUILD_PROJSYNC=OFF
    cmake --build "$BUILD" -j"$JOBS"
    DESTDIR=$dest cmake --install "$BUILD" --strip
}

build_curl() {
    local src=$BUILD.src prefix=$2 dest=$3 p
    mkdir -p "$BUILD" && cp -a "$1" "$src"
    # Debian's source builds the OpenSSL flavour with its last two patches
    # (GnuTLS, NSS: other library names) popped, as debian/rules does.
    for p in 99_nss 90_gnutls; do
        if [ -f "$src/debian/patches/$p.patch" ] &&
           patch -d "$src" -p1 -R --dry-run -s -f <"$src/debian/patches/$p.patch" >/dev/null; then
            patch -d "$src" -p1 -R -s -f <"$src/debian/patches/$p.patch"
        fi
    done
    # Debian's patches touch configure.ac and Makefile.am: regenerate.
    [ ! -d "$src/debian" ] || (cd "$src" && autoreconf -fi)
    (cd "$BUILD" && "$src/configure" --prefix="$prefix" --libdir="$prefix/lib" \
        "${AC_STATIC[@]}" --disable-manual --disable-dependency-tracking \
        --with-openssl --with-zlib --without-nghttp2 --enable-threaded-resolver \
        --without-brotli --without-zstd --without-libidn2 --without-libpsl --without-librtmp \
        --without-libssh2 --without-libssh --without-gssapi --without-hyper \
        --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
        --disable-pop3 --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-smb \
        --disable-ftp --disable-ntlm-wb \
        --without-ca-bundle --without-ca-path --with-ca-fallback)
    make -C "$BUILD" -j"$JOBS"
    make -C "$BUILD" install-strip DESTDIR="$dest"
}

build_microhttpd() {
    local src=$1 prefix=$2 dest=$3
    mkdir -p "$BUILD"
    (cd "$BUILD" && "$src/configure" --prefix="$prefix" --libdir="$prefix/lib" \
        "${AC_STATIC[@]}" --disable-dependency-tracking \
        --disable-https --without-gnutls --disable-doc --disable-examples --disable-curl \
        --disable-nls)
    make -C "$BUILD" -j"$JOBS"
    make -C "$BUILD" install-strip DESTDIR="$dest"
}

build_cjson() {
    local src=$1 prefix=$2 dest=$3
    cmake -S "$src" -B "$BUILD" "${CMAKE_COMMON[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF
    cmake --build "$BUILD" -j"$JOBS"
    DESTDIR=$dest cmake --install "$BUILD" --strip
}

build_muparser() {
    local src=$1 prefix=$2 dest=$3
    # OpenMP off: expressions are evaluated on the request's thread (src/expr.c)
    cmake -S "$src" -B "$BUILD" "${CMAKE_COMMON[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DENABLE_OPENMP=OFF -DENABLE_SAMPLES=OFF -DENABLE_WIDE_CHAR=OFF
    cmake --build "$BUILD" -j"$JOBS"
    DESTDIR=$dest cmake --install "$BUILD" --strip
}

build_gdal() {
    local src=$1 prefix=$2 dest=$3; shift 3
    local deps; deps=$(IFS=';'; echo "$*")
    local deflate=OFF
    if pkg-config --exists libdeflate 2>/dev/null || [ -e /usr/include/libdeflate.h ]; then deflate=ON; fi
    cmake -S "$src" -B "$BUILD" "${CMAKE_COMMON[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_PREFIX_PATH="$deps" \
        -DBUILD_APPS=OFF -DBUILD_PYTHON_BINDINGS=OFF -DBUILD_JAVA_BINDINGS=OFF \
        -DBUILD_CSHARP_BINDINGS=OFF -DENABLE_GNM=OFF \
        -DGDAL_BUILD_OPTIONAL_DRIVERS=OFF -DOGR_BUILD_OPTIONAL_DRIVERS=OFF \
        -DGDAL_USE_EXTERNAL_LIBS=OFF -DGDAL_USE_INTERNAL_LIBS=OFF \
        -DGDAL_USE_TIFF_INTERNAL=ON -DGDAL_USE_GEOTIFF_INTERNAL=ON -DGDAL_USE_LERC_INTERNAL=ON \
        -DGDAL_USE_JSONC_INTERNAL=ON -DGDAL_USE_SHAPELIB_INTERNAL=ON \
        -DGDAL_USE_ZLIB=ON -DGDAL_USE_DEFLATE="$deflate" -DGDAL_USE_ZSTD=ON -DGDAL_USE_JPEG=ON \
        -DGDAL_USE_WEBP=ON -DGDAL_USE_CURL=ON \
        -DGDAL_USE_JPEG12_INTERNAL=OFF -DGDAL_USE_LIBKML=OFF -DGDAL_USE_OPENJPEG=OFF \
        -DGDAL_ENABLE_DRIVER_JPEG=OFF -DGDAL_ENABLE_DRIVER_PNG=OFF
    # What was enabled, for the log (and a check that nothing else crept in).
    grep -E '^GDAL_USE_[A-Z0-9_]*:BOOL=ON|^(GDAL|OGR)_ENABLE_DRIVER_[A-Z0-9_]*:BOOL=ON' \
        "$BUILD/CMakeCache.txt" | tr '\n' ' '; echo
    cmake --build "$BUILD" -j"$JOBS"
    DESTDIR=$dest cmake --install "$BUILD" --strip
}

# --- driver -----------------------------------------------------------------------
ENV_ID="$(${CC:-cc} --version | head -n 1); $(ldd --version 2>&1 | head -n 1); $(uname -m)"

# component NAME VERSION SOURCE-ID DEP-PREFIX...: builds NAME unless cached;
# prints its prefix.
component() {
    local name=$1 version=$2 srcid=$3; shift 3
    local hash prefix log tmp src lock
    hash=$(printf '%s\n' "$srcid" "$ENV_ID" "$(declare -f "build_$name")" \
           "$(declare -p CMAKE_COMMON AC_STATIC)" "$@" | sha256sum | cut -c1-12)
    prefix=$CACHE/$name-$version-$hash
    if [ -f "$prefix/.complete" ]; then echo "$prefix"; return 0; fi
    lock=$CACHE/.$name.lock
    exec 9>"$lock"
    command -v flock >/dev/null && flock 9
    if [ -f "$prefix/.complete" ]; then exec 9>&-; echo "$prefix"; return 0; fi
    # shellcheck disable=SC2086 # srcid is several words
    src=$(unpack "$name" $srcid)
    log=$CACHE/$name-$version-$hash.log
    tmp=$CACHE/.tmp-$name-$hash
    rm -rf "$tmp" "$prefix"
    BUILD=$tmp/build
    say "building $name $version from $srcid ($JOBS jobs; log $log) ..."
    local t0=$SECONDS rc=0
    # In the background so that set -e holds inside the recipe (it would not
    # in the left-hand side of ||).
    # `times` ends the log with the CPU time of the build's processes.
    (set -e; "build_$name" "$src" "$prefix" "$tmp/dest" "$@"; times) >"$log" 2>&1 </dev/null &
    wait $! || rc=$?
    if [ "$rc" != 0 ] || [ ! -d "$tmp/dest$prefix" ]; then
        tail -n 30 "$log" >&2
        die "building $name failed (exit $rc); full log: $log"
    fi
    mv "$tmp/dest$prefix" "$prefix"
    rm -rf "$tmp"
    { echo "$srcid"; echo "$ENV_ID"
      echo "built in $((SECONDS - t0)) s wall, CPU (user, system) $(tail -n 1 "$log")"; } >"$prefix/.complete"
    say "built $name in $((SECONDS - t0)) s: $prefix"
    exec 9>&-
    echo "$prefix"
}

for tool in cmake make pkg-config sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is missing (make deps-bundle)"
done

deps=()
proj=$(component proj 9.1.1 "$(source_id proj proj 9.1.1)")
deps+=("$proj")
if is_debian; then
    curl=$(component curl 7.88.1 "$(source_id curl curl 7.88.1)")
    deps+=("$curl")
fi
mhd=$(component microhttpd 0.9.75 "$(source_id microhttpd libmicrohttpd 0.9.75)")
# cJSON and muparser: built here too (Debian ships neither as an archive), so
# that nothing C++ is left as a shared object and libstdc++ can be linked in.
cjson=$(component cjson 1.7.15 "$(source_id cjson cjson 1.7.15)")
muparser=$(component muparser 2.3.3 "$(source_id muparser muparser 2.3.3)")
deps+=("$cjson" "$muparser" "$mhd")
gdal=$(component gdal 3.6.2 "$(source_id gdal gdal 3.6.2)" "$proj" ${curl:+"$curl"})
deps+=("$gdal")
printf '%s\n' "${deps[@]}"
