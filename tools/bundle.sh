#!/bin/bash
# bundle.sh - `make bundle`: the AWS Lambda (provided.al2023) deployment zip.
#
#   tools/bundle.sh [-o DIST_DIR] [--layers FILE]
#
# 1. tools/bundle-deps.sh builds (once, cached outside the repository) a lean
#    GDAL, PROJ, libcurl and libmicrohttpd, and cJSON and muparser, as static
#    archives;
# 2. the binary is built in build/bundle (never ./bootstrap, build/rel or
#    build/san), with those and every system library that has an archive
#    (OpenSSL, SQLite, the codecs, libstdc++, libgomp) linked in;
# 3. its shared-library closure, the dynamic loader included (on Debian: the
#    loader, libc and libm), is copied into lib/, PROJ's proj.db (without
#    its triggers) into share/proj/, identical files become symlinks;
# 4. `bootstrap` at the root is a small sh script that starts bin/cogtiler
#    through lib/ld-linux-*.so.* --library-path lib, so the bundle uses its own
#    C library (a Debian 12 build needs glibc 2.36; Amazon Linux 2023 has
#    2.34) and nothing of the host's but the kernel, the CA certificates and
#    /etc files;
# 5. DIST_DIR/cogtiler-ARCH.zip (default dist/; ARCH x86_64 or arm64), written
#    with zip -9 -y, files in a fixed order with a fixed time stamp, and
#    DIST_DIR/cogtiler.zip, a hard link to it (template.yaml's CodeUri).
#
# --layers FILE (or BUNDLE_LAYERS=FILE) adds FILE as layers.json at the root:
# the function's COGTILER_CONFIG in template.yaml points there. Without it the
# configuration comes from the function's environment (template.yaml).
# The staged tree is left in build/bundle/stage for inspection.
# Environment: BUNDLE_BUILD (the build directory, default build/bundle;
# build-amzn.sh uses build/amzn-ARCH), BUNDLE_LAYERS, and those of
# tools/bundle-deps.sh (COGTILER_CACHE, BUNDLE_JOBS).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "bundle: $*" >&2; }
die() { say "$*"; exit 1; }

dist=dist
layers=${BUNDLE_LAYERS:-}
while [ $# -gt 0 ]; do
    case $1 in
        -o) dist=$2; shift 2 ;;
        --layers) layers=$2; shift 2 ;;
        *) die "usage: tools/bundle.sh [-o DIST_DIR] [--layers FILE]" ;;
    esac
done
[ -z "$layers" ] || [ -r "$layers" ] || die "--layers $layers: cannot read it"
for tool in zip ldd objdump strip sqlite3; do
    command -v "$tool" >/dev/null || die "$tool is missing (make deps-bundle)"
done

t0=$SECONDS
deps_out=$(tools/bundle-deps.sh) || die "building the lean libraries failed"
mapfile -t prefixes <<<"$deps_out"
[ -n "$deps_out" ] || die "tools/bundle-deps.sh gave no prefixes"
pcpath='' libpath=''
for p in "${prefixes[@]}"; do
    pcpath=${pcpath:+$pcpath:}$p/lib/pkgconfig
    libpath=${libpath:+$libpath:}$p/lib
done
say "lean libraries ready in $((SECONDS - t0)) s"

