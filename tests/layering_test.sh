#!/usr/bin/env bash
# The engine's parts depend one way (engine/CMakeLists.txt):
#   engine -> orders -> stock -> base;  engine -> journal -> base.
# Every part may also include the public headers (include/flashstock/) except
# engine.h, and the public headers include nothing but each other. Tools see
# only the public headers and the journal's tools-facing reader. This checks
# the #include lines against that; the linker would only catch some of it.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
fail=0
# check FILES... -- ALLOWED_PREFIXES...: every quoted include of FILES names
# a header under one of the prefixes (or a header next to it, no slash).
check() {
  local files=() allowed=()
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  allowed=("$@")
  local f line inc ok a
  for f in "${files[@]}"; do
    while IFS= read -r line; do
      inc=${line#*\"}
      inc=${inc%%\"*}
      ok=0
      for a in "${allowed[@]}"; do
        case "$inc" in "$a"*) ok=1 ;; esac
      done
      if [ "$inc" = flashstock/engine.h ] && [[ "$f" != engine/engine* ]] && [[ "$f" != tools/* ]]; then ok=0; fi
      if [ "$ok" = 0 ]; then
        echo "$f: includes \"$inc\" (allowed here: ${allowed[*]})"
        fail=1
      fi
    done < <(grep -E '^#include "' "$f" | grep -vE '"(absl|boost)/' || true)
  done
}
shopt -s nullglob
check engine/include/flashstock/*.h -- flashstock/
check engine/base/* -- flashstock/ base/
check engine/stock/* -- flashstock/ base/ stock/
check engine/orders/* -- flashstock/ base/ stock/ orders/
check engine/journal/*.h engine/journal/*.cc engine/journal/inspect/flashstock_journal/*.h -- flashstock/ base/ journal/ flashstock_journal/
check engine/*.cc engine/*.h -- flashstock/ base/ stock/ orders/ journal/ engine_ order_journal_adapter.h
check tools/*.cc tools/*.h -- flashstock/ flashstock_journal/ command/ server/ load.h shell.h
exit $fail
