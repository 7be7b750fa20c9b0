#!/usr/bin/env bash
# Network rows: the flash-sale take over real sockets, flashstock serve
# (none, async, sync) against redis-server running the Lua check-and-DECRBY
# that shops use today (no persistence, and appendonly + appendfsync always).
# The load generator is redis-benchmark for every row, so a third-party client
# measures both servers the same way. Every server is started here on a free
# loopback port and stopped by PID.
#
#   bench/resp/resp_bench.sh FLASHSTOCK_BIN [REQUESTS] [CONNECTIONS] [PIPELINE...]
#   bench/resp/resp_bench.sh build/bin/flashstock 200000 50 1 16
#   RESP_BENCH_ROWS="fs-sync redis-aof" bench/resp/resp_bench.sh build/bin/flashstock 100000 50 1
#
# Each row sells out a hot SKU stocked with exactly the requests (redis-
# benchmark stops at the first error reply, so no take may be refused): the
# final level must be exactly 0, neither oversold nor lost. CPU split: the server's CPU
# seconds (from /proc) and the client's (redis-benchmark's user+sys), both
# over the row's wall time; they share the machine's cores.
set -euo pipefail
bin=$1
requests=${2:-200000}
conns=${3:-50}
shift 3 || true
pipelines=("$@")
[ ${#pipelines[@]} -eq 0 ] && pipelines=(1 16)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ticks=$(getconf CLK_TCK)

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_seconds() {  # utime + stime of PID, in seconds
  awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}
wait_ready() {  # PORT
  for _ in $(seq 1 200); do
    redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2
  return 1
}

start_flashstock() {  # MODE -> sets SPID SPORT
  SPORT=$(free_port)
  local args=(serve --bind 127.0.0.1 --port "$SPORT" --skus-max 16)
  [ "$1" != none ] && args+=(--journal "$work/j-$1-$RANDOM" --durability "$1")
  "$bin" "${args[@]}" 2>"$work/serve.log" &
  SPID=$!
  pids+=("$SPID")
  wait_ready "$SPORT"
}
start_redis() {  # aof|none -> sets SPID SPORT
  SPORT=$(free_port)
  local dir="$work/redis-$RANDOM"
  mkdir -p "$dir"
  local args=(--port "$SPORT" --bind 127.0.0.1 --save "" --dir "$dir" --daemonize no --logfile "$dir/log")
  [ "$1" = aof ] && args+=(--appendonly yes --appendfsync always)
  redis-server "${args[@]}" &
  SPID=$!
  pids+=("$SPID")
  wait_ready "$SPORT"
}
stop_server() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }

# run_row NAME PIPELINE SETUP-CMD... -- BENCH-CMD... -- LEVEL-CMD...
row() {
  local name=$1 p=$2 kind=$3 n=$requests stock=$requests
  case $kind in
    fs-*) start_flashstock "${kind#fs-}"
          redis-cli -p "$SPORT" DEFINE hot "$stock" >/dev/null
          cmd=(TAKE hot 1) ;;
    redis-*) start_redis "${kind#redis-}"
          redis-cli -p "$SPORT" SET hot "$stock" >/dev/null
          sha=$(redis-cli -p "$SPORT" SCRIPT LOAD \
            "local v = tonumber(redis.call('GET', KEYS[1])) if v >= tonumber(ARGV[1]) then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return -1")
          cmd=(EVALSHA "$sha" 1 hot 1) ;;
  esac
  local cpu0 t0 t1 cpu1 out
  cpu0=$(cpu_seconds "$SPID")
  t0=$(date +%s.%N)
  out=$( { /usr/bin/time -f "client_cpu %U %S" redis-benchmark -p "$SPORT" -c "$conns" -n "$n" -P "$p" \
           --csv "${cmd[@]}" ; } 2>&1 | tr '\r' '\n' | grep -E '^"[A-Za-z]|client_cpu' | grep -v '^"test"' )
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$SPID")
  local level
  if [[ $kind == fs-* ]]; then
    level=$(redis-cli -p "$SPORT" LEVEL hot | head -1)
  else
    level=$(redis-cli -p "$SPORT" GET hot)
  fi
  stop_server
  local rps p50 p99 ccpu
  rps=$(echo "$out" | grep -v client_cpu | awk -F'","' '{print $2}')
  p50=$(echo "$out" | grep -v client_cpu | awk -F'","' '{print $5}')
  p99=$(echo "$out" | grep -v client_cpu | awk -F'","' '{print $7}')
  ccpu=$(echo "$out" | awk '/client_cpu/ {printf "%.2f", $2 + $3}')
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  printf "| %-28s | %2s | %10s | %6s | %6s | %5s | server %5.2f s, client %5s s of %5s s wall |\n" \
    "$name" "$p" "$rps" "$p50" "$p99" "$level" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" "$ccpu" "$wall"
}

echo "requests $requests per row, $conns connections, a hot SKU stocked with exactly that many units"
echo "| server | P | ops/s | p50 ms | p99 ms | left | CPU |"
echo "|---|---|---|---|---|---|---|"
# RESP_BENCH_ROWS picks rows by kind (default all), e.g. "fs-sync redis-aof"
# to compare two flashstock binaries on the sync row alone.
rows=${RESP_BENCH_ROWS:-fs-none fs-async fs-sync redis-none redis-aof}
declare -A names=([fs-none]="flashstock serve, none" [fs-async]="flashstock serve, async"
  [fs-sync]="flashstock serve, sync" [redis-none]="redis-server + Lua" [redis-aof]="redis + Lua, fsync always")
for p in "${pipelines[@]}"; do
  for kind in $rows; do
    row "${names[$kind]}" "$p" "$kind"
  done
done