# --- the binary ---------------------------------------------------------------------
B=${BUNDLE_BUILD:-build/bundle}
# The lean libraries are static archives (tools/bundle-deps.sh), and so is
# every other library with a lib*.a on the system, libstdc++ and libgomp
# included: they are linked into bin/cogtiler, with --gc-sections dropping the
# sections nothing reaches. At start the loader then maps and relocates the
# program and the C library (libc, libm) only, instead of resolving libgdal's
# and libproj's tens of thousands of relocations against 20 objects
# (docs/DEPLOY.md has the figures).
# static_libs FLAGS...: the words of `pkg-config --static --libs`, each -lNAME
# with an archive (in a -L directory given, then on the compiler's path)
# replaced by the archive's path; the C library's own (libc, libm, libdl,
# librt, libpthread) stay shared.
static_libs() {
    local f dirs=() out=() a d
    for f in "$@"; do case $f in -L*) dirs+=("${f#-L}") ;; esac; done
    for f in "$@"; do
        case $f in
        -l*)
            a=''
            case ${f#-l} in c|m|dl|rt|pthread) ;; *)
                for d in "${dirs[@]}"; do
                    [ -f "$d/lib${f#-l}.a" ] && { a=$d/lib${f#-l}.a; break; }
                done
                if [ -z "$a" ]; then
                    a=$(${CC:-cc} -print-file-name="lib${f#-l}.a")
                    [ "$a" != "lib${f#-l}.a" ] || a=''
                fi ;;
            esac
            out+=("${a:-$f}") ;;
        -L*) ;;
        *) out+=("$f") ;;
        esac
    done
    echo "${out[*]}"
}
# shellcheck disable=SC2046 # pkg-config prints words
# (The Makefile's PKGS and libdeflate, named here too although GDAL's static
# dependencies bring them: the program calls them itself.)
pcflags=$(PKG_CONFIG_PATH=$pcpath pkg-config --static --libs gdal libpng libcjson \
       libmicrohttpd libcurl zlib muparser libwebp libjpeg sqlite3 libdeflate) ||
    die "pkg-config --static --libs failed (a library of the bundle without its .pc file)"
libs=$(static_libs $pcflags -lgomp -lstdc++) || die "static_libs failed"
# B= puts every object of this build in build/bundle; LDLIBS replaces the
# Makefile's (shared) link line; the group lets the archives refer to each
# other in any order; -static-libgcc takes C++'s unwinder from libgcc_eh.a.
# Relinked every time: make does not see a change of LDLIBS.
rm -f "$B/cogtiler"
PKG_CONFIG_PATH=$pcpath${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
    make --no-print-directory B="$B" SANITIZE= \
    LDLIBS="-Wl,--start-group $libs -Wl,--end-group -lm -lpthread -ldl" \
    LDFLAGS="-static-libgcc -Wl,--gc-sections -Wl,-O1" "$B/cogtiler" >&2
gdal_pc=$(PKG_CONFIG_PATH=$pcpath pkg-config --variable=prefix gdal)
case $gdal_pc in "${prefixes[-1]}") ;; *) die "linked against the wrong GDAL ($gdal_pc)" ;; esac

# --- stage ------------------------------------------------------------------------
stage=$B/stage
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib" "$stage/share/proj" "$dist"
distabs=$(cd "$dist" && pwd)
cp "$B/cogtiler" "$stage/bin/cogtiler"
strip --strip-unneeded "$stage/bin/cogtiler"

# The closure as the system loader resolves it with the lean prefixes first.
closure=$(LD_LIBRARY_PATH=$libpath ldd "$B/cogtiler") || die "ldd $B/cogtiler failed"
if grep -q 'not found' <<<"$closure"; then
    die "unresolved libraries: $(grep 'not found' <<<"$closure" | tr '\n' ' ')"
fi
# (Where the system has no archive of a library, e.g. Amazon Linux without
# libstdc++-static, it stays a shared object in lib/; the lean ones never do.)
if grep -Eq 'lib(gdal|proj|microhttpd)\.so' <<<"$closure"; then
    die "a lean library is linked shared: $(grep -E 'lib(gdal|proj|microhttpd)\.so' <<<"$closure" | tr '\n' ' ')"
