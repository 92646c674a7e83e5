#!/usr/bin/env python3
"""bench.py: the helpers of tests/bench/run.sh (python3 standard library only).

Subcommands (none of them is inside a timed run):
  freeport                      print a free TCP port on 127.0.0.1
  rss RSSFILE CMD...            run CMD (stdout/stderr inherited), write its peak RSS in KiB
                                to RSSFILE, exit with CMD's status
  rss-sample PID OUTFILE        sample PID's RssAnon/RssFile every 20 ms, write the peaks
  scan-json FILE                print the entry count of a `leindexd scan --json` summary
  store-bytes DIR               print the bytes of the LMDB data file(s) in DIR (lock file excluded)
  http-check BASE ROOT PAGE_SIZE GITIGNORE
                                one full HTTP scan that parses every page: counts the entries,
                                checks that the Link header and next_page_token agree, prints JSON
  report OUTDIR [--short]       merge OUTDIR/raw/*/ into OUTDIR/results.json and results.md;
                                with --short, exit 1 when the entry counts disagree
  side-by-side WARM COLD        the medians of two reports (run.sh without and with --cold)
                                side by side, in markdown
"""

import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import urllib.parse
import urllib.request

# Command ids used as hyperfine --command-name, in table order, with their labels.
COMMANDS = [
    ("floor", "floor (openat+getdents64+statx, 2 threads, no output)"),
    ("scan", "`leindexd scan --no-gitignore` (scan + LMDB store)"),
    ("http", "HTTP: POST, wait, page out all (curl, size 10000), DELETE"),
    ("http_ka", "HTTP, the same requests on one keep-alive connection (httpc)"),
    ("bfs_printf", "`bfs DIR -printf '%p\\t%s\\t%T@\\t%m\\n'`"),
    ("find_printf", "`find DIR -printf '%p\\t%s\\t%T@\\t%m\\n'`"),
    ("bfs", "`bfs DIR`"),
    ("fd_uu", "`fdfind -uu -j2 . DIR`"),
    ("scan_gitignore", "`leindexd scan` (gitignore on)"),
    ("fd", "`fdfind -j2 . DIR` (gitignore on)"),
    # --io: issue 14 (cold caches)
    ("floor16", "floor, 16 threads"),
    ("scan_w16", "`leindexd scan --no-gitignore --workers 16 --io-depth 0`"),
    ("scan_io0", "`leindexd scan --no-gitignore --io-depth 0` (workers alone)"),
    # --prev
    ("scan_prev", "`leindexd scan --no-gitignore`, previous build"),
    # --hash
    ("scan_hash", "`leindexd scan --no-gitignore --hash`"),
    ("sha256sum", "`find DIR -type f -print0 | xargs -0 -P$(nproc) sha256sum`"),
]
LABELS = dict(COMMANDS)
# Tools that never report the root (fd) or whose count excludes it (leindexd's `entries`).
ROOT_EXCLUDED = {"scan", "fd_uu", "fd", "scan_gitignore", "fd_hidden"}
# Entry counts that must equal find's (root included) once the root is accounted for.
NO_IGNORE = ["floor", "scan", "http", "bfs_printf", "bfs", "fd_uu"]

# The figures of issue 4.
TARGET_SCAN_TREES = ("salsa-like", "kernel-like", "wide")
# The figures of issue 14: cold, `scan` at most this times `bfs -printf`, and this times the best
# of `--workers 16` and the floor at 16 threads; warm, this times the previous build; hashing,
# this share of the throughput of parallel sha256sum.
TARGET_COLD_BFS = 0.4
TARGET_COLD_BEST = 1.2
TARGET_WARM_PREV = 1.05
TARGET_HASH_SHARE = 0.9
TARGET_RSS_KIB = 64 * 1024
TARGET_STORE_BPE = 150


def die(msg):
    sys.stderr.write("bench.py: %s\n" % msg)
    sys.exit(1)


def cmd_freeport(_args):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_rss(args):
    if len(args) < 2:
        die("usage: rss RSSFILE CMD...")
    try:
        rc = subprocess.call(args[1:])
    except OSError as e:
        die("rss: cannot run %s: %s" % (args[1], e))
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(args[0], "w") as f:
        f.write("%d\n" % kib)
    sys.exit(rc)


