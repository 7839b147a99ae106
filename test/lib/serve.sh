# serve.sh - `bootstrap serve` on a free port of 127.0.0.1 for tests and benchmarks.
# Source it, then:
#   serve_start BOOTSTRAP CONFIG LOGDIR [ARG...]
#                                        starts it (stdout/stderr in LOGDIR/serve.*;
#                                        ARGs such as --workers 1 are passed on),
#                                        waits for its "listening on URL" line;
#                                        sets SERVE_PID, SERVE_PORT and SERVE_URL.
#                                        Returns 1 (stderr's tail on stderr) if it
#                                        did not start within 10 s.
#   serve_stop                           stops it.
serve_start() {
    local bin=$1 config=$2 dir=$3 _
    shift 3
    mkdir -p "$dir"
    : >"$dir/serve.out" # before the start: a stale line must not be read
    "$bin" serve --host 127.0.0.1 --port 0 --config "$config" "$@" >"$dir/serve.out" 2>>"$dir/serve.err" &
    SERVE_PID=$!
    SERVE_PORT=
    for _ in $(seq 200); do
        SERVE_PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$dir/serve.out")
        [ -n "$SERVE_PORT" ] && break
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$SERVE_PORT" ]; then
        echo "serve_start: bootstrap serve did not start: $(tail -3 "$dir/serve.err")" >&2
        return 1
    fi
    SERVE_URL=http://127.0.0.1:$SERVE_PORT
}

serve_stop() {
    if [ -n "${SERVE_PID:-}" ]; then
        kill "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        SERVE_PID=
    fi
}
