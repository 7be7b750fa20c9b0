# Sourced by the server's shell tests: start `flashstock serve` on a free
# loopback port, stop it by PID. Needs FLASHSTOCK_BIN.
#   server_start [serve options...]   sets SERVER_PID, SERVER_PORT, SERVER_LOG
#   server_stop                       SIGTERM, waits, returns the exit status
server_start() {
  SERVER_LOG=$(mktemp)
  "$FLASHSTOCK_BIN" serve --port 0 --bind 127.0.0.1 "$@" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  SERVER_PORT=
  for _ in $(seq 1 100); do
    SERVER_PORT=$(sed -n 's/^flashstock serve: ready on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SERVER_LOG")
    [ -n "$SERVER_PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start:"; cat "$SERVER_LOG"
  return 1
}

server_stop() {
  local rc=0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" || rc=$?
  return $rc
}
