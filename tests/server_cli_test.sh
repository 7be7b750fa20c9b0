#!/usr/bin/env bash
# redis-cli against `flashstock serve`: one-shot commands, a piped session,
# SHUTDOWN and SIGTERM stopping cleanly (exit 0), and a journal that keeps
# what was answered across the restart.
set -euo pipefail
. "$(dirname "$0")/server_lib.sh"
fail() { echo "server_cli_test: FAIL: $*"; cat "$SERVER_LOG" 2>/dev/null || true; exit 1; }
expect() {  # expect WANT CMD...
  local want=$1 got
  shift
  got=$(redis-cli -p "$SERVER_PORT" "$@" 2>&1)
  [ "$got" = "$want" ] || fail "$* -> '$got', want '$want'"
}
work=$(mktemp -d)
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$work" "${SERVER_LOG:-}"' EXIT

server_start --threads 2 --journal "$work/j" --durability sync
expect PONG ping
expect 10 DEFINE tee 10
expect 7 take tee 3
expect "INSUFFICIENT 7" TAKE tee 8
expect $'7\n0' TAKEUPTO tee 9
expect 4 RESTOCK tee 4
expect $'4\n0\n0' LEVEL tee
expect OK RESERVE 5 60000 tee 1
expect $'HELD\ntee\n1' ORDER 5
expect OK COMMIT 5
expect "ERR wrong number of arguments for 'take' command" TAKE tee
expect 1 DBSIZE
redis-cli -p "$SERVER_PORT" INFO persistence | grep -q '^loading:0' || fail "INFO has no loading:0"
redis-cli -p "$SERVER_PORT" CONFIG GET appendonly | tr '\n' ' ' | grep -q '^appendonly yes' || fail "CONFIG GET appendonly"

# A piped session: one command per line, answers in order.
got=$(printf 'TAKE tee 1\nLEVEL tee\nTAKE tee 99\nPING\n' | redis-cli -p "$SERVER_PORT")
want=$'2\n2\n0\n1\nINSUFFICIENT 2\n\nPONG'
[ "$got" = "$want" ] || fail "piped session: '$got'"

# redis-benchmark's handshake (CONFIG GET save/appendonly) and a short run.
redis-benchmark -p "$SERVER_PORT" -n 200 -c 4 -q -t ping >/dev/null 2>&1 || fail "redis-benchmark"

# SHUTDOWN: no reply, the server exits 0, the journal keeps every answer.
redis-cli -p "$SERVER_PORT" SHUTDOWN >/dev/null 2>&1 || true
rc=0
wait "$SERVER_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "SHUTDOWN exit status $rc"
grep -q 'flashstock serve: stopped' "$SERVER_LOG" || fail "no clean stop"

server_start --threads 1 --journal "$work/j" --escrow auto
expect $'2\n0\n1' LEVEL tee
expect $'auto\njoined' ESCROW tee   # every SKU auto: split only when contended
expect $'COMMITTED\ntee\n1' ORDER 5
server_stop || fail "SIGTERM exit status $?"
grep -q 'signal 15: stopping' "$SERVER_LOG" || fail "no SIGTERM log line"
"$FLASHSTOCK_BIN" journal verify "$work/j" >/dev/null || fail "journal verify"

# Flags out of range refuse to start, naming the flag.
if "$FLASHSTOCK_BIN" serve --port 0 --escrow on 2>"$work/err"; then fail "started with --escrow on"; fi
grep -q -- '--escrow must be off or auto' "$work/err" || fail "--escrow message: $(cat "$work/err")"
if "$FLASHSTOCK_BIN" serve --port 0 --client-output-stall-ms 99 2>"$work/err"; then fail "started with a 99 ms stall limit"; fi
grep -q -- '--client-output-stall-ms must be 100 .. 3600000' "$work/err" || fail "stall message: $(cat "$work/err")"
if "$FLASHSTOCK_BIN" serve --port 0 --client-output-stall-ms 3600001 2>"$work/err"; then fail "started with a stall limit past the maximum"; fi

# Protected mode: a public address without a password refuses to start.
if "$FLASHSTOCK_BIN" serve --port 0 --bind 0.0.0.0 2>"$work/err"; then fail "started on 0.0.0.0 without a password"; fi
grep -q 'protected mode' "$work/err" || fail "protected mode message"

# A password file: NOAUTH, then AUTH; the password never reaches the log.
printf 'pw-%s\n' "$$" >"$work/pass"
server_start --requirepass-file "$work/pass"
expect "NOAUTH Authentication required." PING
got=$(redis-cli -p "$SERVER_PORT" --no-auth-warning -a "pw-$$" PING)
[ "$got" = PONG ] || fail "AUTH: '$got'"
server_stop || fail "exit status"
if grep -q "pw-$$" "$SERVER_LOG"; then fail "password in the log"; fi
echo "server_cli_test: passed"
