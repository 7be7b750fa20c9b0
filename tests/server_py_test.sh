#!/usr/bin/env bash
# Starts `flashstock serve` (sync journal) and runs a Python script with
# redis-py against it: tests/server_redis_py_test.py or docs/examples/cart.py.
#   server_py_test.sh SCRIPT [serve options...]
set -euo pipefail
. "$(dirname "$0")/server_lib.sh"
work=$(mktemp -d)
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$work" "${SERVER_LOG:-}"' EXIT
script=$1
shift
server_start --threads 2 --journal "$work/j" --durability sync "$@"
rc=0
# Debian's python3, where python3-redis lives (a pyenv python3 on PATH has no redis).
FLASHSTOCK_PORT=$SERVER_PORT timeout 60 "${FLASHSTOCK_PYTHON:-/usr/bin/python3}" "$script" || rc=$?
server_stop || { echo "server exit status $?"; cat "$SERVER_LOG"; exit 1; }
[ "$rc" -eq 0 ] || { cat "$SERVER_LOG"; exit "$rc"; }
