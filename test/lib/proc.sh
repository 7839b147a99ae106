# proc.sh - process helpers of the tests that start servers and runtimes (sourced).
#   oneline [N]        stdin on one line, at most N (300) bytes, for a message
#   exited PID         true once PID is gone or a zombie (a child not yet waited for)
#   kill_wait PID...   TERM, then KILL after 2 s, and reap
#   port_line FILE PID the N of the first "PORT N" line PID writes to FILE (our node
#                      servers' convention), waiting up to 10 s; empty if PID exits first
oneline() { tr '\n\t' '  ' | head -c "${1:-300}"; }
exited() { [ ! -e "/proc/$1/stat" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
kill_wait() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null; done
  for p in "$@"; do
    for _ in $(seq 20); do exited "$p" && break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}
port_line() {
  local port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$1")
    [ -n "$port" ] && break
    exited "$2" && break
    sleep 0.1
  done
  echo "$port"
}
