#!/usr/bin/env bash
# Builds the journal reader fuzz target with clang++ (libFuzzer + ASan +
# UBSan) and runs it for SECONDS (default 60) on a copy of the committed seed
# corpus. Exit status non-zero when the fuzzer finds a crash (the reproducer
# is left in the work directory, printed below).
#   tests/fuzz/run_journal_fuzz.sh 30
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
FLASHSTOCK_ROOT=$root
. "$root/tools/lib.sh"
ensure_packages clang-14 libclang-rt-14-dev pkg-config libabsl-dev libxxhash-dev
work=${FLASHSTOCK_FUZZ_DIR:-$root/build-fuzz}
mkdir -p "$work/corpus"
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
# shellcheck disable=SC2046
"$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/engine" -I"$root/engine/include" \
  "$root/tests/fuzz/journal_reader_fuzz.cc" \
  "$root/engine/journal/journal_reader.cc" "$root/engine/journal/journal_format.cc" \
  "$root/engine/journal/snapshot.cc" "$root/engine/base/file.cc" "$root/engine/base/outcome.cc" \
  "$root/engine/base/order_state.cc" \
  $(pkg-config --libs absl_status absl_statusor absl_strings absl_hash absl_raw_hash_set) \
  -o "$work/journal_reader_fuzz"
cp -n "$root"/tests/fuzz/corpus/* "$work/corpus/" 2>/dev/null || true
cd "$work"
./journal_reader_fuzz -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus
echo "fuzzed for ${seconds}s; corpus in $work/corpus"
