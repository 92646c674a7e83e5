"""kill9.py: kill -9 at random moments, in a loop, and what must hold after each restart.

Each round starts the server on the same data directory, checks the store, then does one thing
chosen by a seeded random generator and kills the server (SIGKILL) at a moment found by polling
a state, never by sleeping a fixed time:

  mid-scan        a scan of the tree is POSTed; the kill comes once its progress has passed a
                  random number of entries (or it finished first)
  after-submit    the kill comes right after POST /scans answered 202
  after-complete  a scan is waited for until completed, then the kill
  after-delete    a completed scan is DELETEd; the kill comes right after the 204
  idle            the kill comes while nothing runs

After each restart: every scan is finished (completed, failed, cancelled, or interrupted with
the counts of what it stored: its totals equal the entries it pages out); a scan seen completed
is still completed and its entries match the tree (one window is tolerated and noted: see
check_store); a scan whose DELETE answered 204 stays gone;
ids are never reused (a new scan's id is above every id seen before, deleted ones included).

usage: kill9.py --leindexd BIN --work DIR [--rounds N] [--seed S]
"""
import argparse
import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import (FINISHED, Fail, Server, all_scans, entries_of, entry_key, log,  # noqa: E402
                      main_guard, poll_until)

ACTIONS = ("mid-scan", "after-submit", "after-complete", "after-delete", "idle")


def make_tree(root):
    """1,000 files of 16 KiB in 20 directories: long enough to hash that kills land mid-scan."""
    for d in range(20):
        os.makedirs(os.path.join(root, f"d{d:02}"), exist_ok=True)
        for f in range(50):
            with open(os.path.join(root, f"d{d:02}", f"f{f:03}.bin"), "wb") as fh:
                fh.write(bytes([d, f]) * 8192)
    return 20 + 20 * 50


def tree_keys(root):
    """What a scan of the tree must store, as entry_key() gives it, read from the tree itself."""
    keys = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if name in dirs:
                keys.append((rel, "dir", st.st_size, None, None))
            else:
                with open(full, "rb") as f:
                    keys.append((rel, "file", st.st_size, hashlib.sha256(f.read()).hexdigest(), None))
    return sorted(keys)