def cmd_rss_sample(args):
    """Samples /proc/PID/status every 20 ms until PID exits or SIGTERM; writes the peaks.

    VmHWM alone cannot tell the service's own memory from the LMDB pages it has mapped
    (file-backed, reclaimable, counted in RSS once read): the peaks of RssAnon and RssFile can.
    """
    import signal
    import time
    if len(args) != 2:
        die("usage: rss-sample PID OUTFILE")
    pid, outfile = args[0], args[1]
    peaks = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        try:
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in peaks:
                        peaks[key] = max(peaks[key], int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.02)
    with open(outfile, "w") as f:
        f.write("rss.service_anon_peak_kib\t%d\n" % peaks["RssAnon"])
        f.write("rss.service_file_peak_kib\t%d\n" % peaks["RssFile"])


def load_scan_json(path):
    """The JSON object printed by `leindexd scan --json` (the last line that parses as one)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    die("%s: no JSON object in the output of leindexd scan --json" % path)
    return None


def cmd_scan_json(args):
    obj = load_scan_json(args[0])
    entries = (obj.get("progress") or {}).get("entries")  # the document of GET /scans/{id}
    if entries is None:
        die("%s: the scan summary has no `progress.entries`: %s" % (args[0], obj))
    print(entries)


def lmdb_used_bytes(path):
    """Bytes in use per the newer LMDB meta page (last_pg+1 pages), or None if unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
        psize = os.sysconf("SC_PAGE_SIZE")
        best = None
        for pg in (0, 1):
            off = pg * psize + 16  # page header: pgno(8) pad(2) flags(2) lower/upper(4)
            magic, _version = struct.unpack_from("<II", head, off)
            if magic != 0xBEEFC0DE:
                return None
            # magic, version, address(8), mapsize(8), 2 x MDB_db (48 each), last_pg, txnid
            last_pg, txnid = struct.unpack_from("<QQ", head, off + 8 + 8 + 8 + 96)
            if best is None or txnid > best[1]:
                best = (last_pg, txnid)
        return (best[0] + 1) * psize
    except (OSError, struct.error, ValueError):
        return None


def store_bytes(d):
    """File bytes of the store (sparse files counted by blocks), and LMDB's bytes in use."""
    total, used = 0, 0
    for dirpath, _dirs, files in os.walk(d):
        for name in files:
            if name in ("lock", "lock.mdb") or name.endswith("-lock"):
                continue
            p = os.path.join(dirpath, name)
            st = os.stat(p)
            total += min(st.st_size, st.st_blocks * 512)
            u = lmdb_used_bytes(p) if name.endswith(".mdb") else None
            used += u if u is not None else min(st.st_size, st.st_blocks * 512)
    return total, used


def cmd_store_bytes(args):
    total, used = store_bytes(args[0])
    print("%d %d" % (total, used))


