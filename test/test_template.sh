#!/bin/bash
# template.yaml (AWS SAM) checked without AWS by test/template/check.js: YAML
# with CloudFormation tags, types and properties against the CloudFormation
# resource specification (npm @aws-cdk/cfnspec, pinned in
# test/template/package-lock.json), references, no dependency cycle, IAM
# limited to the data bucket, the cache key and the outputs. Also
# build-amzn.sh (which cannot run without a container registry) through bash -n
# and shellcheck. Needs node and npm (the packages are installed on first use).
# Prints TAP-style lines.
set -u
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
tdir=test/template

command -v node >/dev/null || { notok "node is installed"; exit 1; }
mkdir -p test/out
# The pinned packages, installed when missing or older than the lock file.
if [ ! -f "$tdir/node_modules/.package-lock.json" ] ||
   [ "$tdir/package-lock.json" -nt "$tdir/node_modules/.package-lock.json" ]; then
    if ! (cd "$tdir" && npm ci --no-audit --no-fund --loglevel=error) >test/out/template-npm.log 2>&1; then
        notok "npm ci in $tdir: $(tail -n 3 test/out/template-npm.log | tr '\n' ' ')"; exit 1
    fi
fi

# check.js numbers its own lines; renumber them into this script's sequence.
node "$tdir/check.js" template.yaml >test/out/template-check.txt 2>&1
rc=$?
while IFS= read -r line; do
    case $line in
        "ok "*) ok "${line#ok * - }" ;;
        "not ok "*) notok "${line#not ok * - }" ;;
        *) echo "$line" ;;
    esac
done <test/out/template-check.txt
if [ $rc != 0 ] && ! grep -q '^not ok ' test/out/template-check.txt; then
    notok "check.js exited with status $rc"
fi

if bash -n build-amzn.sh 2>test/out/template-bash.err; then ok "build-amzn.sh: bash -n"
else notok "build-amzn.sh: bash -n ($(tr '\n' ' ' <test/out/template-bash.err))"; fi
if command -v shellcheck >/dev/null; then
    if shellcheck -S warning build-amzn.sh tools/bundle.sh tools/bundle-deps.sh tools/bundle-figures.sh \
        >test/out/template-shellcheck.txt 2>&1; then
        ok "shellcheck (warnings and errors): build-amzn.sh and tools/bundle*.sh"
    else
        notok "shellcheck: build-amzn.sh and tools/bundle*.sh ($(head -c 400 test/out/template-shellcheck.txt | tr '\n' ' '))"
    fi
else
    echo "ok $((n += 1)) - shellcheck of build-amzn.sh # SKIP shellcheck not installed"
fi
