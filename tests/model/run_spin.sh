#!/usr/bin/env bash
# Model-checks the order lifecycle (order_lifecycle.pml) with Spin over every
# interleaving, then checks that each mutant, which drops one rule of the
# protocol, is caught: a model that cannot fail proves nothing.
# Usage: run_spin.sh MODEL.pml
set -euo pipefail
model=${1:?usage: run_spin.sh MODEL.pml}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/model.pml"
cd "$work"

# errors_of [-DMUTANT]: prints Spin's error count for the model (or mutant).
errors_of() {
  spin "$@" -a model.pml >spin.log 2>&1 || { cat spin.log; exit 1; }
  "${CC:-cc}" -O2 -DSAFETY -o pan pan.c
  ./pan -n >pan.log 2>&1 || true
  grep -oE 'errors: [0-9]+' pan.log | grep -oE '[0-9]+' || { cat pan.log; exit 1; }
}

n=$(errors_of)
if [ "$n" != 0 ]; then
  cat pan.log
  echo "FAIL: the order lifecycle model has $n error(s)" >&2
  exit 1
fi
echo "model: every interleaving checked, 0 errors ($(grep -oE '[0-9]+ states, stored' pan.log))"

for mutant in BUG_PLAIN_STORE BUG_RETURN_IGNORES_MOVING BUG_FORGET_WITHOUT_RECHECK; do
  n=$(errors_of "-D$mutant")
  if [ "$n" = 0 ]; then
    echo "FAIL: mutant $mutant was not caught" >&2
    exit 1
  fi
  echo "mutant $mutant: caught ($(grep -m1 -oE 'assertion violated.*' pan.log))"
done
