#!/bin/bash
# build-amzn.sh - the release build of the Lambda zip: tools/bundle.sh run
# inside an amazonlinux:2023 container (Docker or Podman), so that the
# binary and every library in the zip are built on the system Lambda's
# provided.al2023 runtime runs.
#
#   ./build-amzn.sh [--arch x86_64|arm64] [--layers FILE] [--engine docker|podman]
#                   [--image IMAGE] [--jobs N]
#
#   --arch     x86_64 (default) or arm64: the container's --platform
#              (linux/amd64, linux/arm64; another architecture than the host's
#              needs QEMU binfmt support, e.g. docker run --privileged
#              tonistiigi/binfmt --install arm64, and is several times slower).
#   --layers   FILE put in the zip as layers.json (COGTILER_CONFIG in template.yaml).
#   --engine   docker or podman; default: the first one found.
#   --image    the base image (default amazonlinux:2023).
#   --jobs     parallel compile jobs (default 2).
#
# Writes dist/cogtiler-ARCH.zip and links dist/cogtiler.zip to it (template.yaml's
# CodeUri). Builds in build/amzn-ARCH (never over the host's build/ trees).
# The lean GDAL, PROJ and libmicrohttpd are built once into
# ${XDG_CACHE_HOME:-$HOME/.cache}/cogtiler-al2023-ARCH (mounted as the
# container's cache), so the second run only rebuilds cogtiler. The first
# run downloads the pinned releases in tools/bundle-sources.txt and prints
# their SHA-256 when they are not pinned there yet.
#
# This script could not be run where it was written (no container registry
# to pull amazonlinux:2023 from); it was checked with bash -n and shellcheck,
# and the same tools/bundle.sh is tested on Debian by test/test_bundle.sh.
set -euo pipefail
cd "$(dirname "$0")"

arch='' layers='' engine='' image=amazonlinux:2023 jobs=2
usage() { sed -n '2,/^#   --jobs/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --arch) arch=${2:-}; shift 2 ;;
        --layers) layers=${2:-}; shift 2 ;;
        --engine) engine=${2:-}; shift 2 ;;
        --image) image=${2:-}; shift 2 ;;
        --jobs) jobs=${2:-}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "build-amzn.sh: unknown argument $1" >&2; usage ;;
    esac
done
die() { echo "build-amzn.sh: $*" >&2; exit 1; }

case ${arch:-x86_64} in
    x86_64|amd64) arch=x86_64 platform=linux/amd64 ;;
    arm64|aarch64) arch=arm64 platform=linux/arm64 ;;
    *) die "--arch must be x86_64 or arm64" ;;
esac
case $jobs in ''|*[!0-9]*) die "--jobs must be a number" ;; esac
if [ -z "$engine" ]; then
    for e in docker podman; do command -v "$e" >/dev/null && { engine=$e; break; }; done
fi
[ -n "$engine" ] || die "neither docker nor podman found"
command -v "$engine" >/dev/null || die "$engine not found"
if [ -n "$layers" ]; then
    [ -r "$layers" ] || die "--layers $layers: cannot read it"
    # The repository is mounted at /work: the file must be inside it.
    layers_abs=$(cd "$(dirname "$layers")" && pwd)/$(basename "$layers")
    case $layers_abs in
        "$PWD"/*) layers_in=/work/${layers_abs#"$PWD"/} ;;
        *) die "--layers: put $layers inside the repository (it is mounted into the container)" ;;
    esac
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/cogtiler-al2023-$arch
mkdir -p "$cache" dist
tag=cogtiler-build-al2023:$arch

# The build image: Amazon Linux 2023 plus compilers and the -devel packages of
# the libraries taken from the system (libcurl is AL2023's libcurl-minimal:
# HTTP(S) with OpenSSL and nghttp2 only). GDAL, PROJ, libmicrohttpd, cJSON and muparser
# are built from source by tools/bundle-deps.sh.
echo "build-amzn.sh: preparing $tag from $image ($platform, $engine)" >&2
"$engine" build --platform "$platform" -t "$tag" - <<EOF
FROM $image
RUN dnf install -y --setopt=install_weak_deps=False \\
        gcc gcc-c++ make cmake pkgconf-pkg-config tar xz gzip zip unzip binutils findutils glibc-common \\
        diffutils patch file which git sqlite sqlite-devel openssl-devel zlib-devel \\
        libzstd-devel libjpeg-turbo-devel libwebp-devel libpng-devel libcurl-devel \\
        nodejs npm \\
    && dnf clean all
EOF

# Run as the calling user so that build/ and dist/ stay the user's (Podman
# maps it with keep-id; Docker takes the numeric ids).
if [ "$engine" = podman ]; then user=(--userns=keep-id); else user=(--user "$(id -u):$(id -g)"); fi
echo "build-amzn.sh: building the bundle in the container (cache $cache)" >&2
"$engine" run --rm --platform "$platform" "${user[@]}" \
    -v "$PWD:/work" -v "$cache:/cache" -w /work \
    -e HOME=/tmp -e COGTILER_CACHE=/cache -e BUNDLE_JOBS="$jobs" -e BUNDLE_ALLOW_UNPINNED=1 \
    -e BUNDLE_BUILD="build/amzn-$arch" -e npm_config_cache=/cache/npm \
    "$tag" tools/bundle.sh -o dist ${layers_in:+--layers "$layers_in"}

zip=dist/cogtiler-$arch.zip
[ -f "$zip" ] || die "no $zip was written"
echo "build-amzn.sh: $zip ($(stat -c %s "$zip") bytes); dist/cogtiler.zip points at it." >&2
echo "build-amzn.sh: next: sam deploy --guided (Architecture=$arch); see docs/DEPLOY.md" >&2
