#!/usr/bin/env bash
# `flashstock load` as an operator runs it: --help, bad flags (exit 2 with a
# line naming the flag), a timed run in each mode with progress, summary and
# an acks file in the shell's language, a clean verify, a second run that
# reuses the SKUs, and SIGTERM as a clean stop. FLASHSTOCK_BIN names the binary.
set -euo pipefail
bin=${FLASHSTOCK_BIN:?}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" load --help | grep -q -- '--acks FILE' || fail "--help lists no --acks"
"$bin" --help | grep -q '^  load ' || fail "usage does not list load"
for bad in "--threads 2 --durability sync" "--journal $dir/x --threads 2" \
           "--journal $dir/x --durability fast --threads 2" "--journal $dir/x --durability sync --threads 0" \
           "--journal $dir/x --durability sync --threads 2 --frob 1" "--journal $dir/x --durability sync --threads"; do
  set +e
  # shellcheck disable=SC2086
  "$bin" load $bad >/dev/null 2>"$dir/err"
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "'load $bad' exited $rc, not 2"
  grep -q '^flashstock load: ' "$dir/err" || fail "'load $bad' gave no error line: $(cat "$dir/err")"
done

for mode in sync async; do
  "$bin" load --journal "$dir/$mode" --durability "$mode" --threads 2 --seconds 1 --acks "$dir/$mode.acks" \
    2>"$dir/$mode.err" || fail "$mode run failed: $(cat "$dir/$mode.err")"
  grep -q '^load: 1s .* ops/s, .* refused/s, .* orders open$' "$dir/$mode.err" || fail "$mode: no progress line"
  grep -q '^RESERVE  *OK ' "$dir/$mode.err" || fail "$mode: no summary row for RESERVE OK"
  grep -q '^main DEFINE load-3 10 -> OK 10$' "$dir/$mode.acks" || fail "$mode: define not acknowledged"
  grep -qE '^[01] (TAKE|RESTOCK|TAKEUPTO|FLOOR|RESERVE|COMMIT|CANCEL|RETURN) .* -> (OK|ERR [A-Z_]+)' "$dir/$mode.acks" \
    || fail "$mode: no change acknowledged in the shell's language"
  "$bin" journal verify "$dir/$mode" >/dev/null || fail "$mode: verify"
done

# A second run recovers and reuses load-0..3: no new define.
"$bin" load --journal "$dir/sync" --durability sync --threads 1 --seconds 1 --skus 5 --acks "$dir/again.acks" 2>/dev/null
[ "$(grep -c ' DEFINE ' "$dir/again.acks")" = 1 ] || fail "second run defined again: $(grep DEFINE "$dir/again.acks")"
grep -q '^main DEFINE load-4 10 -> OK 10$' "$dir/again.acks" || fail "second run did not define load-4"

# SIGTERM: a clean stop with the summary.
"$bin" load --journal "$dir/sync" --durability sync --threads 2 2>"$dir/term.err" &
pid=$!
for _ in $(seq 1 200); do grep -q '^load: 1s' "$dir/term.err" && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid" || fail "SIGTERM stop exited $?"
grep -q 'SIGTERM, stopping' "$dir/term.err" || fail "no stop message"
grep -q 'changes in' "$dir/term.err" || fail "no summary after SIGTERM"
"$bin" journal verify "$dir/sync" >/dev/null || fail "verify after SIGTERM"
echo PASS
