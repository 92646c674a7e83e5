#!/usr/bin/env python3
"""rescan.py: rescans against a baseline beside full scans of the same tree (issue 11).

    python3 tests/bench/rescan.py LEINDEXD TREE [RUNS] [--no-hash]

Starts LEINDEXD on a free loopback port with a scratch data directory, takes two baselines of
TREE (one plain, one with hash: true), then runs, interleaved RUNS times (default 7) so that a
busy machine weighs on each alike, each timed from POST /scans until GET /scans/ID?wait=60 says
completed (the scan's directory totals and diff counts included, as a client sees it):

  full        a full scan (use_gitignore: false)
  dirs        the same with baseline: the plain one, reuse: dirs
  full_hash   a full scan with hash: true
  hashes      the same with baseline: the hashing one, reuse: hashes

Nothing is deleted while timing (a purge in the background would weigh on the next scans); the
scratch directory goes at the end. Checks on the way:
every scan counts as many entries as the first, `dirs` reads one directory (the root) and
reuses the rest, `hashes` computes no hash. Prints the medians and the ratios (dirs / full,
hashes / full_hash) as JSON. --no-hash leaves out the two hashing modes. LOGLEVEL=debug in
the environment keeps the server's log at that level (server.log in the scratch directory,
removed at the end unless you stop it first): it says how long each scan's totals and diff
counts took.
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


def call(conn, method, path, body=None):
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def scan(conn, body):
    """POSTs a scan and waits until it completes: (id, seconds, its stats)."""
    t = time.perf_counter()
    status, d = call(conn, "POST", "/scans", body)
    assert status == 202, d
    sid = d["id"]
    for _ in range(1000):
        status, d = call(conn, "GET", f"/scans/{sid}?wait=60")
        if d["state"] == "completed":
            break
        assert d["state"] in ("queued", "running"), d
    else:
        raise SystemExit(f"scan {sid} did not complete")
    seconds = time.perf_counter() - t
    stats = dict(d["stats"], entries=d["progress"]["entries"])
    return sid, seconds, stats


def start(leindexd, work):
    port = free_port()
    log = open(os.path.join(work, "server.log"), "wb")
    srv = subprocess.Popen([leindexd, "--listen", f"127.0.0.1:{port}", "--data-dir",
                            os.path.join(work, "data"), "--log-level", os.environ.get("LOGLEVEL","warn")],
                           stdout=log, stderr=log)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.request("GET", "/healthz")
            c.getresponse().read()
            return srv, http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the service did not start")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    hashing = "--no-hash" not in sys.argv
    leindexd, tree = args[0], os.path.abspath(args[1])
    runs = int(args[2]) if len(args) > 2 else 7
    work = tempfile.mkdtemp(prefix="leindex-rescan.")
    srv, conn = start(leindexd, work)
    try:
        plain = {"root": tree, "use_gitignore": False}
        base, _, st = scan(conn, plain)
        entries = st["entries"]
        modes = {"full": plain,
                 "dirs": dict(plain, baseline=base, reuse="dirs")}
        if hashing:
            hbase, _, _ = scan(conn, dict(plain, hash=True))
            modes["full_hash"] = dict(plain, hash=True)
            modes["hashes"] = dict(plain, hash=True, baseline=hbase, reuse="hashes")
        times = {m: [] for m in modes}
        for _ in range(runs):
            for mode, body in modes.items():
                sid, seconds, st = scan(conn, body)
                assert st["entries"] == entries, (mode, st["entries"], entries)
                if mode == "dirs":
                    assert st["dirs_read"] == 1 and st["dirs_reused"] > 0, st
                if mode == "hashes":
                    assert st["hashes_computed"] == 0 and st["hashes_reused"] > 0, st
                times[mode].append(seconds)
        med = {m: statistics.median(v) for m, v in times.items()}
        ratios = {"dirs/full": round(med["dirs"] / med["full"], 3)}
        if hashing:
            ratios["hashes/full_hash"] = round(med["hashes"] / med["full_hash"], 3)
        print(json.dumps({"tree": tree, "entries": entries, "runs": runs,
                          "median_seconds": {m: round(v, 4) for m, v in med.items()},
                          "ratios": ratios}, indent=2))
    finally:
        srv.terminate()
        srv.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
