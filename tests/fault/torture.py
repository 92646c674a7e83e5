"""torture.py: allocation-failure torture of the real leindexd, as curl's runtests.pl -t does.

A small scenario runs over and over, and the Nth allocation it makes fails (ENOMEM) in run N,
through the LD_PRELOAD shim tests/fault/failalloc.c (its header says how it counts):

  cli     `leindexd scan --workers 1 --hash --ignore '*.log' --ignore build/ --json` of a
          20-entry tree into one data directory that already holds a completed scan (scan 1).
          Counting starts with the process, after OpenSSL's one-time initialisation has been
          warmed up uncounted (LEINDEX_FAILALLOC_WARM=sha256).
  server  one server, armed by SIGUSR2 for each run (no restart): POST the same scan, wait for
          it, page its entries 4 at a time, DELETE it. Scan 1, completed before the sweep, is
          read back after each run.

What each run must show: the process ends or answers, never dies by a signal, never hangs
(every wait has a deadline), never prints a sanitizer report; the CLI exits 0, or 1 or 2 with a
"leindexd: ..." line on stderr; the server answers each request with success or a 500/503
problem document, and once its one failure has passed, every request succeeds again; a scan that
says completed with no errors holds exactly the tree's entries; nothing completed before is
lost. At the end a clean server (no shim) reopens each data directory and checks every scan: a
finished state, scan 1 intact, completed scans whole, deleted scans gone.

usage: torture.py --leindexd BIN --shim SO --work DIR [--parts cli,server] [--cli-stride K]
                  [--server-stride K] [--asan]
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import (DEADLINE_S, FINISHED, SCAN_BODY_EXTRA, SCAN_FLAGS, Fail, Server,  # noqa: E402
                      all_scans, entries_of, entry_key, is_problem, log, main_guard,
                      make_tree, poll_until, sanitizer_report)

SANITIZER_ENV = {
    # The shim must come before libasan to see the calls: ASan then forwards nothing to glibc
    # and still checks every block (the shim calls ASan's malloc through RTLD_NEXT).
    "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


class ServerGone(Exception):
    """The server process is gone (the connection broke and it is not running)."""


def new_state():
    """What one run of the server scenario saw."""
    return {"errors": [], "ids": [], "deleted": set(), "failed_scans": 0, "closed": 0,
            "misattributed": []}


class Torture:
    def __init__(self, a):
        self.a = a
        self.work = a.work
        self.tree = os.path.join(self.work, "tree")
        self.ref_paths = make_tree(self.tree)
        self.ref = None  # entry keys of the clean scan
        self.failed_allocs = 0
        self.runs = 0
        self.findings = []  # (N, what, backtrace): crashes, hangs, reports, lost data
        self.misattributed = {}  # "METHOD route: status detail" -> [N...]

    def env(self, extra):
        e = {"LD_PRELOAD": self.a.shim}
        if self.a.asan:
            e.update(SANITIZER_ENV)
        e.update(extra)
        return e

    def finding(self, part, n, what, shim_log=""):
        bt = "\n".join(l for l in shim_log.splitlines()[:30])
        self.findings.append(f"{part} N={n}: {what}\n{bt}")
        log(f"FINDING {part} N={n}: {what}")

    # ---------------------------------------------------------------- the one-shot CLI

    def cli_cmd(self, data):
        return [self.a.leindexd, "scan", *SCAN_FLAGS, "--json", "--data-dir", data, self.tree]

    def cli_once(self, data, n, shim_log):
        if os.path.exists(shim_log):
            os.unlink(shim_log)
        env = dict(os.environ, **self.env({"LEINDEX_FAILALLOC_WARM": "sha256",
                                           "LEINDEX_FAILALLOC_AT": str(n),
                                           "LEINDEX_FAILALLOC_LOG": shim_log}))
        try:
            p = subprocess.run(self.cli_cmd(data), env=env, capture_output=True,
                               timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            return None, "", "", self.read(shim_log)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"), self.read(shim_log))

    @staticmethod
    def read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cli_check(self, n, rc, out, err, shim):
        """Returns True when the failure fired in this run; records findings."""
        fired = f"failing allocation {n} " in shim
        if rc is None:
            self.finding("cli", n, f"no exit within {DEADLINE_S} s (a hang)", shim)
            return fired
        rep = sanitizer_report(err)
        if rep:
            self.finding("cli", n, f"sanitizer report: {rep}\n{err[-3000:]}", shim)
            return fired
        if rc < 0:
            self.finding("cli", n, f"killed by signal {-rc}; stderr: {err[-800:]}", shim)
            return fired
        if rc == 0:
            try:
                doc = json.loads(out)
            except ValueError:
                self.finding("cli", n, f"exit 0 without the JSON summary: {out[:300]!r}", shim)
                return fired
            if doc.get("state") != "completed":
                self.finding("cli", n, f"exit 0 but the scan is {doc.get('state')}", shim)
            elif (doc.get("progress") or {}).get("entries") != len(self.ref_paths) and \
                    not (doc.get("progress") or {}).get("errors"):
                self.finding("cli", n, f"exit 0, completed with {(doc.get('progress') or {}).get('entries')} entries "
                             f"of {len(self.ref_paths)} and no error recorded", shim)
            return fired
        if not fired:
            self.finding("cli", n, f"exit {rc} although no allocation failed: {err[-500:]}", shim)
        elif rc not in (1, 2):
            self.finding("cli", n, f"exit {rc} (expected 1 or 2): {err[-500:]}", shim)
        elif not re.search(r"^leindexd: \S", err, re.M):
            self.finding("cli", n, f"exit {rc} without a 'leindexd: ...' message: {err[-500:]!r}",
                         shim)
        return fired

    def cli_sweep(self):
        data = os.path.join(self.work, "cli-data")
        shim_log = os.path.join(self.work, "cli-shim.log")
        p = subprocess.run(self.cli_cmd(data), capture_output=True,
                           env=dict(os.environ, **(SANITIZER_ENV if self.a.asan else {})))
        if p.returncode != 0:
            raise Fail(f"the clean CLI scan exited {p.returncode}: {p.stderr.decode()[-500:]}")
        self.clean_check(data, {1}, set(), "before the CLI sweep")
        rc, _, err, shim = self.cli_once(data, 0, shim_log)
        m = re.search(r"exit counted (\d+)", shim)
        if rc != 0 or not m:
            raise Fail(f"the counting run exited {rc}: {err[-500:]} / {shim[-300:]}")
        total = int(m.group(1))
        stride = self.a.cli_stride
        log(f"cli: a clean run makes {total} allocations (OpenSSL's initialisation warmed); "
            f"failing each {'one' if stride == 1 else f'{stride}th'} in turn")
        n, outcomes, quiet = self.a.first, {}, 0
        # Past the last allocation, runs stop failing: end after a few such runs in a row
        # (threads make the count vary by a few).
        while quiet < 3:
            rc, out, err, shim = self.cli_once(data, n, shim_log)
            self.runs += 1
            fired = self.cli_check(n, rc, out, err, shim)
            if fired:
                self.failed_allocs += 1
                quiet = 0
                outcomes[rc] = outcomes.get(rc, 0) + 1
            elif n > total:
                quiet += 1
            n += stride
        log(f"cli: {self.runs} runs, exit statuses of the runs that failed an allocation: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items(), key=str)))
        self.clean_check(data, {1}, set(), "after the CLI sweep")

    # ---------------------------------------------------------------- the server

    def shim_log_since(self, path, off):
        with open(path, "rb") as f:
            f.seek(off)
            return f.read().decode("utf-8", "replace")

    def arm(self, srv, ctl, shim_log, n):
        """Re-arms the server's shim to fail its Nth allocation from now; returns the log offset
        where this episode starts, and the count of the episode it ended."""
        with open(ctl, "w") as f:
            f.write(str(n))
        before = os.path.getsize(shim_log) if os.path.exists(shim_log) else 0
        srv.signal(signal.SIGUSR2)
        tail = poll_until(f"the shim to re-arm for {n}",
                          lambda: (lambda t: t if f"armed to fail allocation {n}\n" in t else None)(
                              self.shim_log_since(shim_log, before)))
        m = re.search(r"episode counted (\d+)", tail)
        return os.path.getsize(shim_log), int(m.group(1)) if m else 0

    def send(self, srv, method, path, body, ok):
        """One request: (status, hdrs, doc), or (None, {}, why) when the server closed the
        connection without an answer (libmicrohttpd does so when even the error answer cannot
        be made). ServerGone when the process is gone. A success must carry its JSON."""
        try:
            status, hdrs, doc = srv.req(method, path, body)
        except (OSError, http.client.HTTPException) as e:
            if not srv.alive():
                raise ServerGone() from e
            return None, {}, f"connection closed: {e!r}"
        if status in ok and status != 204 and not isinstance(doc, dict):
            raise Fail(f"{method} {path}: {status} without a JSON body (Content-Type "
                       f"{hdrs.get('content-type')!r}): {doc[:200]!r}")
        return status, hdrs, doc

    def retrying(self, srv, method, path, body=None, ok=(200,), state=None):
        """One request; a 500/503 problem document (or, when not even that could be made, a
        closed connection) is an allowed answer to the injected failure, and the request is sent
        again, once: the failure was one-shot, so the server must then answer ok.
        Returns (status, doc)."""
        status, hdrs, doc = self.send(srv, method, path, body, ok)
        if status in ok:
            return status, doc
        if status is not None and not is_problem(status, hdrs, doc):
            raise Fail(f"{method} {path}: {status} without a problem document: {str(doc)[:300]}")
        if status is not None and status not in (500, 503):
            if not 400 <= status < 500 or state is None:
                raise Fail(f"{method} {path}: {status} is neither a success nor a 500/503 "
                           f"problem document: {str(doc)[:300]}")
            # A client error for the server's own failure: wrong, but not fatal when the same
            # request then succeeds (checked below). Listed at the end of the run.
            state["misattributed"].append(f"{method} {re.sub(r'[0-9]+', '{n}', path.split('?')[0])}"
                                          f": {status} {doc.get('detail')[:90]}")
        if state is not None:
            state["errors"].append(f"{method} {path}: {status} "
                                   f"{doc.get('detail') if isinstance(doc, dict) else doc}")
            if status is None:
                state["closed"] += 1
        status, hdrs, doc = self.send(srv, method, path, body, ok)
        if status not in ok:
            raise Fail(f"{method} {path}: {status} again after the failure had passed: "
                       f"{str(doc)[:300]}")
        return status, doc

    def scenario(self, srv, state):
        """POST, wait, page, DELETE. Returns the scan id (None when no scan was created)."""
        body = dict(SCAN_BODY_EXTRA, root=self.tree)
        status, doc = self.retrying(srv, "POST", "/scans", body, ok=(202,), state=state)
        sid = doc["id"]
        state["ids"].append(sid)
        st = poll_until(f"scan {sid} to finish", lambda: (lambda d: d if d["state"] in FINISHED
                                                          else None)(
            self.retrying(srv, "GET", f"/scans/{sid}?wait=30", state=state)[1]))
        if st["state"] == "failed":
            if not st.get("error"):
                raise Fail(f"scan {sid} failed without an error message")
            state["failed_scans"] += 1
        elif st["state"] != "completed":
            raise Fail(f"scan {sid} ended {st['state']} with nobody cancelling it")
        got = []
        token = None
        while True:
            path = f"/scans/{sid}/entries?page_size=4" + (f"&page_token={token}" if token else "")
            _, page = self.retrying(srv, "GET", path, state=state)
            got.extend(page["entries"])
            token = page.get("next_page_token")
            if not token:
                break
        if st["state"] == "completed" and not st["progress"]["errors"]:
            if sorted(map(entry_key, got)) != self.ref:
                raise Fail(f"scan {sid} completed with no error but its entries differ from the "
                           f"tree: {[e.get('path') for e in got]}")
        status, _ = self.retrying(srv, "DELETE", f"/scans/{sid}", ok=(204, 404), state=state)
        self.retrying(srv, "GET", f"/scans/{sid}", ok=(404,), state=state)
        state["deleted"].add(sid)
        return sid

    def check_scan1(self, srv, what):
        keys = sorted(map(entry_key, entries_of(srv, 1, page_size=100)))
        if self.ref is None:
            self.set_ref(keys, what)
        if keys != self.ref:
            raise Fail(f"{what}: scan 1, completed before, lost entries: {keys}")

    def server_start(self, data, ctl, shim_log, srv_log):
        srv = Server(self.a.leindexd, data, srv_log,
                     env=self.env({"LEINDEX_FAILALLOC_ARM": "signal",
                                   "LEINDEX_FAILALLOC_CTL": ctl,
                                   "LEINDEX_FAILALLOC_LOG": shim_log}),
                     args=["--log-level", "warn"]).start()
        # Warm-up, uncounted: OpenSSL's and the server's first-use initialisation.
        self.scenario(srv, new_state())
        return srv

    def server_gone(self, srv, n, shim):
        """The connection broke: the server must have exited with a message, not a signal."""
        try:
            srv.proc.wait(DEADLINE_S)
        except subprocess.TimeoutExpired:
            srv.ensure_dead()
            self.finding("server", n, "stopped answering but did not exit (a hang)", shim)
            return
        rc = srv.proc.returncode
        tail = srv.log_tail(20)
        rep = sanitizer_report(tail)
        if rep or rc < 0:
            self.finding("server", n, f"died (status {rc}): {rep or ''}\n{tail}", shim)
        else:
            log(f"server N={n}: exited {rc}: {tail.splitlines()[-1] if tail else ''}")

    def server_sweep(self):
        data = os.path.join(self.work, "server-data")
        ctl = os.path.join(self.work, "server-ctl")
        shim_log = os.path.join(self.work, "server-shim.log")
        srv_log = os.path.join(self.work, "server.log")
        # Scan 1: completed before the sweep, must stay intact through it.
        srv = Server(self.a.leindexd, data, srv_log, env=SANITIZER_ENV if self.a.asan else {},
                     args=["--log-level", "warn"]).start()
        status, _, doc = srv.req("POST", "/scans", dict(SCAN_BODY_EXTRA, root=self.tree))
        if status != 202 or doc["id"] != 1:
            raise Fail(f"the first scan: {status} {doc}")
        poll_until("scan 1 to complete",
                   lambda: srv.req("GET", "/scans/1?wait=30")[2]["state"] == "completed")
        self.check_scan1(srv, "before the server sweep")
        if srv.stop() != 0:
            raise Fail("the clean server did not exit 0 on SIGTERM")
        srv = self.server_start(data, ctl, shim_log, srv_log)
        _, _ = self.arm(srv, ctl, shim_log, 0)
        st = new_state()
        self.scenario(srv, st)
        _, total = self.arm(srv, ctl, shim_log, 0)
        stride = self.a.server_stride
        log(f"server: one scenario (POST, wait, page, DELETE) makes {total} allocations; "
            f"failing {'each one' if stride == 1 else f'every {stride}th'} in turn")
        deleted, ids = set(st["deleted"]), list(st["ids"])
        n, quiet, exits, answered_5xx, failed_scans, fired_runs = self.a.first, 0, 0, 0, 0, 0
        closed = 0
        while quiet < 3:
            self.runs += 1
            off, _ = self.arm(srv, ctl, shim_log, n)
            st = new_state()
            gone = False
            try:
                self.scenario(srv, st)
            except ServerGone:
                gone = True
            except Fail as e:
                if not srv.alive():
                    gone = True
                else:
                    self.finding("server", n, str(e), self.shim_log_since(shim_log, off))
            shim = self.shim_log_since(shim_log, off)
            fired = f"failing allocation {n} " in shim
            ids += st["ids"]
            deleted |= st["deleted"]
            answered_5xx += len(st["errors"]) - st["closed"] - len(st["misattributed"])
            for m in st["misattributed"]:
                self.misattributed.setdefault(m, []).append(n)
            closed += st["closed"]
            failed_scans += st["failed_scans"]
            if gone:
                exits += 1
                self.server_gone(srv, n, shim)
                srv = self.server_start(data, ctl, shim_log, srv_log)
            else:
                self.arm(srv, ctl, shim_log, 0)
                self.check_scan1(srv, f"after failing allocation {n}")
            if fired:
                self.failed_allocs += 1
                fired_runs += 1
                quiet = 0
            elif n > total:
                quiet += 1
            n += stride
        for m, ns in sorted(self.misattributed.items()):
            log(f"server: a client error for the server's failure, {len(ns)} times (N={ns[:8]}"
                f"{'...' if len(ns) > 8 else ''}): {m}")
        log(f"server: {fired_runs} runs failed an allocation; answers 500/503 {answered_5xx}, "
            f"connections closed unanswered {closed}, scans failed {failed_scans}, "
            f"server exits {exits}")
        rc = srv.stop()
        tail = srv.log_tail(40)
        if rc != 0 or sanitizer_report(tail):
            self.finding("server", "end", f"SIGTERM after the sweep: exit {rc}\n{tail}", "")
        self.clean_check(data, {1}, deleted, "after the server sweep")

    # ---------------------------------------------------------------- the clean check

    def set_ref(self, keys, what):
        """The clean scan's entries become the reference: they must be the tree's kept paths,
        every file with a hash."""
        if sorted(k[0] for k in keys) != sorted(self.ref_paths):
            raise Fail(f"{what}: the clean scan holds {[k[0] for k in keys]}, not {self.ref_paths}")
        if any(k[1] == "file" and not k[3] for k in keys):
            raise Fail(f"{what}: the clean scan has files without sha256: {keys}")
        self.ref = keys

    def clean_check(self, data, keep, deleted, what):
        """A server without the shim opens the data directory: every scan is finished, scans in
        keep hold the tree, completed scans are whole or say they had errors, deleted scans are
        gone."""
        srv = Server(self.a.leindexd, data, os.path.join(self.work, "clean.log"),
                     env=SANITIZER_ENV if self.a.asan else {}, args=["--log-level", "warn"])
        try:
            srv.start()
            scans = all_scans(srv)
            seen = {s["id"] for s in scans}
            if 1 in keep:
                self.check_scan1(srv, what)
            for s in scans:
                if s["state"] not in FINISHED:
                    raise Fail(f"{what}: scan {s['id']} is {s['state']} in a fresh server")
                if s["state"] == "completed" and not s["progress"]["errors"]:
                    keys = sorted(map(entry_key, entries_of(srv, s["id"], page_size=100)))
                    if keys != self.ref:
                        raise Fail(f"{what}: completed scan {s['id']} differs from the tree: "
                                   f"{[k[0] for k in keys]}")
            for sid in keep:
                if sid not in seen:
                    raise Fail(f"{what}: scan {sid} is gone")
            back = seen & deleted
            if back:
                raise Fail(f"{what}: deleted scans came back: {sorted(back)}")
            rc = srv.stop()
            if rc != 0:
                raise Fail(f"{what}: the clean server exited {rc}")
            rep = sanitizer_report(srv.log_tail(200))
            if rep:
                raise Fail(f"{what}: the clean server: {rep}")
            log(f"clean check {what}: {len(scans)} scans, all finished; scan 1 intact")
        finally:
            srv.ensure_dead()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leindexd", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--parts", default="cli,server")
    ap.add_argument("--cli-stride", type=int, default=1)
    ap.add_argument("--server-stride", type=int, default=1)
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("--first", type=int, default=1, help="the first N (to replay a finding)")
    a = ap.parse_args()
    t = Torture(a)
    parts = a.parts.split(",")
    try:
        if "cli" in parts:
            t.cli_sweep()
        if "server" in parts:
            t.server_sweep()
    finally:
        log(f"torture{' (ASan build)' if a.asan else ''}: {t.runs} runs, "
            f"{t.failed_allocs} allocations failed, {len(t.findings)} findings")
    if t.findings:
        print("FINDINGS:\n" + "\n\n".join(t.findings), file=sys.stderr)
        raise Fail(f"{len(t.findings)} runs broke a rule (above)")


if __name__ == "__main__":
    main_guard(main)
