#!/usr/bin/env bash
# api_slowloris: one client cannot starve the others. Attackers bound to 127.0.0.2 and up hold
# slow connections (one header byte at a time) and open idle ones by the hundred, more than the
# old total limit of 512; meanwhile /healthz from 127.0.0.1 answers and a scan runs to its end.
# The request deadline cuts the slow ones, the per-client limit turns the surplus away.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

mkdir -p "$WORK/tree/d"
echo x >"$WORK/tree/d/f"
# Enough descriptors for the attackers' sockets on both sides.
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
api_start --request-timeout 3 --max-connections-per-client 48 --max-connections 1000

cat >"$WORK/attack.py" <<'PY'
# Slow and idle clients from 127.0.0.2.. (bounded: stops by itself after `seconds`).
import socket, sys, time
port, addrs, per_addr, seconds, report = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = []
for a in range(addrs):
    for _ in range(per_addr):
        s = socket.socket()
        s.bind((f"127.0.0.{2 + a}", 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            s.close()
line = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
cut = set()
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < seconds and len(cut) < len(socks):
    for k, s in enumerate(socks):
        if k in cut:
            continue
        try:
            s.send(line[i % len(line):i % len(line) + 1])
        except OSError:
            cut.add(k)
    i += 1
    time.sleep(0.5)  # the attack's own pace: one byte per connection every half second
with open(report, "w") as f:
    f.write(f"{len(socks)} {len(cut)} {time.monotonic() - t0:.1f}\n")
PY
python3 "$WORK/attack.py" "$PORT" 12 60 20 "$WORK/report" &
attacker=$!

# While it runs: the service answers its other clients, and a scan completes.
served=0
for _ in $(seq 1 20); do
	kill -0 "$attacker" 2>/dev/null || break
	req GET /healthz --max-time 30; expect 200 "healthz during the attack"
	served=$((served + 1))
done
id=$(submit "$WORK/tree")
[[ $(wait_done "$id") == completed ]] || fail "the scan during the attack did not complete"
wait "$attacker" || fail "the attacker failed"
read -r opened cut took <"$WORK/report"
echo "attack: $opened connections opened, $cut cut or turned away by the server in $took s; healthz served $served times"
((served > 0)) || fail "healthz was never asked during the attack"
# 12 addresses x 48 at most: the surplus 12 connections of each address were turned away or cut.
((cut > 0)) || fail "no slow connection was cut by the request deadline"
((cut == opened)) || fail "only $cut of $opened slow connections were cut"

# Idle connects by the thousand from one address: the per-client limit closes the surplus.
python3 - "$PORT" <<'PY' || fail "idle connects"
import socket, sys
port = int(sys.argv[1])
socks, closed = [], 0
for _ in range(1500):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    socks.append(s)
# The ones over the per-client limit are closed by the server: their read sees EOF or a reset.
for s in socks[48:]:
    try:
        closed += s.recv(1) == b""
    except OSError:
        closed += 1
print(f"idle: {len(socks)} connected, {closed} of the surplus closed by the server")
assert closed == len(socks) - 48, closed
PY
req GET /healthz --max-time 30; expect 200 "healthz after the idle connects"
api_stop
echo "api_slowloris: ok"
