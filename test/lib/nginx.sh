# nginx.sh - a throw-away nginx (Debian's) on 127.0.0.1 for tests and benchmarks.
# Source it, then:
#   nginx_start DIR ROOT [EXTRA]  serves ROOT (with Range support) from a free
#                                 port; DIR holds its config, logs and pid.
#                                 EXTRA is nginx text added to the server block
#                                 (fault locations and the like).
#                                 Sets NGINX_PORT, NGINX_URL, NGINX_LOG.
#   nginx_stop                    stops it (also done by the caller's EXIT trap
#                                 if it calls nginx_stop there).
#   nginx_requests [FROM_LINE]    the access log from line FROM_LINE (default 1):
#                                 "METHOD URI RANGE STATUS BYTES" per request.
#   nginx_log_lines               how many lines the access log has now.
# Nothing listens anywhere but 127.0.0.1.

NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}

# A port nothing listens on now (the kernel's choice; nginx cannot take 0).
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

nginx_start() {
    local dir=$1 root=$2 extra=${3:-} try
    [ -x "$NGINX_BIN" ] || { echo "nginx_start: nginx not installed (make deps-test)" >&2; return 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    root=$(cd "$root" && pwd)
    NGINX_DIR=$dir
    NGINX_LOG=$dir/access.log
    : >"$NGINX_LOG"
    for try in 1 2 3 4 5; do
        NGINX_PORT=$(free_port)
        cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    types { image/tiff tif tiff; application/xml vrt; }
    default_type application/octet-stream;
    log_format ranges '\$request_method \$uri \$http_range \$status \$body_bytes_sent';
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $root;
        access_log $NGINX_LOG ranges;
        $extra
    }
}
EOF
        mkdir -p "$dir/tmp"
        "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout" 2>&1 &
        NGINX_PID=$!
        local i
        for i in $(seq 50); do
            if curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null; then
                NGINX_URL=http://127.0.0.1:$NGINX_PORT
                : >"$NGINX_LOG"
                return 0
            fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
    done
    echo "nginx_start: nginx did not start: $(cat "$dir/error.log" "$dir/stdout" 2>/dev/null | tail -3)" >&2
    return 1
}

nginx_stop() {
    if [ -n "${NGINX_PID:-}" ]; then
        kill "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
        NGINX_PID=
    fi
}

nginx_log_lines() { wc -l <"$NGINX_LOG"; }

nginx_requests() { tail -n "+${1:-1}" "$NGINX_LOG"; }
