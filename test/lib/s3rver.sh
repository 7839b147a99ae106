# s3rver.sh - a local S3 (test/lib/s3rver.js) for tests and benchmarks. Source it, then:
#   s3_start DIR BUCKET...  starts it (data and logs in DIR); sets S3_PORT, S3_LOG, and
#                           exports what GDAL's /vsis3/ needs to reach it: AWS_S3_ENDPOINT,
#                           AWS_HTTPS=NO, AWS_VIRTUAL_HOSTING=FALSE, AWS_REGION and
#                           s3rver's credentials.
#   s3_put FILE BUCKET/KEY  uploads FILE with a SigV4-signed PUT (curl --aws-sigv4).
#   s3_stop                 stops it.
#   s3_log_lines            lines in its request log ("METHOD PATH RANGE STATUS").

s3_start() {
    local dir=$1; shift
    mkdir -p "$dir"
    S3_LOG=$dir/requests.log
    : >"$S3_LOG"
    local args=() b
    for b in "$@"; do args+=(--bucket "$b"); done
    : >"$dir/stdout" # before the start: a stale "PORT" line must not be read
    node "$(dirname "${BASH_SOURCE[0]}")/s3rver.js" --dir "$dir/data" --log "$S3_LOG" "${args[@]}" \
        >"$dir/stdout" 2>"$dir/stderr" &
    S3_PID=$!
    S3_PORT=
    local i
    for i in $(seq 100); do
        S3_PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$dir/stdout")
        [ -n "$S3_PORT" ] && break
        kill -0 "$S3_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$S3_PORT" ]; then
        echo "s3_start: s3rver did not start: $(tail -3 "$dir/stderr")" >&2
        return 1
    fi
    export AWS_S3_ENDPOINT=127.0.0.1:$S3_PORT AWS_HTTPS=NO AWS_VIRTUAL_HOSTING=FALSE \
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_NO_SIGN_REQUEST
}

s3_put() {
    curl -sf -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER" \
        -T "$1" "http://127.0.0.1:$S3_PORT/$2" -o /dev/null
}

s3_stop() {
    if [ -n "${S3_PID:-}" ]; then
        kill "$S3_PID" 2>/dev/null
        wait "$S3_PID" 2>/dev/null
        S3_PID=
    fi
}

s3_log_lines() { wc -l <"$S3_LOG"; }
