#!/usr/bin/env bash
# Builds the RESP parser fuzz target with clang++ (libFuzzer + ASan + UBSan)
# and runs it for SECONDS (default 60) on a copy of the committed seeds.
# Exit status non-zero when the fuzzer finds a crash.
#   tests/fuzz/run_resp_fuzz.sh 20
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
FLASHSTOCK_ROOT=$root
. "$root/tools/lib.sh"
ensure_packages clang-14 libclang-rt-14-dev
work=${FLASHSTOCK_FUZZ_DIR:-$root/build-fuzz}/resp
mkdir -p "$work/corpus"
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
"$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/tools" "$root/tests/fuzz/resp_parser_fuzz.cc" "$root/tools/server/resp.cc" \
  -o "$work/resp_parser_fuzz"
cp -n "$root"/tests/fuzz/resp_corpus/* "$work/corpus/" 2>/dev/null || true
cd "$work"
./resp_parser_fuzz -max_total_time="$seconds" -max_len=2048 -print_final_stats=1 corpus
echo "fuzzed for ${seconds}s; corpus in $work/corpus"
