#!/usr/bin/env bash
# Model-checks a Spin model (tests/model/*.pml) over every interleaving, then
# checks that each of its mutants, which drops one rule of the protocol, is
# caught: a model that cannot fail proves nothing. The model names its
# mutants (the -D macros that select them) on one line of its own:
#   /* MUTANTS: BUG_A BUG_B */
# Usage: run_spin.sh MODEL.pml
set -euo pipefail
model=${1:?usage: run_spin.sh MODEL.pml}
name=$(basename "$model")
# The first MUTANTS line only; a model without one would check no mutant.
mutants=$(sed -n 's|^[[:space:]]*/\*[[:space:]]*MUTANTS:\(.*\)\*/[[:space:]]*$|\1|p' "$model" | head -n 1)
if [ -z "${mutants// /}" ]; then
  echo "FAIL: $name has no /* MUTANTS: ... */ line naming its mutants" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/model.pml"
cd "$work"

# errors_of [-DMUTANT]: prints Spin's error count for the model (or mutant).
errors_of() {
  spin "$@" -a model.pml >spin.log 2>&1 || { cat spin.log; exit 1; }
  "${CC:-cc}" -O2 -DSAFETY -o pan pan.c
  ./pan -n >pan.log 2>&1 || true
  # A search cut short by the depth limit has not seen every interleaving.
  if grep -q 'max search depth too small' pan.log; then
    cat pan.log
    echo "FAIL: $name $*: the search hit pan's depth limit (raise it with -m)" >&2
    exit 1
  fi
  grep -oE 'errors: [0-9]+' pan.log | grep -oE '[0-9]+' || { cat pan.log; exit 1; }
}

n=$(errors_of)
if [ "$n" != 0 ]; then
  cat pan.log
  echo "FAIL: $name has $n error(s)" >&2
  exit 1
fi
echo "$name: every interleaving checked, 0 errors ($(grep -oE '[0-9]+ states, stored' pan.log))"

for mutant in $mutants; do
  n=$(errors_of "-D$mutant")
  if [ "$n" = 0 ]; then
    echo "FAIL: $name mutant $mutant was not caught" >&2
    exit 1
  fi
  echo "$name mutant $mutant: caught ($(grep -m1 '^pan:1: ' pan.log | sed 's/^pan:1: //'))"
done
