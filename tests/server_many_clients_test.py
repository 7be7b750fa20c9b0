"""10,000 idle connections and 1,000 busy ones against one `flashstock serve`
(run by tests/server_py_test.sh, which passes FLASHSTOCK_PORT): every busy
client gets all its answers, in order, and idle ones are still served at the
end. Plain sockets, so the client is not the bottleneck."""
import os
import selectors
import socket
import sys
import time

IDLE = 10_000
BUSY = 1_000
TAKES = 20
PORT = int(os.environ["FLASHSTOCK_PORT"])
DEADLINE = time.monotonic() + 60


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def call(s, line):
    s.sendall(line.encode() + b"\r\n")
    return s.recv(4096)


import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
needed = IDLE + BUSY + 100
if soft < needed:
    if hard != resource.RLIM_INFINITY and hard < needed:
        print(f"server_many_clients_test: SKIPPED (open-file hard limit {hard} < {needed})")
        sys.exit(0)
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))

setup = connect()
assert call(setup, "DEFINE hot 1000000") == b":1000000\r\n"
idle = [connect() for _ in range(IDLE)]
busy = [connect() for _ in range(BUSY)]
t0 = time.monotonic()
sel = selectors.DefaultSelector()
want = {}
got = {}
request = b"TAKE hot 1\r\n" * TAKES
for s in busy:
    s.setblocking(False)
    s.sendall(request)
    sel.register(s, selectors.EVENT_READ)
    got[s] = b""
    want[s] = TAKES
done = 0
while done < BUSY:
    assert time.monotonic() < DEADLINE, f"only {done} of {BUSY} busy clients answered"
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        data = s.recv(65536)
        assert data, "a busy client was closed"
        got[s] += data
        if got[s].count(b"\r\n") == TAKES:
            replies = got[s].split(b"\r\n")[:-1]
            values = [int(r[1:]) for r in replies]
            assert all(r.startswith(b":") for r in replies), replies
            assert values == sorted(values, reverse=True), values  # in order
            sel.unregister(s)
            done += 1
busy_seconds = time.monotonic() - t0
level = call(setup, "LEVEL hot")
assert level.startswith(b"*3\r\n:%d\r\n" % (1_000_000 - BUSY * TAKES)), level
for s in idle[:: IDLE // 100]:
    assert call(s, "PING") == b"+PONG\r\n"
info = call(setup, "INFO clients").decode()
assert f"connected_clients:{IDLE + BUSY + 1}" in info, info
print(f"server_many_clients_test: passed ({IDLE} idle, {BUSY} busy x {TAKES} takes in {busy_seconds:.2f} s)")
sys.exit(0)
