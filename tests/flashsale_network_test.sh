#!/usr/bin/env bash
# flashsale-bench's network back ends over loopback: a short run of
# flashstock-serve/sync and redis-lua/none, unpipelined and pipelined 4, on
# the hot and uniform workloads; every row in the JSON must be checked ok,
# with the pipeline depth and the server's CPU recorded, and no server left
# running afterwards.
set -euo pipefail
bin=${FLASHSALE_BENCH:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! command -v redis-server >/dev/null; then
  echo "redis-server missing (tools/test installs it)"; exit 1
fi

timeout 60 "$bin" --backends flashstock-serve/sync,redis-lua/none --workloads hot,uniform \
  --modes sellout,steady --clients 3 --pipeline 1,4 --duration 0.3 --ops 3000 --stock 200 \
  --fsync-seconds 0 --dir "$out" --json "$out/rows.json" >"$out/table.txt" 2>"$out/progress.txt" ||
  { cat "$out/table.txt" "$out/progress.txt"; exit 1; }
if grep -q FAILED "$out/table.txt"; then cat "$out/table.txt"; exit 1; fi

# 2 back ends x 2 pipeline depths x 2 workloads x 2 modes, each checked ok.
python3 - "$out/rows.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
want = {(s, v, w, p) for s, v in [("flashstock-serve", "sync"), ("redis-lua", "none")]
        for w in ["hot/sell-out", "hot/steady", "uniform/sell-out", "uniform/steady"] for p in [1, 4]}
got = {(r["system"], r["variant"], r["workload"], r["pipeline"]) for r in rows}
assert got == want, f"rows: missing {want - got}, extra {got - want}"
for r in rows:
    name = f'{r["system"]}/{r["variant"]} {r["workload"]} P{r["pipeline"]}'
    assert r["check"] == "ok", f"{name}: {r['check']} {r['why']}"
    assert r["oversold"] == 0 and r["unsold_with_demand"] == 0, name
    assert r["ops"] > 0 and r["accepted"] > 0, name
    assert r["server_cpu_s"] >= 0, f"{name}: no server CPU"
    if r["workload"] == "hot/sell-out":
        assert r["accepted"] == 200 and r["left"] == 0, f"{name}: sold {r['accepted']}, left {r['left']}"
print(f"{len(rows)} network rows ok")
PY
grep -q 'client .* + server .* cores' "$out/table.txt"

# Every server the bench started was stopped by PID: none still has a file
# open under the scratch directory.
sleep 0.2
for p in /proc/[0-9]*; do
  if ls -l "$p/cwd" "$p/fd" 2>/dev/null | grep -q "$out/flashsale-bench-"; then
    echo "a server survived the bench: $(cat "$p/cmdline" | tr '\0' ' ')"; exit 1
  fi
done
echo "flashsale-bench network: ok"