fi
loader=
while read -r name arrow path _; do
    case $name in linux-vdso.so.*|linux-gate.so.*) continue ;; esac
    if [ "$arrow" = "=>" ]; then
        cp -L "$path" "$stage/lib/$name"
    else # the loader: "/lib64/ld-linux-x86-64.so.2 (0x...)"
        loader=${name##*/}
        cp -L "$name" "$stage/lib/$loader"
    fi
done <<<"$closure"
[ -n "$loader" ] || die "no dynamic loader in the closure of $B/cogtiler"

# PROJ's database: the only data file GDAL needs for EPSG codes. Its 35
# triggers (157 kB of SQL) only check rows inserted into it, which PROJ,
# opening it read-only, never does; but SQLite parses the whole schema when
# PROJ first opens it, in every cold start (about 4 ms). The copy has them
# dropped (and is vacuumed); tables, views, indexes and rows are PROJ's.
projdb=$(find "${prefixes[@]}" -path '*/share/proj/proj.db' | head -n 1)
[ -n "$projdb" ] || die "no proj.db in the lean PROJ"
cp "$projdb" "$stage/share/proj/proj.db"
sqlite3 "$stage/share/proj/proj.db" "SELECT 'DROP TRIGGER \"' || name || '\";' FROM sqlite_master
    WHERE type = 'trigger'" >"$B/proj-db-drop.sql" || die "sqlite3 $projdb failed"
{ echo 'BEGIN;'; cat "$B/proj-db-drop.sql"; echo 'COMMIT; VACUUM;'; } |
    sqlite3 "$stage/share/proj/proj.db" || die "dropping proj.db's triggers failed"
[ -z "$layers" ] || cp "$layers" "$stage/layers.json"

cat >"$stage/bootstrap" <<EOF
#!/bin/sh
# cogtiler for AWS Lambda (provided.al2023), made by tools/bundle.sh.
# Starts bin/cogtiler through the loader and libraries in lib/ (the C library
# it was built with), whatever the host's glibc is.
# The bundle's directory, absolute, without a subshell (Lambda gives /var/task/bootstrap).
case \$0 in /*) d=\${0%/*} ;; */*) d=\$PWD/\${0%/*} ;; *) d=\$(command -v -- "\$0"); d=\${d%/*} ;; esac
# proj.db for EPSG codes (PROJ also finds it from lib/../share/proj).
: "\${PROJ_DATA:=\$d/share/proj}"
# No GDAL plug-in directory to scan: every driver is built in.
: "\${GDAL_DRIVER_PATH:=disable}"
# CA certificates for https sources (/vsis3/, /vsicurl/https://): the host's
# bundle (Amazon Linux's path first). OpenSSL and GDAL both read SSL_CERT_FILE.
if [ -z "\${SSL_CERT_FILE:-}" ]; then
    for f in /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/certs/ca-certificates.crt /etc/ssl/cert.pem; do
        if [ -r "\$f" ]; then SSL_CERT_FILE=\$f; export SSL_CERT_FILE; break; fi
    done
fi
export PROJ_DATA GDAL_DRIVER_PATH
exec "\$d/lib/$loader" --inhibit-cache --library-path "\$d/lib" --argv0 "\$0" "\$d/bin/cogtiler" "\$@"
EOF

# Identical files (the same library under two names) become relative symlinks.
declare -A seen=()
while read -r sum file; do
    if [ -n "${seen[$sum]:-}" ]; then
        ln -sf "$(basename "${seen[$sum]}")" "$file"
    else
        seen[$sum]=$file
    fi
done < <(find "$stage/lib" -type f -print0 | sort -z | xargs -0 sha256sum)

# Lambda runs the function as another user: everything readable, programs executable.
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -exec chmod 644 {} +
chmod 755 "$stage/bootstrap" "$stage/bin/cogtiler" "$stage/lib/$loader"

# The loader must be able to start the binary with lib/ alone.
if ! "$stage/bootstrap" --help >/dev/null 2>&1; then
    "$stage/bootstrap" --help >&2 || true
    die "the staged bootstrap does not start"
fi

# --- zip ----------------------------------------------------------------------------
case $(uname -m) in x86_64) arch=x86_64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
zipfile=$dist/cogtiler-$arch.zip
stamp=$(git log -1 --format=%ct 2>/dev/null || date +%s)
find "$stage" -exec touch -h -d "@$stamp" {} +
rm -f "$zipfile"
(cd "$stage" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort |
    TZ=UTC zip -q -9 -y -X -@ "$distabs/${zipfile##*/}")
zbytes=$(stat -c %s "$zipfile")
ubytes=$(find "$stage" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
nlibs=$(find "$stage/lib" -name '*.so*' | wc -l)
say "$zipfile: $(awk -v z="$zbytes" -v u="$ubytes" 'BEGIN { printf "%.1f MB zipped, %.1f MB unzipped", z / 1e6, u / 1e6 }'), $nlibs shared objects, in $((SECONDS - t0)) s"
[ "$zbytes" -lt 50000000 ] || die "over Lambda's 50 MB limit for a direct upload"
[ "$ubytes" -lt 250000000 ] || die "over Lambda's 250 MB unzipped limit"
# template.yaml's CodeUri: the zip built last (a hard link, no copy).
ln -f "$zipfile" "$dist/cogtiler.zip" 2>/dev/null || cp "$zipfile" "$dist/cogtiler.zip"
echo "$zipfile"
