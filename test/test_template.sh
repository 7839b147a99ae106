#!/bin/bash
# template.yaml (AWS SAM) checked without AWS by test/template/check.js: YAML
# with CloudFormation tags, types and properties against the CloudFormation
# resource specification (npm @aws-cdk/cfnspec, pinned in
# test/template/package-lock.json), references, no dependency cycle, IAM
# limited to the data bucket, the cache key and the outputs. Also
# build-amzn.sh (which cannot run without a container registry) through bash -n
# and shellcheck. Needs node and npm (the packages are installed on first use).
# Prints TAP lines (test/lib/tap.sh); the plan at the end (check.js decides
# how many checks there are).
set -u
. test/lib/tap.sh
tdir=test/template

command -v node >/dev/null || stop "node is installed"
mkdir -p test/out
# The pinned packages, installed when missing or older than the lock file.
if [ ! -f "$tdir/node_modules/.package-lock.json" ] ||
   [ "$tdir/package-lock.json" -nt "$tdir/node_modules/.package-lock.json" ]; then
    if ! (cd "$tdir" && npm ci --no-audit --no-fund --loglevel=error) >test/out/template-npm.log 2>&1; then
        stop "npm ci in $tdir" "$(tail -n 3 test/out/template-npm.log | tr '\n' ' ')"
    fi
fi

# check.js numbers its own lines; renumber them into this script's sequence.
node "$tdir/check.js" template.yaml >test/out/template-check.txt 2>&1
rc=$?
while IFS= read -r line; do
    case $line in
        "ok "*"# SKIP"*) what=${line#ok * - }; skip "${what% # SKIP*}" "${what#* # SKIP }" ;;
        "ok "*) ok "${line#ok * - }" ;;
        "not ok "*) notok "${line#not ok * - }" ;;
        *) echo "$line" ;;
    esac
done <test/out/template-check.txt
if [ $rc != 0 ] && ! grep -q '^not ok ' test/out/template-check.txt; then
    notok "check.js exited with status $rc"
fi

bash -n build-amzn.sh 2>test/out/template-bash.err
verdict $? "build-amzn.sh: bash -n" "$(tr '\n' ' ' <test/out/template-bash.err)"
if command -v shellcheck >/dev/null; then
    shellcheck -S warning build-amzn.sh tools/bundle.sh tools/bundle-deps.sh tools/bundle-figures.sh \
        >test/out/template-shellcheck.txt 2>&1
    verdict $? "shellcheck (warnings and errors): build-amzn.sh and tools/bundle*.sh" \
        "$(head -c 400 test/out/template-shellcheck.txt | tr '\n' ' ')"
else
    skip "shellcheck of build-amzn.sh" "shellcheck not installed"
fi
done_testing
