"""redis-py (Debian's python3-redis) against a live `flashstock serve`.

Run by tests/server_py_test.sh, which starts the server and passes its port
in FLASHSTOCK_PORT. Plain calls, typed replies, errors as ResponseError, and
both pipeline kinds (the default wraps MULTI/EXEC).
"""
import os
import sys

import redis

r = redis.Redis(host="127.0.0.1", port=int(os.environ["FLASHSTOCK_PORT"]), socket_timeout=5)

assert r.ping() is True
assert r.execute_command("DEFINE", "tee", 10) == 10
assert r.execute_command("TAKE", "tee", 3) == 7
try:
    r.execute_command("TAKE", "tee", 8)
    raise AssertionError("TAKE past the level was not refused")
except redis.ResponseError as e:
    assert str(e) == "INSUFFICIENT 7", str(e)
assert r.execute_command("TAKEUPTO", "tee", 2) == [2, 5]
assert r.execute_command("LEVEL", "tee") == [5, 0, 0]
assert r.execute_command("RESERVE", 1, 60000, "tee", 2) == b"OK"
assert r.execute_command("ORDER", 1) == [b"HELD", b"tee", 2]
try:
    r.execute_command("TAKE", "tee")
    raise AssertionError("arity not checked")
except redis.ResponseError as e:
    assert str(e) == "wrong number of arguments for 'take' command", str(e)
assert r.client_setname("py") is True
assert r.client_getname() == "py" or r.client_getname() == b"py"
assert r.dbsize() == 1
assert r.execute_command("DEFINE", "hot", 500) == 500
assert r.execute_command("ESCROW", "hot", "on") == [b"on", b"split"]
assert r.execute_command("TAKE", "hot", 2) == 498
assert r.execute_command("escrow", "hot") == [b"on", b"split"]
info = r.info()
assert info["loading"] == 0 and info["connected_clients"] >= 1, info

# The default pipeline: MULTI ... EXEC, answered as one array, in order.
with r.pipeline() as p:
    p.execute_command("TAKE", "tee", 1)
    p.execute_command("LEVEL", "tee")
    assert p.execute() == [2, [2, 2, 0]]

# Errors in place with raise_on_error=False (no rollback, as Redis).
with r.pipeline(transaction=True) as p:
    p.execute_command("TAKE", "tee", 1)
    p.execute_command("TAKE", "tee", 50)
    p.execute_command("LEVEL", "tee")
    out = p.execute(raise_on_error=False)
    assert out[0] == 1, out
    assert isinstance(out[1], redis.ResponseError) and str(out[1]) == "INSUFFICIENT 1", out
    assert out[2] == [1, 2, 0], out

# A plain pipeline (no MULTI): one write, answers in order.
with r.pipeline(transaction=False) as p:
    for _ in range(100):
        p.execute_command("RESTOCK", "tee", 1)
    out = p.execute()
    assert out == list(range(2, 102)), out

assert r.execute_command("COMMIT", 1) == b"OK"
assert r.execute_command("LEVEL", "tee") == [101, 0, 2]
print("server_redis_py_test: passed")
sys.exit(0)
