#!/usr/bin/env bash
# api_idle: 20 connections that send nothing do not keep other clients waiting, and the server
# closes them after its connection timeout (10 s), as libmicrohttpd 0.9.75 would not by default.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
api_start
python3 - "$PORT" <<'PY' || fail "idle connections"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
idle = []
for _ in range(20):
    s = socket.create_connection(('127.0.0.1', port))
    idle.append(s)
t0 = time.monotonic()
for _ in range(20):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5) as r:
        assert r.status == 200
assert time.monotonic() - t0 < 5, 'other clients were kept waiting'
# Each idle socket must be closed by the server (EOF) within the timeout plus slack.
deadline = t0 + 25
for s in idle:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        data = s.recv(1)
    except socket.timeout:
        sys.exit('an idle connection was still open after 25 s')
    except ConnectionResetError:
        data = b''
    assert data == b'', data
waited = time.monotonic() - t0
assert waited >= 5, f'idle connections closed too early ({waited:.1f} s)'
print(f'idle connections closed after {waited:.1f} s')
PY
# still serving
req GET /healthz; expect 200 "healthz after idle connections"
api_stop
echo "api_idle: ok"
