#!/usr/bin/env bash
# Drives the real `flashstock shell` binary through a pipe, good and malformed
# input, and checks every answer line.
set -euo pipefail
bin=${FLASHSTOCK_BIN:?}
long=$(head -c 10000 /dev/zero | tr '\0' 'x')
actual=$(printf '%s\n' \
  'DEFINE tee 5' '' '# a comment' 'take tee 2' 'TAKE tee 9' 'TAKEUPTO tee 9' \
  'RESTOCK tee 4' 'LEVEL tee' 'TAKE ghost 1' 'TAKE tee -1' 'TAKE tee x' \
  "TAKE $long 1" 'NOPE' 'LEVEL tee' \
  'RESERVE 7 60000 tee 1 tee 1' 'LEVEL tee' 'ORDER 7' 'RESERVE 7 60000 tee 2' 'RESERVE 7 60000 tee 3' \
  'RESERVE 8 60000 tee 3' 'COMMIT 7' 'COMMIT 7' 'CANCEL 7' 'LEVEL tee' 'RETURN 7' 'LEVEL tee' \
  'CANCEL 8' 'ORDER 9' 'COMMIT 0' | "$bin" shell --skus-max 2 --orders-max 16)
expected='OK 5
OK 3
ERR INSUFFICIENT 3
OK 3 0
OK 4
OK 4 0 0
ERR UNKNOWN_SKU no SKU named '"'"'ghost'"'"'
ERR INVALID_QUANTITY quantity -1 refused (must be > 0 and keep the level <= 9206594820854775807; floors <= 0)
ERR BAD_COMMAND '"'"'x'"'"' is not an integer in the int64 range
ERR BAD_COMMAND line longer than 4096 bytes
ERR BAD_COMMAND unknown verb '"'"'NOPE'"'"'
OK 4 0 0
OK
OK 2 2 0
OK HELD tee 2
OK
ERR ORDER_CONFLICT
ERR INSUFFICIENT tee 2
OK
ERR ORDER_CLOSED COMMITTED
ERR ORDER_CLOSED COMMITTED
OK 2 0 2
OK
OK 4 0 0
ERR ORDER_CLOSED FAILED
ERR UNKNOWN_ORDER
ERR BAD_COMMAND '"'"'0'"'"' is not an order id (a decimal integer 1..2^64-1)'
if [[ "$actual" != "$expected" ]]; then
  diff <(echo "$expected") <(echo "$actual") || true
  echo "shell_pipe_test: FAILED"
  exit 1
fi
# Answers are flushed per command: a coprocess sees each answer before sending the next line.
coproc SHELL_PROC { "$bin" shell; }
echo 'DEFINE a 1' >&"${SHELL_PROC[1]}"
read -r -t 10 line <&"${SHELL_PROC[0]}"
[[ "$line" == "OK 1" ]] || { echo "no flushed answer: '$line'"; exit 1; }
echo 'TAKE a 1' >&"${SHELL_PROC[1]}"
read -r -t 10 line <&"${SHELL_PROC[0]}"
[[ "$line" == "OK 0" ]] || { echo "no flushed answer: '$line'"; exit 1; }
exec {SHELL_PROC[1]}>&-
wait
"$bin" --help | grep -q 'shell' || { echo "--help lacks the shell command"; exit 1; }
"$bin" shell --help | grep -q 'TAKEUPTO' || { echo "shell --help lacks the verbs"; exit 1; }
"$bin" shell --help | grep -q 'RESERVE order ttl_ms' || { echo "shell --help lacks the order verbs"; exit 1; }
if "$bin" shell --orders-max 0 </dev/null 2>/dev/null; then echo "--orders-max 0 accepted"; exit 1; fi
if "$bin" bogus 2>/dev/null; then echo "unknown command accepted"; exit 1; fi
echo "shell_pipe_test: passed"
