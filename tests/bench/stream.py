#!/usr/bin/env python3
"""stream.py: streaming a scan's entries (NDJSON) beside `bfs -printf` on the same tree.

    python3 tests/bench/stream.py LEINDEXD TREE [RUNS]

Starts LEINDEXD on a free loopback port with a scratch data directory, then runs, interleaved
RUNS times (default 9) so that a busy machine weighs on each alike:

  bfs       bfs TREE -printf '%p\\t%s\\t%T@\\t%m\\n' > /dev/null (the benchmark's reference)
  stream    GET /scans/ID/entries with Accept: application/x-ndjson of one completed scan, read
            to the end and discarded by one keep-alive client (no JSON parsing)
  stream_gz the same with Accept-Encoding: gzip (the bytes as sent, not decoded)
  path      POST /scans, GET /scans/ID?wait=60 until completed, then the stream, then DELETE

and prints the medians and the ratios to bfs as JSON. Every scan uses use_gitignore=false, so
the stream holds every entry bfs prints (the root aside). The counts are checked: the stream must
have as many lines as bfs prints entries, minus the root.
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stream(conn, sid, enc=None):
    hdrs = {"Accept": "application/x-ndjson"}
    if enc:
        hdrs["Accept-Encoding"] = enc
    conn.request("GET", f"/scans/{sid}/entries", headers=hdrs)
    r = conn.getresponse()
    assert r.status == 200, r.status
    lines = 0
    while True:
        b = r.read(1 << 16)
        if not b:
            break
        lines += b.count(b"\n")
    return lines


def scan(conn, tree):
    conn.request("POST", "/scans", body=json.dumps({"root": tree, "use_gitignore": False}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 202, body
    sid = body["id"]
    for _ in range(100):
        conn.request("GET", f"/scans/{sid}?wait=60")
        r = conn.getresponse()
        st = json.loads(r.read())["state"]
        if st == "completed":
            return sid
        assert st in ("queued", "running"), st
    raise SystemExit("the scan did not complete")


def main():
    leindexd, tree = sys.argv[1], os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    work = tempfile.mkdtemp(prefix="leindex-stream.")
    port = free_port()
    log = open(os.path.join(work, "server.log"), "wb")
    srv = subprocess.Popen([leindexd, "--listen", f"127.0.0.1:{port}", "--data-dir",
                            os.path.join(work, "data"), "--log-level", "warn"],
                           stdout=log, stderr=log)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                c.request("GET", "/healthz")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        sid = scan(conn, tree)
        bfs_cmd = ["bfs", tree, "-printf", "%p\t%s\t%T@\t%m\n"]
        want = int(subprocess.run(bfs_cmd, capture_output=True, check=True).stdout.count(b"\n")) - 1
        times = {"bfs": [], "stream": [], "stream_gz": [], "path": []}
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(bfs_cmd, stdout=subprocess.DEVNULL, check=True)
            times["bfs"].append(time.perf_counter() - t)
            t = time.perf_counter()
            n = stream(conn, sid)
            times["stream"].append(time.perf_counter() - t)
            assert n == want, (n, want)
            t = time.perf_counter()
            stream(conn, sid, "gzip")
            times["stream_gz"].append(time.perf_counter() - t)
            t = time.perf_counter()
            other = scan(conn, tree)
            n = stream(conn, other)
            times["path"].append(time.perf_counter() - t)
            assert n == want, (n, want)
            conn.request("DELETE", f"/scans/{other}")
            conn.getresponse().read()
        med = {k: statistics.median(v) for k, v in times.items()}
        out = {"tree": tree, "entries": want, "runs": runs,
               "median_seconds": {k: round(v, 4) for k, v in med.items()},
               "ratio_to_bfs_printf": {k: round(v / med["bfs"], 3) for k, v in med.items()
                                       if k != "bfs"}}
        print(json.dumps(out, indent=2))
    finally:
        srv.terminate()
        srv.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
