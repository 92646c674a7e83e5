"""faultlib.py: what the fault tests written in Python share (imported, never run by ctest).

A server started from a test (Server: a free loopback port, a data directory, its log in a file,
optional extra environment such as an LD_PRELOAD shim), HTTP requests over one keep-alive
connection with a deadline on each, paging a scan's entries, and the small tree the torture and
kill tests scan. Every wait polls a state with a generous deadline (poll_until), never a fixed
sleep, and no check is about how long something took.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

DEADLINE_S = 60  # generous: only a broken program misses it, even under ASan on a busy machine
FINISHED = ("completed", "failed", "cancelled", "interrupted")


class Fail(Exception):
    """A check that failed: the message says what a user would have seen."""


def poll_until(what, fn, deadline_s=DEADLINE_S, every_s=0.02):
    """Calls fn() until it returns something true and returns that; Fail past the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > end:
            raise Fail(f"{what}: not within {deadline_s} s")
        time.sleep(every_s)  # the poll's interval, not a wait for the state


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sanitizer_report(text):
    """The first line of an ASan/LSan/UBSan report in text, or None."""
    for line in text.splitlines():
        if ("ERROR: AddressSanitizer" in line or "ERROR: LeakSanitizer" in line
                or "runtime error:" in line):
            return line
    return None


def make_tree(root):
    """The torture's tree: 20 entries, with a .gitignore, a symlink, an empty directory, and
    files that --ignore '*.log' and --ignore 'build/' drop. Returns the paths a scan with those
    ignores must store (15), in the scan's order (depth-first, siblings bytewise)."""
    files = {
        ".gitignore": "*.o\n",
        "README.md": "# tree\n",
        "run.log": "log line\n",
        "notes.txt": "notes\n",
        "src/main.c": "int main(void) { return 0; }\n",
        "src/util.c": "int util(void) { return 1; }\n",
        "src/util.h": "int util(void);\n",
        "src/lib/a.c": "int a;\n",
        "src/lib/b.c": "int b;\n",
        "src/lib/c.o": "\x7fELF\n",
        "docs/guide.md": "guide\n",
        "docs/api.md": "api\n",
        "build/out.o": "\x7fELF\n",
        "build/out.bin": "bin\n",
    }
    for d in ("src/lib", "docs", "build", "empty"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    os.symlink("src/main.c", os.path.join(root, "link"))
    count = sum(len(ds) + len(fs) for _, ds, fs in os.walk(root))
    assert count == 20, count
    kept = [".gitignore", "README.md", "docs", "docs/api.md", "docs/guide.md", "empty", "link",
            "notes.txt", "src", "src/lib", "src/lib/a.c", "src/lib/b.c", "src/main.c",
            "src/util.c", "src/util.h"]
    return kept


# The scan of make_tree()'s tree, as POST /scans takes it and as `leindexd scan` flags.
SCAN_BODY_EXTRA = {"workers": 1, "hash": True, "ignore": ["*.log", "build/"]}
SCAN_FLAGS = ["--workers", "1", "--hash", "--ignore", "*.log", "--ignore", "build/"]


class Server:
    """One leindexd server process on a free loopback port."""

    def __init__(self, leindexd, data_dir, log_path, env=None, args=()):
        self.leindexd = leindexd
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = dict(os.environ, **(env or {}))
        self.args = list(args)
        self.proc = None
        self.conn = None
        self.port = None

    def start(self):
        self.port = free_port()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.leindexd, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
            + self.args, stdout=log, stderr=log, env=self.env)
        log.close()
        poll_until("the server to answer /healthz", self._answers)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise Fail(f"leindexd exited {self.proc.returncode} at start: {self.log_tail()}")
        try:
            return self.req("GET", "/healthz", timeout=5)[0] == 200
        except (OSError, http.client.HTTPException):
            self.close_conn()
            return False

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def close_conn(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def req(self, method, path, body=None, timeout=DEADLINE_S):
        """(status, headers dict lower-cased, parsed JSON or raw bytes). Raises OSError or
        http.client.HTTPException when the connection breaks (a dead server)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        self.conn.timeout = timeout
        if self.conn.sock:
            self.conn.sock.settimeout(timeout)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
        except socket.timeout:
            self.close_conn()
            raise Fail(f"{method} {path}: no answer within {timeout} s (a hang)")
        except (OSError, http.client.HTTPException):
            self.close_conn()
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if r.getheader("Connection", "").lower() == "close":
            self.close_conn()
        doc = raw
        if raw and "json" in hdrs.get("content-type", ""):
            try:
                doc = json.loads(raw)
            except ValueError:
                raise Fail(f"{method} {path}: {r.status} with a body that is not JSON: {raw[:200]!r}")
        return r.status, hdrs, doc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; returns the exit status (negative: killed by a signal)."""
        self.close_conn()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail(f"leindexd still ran {DEADLINE_S} s after SIGTERM")
        return self.proc.returncode

    def kill9(self):
        self.close_conn()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def ensure_dead(self):
        """For clean-up paths: no process is left behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def is_problem(status, hdrs, doc):
    return ("application/problem+json" in hdrs.get("content-type", "") and isinstance(doc, dict)
            and doc.get("status") == status and doc.get("detail"))


def entries_of(srv, scan_id, page_size=4):
    """All entries of a scan, paged page_size at a time, following next_page_token; each page
    must answer 200. Returns the list of entry objects."""
    out, token = [], None
    while True:
        path = f"/scans/{scan_id}/entries?page_size={page_size}"
        if token:
            path += "&page_token=" + token
        status, _, doc = srv.req("GET", path)
        if status != 200:
            raise Fail(f"GET {path}: {status}: {doc}")
        out.extend(doc["entries"])
        token = doc.get("next_page_token")
        if not token:
            return out


def all_scans(srv):
    """Every scan record the server lists (GET /scans, all pages)."""
    out, token = [], None
    while True:
        path = "/scans?page_size=1000" + (f"&page_token={token}" if token else "")
        status, _, doc = srv.req("GET", path)
        if status != 200:
            raise Fail(f"GET {path}: {status}: {doc}")
        out.extend(doc["scans"])
        token = doc.get("next_page_token")
        if not token:
            return out


def entry_key(e):
    """What a scan of an unchanged tree must reproduce: path, type, size, hash, target."""
    return (e.get("path"), e.get("type"), e.get("size"), e.get("sha256"), e.get("target"))


def log(msg):
    print(msg, flush=True)


def main_guard(fn):
    """Runs fn(); a Fail prints FAIL and exits 1."""
    try:
        fn()
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
