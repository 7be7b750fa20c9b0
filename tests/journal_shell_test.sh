#!/usr/bin/env bash
# The real binary with a journal: sync answers, reopen, verify/dump, a
# damaged journal refused and salvaged. FLASHSTOCK_BIN names the binary.
set -euo pipefail
bin=${FLASHSTOCK_BIN:?}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(printf 'DEFINE tee 10\nTAKE tee 3\nRESTOCK tee 5\nFLOOR tee -2\nTAKEUPTO tee 100\nCHECKPOINT\nTAKE tee 1\n' |
      "$bin" shell --journal "$dir/j" --durability sync 2>/dev/null)
[ "$out" = "$(printf 'OK 10\nOK 7\nOK 12\nOK 12\nOK 14 -2\nOK 5\nERR INSUFFICIENT -2')" ] || fail "sync session: $out"

out=$(printf 'LEVEL tee\nRESTOCK tee 4\n' | "$bin" shell --journal "$dir/j" --durability async 2>/dev/null)
[ "$out" = "$(printf 'OK -2 0 0\nOK 2')" ] || fail "reopen: $out"

"$bin" journal verify "$dir/j" | grep -q '^OK ' || fail "verify of a clean journal"
"$bin" journal dump "$dir/j" 2>/dev/null | grep -q 'RESTOCK sku=0 qty=4' || fail "dump"

# Damage the middle of the newest segment's first record: refused, then salvaged.
seg=$(ls "$dir"/j/journal-*.log | tail -1)
printf '\xff' | dd of="$seg" bs=1 seek=40 conv=notrunc 2>/dev/null
if "$bin" journal verify "$dir/j" >/dev/null; then fail "verify accepted damage"; fi
if printf 'LEVEL tee\n' | "$bin" shell --journal "$dir/j" 2>"$dir/err" >/dev/null; then fail "shell opened damage"; fi
grep -q "at offset 32" "$dir/err" || fail "error names no offset: $(cat "$dir/err")"
out=$(printf 'LEVEL tee\n' | "$bin" shell --journal "$dir/j" --salvage 2>"$dir/err")
[ "$out" = "OK -2 0 0" ] || fail "salvage: $out"
grep -q SALVAGED "$dir/err" || fail "salvage not reported"

# DEFINE above the level ceiling: refused before anything is
# journaled, the same answer as without a journal, no abort.
for flags in "" "--journal $dir/big"; do
  out=$(printf 'DEFINE big 9223372036854775807\nDEFINE top 9206594820854775807\nDEFINE top 9206594820854775808\n' |
        "$bin" shell $flags 2>/dev/null) || fail "shell $flags exited $?"
  [ "$(echo "$out" | cut -d' ' -f1-2)" = "$(printf 'ERR INVALID_QUANTITY\nOK 9206594820854775807\nERR INVALID_QUANTITY')" ] ||
    fail "define past the ceiling ($flags): $out"
done
out=$(printf 'LEVEL big\nLEVEL top\n' | "$bin" shell --journal "$dir/big" 2>/dev/null)
[ "$out" = "$(printf "ERR UNKNOWN_SKU no SKU named 'big'\nOK 9206594820854775807 0 0")" ] || fail "reopen after refused define: $out"

# --order-retention-ms: 100 ms .. 7 days, checked at both edges.
for ok in 100 604800000; do
  printf 'LEVEL x\n' | "$bin" shell --order-retention-ms "$ok" >/dev/null 2>&1 || fail "retention $ok refused"
done
for bad in 99 604800001 -1 x; do
  if printf '' | "$bin" shell --order-retention-ms "$bad" >/dev/null 2>"$dir/err"; then fail "retention $bad accepted"; fi
  grep -q 'order-retention-ms must be 100..604800000' "$dir/err" || fail "retention $bad: $(cat "$dir/err")"
done
echo PASS