class Kill9:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.tree = os.path.join(a.work, "tree")
        self.total = make_tree(self.tree)
        self.data = os.path.join(a.work, "data")
        self.srv_log = os.path.join(a.work, "server.log")
        self.ref = tree_keys(self.tree)
        assert len(self.ref) == self.total, len(self.ref)
        self.completed = set()  # ids seen completed (checked against the tree once)
        self.checked = set()    # finished ids whose entries were checked
        self.deleted = set()    # ids whose DELETE answered 204
        self.max_id = 0         # the highest id ever seen
        self.states = {}        # action -> count
        self.interrupted = 0
        self.regressed = []     # ids seen completed that came back interrupted (see check_store)

    def start(self):
        return Server(self.a.leindexd, self.data, self.srv_log,
                      args=["--log-level", "warn"]).start()

    def submit(self, srv):
        status, _, doc = srv.req("POST", "/scans", {"root": self.tree, "workers": 2, "hash": True,
                                                    "use_gitignore": False})
        if status != 202:
            raise Fail(f"POST /scans: {status}: {doc}")
        sid = doc["id"]
        if sid <= self.max_id:
            raise Fail(f"a new scan got id {sid}, not above {self.max_id}, the highest seen: "
                       "an id was reused")
        self.max_id = sid
        return sid

    def check_store(self, srv, round_no):
        scans = all_scans(srv)
        ids = {s["id"] for s in scans}
        back = ids & self.deleted
        if back:
            raise Fail(f"round {round_no}: scans deleted with 204 came back after kill -9: "
                       f"{sorted(back)}")
        gone = self.completed - ids - self.deleted
        if gone:
            raise Fail(f"round {round_no}: completed scans vanished: {sorted(gone)}")
        for s in scans:
            sid, st = s["id"], s["state"]
            self.max_id = max(self.max_id, sid)
            if st not in FINISHED:
                raise Fail(f"round {round_no}: scan {sid} is {st} right after a restart")
            if sid in self.completed and st != "completed":
                # Known window (reported): the run publishes "completed" before its final record
                # is committed (service/job/scan_run.c: scanrun_fold() then scanrun_write()), so
                # a kill -9 in between brings the scan back interrupted. Tolerated only with
                # every entry kept: the entries match the tree, checked below.
                if st != "interrupted":
                    raise Fail(f"round {round_no}: scan {sid} was completed, is now {st}")
                self.completed.discard(sid)
                self.regressed.append(sid)
                if sorted(map(entry_key, entries_of(srv, sid, page_size=10000))) != self.ref:
                    raise Fail(f"round {round_no}: scan {sid} was completed, is now interrupted "
                               "and its entries differ from the tree")
                log(f"NOTE round {round_no}: scan {sid} was seen completed before the kill and "
                    "came back interrupted (its entries are all there)")
            if sid in self.checked and st != "completed":
                continue  # finished and checked before; completed ones are read every round
            got = entries_of(srv, sid, page_size=10000)
            p = s["progress"]
            counted = p["dirs"] + p["files"] + p["symlinks"] + p["other"]
            if st == "completed":
                keys = sorted(map(entry_key, got))
                if keys != self.ref:
                    raise Fail(f"round {round_no}: completed scan {sid}'s entries differ from "
                               f"the tree ({len(keys)} of {len(self.ref)})")
                self.completed.add(sid)
            elif st == "interrupted":
                self.interrupted += 1
                if counted != len(got):
                    raise Fail(f"round {round_no}: interrupted scan {sid} says {counted} "
                               f"entries but pages out {len(got)}")
            self.checked.add(sid)

    def wait_state(self, srv, sid, pred, what):
        def look():
            _, _, d = srv.req("GET", f"/scans/{sid}")
            return d if pred(d) else None
        return poll_until(f"scan {sid} {what}", look)

    def act(self, srv, action):
        if action == "mid-scan":
            sid = self.submit(srv)
            k = self.rng.randrange(self.total)
            self.wait_state(srv, sid, lambda d: d["state"] in FINISHED or sum(
                d["progress"][x] for x in ("dirs", "files", "symlinks", "other")) >= k,
                f"to pass {k} entries")
        elif action == "after-submit":
            self.submit(srv)
        elif action == "after-complete":
            sid = self.submit(srv)
            d = self.wait_state(srv, sid, lambda d: d["state"] in FINISHED, "to finish")
            if d["state"] != "completed":
                raise Fail(f"scan {sid} ended {d['state']}: {d.get('error')}")
            self.completed.add(sid)
        elif action == "after-delete":
            done = sorted(self.completed - self.deleted)
            if not done:
                return self.act(srv, "after-complete")
            sid = self.rng.choice(done)
            status, _, doc = srv.req("DELETE", f"/scans/{sid}")
            if status != 204:
                raise Fail(f"DELETE /scans/{sid}: {status}: {doc}")
            self.deleted.add(sid)
            self.completed.discard(sid)
        return action

    def run(self):
        for r in range(1, self.a.rounds + 1):
            srv = self.start()
            try:
                self.check_store(srv, r)
                action = self.rng.choice(ACTIONS) if r > 1 else "after-complete"
                action = self.act(srv, action)
                self.states[action] = self.states.get(action, 0) + 1
            finally:
                srv.kill9()
        # At the end, a clean stop: a scan completed then is completed after the restart, whole.
        srv = self.start()
        try:
            self.check_store(srv, "after the last kill")
            self.act(srv, "after-complete")
            if srv.stop() != 0:
                raise Fail("the server did not exit 0 on SIGTERM after the rounds")
            srv = self.start()
            regressed = len(self.regressed)
            self.check_store(srv, "final")
            if len(self.regressed) != regressed or not self.completed:
                raise Fail("a scan completed before a clean stop is not completed after it")
            if srv.stop() != 0:
                raise Fail("the server did not exit 0 on SIGTERM at the end")
        finally:
            srv.ensure_dead()
        log(f"kill -9: {self.a.rounds} kills survived (seed {self.a.seed}): "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
            + f"; {len(self.checked)} scans checked, {len(self.completed)} completed and whole, "
            f"{self.interrupted} interrupted with their counts, {len(self.deleted)} deleted "
            f"and gone, highest id {self.max_id}; seen completed but back interrupted: "
            f"{self.regressed or 'none'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leindexd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=9)
    Kill9(ap.parse_args()).run()


if __name__ == "__main__":
    main_guard(main)
