#!/usr/bin/env bash
# api_idle: 20 connections that send nothing do not keep other clients waiting (they are
# answered while the idle ones are still open), and the server closes them after its connection
# timeout (10 s), as libmicrohttpd 0.9.75 would not by default.
# Nothing is timed from above: a loaded machine only makes the test slower. The idle clients'
# silence is the scenario: they send nothing and block reading until the server closes them.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
api_start
python3 - "$PORT" <<'PY' || fail "idle connections"
import errno, socket, sys, time, urllib.request
port = int(sys.argv[1])
DEADLINE = 60  # generous: only a server that never closes idle connections misses it


def still_open(s):
    """True while the server has neither closed nor reset the connection (nothing was sent to
    it, so nothing may come back but EOF)."""
    s.setblocking(False)
    try:
        data = s.recv(1)
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        s.setblocking(True)
    assert data == b'', data
    return False


t0 = time.monotonic()
idle = [socket.create_connection(('127.0.0.1', port), timeout=DEADLINE) for _ in range(20)]
for i in range(20):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=DEADLINE) as r:
        assert r.status == 200
    if i == 0:
        # Answered while every idle connection is still open: they did not hold it up (a server
        # that served them first would answer only once it had timed them out).
        closed = sum(not still_open(s) for s in idle)
        assert closed == 0, f'{closed} idle connections were closed before another client was answered'
# Each idle socket must be closed by the server (EOF or reset): a blocking read, that returns
# when the server closes, with a deadline that only stops a server that never does.
for s in idle:
    s.settimeout(max(0.1, t0 + DEADLINE - time.monotonic()))
    try:
        data = s.recv(1)
    except socket.timeout:
        sys.exit(f'an idle connection was still open after {DEADLINE} s')
    except ConnectionResetError:
        data = b''
    assert data == b'', data
waited = time.monotonic() - t0
# A lower bound only (load makes it later, never earlier): the timeout, not an instant close.
assert waited >= 5, f'idle connections closed too early ({waited:.1f} s)'
print(f'idle connections closed after {waited:.1f} s')
PY
# still serving
req GET /healthz; expect 200 "healthz after idle connections"
api_stop
echo "api_idle: ok"
