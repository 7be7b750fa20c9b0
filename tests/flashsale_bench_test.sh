#!/usr/bin/env bash
# Drives the real flashsale-bench binary: a short run of the embedded back
# ends must pass and write JSON and SVG; a rigged back end that oversells
# must make it exit 1 with the row marked FAILED.
set -euo pipefail
bin=${FLASHSALE_BENCH:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bin" --backends flashstock,flashstock-orders,flashstock-escrow,atomic,mutex,sqlite --workloads hot,skewed \
  --modes sellout,steady --clients 1,2 --ops 2000 --duration 0.3 --fsync-seconds 0.05 --json "$out/rows.json" --plot "$out/plot.svg" \
  >"$out/table.txt" 2>"$out/progress.txt" || { cat "$out/table.txt" "$out/progress.txt"; exit 1; }
grep -q '^flashstock  *none  *hot/sell-out' "$out/table.txt"
grep -q '^flashstock-escrow  *none  *hot/sell-out .* ok$' "$out/table.txt"
grep -q '^flashstock-escrow  *async  *hot/steady .* ok$' "$out/table.txt"
grep -q '^fdatasync' "$out/table.txt"
if grep -q FAILED "$out/table.txt"; then cat "$out/table.txt"; exit 1; fi
# 12 back ends (flashstock none/async/sync, flashstock-orders none/async,
# flashstock-escrow none/async, 2 atomics, mutex, 2 SQLite) x 2 workloads x
# 2 modes x 2 client counts, plus the fdatasync row.
test "$(grep -c '"system"' "$out/rows.json")" -eq 97
test "$(grep -c '"system": "flashstock-escrow"' "$out/rows.json")" -eq 16
grep -q '"p999_us"' "$out/rows.json"
grep -q '</svg>' "$out/plot.svg"

rc=0
"$bin" --backends rigged-oversell --workloads hot --modes sellout --clients 2 --ops 20000 \
  --fsync-seconds 0 >"$out/rigged.txt" 2>/dev/null || rc=$?
test "$rc" -eq 1 || { echo "rigged back end: exit $rc, want 1"; cat "$out/rigged.txt"; exit 1; }
grep -q '^FAILED rigged-oversell.*units oversold' "$out/rigged.txt"

# The escrow rows are listed and in the default set; "flashstock" alone
# picks its own three rows only.
"$bin" --list >"$out/list.txt"
grep -q '^flashstock-escrow/none  *$' "$out/list.txt"
grep -q '^flashstock-escrow/async  *$' "$out/list.txt"
"$bin" --backends flashstock --workloads hot --modes steady --clients 1 --ops 100 \
  --fsync-seconds 0 --json "$out/plain.json" >/dev/null 2>&1
test "$(grep -c '"system": "flashstock"' "$out/plain.json")" -eq 3
test "$(grep -c '"system"' "$out/plain.json")" -eq 3

# Usage errors are exit 2.
rc=0
"$bin" --backends no-such-thing >/dev/null 2>&1 || rc=$?
test "$rc" -eq 2
echo "flashsale-bench: ok"