def cmd_http_check(args):
    if len(args) != 4:
        die("usage: http-check BASE ROOT PAGE_SIZE GITIGNORE")
    base, root, page_size, gitignore = args[0].rstrip("/"), args[1], int(args[2]), args[3]
    body = json.dumps({"root": root, "use_gitignore": gitignore == "true"}).encode()
    req = urllib.request.Request(base + "/scans", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, scan = r.status, json.load(r)
    except OSError as e:
        die("http-check: POST %s/scans: %s" % (base, e))
    if status != 202:
        die("http-check: POST %s/scans answered %d, want 202" % (base, status))
    sid = scan.get("id")
    if sid is None:
        die("http-check: the scan resource has no id: %s" % scan)
    for _ in range(100):
        with urllib.request.urlopen("%s/scans/%s?wait=60" % (base, sid), timeout=120) as r:
            scan = json.load(r)
        if scan.get("state") not in ("queued", "running", "pending"):
            break
    if scan.get("state") != "completed":
        die("http-check: scan %s ended %s: %s" % (sid, scan.get("state"), scan))
    url = "%s/scans/%s/entries?page_size=%d" % (base, sid, page_size)
    count, pages, roots, problems, seen = 0, 0, 0, [], set()
    while url:
        with urllib.request.urlopen(url, timeout=120) as r:
            link = r.headers.get("Link")
            page = json.load(r)
        pages += 1
        entries = page.get("entries")
        if not isinstance(entries, list):
            die("http-check: %s: no entries array" % url)
        for e in entries:
            path = e.get("path") if isinstance(e, dict) else None
            if path in ("", ".", "/") or path == root:
                roots += 1
            # Names that are not UTF-8 come as path_b64.
            if path is None and isinstance(e, dict) and "path_b64" in e:
                path = "b64:" + str(e["path_b64"])
            if path is not None:
                key = json.dumps(path)
                if key in seen and len(problems) < 5:
                    problems.append("duplicate path %s" % key)
                seen.add(key)
        count += len(entries)
        token = page.get("next_page_token")
        link_url = None
        if link:
            for part in link.split(","):
                if 'rel="next"' in part or "rel=next" in part:
                    link_url = part.split(";")[0].strip().lstrip("<").rstrip(">")
        if bool(token) != bool(link_url):
            problems.append("page %d: next_page_token %r but Link %r" % (pages, token, link))
        if token and link_url:
            q = urllib.parse.parse_qs(urllib.parse.urlparse(link_url).query)
            if q.get("page_token", [None])[0] != token:
                problems.append("page %d: Link token differs from next_page_token" % pages)
        if link_url and link_url.startswith("/"):
            link_url = base + link_url
        url = link_url
        if pages > 1_000_000:
            die("http-check: more than a million pages: a token loop?")
    req = urllib.request.Request("%s/scans/%s" % (base, sid), method="DELETE")
    with urllib.request.urlopen(req, timeout=120) as r:
        if r.status not in (200, 202, 204):
            problems.append("DELETE answered %d" % r.status)
    print(json.dumps({"entries": count, "pages": pages, "root_listed": roots,
                      "scan_entries": scan.get("entries"), "problems": problems}))


def read_facts(path):
    facts = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "\t" in line:
                    k, v = line.split("\t", 1)
                    facts[k] = v
    return facts


def stats(times):
    times = sorted(times)
    n = len(times)
    q = statistics.quantiles(times, n=4, method="inclusive") if n >= 2 else [times[0]] * 3
    return {"runs": n, "median": statistics.median(times), "min": times[0], "max": times[-1],
            "q1": q[0], "q3": q[2], "mean": statistics.fmean(times),
            "stddev": statistics.stdev(times) if n >= 2 else 0.0, "times": times}


def tree_report(rawdir, tree):
    """Everything measured on one tree, as a dict."""
    times, cpu = {}, {}
    for name in sorted(os.listdir(rawdir)):
        if not (name.startswith("round-") and name.endswith(".json")):
            continue
        with open(os.path.join(rawdir, name)) as f:
            data = json.load(f)
        for res in data["results"]:
            cid = res["command"]
            times.setdefault(cid, []).extend(res["times"])
            # hyperfine keeps only the mean user/system time per invocation.
            cpu.setdefault(cid, []).append(res["user"] + res["system"])
    facts = read_facts(os.path.join(rawdir, "facts.tsv"))
    cmds = {}
    for cid, _label in COMMANDS:
        if cid in times:
            cmds[cid] = stats(times[cid])
            cmds[cid]["cpu_median"] = statistics.median(cpu[cid])
    base = cmds.get("bfs_printf", {}).get("median")
    for cid, s in cmds.items():
        s["ratio_to_bfs_printf"] = s["median"] / base if base else None

    # Entry counts, normalised to find's convention (the root counted once).
    counts, notes, ok = {}, [], True
    ref = facts.get("count.find_printf")
    ref = int(ref) if ref is not None else None
    for key, val in facts.items():
        if not key.startswith("count."):
            continue
        cid = key[len("count."):]
        raw = int(val)
        norm = raw + (1 if cid in ROOT_EXCLUDED else 0)
        if cid == "http":
            norm = raw + (0 if int(facts.get("http.root_listed", "0")) else 1)
        counts[cid] = {"reported": raw, "with_root": norm}
    for cid in NO_IGNORE:
        c = counts.get(cid)
        if c is None or ref is None:
            continue
        c["agrees_with_find"] = c["with_root"] == ref
        if c["with_root"] != ref:
            if cid == "fd_uu" and tree == "deep":
                c["known_difference"] = "fd skips paths over PATH_MAX (ENAMETOOLONG, silent)"
                continue
            ok = False
            notes.append("%s counts %d entries (root included), find %d" %
                         (cid, c["with_root"], ref))
    problems = json.loads(facts.get("http.problems", "[]"))
    if problems:
        ok = False
        notes.append("HTTP paging: %s" % "; ".join(problems))
    gi, fdh = counts.get("scan_gitignore"), counts.get("fd_hidden")
    if gi and fdh and tree != "deep":
        gi["fd_hidden_without_git"] = fdh["with_root"]
        gi["agrees_with_fd_hidden"] = gi["with_root"] == fdh["with_root"]
        if not gi["agrees_with_fd_hidden"]:
            notes.append("gitignore on: leindexd keeps %d entries, `fdfind -H -E .git` plus "
                         "the .git names %d (not asserted: fd also reads .ignore/.fdignore)"
                         % (gi["with_root"], fdh["with_root"]))
    out = {"tree": tree, "commands": cmds, "counts": counts, "counts_agree": ok, "notes": notes}
    summary = os.path.join(rawdir, "scan.json")
    if os.path.exists(summary):
        out["scan_summary"] = load_scan_json(summary)
    for key, conv in (("rss.scan_kib", int), ("rss.service_kib", int), ("hash.bytes", int),
                      ("rss.service_anon_peak_kib", int), ("rss.service_file_peak_kib", int),
                      ("store.bytes", int),
                      ("store.used_bytes", int), ("store.entries", int),
                      ("http.pages", int), ("http.service_cpu_ms_per_run", int)):
        if key in facts:
            out[key.replace(".", "_")] = conv(facts[key])
    if out.get("store_entries"):
        out["store_bytes_per_entry"] = out["store_bytes"] / out["store_entries"]
        if "store_used_bytes" in out:
            out["store_used_bytes_per_entry"] = out["store_used_bytes"] / out["store_entries"]
    return out


def fmt_ms(sec):
    return "%.0f" % (sec * 1000) if sec >= 0.01 else "%.1f" % (sec * 1000)


def hash_rates(t):
    """Bytes per second of `scan --hash` and of parallel sha256sum on tree report t, or None."""
    c, n = t.get("commands", {}), t.get("hash_bytes")
    if not n or "scan_hash" not in c or "sha256sum" not in c:
        return None
    return n / c["scan_hash"]["median"], n / c["sha256sum"]["median"]


def targets_io(trees, cache):
    """The figures of issue 14 that the measured trees allow to check."""
    rows = []
    for t in trees:
        c, tree = t["commands"], t["tree"]
        rates = hash_rates(t)
        if rates:
            r = rates[0] / rates[1]
            rows.append(("%s: `scan --hash` >= %.1fx the bytes/s of parallel sha256sum on %s "
                         "(%.0f vs %.0f MB/s)" % (cache, TARGET_HASH_SHARE, tree,
                                                  rates[0] / 1e6, rates[1] / 1e6),
                         "%.2fx" % r, r >= TARGET_HASH_SHARE if cache == "warm" else None))
        s = c.get("scan", {}).get("median")
        if s is None or tree == "deep":
            continue
        if cache == "cold" and "bfs_printf" in c:
            r = s / c["bfs_printf"]["median"]
            rows.append(("cold: `leindexd scan` <= %.1fx `bfs -printf` on %s" %
                         (TARGET_COLD_BFS, tree), "%.2fx" % r, r <= TARGET_COLD_BFS))
        best = [(c[k]["median"], k) for k in ("scan_w16", "floor16") if k in c]
        if cache == "cold" and best:
            b, k = min(best)
            r = s / b
            rows.append(("cold: `leindexd scan` <= %.1fx the best of --workers 16 and the floor "
                         "at 16 threads on %s (%s)" % (TARGET_COLD_BEST, tree, k),
                         "%.2fx" % r, r <= TARGET_COLD_BEST))
        if cache == "warm" and "scan_prev" in c:
            r = s / c["scan_prev"]["median"]
            rows.append(("warm: `leindexd scan` <= %.2fx the previous build on %s" %
                         (TARGET_WARM_PREV, tree), "%.2fx" % r, r <= TARGET_WARM_PREV))
    return rows


def targets(trees):
    """The figures of issue 4 that the measured trees allow to check."""
    rows = []
    by = {t["tree"]: t for t in trees}

    def ratio(tree, cid):
        return by.get(tree, {}).get("commands", {}).get(cid, {}).get("ratio_to_bfs_printf")

    for tree in TARGET_SCAN_TREES:
        r = ratio(tree, "scan")
        if r is not None:
            rows.append(("`leindexd scan` <= 1.0x `bfs -printf` on %s" % tree,
                         "%.2fx" % r, r <= 1.0))
    r = ratio("salsa-like", "http")
    if r is not None:
        rows.append(("HTTP path <= 1.0x `bfs -printf` on salsa-like (one curl process per request)",
                     "%.2fx" % r, r <= 1.0))
    r = ratio("salsa-like", "http_ka")
    if r is not None:
        rows.append(("HTTP path <= 1.0x `bfs -printf` on salsa-like (one keep-alive connection)",
                     "%.2fx" % r, r <= 1.0))
    for t in trees:
        rss = max(t.get("rss_scan_kib", 0), t.get("rss_service_kib", 0))
        if rss:
            rows.append(("peak RSS < 64 MiB on %s" % t["tree"], "%.1f MiB" % (rss / 1024),
                         rss < TARGET_RSS_KIB))
    s = by.get("salsa-like", {}).get("store_bytes_per_entry")
    if s is not None:
        rows.append(("store < 150 B/entry on salsa-like", "%.0f B" % s, s < TARGET_STORE_BPE))
    k = by.get("kernel-like", {}).get("commands", {})
    if "scan_gitignore" in k and "fd" in k:
        r = k["scan_gitignore"]["median"] / k["fd"]["median"]
        rows.append(("gitignore on, kernel-like: `leindexd scan` <= `fdfind -j2`",
                     "%.2fx" % r, r <= 1.0))
    return rows


def markdown(report):
    lines = []
    m = report["machine"]
    lines.append("Machine: %s, %s CPUs, %s, load average %s at the start and %s at the end; "
                 "%s cache; %s rounds x %s run(s), commands "
                 "alternating within each round; output to %s. Times are medians in ms, "
                 "spread is the interquartile range [q1-q3], CPU is the median user+system time of the "
                 "command's own processes (the HTTP row: the curl client only, not the service)." %
                 (m.get("cpu", "?"), m.get("cpus", "?"), m.get("kernel", "?"),
                  report.get("loadavg_start", "?"), report.get("loadavg_end", "?"),
                  report["cache"], report["rounds"], report["runs_per_round"],
                  report["output"]))
    lines.append("")
    for t in report["trees"]:
        ref = t["counts"].get("find_printf", {}).get("with_root")
        lines.append("### %s (%s entries, root included)" % (t["tree"], ref if ref else "?"))
        lines.append("")
        lines.append("| command | median ms | spread ms | x bfs -printf | CPU ms | entries |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for cid, label in COMMANDS:
            s = t["commands"].get(cid)
            if not s:
                continue
            c = t["counts"].get(cid, {})
            ent = c.get("reported", "")
            if c.get("known_difference"):
                ent = "%s (known)" % ent
            elif c.get("agrees_with_find") is False:
                ent = "%s (MISMATCH)" % ent
            ratio = s.get("ratio_to_bfs_printf")
            lines.append("| %s | %s | %s-%s | %s | %s | %s |" % (
                label, fmt_ms(s["median"]), fmt_ms(s["q1"]), fmt_ms(s["q3"]),
                "%.2f" % ratio if ratio is not None else "", fmt_ms(s["cpu_median"]), ent))
        extra = []
        if "rss_scan_kib" in t:
            extra.append("peak RSS `leindexd scan` %.1f MiB" % (t["rss_scan_kib"] / 1024))
        if "rss_service_kib" in t:
            s = "service %.1f MiB (VmHWM" % (t["rss_service_kib"] / 1024)
            if "rss_service_anon_peak_kib" in t:
                s += "; sampled peaks: anonymous %.1f MiB, file-mapped (LMDB, binary) %.1f MiB" % (
                    t["rss_service_anon_peak_kib"] / 1024, t["rss_service_file_peak_kib"] / 1024)
            extra.append(s + ")")
        if "http_service_cpu_ms_per_run" in t:
            extra.append("service CPU per HTTP run %d ms" % t["http_service_cpu_ms_per_run"])
        if "store_bytes_per_entry" in t:
            s = "store %.0f B/entry (%d bytes / %d entries" % (
                t["store_bytes_per_entry"], t["store_bytes"], t["store_entries"])
            if "store_used_bytes_per_entry" in t:
                s += "; LMDB pages in use %.0f B/entry" % t["store_used_bytes_per_entry"]
            extra.append(s + ")")
        if extra:
            lines.append("")
            lines.append("; ".join(extra) + ".")
        if t["notes"]:
            lines.append("")
            for n in t["notes"]:
                lines.append("- %s" % n)
        lines.append("")
    for title, rows in (("Figures of issue 4", targets(report["trees"])),
                        ("Figures of issue 14 (%s cache)" % report["cache"],
                         targets_io(report["trees"], report["cache"]))):
        if not rows:
            continue
        lines.append("### " + title)
        lines.append("")
        lines.append("| figure | measured | met |")
        lines.append("|---|---:|---|")
        for name, val, met in rows:
            lines.append("| %s | %s | %s |" % (
                name, val, "(reported)" if met is None else "yes" if met else "**no**"))
        lines.append("")
    lines.append("Entry counts are as each tool reports them: fd never prints the root and "
                 "leindexd's `entries` excludes it; every other count includes the root. "
                 "Only `fdfind -uu` lists hidden and ignored entries, so `fdfind -j2` and "
                 "`leindexd scan` with gitignore on count fewer.")
    return "\n".join(lines) + "\n"


def machine_info():
    info = {"cpus": os.cpu_count(), "kernel": os.uname().release}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total"] = f.readline().split(":", 1)[1].strip()
        with open("/proc/loadavg") as f:
            info["loadavg"] = f.read().split()[:3]
    except OSError:
        pass
    return info


def cmd_report(args):
    if not args:
        die("usage: report OUTDIR [--short]")
    outdir, short = args[0], "--short" in args[1:]
    meta = read_facts(os.path.join(outdir, "raw", "meta.tsv"))
    trees = []
    for tree in meta.get("trees", "").split():
        rawdir = os.path.join(outdir, "raw", tree)
        if os.path.isdir(rawdir):
            trees.append(tree_report(rawdir, tree))
    report = {"machine": machine_info(), "cache": meta.get("cache", "warm"),
              "rounds": meta.get("rounds"), "runs_per_round": meta.get("runs"),
              "output": meta.get("output", "/dev/null"),
              "loadavg_start": meta.get("loadavg_start"), "loadavg_end": meta.get("loadavg_end"),
              "tools": {
                  k[len("version."):]: v for k, v in meta.items() if k.startswith("version.")},
              "trees": trees,
              "targets": [{"figure": n, "measured": v, "met": m} for n, v, m in
                          targets(trees) + targets_io(trees, meta.get("cache", "warm"))]}
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    md = markdown(report)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)
    bad = [t["tree"] for t in trees if not t["counts_agree"]]
    if bad:
        sys.stderr.write("bench.py: entry counts disagree on %s\n" % ", ".join(bad))
        if short:
            sys.exit(1)


def cmd_side_by_side(args):
    """Warm and cold medians of the same commands, from two report directories."""
    if len(args) != 2:
        die("usage: side-by-side WARM_OUTDIR COLD_OUTDIR")
    docs = []
    for d in args:
        with open(os.path.join(d, "results.json")) as f:
            docs.append(json.load(f))
    lines = []
    for tw in docs[0]["trees"]:
        tc = next((t for t in docs[1]["trees"] if t["tree"] == tw["tree"]), None)
        if tc is None:
            continue
        lines.append("### %s, warm and cold" % tw["tree"])
        lines.append("")
        lines.append("| command | warm ms | x bfs -printf | cold ms | x bfs -printf | cold / warm |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for cid, label in COMMANDS:
            w, c = tw["commands"].get(cid), tc["commands"].get(cid)
            if not w and not c:
                continue
            cell = lambda s: ((fmt_ms(s["median"]), "%.2f" % s["ratio_to_bfs_printf"])
                              if s and s.get("ratio_to_bfs_printf") is not None else
                              (fmt_ms(s["median"]) if s else "", ""))
            (wm, wr), (cm, cr) = cell(w), cell(c)
            ratio = "%.1f" % (c["median"] / w["median"]) if w and c else ""
            lines.append("| %s | %s | %s | %s | %s | %s |" % (label, wm, wr, cm, cr, ratio))
        for cache, t in (("warm", tw), ("cold", tc)):
            rates = hash_rates(t)
            if rates:
                lines.append("")
                lines.append("Hashing %s: `leindexd scan --hash` %.0f MB/s, parallel sha256sum "
                             "%.0f MB/s (%.2fx), %d bytes." % (cache, rates[0] / 1e6,
                                                              rates[1] / 1e6,
                                                              rates[0] / rates[1],
                                                              t["hash_bytes"]))
        lines.append("")
    sys.stdout.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmds = {"freeport": cmd_freeport, "rss": cmd_rss, "rss-sample": cmd_rss_sample,
            "scan-json": cmd_scan_json,
            "store-bytes": cmd_store_bytes, "http-check": cmd_http_check, "report": cmd_report,
            "side-by-side": cmd_side_by_side}
    fn = cmds.get(sys.argv[1])
    if fn is None:
        die("unknown subcommand %s\n%s" % (sys.argv[1], __doc__))
    fn(sys.argv[2:])


if __name__ == "__main__":
    main()
