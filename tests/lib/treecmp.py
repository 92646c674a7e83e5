#!/usr/bin/env python3
"""treecmp.py: compare leindexd's --list --null output with find and with git.

  treecmp.py find ROOT LIST [--maxdepth N] [--as-nobody]
      LIST must equal `find ROOT -mindepth 1 -printf '%P\\0'` as a set, in depth-first
      pre-order with siblings in bytewise order (the order leindexd promises).
  treecmp.py git ROOT LIST
      The regular files and symlinks of LIST must equal `git ls-files -z -co
      --exclude-standard` run in ROOT with an empty HOME and no system config; paths inside
      nested repositories are left out of both sides.
"""
import os
import stat
import subprocess
import sys
import tempfile


def read_list(path):
    with open(path, "rb") as f:
        data = f.read()
    items = data.split(b"\0")
    if items and items[-1] == b"":
        items.pop()
    return items


def dfs_key(p):
    return p.split(b"/")


def report(label, ours, theirs):
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    for p in missing[:15]:
        print(f"  missing from leindexd ({label} has it): {p!r}")
    for p in extra[:15]:
        print(f"  only in leindexd (not in {label}): {p!r}")
    return not missing and not extra


def cmd_find(root, listing, args):
    cmd = ["find", root, "-mindepth", "1"]
    if "--maxdepth" in args:
        cmd += ["-maxdepth", str(int(args[args.index("--maxdepth") + 1]) + 1)]
    cmd += ["-printf", "%P\\0"]
    if "--as-nobody" in args and os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    theirs = [p for p in res.stdout.split(b"\0") if p]
    ours = read_list(listing)
    ok = report("find", ours, theirs)
    if len(ours) != len(set(ours)):
        print(f"  leindexd listed {len(ours) - len(set(ours))} paths more than once")
        ok = False
    if ok and ours != sorted(theirs, key=dfs_key):
        for i, (a, b) in enumerate(zip(ours, sorted(theirs, key=dfs_key))):
            if a != b:
                print(f"  order differs at #{i}: leindexd {a!r}, expected {b!r}")
                break
        ok = False
    print(f"find: {len(theirs)} entries, leindexd: {len(ours)}: {'same' if ok else 'DIFFERENT'}")
    return ok


def nested_repos(root, paths):
    """Directories below root (not root) that hold a .git: their contents are another repo."""
    out = []
    for p in paths:
        if p.endswith(b"/.git") or p == b".git":
            parent = p[: -len(b"/.git")] if p != b".git" else b""
            if parent:
                out.append(parent + b"/")
    return out


def cmd_git(root, listing):
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, GIT_CONFIG_NOSYSTEM="1")
    res = subprocess.run(["git", "-c", "core.quotepath=off", "ls-files", "-z", "-co",
                          "--exclude-standard"], cwd=root, env=env, stdout=subprocess.PIPE,
                         check=True)
    os.rmdir(home)
    ours_all = read_list(listing)
    nested = nested_repos(root, ours_all)

    def outside_nested(p):
        return not any(p.startswith(n) or p + b"/" == n for n in nested)

    theirs = [p for p in res.stdout.split(b"\0") if p and not p.endswith(b"/")]
    theirs = [p for p in theirs if outside_nested(p)]
    ours = []
    for p in ours_all:
        if not outside_nested(p):
            continue
        st = os.lstat(os.path.join(root.encode(), p))
        if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            ours.append(p)
    ok = report("git ls-files", ours, theirs)
    print(f"git: {len(theirs)} files and links, leindexd: {len(ours)}: {'same' if ok else 'DIFFERENT'}")
    return ok


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, root, listing = sys.argv[1:4]
    if mode == "find":
        return 0 if cmd_find(root, listing, sys.argv[4:]) else 1
    if mode == "git":
        return 0 if cmd_git(root, listing) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
