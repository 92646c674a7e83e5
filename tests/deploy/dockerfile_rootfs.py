"""dockerfile_rootfs.py: builds the Dockerfile without Docker, in debootstrap roots, and runs it.

Started by tests/deploy/exercise-dockerfile-rootfs.bash (read its header first). No Docker engine
runs here, so this plays the engine's part with plain Linux tools, as root:

  base      `debootstrap --variant=minbase bookworm` (what debian:bookworm-slim is made of), plus
            the slim image's dpkg path excludes and the host's Debian apt sources.
  stages    each FROM gets a copy of the base; RUN executes for real through /bin/sh -c in a
            chroot, inside private mount and PID namespaces (fresh /proc, a minimal /dev), with
            the host's network (as `docker build` has); ENV/WORKDIR/USER/ARG apply as in Docker;
            COPY takes the build context filtered by .dockerignore, or files of an earlier stage.
  container the last stage's root is run like `docker run --read-only --tmpfs /tmp
            --security-opt no-new-privileges -v VOL:/data -v TREE:/scan:ro
            -v TOKENS:$LEINDEX_TOKEN_FILE:ro`: a read-only bind of the root, a volume seeded
            from the image's /data, a read-only tree at /scan, the operator's token file (made
            with the image's own `leindexd token new`) read-only where the image's
            LEINDEX_TOKEN_FILE points (its mount point made in the root, as an engine makes it
            in the container's layer), new network (loopback only), PID (the ENTRYPOINT is
            PID 1) and mount namespaces, the image's USER with no capabilities and no_new_privs.
            First, run without the token file, the server must exit non-zero naming the file
            (fail closed). Then: /healthz and /readyz answer 200 without a token (curl inside
            the network namespace); the API answers 401 without a token or with an unknown one,
            403 to a read token's POST; a write token's scan of /scan completes and one of /etc
            is refused (403); the file rewritten with a new write token plus SIGHUP rotates it;
            the HEALTHCHECK command exits 0 (entered like `docker exec`, no token); STOPSIGNAL
            makes it exit with status 0 on its own (waited for generously, the time taken
            printed); no token reaches the log; and a second run with `scan /scan` (like
            `docker run --rm IMAGE scan /scan`, no token file) exits 0 on the read-only tree.

Every failure raises and ends the run non-zero; nothing is skipped. Mounts are made only inside
private mount namespaces, so they vanish with the processes and never leak onto the host.
"""

import argparse
import ctypes
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile_parse as dp  # noqa: E402

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PR_SET_NO_NEW_PRIVS = 38
# What the official debian:*-slim images exclude from packages (docs, man pages, locales).
SLIM_DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/all_languages
path-include /usr/share/locale/locale.alias
"""


class ExerciseError(Exception):
    """A step failed; the message says which and why."""


# How long a step may take to reach the state it waits for. Generous on purpose: this runs on
# loaded CI machines, so a deadline only stops a run that would otherwise hang; nothing here
# asserts that the server is quick.
DEADLINE_S = 60.0


def poll_until(what, check, deadline_s=DEADLINE_S, interval_s=0.1):
    """Calls check() every interval_s until it returns something true, and returns that. Past
    deadline_s, raises ExerciseError saying `what` did not happen (what() when callable, for a
    message built from the last state). check() may raise ExerciseError itself (a process died)."""
    end = time.monotonic() + deadline_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            raise ExerciseError(f"{what() if callable(what) else what} after {deadline_s:.0f} s")
        time.sleep(interval_s)  # the poll's interval, not a wait for the state


def log(msg):
    print(f"[rootfs {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(argv, **kw):
    """Runs argv, raising ExerciseError with the command when it fails."""
    try:
        res = subprocess.run(argv, **kw)
    except OSError as e:
        raise ExerciseError(f"cannot start {argv[0]}: {e.strerror}") from e
    if res.returncode != 0:
        raise ExerciseError(f"exit status {res.returncode}: {shlex.join(argv)}")
    return res


# ---------------------------------------------------------------------------------------------
# Base root

def host_mirror():
    """The Debian archive the host's apt uses for bookworm (an override wins)."""
    if os.environ.get("LEINDEX_DEBIAN_MIRROR"):
        return os.environ["LEINDEX_DEBIAN_MIRROR"]
    candidates = []
    d = "/etc/apt/sources.list.d"
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith(".sources"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                for stanza in f.read().split("\n\n"):
                    fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                    if "bookworm" in fields.get("Suites", "").split():
                        candidates += fields.get("URIs", "").split()
    if os.path.exists("/etc/apt/sources.list"):
        with open("/etc/apt/sources.list", encoding="utf-8") as f:
            for line in f:
                w = line.split()
                if len(w) >= 3 and w[0] == "deb" and w[2] == "bookworm":
                    candidates.append(w[1] if not w[1].startswith("[") else w[2])
    for uri in candidates:
        if urllib.parse.urlparse(uri).scheme in ("http", "https"):
            return uri
    raise ExerciseError("no apt source for bookworm on the host; set LEINDEX_DEBIAN_MIRROR")


def make_base(work, cache):
    """A bookworm minbase root at work/base, from the cache tarball when there is one."""
    base = os.path.join(work, "base")
    if cache and os.path.exists(cache):
        log(f"base: unpacking cached debootstrap root {cache}")
        os.mkdir(base)
        run(["tar", "-C", base, "--numeric-owner", "-xpf", cache])
        return base
    mirror = host_mirror()
    log(f"base: debootstrap --variant=minbase bookworm from the host's Debian mirror")
    t0 = time.monotonic()
    # Its own mount namespace: the /proc and /sys debootstrap mounts cannot outlive it.
    run(["unshare", "--mount", "--propagation", "private", "--",
         "debootstrap", "--variant=minbase", "bookworm", base, mirror],
        stdout=open(os.path.join(work, "debootstrap.log"), "w"), stderr=subprocess.STDOUT)
    log(f"base: debootstrap done in {time.monotonic() - t0:.0f} s")
    os.makedirs(os.path.join(base, "etc/dpkg/dpkg.cfg.d"), exist_ok=True)
    with open(os.path.join(base, "etc/dpkg/dpkg.cfg.d/docker"), "w") as f:
        f.write(SLIM_DPKG_EXCLUDES)
    # The image's apt sources: the host's deb822 file (bookworm, -updates, -security) if any.
    host_sources = "/etc/apt/sources.list.d/debian.sources"
    if os.path.exists(host_sources) and not os.environ.get("LEINDEX_DEBIAN_MIRROR"):
        shutil.copy(host_sources, os.path.join(base, "etc/apt/sources.list.d/debian.sources"))
        os.unlink(os.path.join(base, "etc/apt/sources.list"))
    run(["chroot", base, "apt-get", "clean"])
    shutil.rmtree(os.path.join(base, "var/lib/apt/lists"))
    os.makedirs(os.path.join(base, "var/lib/apt/lists/partial"))
    if cache:
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        run(["tar", "-C", base, "--numeric-owner", "-cpf", cache, "."])
        log(f"base: cached as {cache}")
    return base


# ---------------------------------------------------------------------------------------------
# Build context

def dockerignore_patterns(context):
    path = os.path.join(context, ".dockerignore")
    out = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                neg = line.startswith("!")
                pat = os.path.normpath(line.lstrip("!").strip("/"))
                # Go's filepath.Match: * and ? stop at '/'; Docker adds ** for any depth.
                rx = ""
                i = 0
                while i < len(pat):
                    if pat.startswith("**", i):
                        rx += ".*"
                        i += 2
                    elif pat[i] == "*":
                        rx += "[^/]*"
                        i += 1
                    elif pat[i] == "?":
                        rx += "[^/]"
                        i += 1
                    else:
                        rx += re.escape(pat[i])
                        i += 1
                out.append((neg, re.compile("^" + rx + "$")))
    return out


def ignored(rel, patterns):
    """Docker's rule: the last matching pattern decides; a pattern matching a parent matches."""
    verdict = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for neg, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            verdict = not neg
    return verdict


def copy_context_dir(context, dest, patterns):
    """Copies the context into dest (root-owned, as COPY does), leaving out ignored paths."""
    for dirpath, dirnames, filenames in os.walk(context):
        reldir = os.path.relpath(dirpath, context)
        reldir = "" if reldir == "." else reldir
        keep = []
        for dn in dirnames:
            rel = os.path.join(reldir, dn)
            if ignored(rel, patterns):
                continue
            keep.append(dn)
            full = os.path.join(dirpath, dn)
            if os.path.islink(full):
                os.symlink(os.readlink(full), os.path.join(dest, rel))
            else:
                os.makedirs(os.path.join(dest, rel), exist_ok=True)
        dirnames[:] = [d for d in keep if not os.path.islink(os.path.join(dirpath, d))]
        for fn in filenames:
            rel = os.path.join(reldir, fn)
            if ignored(rel, patterns):
                continue
            shutil.copy2(os.path.join(dirpath, fn), os.path.join(dest, rel), follow_symlinks=False)
    run(["chown", "-R", "--no-dereference", "0:0", dest])


# ---------------------------------------------------------------------------------------------
# Stages

class StageState:
    def __init__(self, stage, root):
        self.stage = stage
        self.root = root
        self.env = {"PATH": DEFAULT_PATH}
        self.args = {}
        self.workdir = "/"
        self.user = "0"
        self.meta = {}


def expand(text, env):
    """Docker's $VAR / ${VAR} / ${VAR:-default} substitution in ENV, WORKDIR, COPY and USER."""
    def sub(m):
        name = m.group(1) or m.group(2)
        default = m.group(3)
        val = env.get(name)
        return val if val else (default or "")
    return re.sub(r"\$(?:(\w+)|\{(\w+)(?::-([^}]*))?\})", sub, text)


def inside(root, path):
    """root + path, refusing paths that climb out of the root."""
    full = os.path.normpath(os.path.join(root, path.lstrip("/")))
    if os.path.commonpath([root, full]) != os.path.normpath(root):
        raise ExerciseError(f"path {path} leaves the root")
    return full


def resolve_user(root, spec):
    """(uid, gid, home) for a USER value, read from the root's passwd/group like Docker."""
    user, _, group = spec.partition(":")
    passwd = {}
    with open(inside(root, "/etc/passwd"), encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split(":")
            if len(p) >= 7:
                passwd[p[0]] = p
                passwd.setdefault(p[2], p)
    if user in passwd:
        uid, gid, home = int(passwd[user][2]), int(passwd[user][3]), passwd[user][5]
    elif user.isdigit():
        uid, gid, home = int(user), int(user), "/"
    else:
        raise ExerciseError(f"USER {spec}: no such user in the image")
    if group:
        if not group.isdigit():
            raise ExerciseError(f"USER {spec}: this exercise handles numeric groups only")
        gid = int(group)
    return uid, gid, home


def minimal_dev_script(root):
    """Shell lines that give `root` a Docker-like /dev (tmpfs, a few bound nodes, shm)."""
    q = shlex.quote
    dev = q(os.path.join(root, "dev"))
    lines = [f"mount -t tmpfs -o mode=755,nosuid devtmp {dev}"]
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        lines.append(f"touch {dev}/{node} && mount --bind /dev/{node} {dev}/{node}")
    lines += [f"mkdir -p {dev}/shm {dev}/pts && mount -t tmpfs -o mode=1777,nosuid,nodev shm {dev}/shm",
              f"mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts {dev}/pts",
              f"ln -s pts/ptmx {dev}/ptmx",
              f"ln -s /proc/self/fd {dev}/fd", f"ln -s /proc/self/fd/0 {dev}/stdin",
              f"ln -s /proc/self/fd/1 {dev}/stdout", f"ln -s /proc/self/fd/2 {dev}/stderr"]
    return lines


def exec_in_root(cfg):
    """Last step of a RUN or of the container init: chroot, drop to the user, exec. Never returns."""
    os.chroot(cfg["root"])
    os.chdir(cfg["workdir"])
    os.setgroups([])
    os.setgid(cfg["gid"])
    os.setuid(cfg["uid"])
    if cfg.get("no_new_privs"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.execve(cfg["argv"][0] if cfg["argv"][0].startswith("/") else
              shutil.which(cfg["argv"][0], path=cfg["env"].get("PATH", DEFAULT_PATH)) or cfg["argv"][0],
              cfg["argv"], cfg["env"])


def namespaced_exec(mount_lines, cfg, unshare_flags, **popen_kw):
    """Starts `unshare FLAGS --fork sh` that mounts, then execs exec_in_root(cfg) as PID 1."""
    script = "set -e\n" + "\n".join(mount_lines) + "\nexec " + shlex.join(
        [sys.executable, os.path.abspath(__file__), "--exec-in", json.dumps(cfg)]) + "\n"
    argv = ["unshare", *unshare_flags, "--fork", "--propagation", "private", "--", "sh", "-c", script]
    return subprocess.Popen(argv, **popen_kw)


def do_run(st, ins):
    if ins.exec_form is not None:
        argv = ins.exec_form
    else:
        argv = ["/bin/sh", "-c", ins.args]
    uid, gid, home = resolve_user(st.root, st.user)
    env = dict(st.env)
    env.update({k: v for k, v in st.args.items() if k not in env})
    env.setdefault("HOME", home if uid else "/root")
    env.setdefault("HOSTNAME", "leindexd-build")
    q = shlex.quote
    root = st.root
    shutil.copy("/etc/resolv.conf", inside(root, "/etc/resolv.conf"))
    lines = [f"mount -t proc proc {q(inside(root, '/proc'))}"]
    lines += minimal_dev_script(root)
    lines.append(f"mount -t sysfs -o ro sysfs {q(inside(root, '/sys'))} || "
                 f"mount --rbind -o ro /sys {q(inside(root, '/sys'))}")
    os.makedirs(inside(root, st.workdir), exist_ok=True)
    cfg = {"root": root, "workdir": st.workdir, "uid": uid, "gid": gid, "argv": argv, "env": env}
    shown = ins.args if len(ins.args) < 160 else ins.args[:157] + "..."
    log(f"stage {st.stage.name}: RUN {shown}")
    t0 = time.monotonic()
    out = os.path.join(os.path.dirname(root), f"run-{st.stage.name}-line{ins.lineno}.log")
    with open(out, "w") as f:
        proc = namespaced_exec(lines, cfg, ["--mount", "--pid", "--uts"], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=subprocess.STDOUT)
        rc = proc.wait()
    with open(out, errors="replace") as f:
        tail = f.read().splitlines()[-(60 if rc else 12):]
    print("\n".join("    | " + ln for ln in tail), flush=True)
    if rc != 0:
        raise ExerciseError(f"stage {st.stage.name}, line {ins.lineno}: RUN exited {rc} "
                            "(the end of its output is above)")
    log(f"stage {st.stage.name}: RUN done in {time.monotonic() - t0:.0f} s")


def do_copy(st, ins, stages_done, context, patterns):
    words = ins.exec_form if ins.exec_form is not None else shlex.split(ins.args)
    words = [expand(w, st.env) for w in words]
    if len(words) < 2:
        raise ExerciseError(f"line {ins.lineno}: COPY needs a source and a destination")
    *srcs, dest = words
    if not dest.startswith("/"):
        dest = os.path.join(st.workdir, dest)
    src_from = ins.flags.get("from")
    for flag in ins.flags:
        if flag not in ("from", "chown", "chmod"):
            raise ExerciseError(f"line {ins.lineno}: COPY --{flag} is not handled here")
    if src_from is not None:
        if src_from not in stages_done:
            raise ExerciseError(f"line {ins.lineno}: COPY --from={src_from}: no earlier stage")
        src_root = stages_done[src_from].root
    else:
        src_root = context
    dest_is_dir = dest.endswith("/") or len(srcs) > 1
    for src in srcs:
        if any(c in src for c in "*?["):
            raise ExerciseError(f"line {ins.lineno}: COPY wildcards are not handled here")
        s = inside(src_root, src)
        if not os.path.lexists(s):
            raise ExerciseError(f"line {ins.lineno}: COPY source {src} does not exist"
                                + (f" in stage {src_from}" if src_from else " in the context"))
        d = inside(st.root, dest)
        if os.path.isdir(s) and not os.path.islink(s):
            os.makedirs(d, exist_ok=True)
            if src_from is None:
                copy_context_dir(s, d, patterns)
            else:
                shutil.copytree(s, d, symlinks=True, dirs_exist_ok=True)
        else:
            if dest_is_dir or os.path.isdir(d):
                os.makedirs(d, exist_ok=True)
                d = os.path.join(d, os.path.basename(s))
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(s, d, follow_symlinks=False)
            if src_from is None:
                os.lchown(d, 0, 0)
        if "chown" in ins.flags:
            uid, gid, _ = resolve_user(st.root, ins.flags["chown"])
            run(["chown", "-R", "--no-dereference", f"{uid}:{gid}", d])
        if "chmod" in ins.flags:
            run(["chmod", "-R", ins.flags["chmod"], d])
    log(f"stage {st.stage.name}: COPY {' '.join(words)}")


def build(stages, base, work, context, named_contexts):
    patterns = dockerignore_patterns(context)
    done = {}
    for stage in stages:
        root = os.path.join(work, f"stage-{stage.index}-{stage.name or 'unnamed'}")
        if stage.name in named_contexts:
            # BuildKit's --build-context NAME=DIR: the directory replaces the stage entirely.
            src = named_contexts[stage.name]
            if not os.path.isdir(src):
                raise ExerciseError(f"build context {stage.name}={src} is not a directory")
            shutil.copytree(src, root, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
            st = StageState(stage, root)
            done[stage.name] = done[str(stage.index)] = st
            log(f"stage {stage.name}: replaced by build context {src}")
            continue
        if stage.base == "scratch":
            os.mkdir(root)
        elif stage.base in done:
            parent = done[stage.base]
            run(["cp", "-a", "--reflink=auto", parent.root, root])
        else:
            run(["cp", "-a", "--reflink=auto", base, root])
        st = StageState(stage, root)
        if stage.base in done:
            st.env, st.workdir, st.user = dict(done[stage.base].env), done[stage.base].workdir, done[stage.base].user
        log(f"stage {stage.name}: FROM {stage.base}")
        for ins in stage.instructions:
            k = ins.keyword
            if k == "RUN":
                if ins.flags:
                    raise ExerciseError(f"line {ins.lineno}: RUN --{next(iter(ins.flags))} is not handled here")
                do_run(st, ins)
            elif k == "COPY":
                do_copy(st, ins, done, context, patterns)
            elif k == "ENV":
                for key, val in dp.parse_env(ins).items():
                    st.env[key] = expand(val, st.env)
            elif k == "ARG":
                name, _, default = ins.args.strip().partition("=")
                st.args[name] = default
            elif k == "WORKDIR":
                st.workdir = os.path.normpath(os.path.join(st.workdir, expand(ins.args.strip(), st.env)))
                os.makedirs(inside(root, st.workdir), exist_ok=True)
            elif k == "USER":
                st.user = expand(ins.args.strip(), st.env)
            elif k in ("EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL"):
                st.meta[k] = ins
            else:
                raise ExerciseError(f"line {ins.lineno}: {k} is not handled by this exercise")
        done[stage.name] = done[str(stage.index)] = st
    return done[str(stages[-1].index)]


# ---------------------------------------------------------------------------------------------
# The container

def make_tree(path):
    """A small tree to mount read-only at /scan: nested dirs, files, a symlink, an odd name."""
    for d in ("src/lib", "src/bin", "docs", "deep/a/b/c/d"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    for i in range(40):
        with open(os.path.join(path, "src/lib", f"mod{i:02}.c"), "w") as f:
            f.write("int x;\n" * i)
    with open(os.path.join(path, "docs", "name with spaces.md"), "w") as f:
        f.write("# hello\n")
    with open(os.path.join(path, "deep/a/b/c/d", "leaf"), "w") as f:
        f.write("leaf\n")
    os.symlink("../src", os.path.join(path, "docs", "src-link"))
    run(["chmod", "-R", "a+rX", path])


def tree_counts(path):
    """dirs (the root left out), files and symlinks below path, as the host sees them."""
    out = {"dirs": 0, "files": 0, "symlinks": 0}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            key = "symlinks" if os.path.islink(full) else "dirs" if os.path.isdir(full) else "files"
            out[key] += 1
    return out


class Container:
    def __init__(self, image, work, volume, tree, name, tokens=None):
        """tokens: host path of a token file to mount read-only at the image's
        LEINDEX_TOKEN_FILE, like a Docker secret or `-v FILE:PATH:ro`; None mounts nothing."""
        self.image = image
        self.work = work
        self.volume = volume
        self.tree = tree
        self.name = name
        self.tokens = tokens
        self.proc = None
        self.out = os.path.join(work, f"{name}.stdout")
        self.err = os.path.join(work, f"{name}.stderr")
        uid, gid, home = resolve_user(image.root, image.user)
        self.uid, self.gid = uid, gid
        self.env = dict(image.env)
        self.env.setdefault("HOME", home)
        self.env.setdefault("HOSTNAME", name)

    def start(self, cmd):
        root = self.image.root
        q = shlex.quote
        ep = self.image.meta.get("ENTRYPOINT")
        if ep is None or ep.exec_form is None:
            raise ExerciseError("the image has no exec-form ENTRYPOINT to run")
        lines = [
            # read-only root: bind the root onto itself first, submounts go on top of it
            f"mount --bind {q(root)} {q(root)}",
            f"mount -t proc proc {q(inside(root, '/proc'))}",
            *minimal_dev_script(root),
            f"mount -t sysfs -o ro sysfs {q(inside(root, '/sys'))}",
            f"mount -t tmpfs -o mode=1777,nosuid,nodev tmp {q(inside(root, '/tmp'))}",
            f"mount --bind {q(self.volume)} {q(inside(root, '/data'))}",
            f"mount --bind {q(self.tree)} {q(inside(root, '/scan'))}",
            f"mount -o remount,bind,ro {q(inside(root, '/scan'))}",
        ]
        if self.tokens is not None:
            target = self.image.env.get("LEINDEX_TOKEN_FILE")
            if not target:
                raise ExerciseError("the image sets no LEINDEX_TOKEN_FILE to mount the token file at")
            # The engine makes the mount point, as Docker does in the container's layer.
            point = inside(root, target)
            os.makedirs(os.path.dirname(point), exist_ok=True)
            open(point, "a").close()
            lines += [f"mount --bind {q(self.tokens)} {q(point)}",
                      f"mount -o remount,bind,ro {q(point)}"]
        lines += [f"mount -o remount,bind,ro {q(root)}", "ip link set lo up"]
        cfg = {"root": root, "workdir": self.image.workdir, "uid": self.uid, "gid": self.gid,
               "argv": ep.exec_form + cmd, "env": self.env, "no_new_privs": True}
        self.proc = namespaced_exec(lines, cfg, ["--mount", "--pid", "--net", "--uts", "--ipc"],
                                    stdout=open(self.out, "w"), stderr=open(self.err, "w"))

    def init_pid(self):
        """Host PID of the container's PID 1 (unshare's forked child)."""
        def child():
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = f.read().split()
            except FileNotFoundError:
                kids = []
            if kids:
                return int(kids[0])
            if self.proc.poll() is not None:
                raise ExerciseError(f"{self.name} exited with {self.proc.returncode} at start\n"
                                    + self.tail())
            return None
        return poll_until(f"{self.name}: no PID 1 appeared", child, interval_s=0.05)

    def tail(self):
        parts = []
        for p in (self.out, self.err):
            with open(p, errors="replace") as f:
                data = f.read()[-3000:]
            parts.append(f"--- {os.path.basename(p)} ---\n{data}")
        return "\n".join(parts)

    def curl(self, path, method="GET", data=None, token=None):
        """(status, body, headers) of a request to the container's 8080, from its network
        namespace (like a published port, without publishing anything), with the bearer token
        when one is given."""
        pid = self.init_pid()
        hdr = os.path.join(self.work, f"{self.name}.headers")
        argv = ["nsenter", "-t", str(pid), "-n", "--", "curl", "-sS", "-m", str(int(DEADLINE_S)),
                "-X", method,
                "-D", hdr, "-w", "\n%{http_code}"]
        if token is not None:
            argv += ["-H", f"Authorization: Bearer {token}"]
        if data is not None:
            argv += ["-H", "Content-Type: application/json", "--data", json.dumps(data)]
        res = subprocess.run(argv + [f"http://127.0.0.1:8080{path}"], capture_output=True, text=True)
        if res.returncode != 0:
            return 0, res.stderr.strip(), {}
        body, _, code = res.stdout.rpartition("\n")
        headers = {}
        with open(hdr, errors="replace") as f:
            for line in f:
                k, sep, v = line.partition(":")
                if sep:
                    headers[k.strip().lower()] = v.strip()
        return int(code), body, headers

    def exec(self, argv, timeout):
        """Runs argv inside the container like `docker exec` (its namespaces, root and user)."""
        pid = self.init_pid()
        cfg = {"root": self.image.root, "workdir": self.image.workdir, "uid": self.uid,
               "gid": self.gid, "argv": argv, "env": self.env, "no_new_privs": True}
        return subprocess.run(["nsenter", "-t", str(pid), "-n", "-m", "-p", "-u", "-i", "--",
                               sys.executable, os.path.abspath(__file__), "--exec-in",
                               json.dumps(cfg)], capture_output=True, text=True, timeout=timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.init_pid(), signal.SIGKILL)
            except (ExerciseError, ProcessLookupError):
                pass
            self.proc.kill()
            self.proc.wait()


def healthcheck_argv(image):
    hc = image.meta.get("HEALTHCHECK")
    if hc is None:
        raise ExerciseError("the image has no HEALTHCHECK")
    m = re.match(r"^(?:--\S+\s+)*CMD\s+(.*)$", hc.args, re.S)
    if not m:
        raise ExerciseError("HEALTHCHECK has no CMD")
    body = m.group(1).strip()
    return json.loads(body) if body.startswith("[") else ["/bin/sh", "-c", body]


TOKEN_LINE = re.compile(r"^(\S+) (read|write) sha256:([0-9a-f]{64})$", re.M)


def new_token(image, token_id, scope):
    """(token, file line) from the image's own `leindexd token new`, run like `docker run --rm
    IMAGE token new ...` (its USER, no mounts: it needs no token file); the line's digest must be
    the SHA-256 of the token, as the README's `printf %s "$TOKEN" | sha256sum` makes it."""
    uid, gid, _ = resolve_user(image.root, image.user)
    argv = image.meta["ENTRYPOINT"].exec_form + ["token", "new", "--id", token_id, "--scope", scope]
    res = run(["chroot", f"--userspec={uid}:{gid}", image.root, *argv], capture_output=True,
              text=True)
    token = re.search(r"^token: (\S+)$", res.stdout, re.M)
    line = TOKEN_LINE.search(res.stdout)
    if not token or not line or line.group(1) != token_id or line.group(2) != scope:
        raise ExerciseError(f"`token new --id {token_id} --scope {scope}` printed:\n{res.stdout}")
    if hashlib.sha256(token.group(1).encode()).hexdigest() != line.group(3):
        raise ExerciseError(f"the digest in {line.group(0)!r} is not the SHA-256 of the token")
    return token.group(1), line.group(0)


def write_tokens(path, lines):
    """Rewrites the token file in place (the bind mount pins its inode), mode 0644 as root:
    it holds digests only, and the container's uid reads it as "other"."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("# leindexd token file, made by the rootfs exercise\n" + "\n".join(lines) + "\n")
    os.chmod(path, 0o644)


def exercise_without_tokens(image, work, volume, tree):
    """The image run with no token file mounted must not serve: the server exits non-zero
    naming the file it could not open (fail closed; the image never sets --insecure-no-auth)."""
    c = Container(image, work, volume, tree, "no-tokens")
    log("container: starting without a token file (must refuse to serve)")
    c.start([])
    try:
        rc = c.proc.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        c.kill()
        raise ExerciseError(f"without a token file the server still runs after {DEADLINE_S:.0f} s "
                            "(it must refuse to listen on 0.0.0.0 without tokens)") from None
    with open(c.err, errors="replace") as f:
        err = f.read()
    want = image.env.get("LEINDEX_TOKEN_FILE") or "--token-file"
    if rc == 0 or want not in err:
        raise ExerciseError(f"without a token file: exit {rc}, want non-zero and a message naming "
                            f"{want}\n{c.tail()}")
    said = next((ln for ln in err.splitlines() if want in ln), "").strip()
    return f"no token file mounted -> exit {rc}: {said[:160]}"


def check_access(c, tok):
    """Requests without, with the wrong and with the right token. tok maps scope to token."""
    out = []
    code, body, hdrs = c.curl("/scans")
    challenge = hdrs.get("www-authenticate", "")
    if code != 401 or challenge != 'Bearer realm="leindexd"':
        raise ExerciseError(f"GET /scans without a token gave {code} (WWW-Authenticate "
                            f"{challenge!r}), want 401 with Bearer realm=\"leindexd\"")
    out.append('GET /scans without a token -> 401, WWW-Authenticate: Bearer realm="leindexd"')
    code, body, _ = c.curl("/scans", token="lxd_" + "A" * 43)
    if code != 401:
        raise ExerciseError(f"GET /scans with an unknown token gave {code}, want 401")
    code, body, _ = c.curl("/metrics")
    if code != 200:
        raise ExerciseError(f"GET /metrics without a token gave {code}, want 200 (Prometheus "
                            "scrapes it without one)")
    code, body, _ = c.curl("/scans", token=tok["read"])
    if code != 200:
        raise ExerciseError(f"GET /scans with the read token gave {code} {body[:200]}")
    code, body, _ = c.curl("/scans", "POST", {"root": "/scan"}, token=tok["read"])
    if code != 403:
        raise ExerciseError(f"POST /scans with the read token gave {code}, want 403")
    out.append("unknown token -> 401; GET /metrics without a token -> 200; read token: "
               "GET /scans -> 200, POST /scans -> 403")
    return out


def check_rotation(c, pid, tokens_path, lines, tok):
    """Rotation as the README says: the file rewritten with a new write token in place of the
    old, SIGHUP to PID 1; the new token is then taken and the old one refused."""
    new, new_line = new_token(c.image, "ci-write-2", "write")
    write_tokens(tokens_path, [lines["read"], new_line])
    os.kill(pid, signal.SIGHUP)
    last = {"code": 0}

    def taken():
        if c.proc.poll() is not None:
            raise ExerciseError(f"the server exited with {c.proc.returncode} after SIGHUP\n{c.tail()}")
        last["code"], _, _ = c.curl("/scans", token=new)
        return last["code"] == 200
    poll_until(lambda: f"the new write token still gets {last['code']} after SIGHUP", taken,
               interval_s=0.2)
    code, _, _ = c.curl("/scans", token=tok["write"])
    if code != 401:
        raise ExerciseError(f"the old write token gets {code} after rotation, want 401")
    tok["write"] = new
    return "token file rewritten + SIGHUP to PID 1 -> new write token 200, old one 401"


def exercise_container(image, work, grace):
    volume = os.path.join(work, "volume-data")
    # A fresh volume is seeded with the image's /data, owner and mode included.
    run(["cp", "-a", inside(image.root, "/data"), volume])
    tree = os.path.join(work, "scan-tree")
    make_tree(tree)
    results = [exercise_without_tokens(image, work, volume, tree)]

    # The operator's token file, as a secret: one read and one write token from `token new`.
    tok, token_lines = {}, {}
    for scope in ("read", "write"):
        tok[scope], token_lines[scope] = new_token(image, f"ci-{scope}", scope)
    tokens_path = os.path.join(work, "tokens")
    write_tokens(tokens_path, [token_lines["read"], token_lines["write"]])
    seen_tokens = [tok["read"], tok["write"]]

    c = Container(image, work, volume, tree, "serve", tokens=tokens_path)
    log(f"container: starting {image.meta['ENTRYPOINT'].args} as uid {c.uid} "
        "(read-only root, /data volume, /scan read-only, token file read-only at "
        f"{image.env.get('LEINDEX_TOKEN_FILE')}, loopback-only network)")
    c.start([])
    try:
        pid = c.init_pid()
        # PID 1 is a shell doing the mounts until it execs the ENTRYPOINT: wait for the exec.
        want = os.path.basename(image.meta["ENTRYPOINT"].exec_form[0])[:15]
        seen = {}

        def execed():
            with open(f"/proc/{pid}/comm") as f:
                seen["comm"] = f.read().strip()
            if seen["comm"] != want and c.proc.poll() is not None:
                raise ExerciseError(f"PID 1 exited as {seen['comm']!r}, not {want}\n{c.tail()}")
            return seen["comm"] == want
        poll_until(lambda: f"PID 1 is still {seen['comm']!r}, not {want}\n{c.tail()}", execed,
                   interval_s=0.05)
        comm = seen["comm"]
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        uid_line = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
        if int(uid_line) != c.uid or c.uid == 0:
            raise ExerciseError(f"PID 1 runs as uid {uid_line}, want the image's USER {c.uid}")
        nnp = re.search(r"^NoNewPrivs:\s+(\d)", status, re.M).group(1)
        capeff = re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1)
        if nnp != "1" or int(capeff, 16) != 0:
            raise ExerciseError(f"PID 1 has NoNewPrivs {nnp}, CapEff {capeff}")
        results.append(f"PID 1 is {comm}, uid {uid_line}, no capabilities, no_new_privs")
        last = {"code": 0, "body": ""}

        def healthy():
            if c.proc.poll() is not None:
                raise ExerciseError(f"the server exited with {c.proc.returncode}\n{c.tail()}")
            last["code"], last["body"], _ = c.curl("/healthz")
            return last["code"] == 200
        poll_until(lambda: f"GET /healthz gave {last['code']} {last['body'][:200]}\n{c.tail()}",
                   healthy, interval_s=0.25)
        body = last["body"]
        results.append(f"GET /healthz -> 200 {body.strip()[:80]}")
        code, body, _ = c.curl("/readyz")
        if code != 200:
            raise ExerciseError(f"GET /readyz gave {code} {body[:200]}\n{c.tail()}")
        results.append(f"GET /readyz -> 200 {body.strip()[:80]} (no token needed for either)")
        results += check_access(c, tok)
        # The image's allowed root: a scan of /scan runs to completion, one of /etc is refused.
        code, body, hdrs = c.curl("/scans", "POST", {"root": "/scan"}, token=tok["write"])
        if code != 202 or "location" not in hdrs:
            raise ExerciseError(f"POST /scans {{root: /scan}} gave {code} {body[:200]}")
        where = urllib.parse.urlparse(hdrs["location"]).path
        last = {}

        def finished():
            last["code"], last["body"], _ = c.curl(where, token=tok["read"])
            last["doc"] = json.loads(last["body"]) if last["code"] == 200 else {}
            return last["doc"].get("state") not in ("queued", "running")
        poll_until(lambda: f"scan of /scan still {last['doc'].get('state')}", finished,
                   interval_s=0.2)
        code, body, doc = last["code"], last["body"], last["doc"]
        prog = doc.get("progress") or {}
        want = tree_counts(tree)
        got = {k: prog.get(k) for k in want}
        if doc.get("state") != "completed" or prog.get("errors") != 0 or not (
                got["files"] == want["files"] and got["symlinks"] == want["symlinks"]
                and got["dirs"] in (want["dirs"], want["dirs"] + 1)):
            raise ExerciseError(f"scan of /scan: want {want} (dirs with or without the root), "
                                f"got {code} {body[:400]}")
        results.append(f"POST /scans /scan (write token) -> 202, {where} completed: {prog['dirs']} dirs, "
                       f"{prog['files']} files, {prog['symlinks']} symlink, as on the host")
        code, body, _ = c.curl("/scans", "POST", {"root": "/etc"}, token=tok["write"])
        if code != 403:
            raise ExerciseError(f"POST /scans {{root: /etc}} gave {code}, want 403 (allowed root /scan)")
        results.append("POST /scans /etc (write token) -> 403 (outside LEINDEX_ALLOWED_ROOTS)")
        results.append(check_rotation(c, pid, tokens_path, token_lines, tok))
        seen_tokens.append(tok["write"])
        hc = healthcheck_argv(image)
        res = c.exec(hc, timeout=DEADLINE_S)
        if res.returncode != 0:
            raise ExerciseError(f"HEALTHCHECK {hc} exited {res.returncode}: {res.stdout}{res.stderr}")
        results.append(f"HEALTHCHECK {shlex.join(hc)} -> exit 0")
        res = c.exec(["/bin/sh", "-c", "touch /probe-root-write"], timeout=DEADLINE_S)
        if res.returncode == 0:
            raise ExerciseError("the root filesystem is writable inside the container")
        stop = image.meta.get("STOPSIGNAL")
        signame = stop.args.strip() if stop else "SIGTERM"
        sig = signal.Signals[signame] if not signame.isdigit() else int(signame)
        t0 = time.monotonic()
        os.kill(pid, sig)
        try:
            rc = c.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            raise ExerciseError(f"still running {grace:.0f} s after {signame} to PID 1 (as PID 1 "
                                "it needs its own handler)") from None
        took = time.monotonic() - t0
        if rc != 0:
            raise ExerciseError(f"exit status {rc} after {signame}\n{c.tail()}")
        results.append(f"{signame} to PID 1 -> exit 0 in {took:.2f} s")
    finally:
        c.kill()
    stored = sorted(os.listdir(volume))
    if not stored:
        raise ExerciseError("the server left nothing in the /data volume")
    results.append(f"/data volume holds {', '.join(stored)}")
    with open(c.err, errors="replace") as f:
        text = f.read()
    leaked = [t for t in seen_tokens if t in text]
    if leaked:
        raise ExerciseError(f"the server's log holds {len(leaked)} token(s); it must log IDs only")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if image.env.get("LEINDEX_LOG_FORMAT") == "json":
        bad = [ln for ln in lines if not ln.startswith("{")]
        if bad:
            log(f"WARN: {len(bad)} of {len(lines)} log lines are not JSON, e.g. {bad[0][:120]!r}")
        else:
            results.append(f"{len(lines)} log lines, all JSON")

    one = Container(image, work, volume, tree, "oneshot")
    log("container: scan /scan (one-shot, same volume)")
    one.start(["scan", "/scan"])
    try:
        rc = one.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        one.kill()
        raise ExerciseError("one-shot scan of /scan still running after 120 s") from None
    if rc != 0:
        raise ExerciseError(f"one-shot `scan /scan` exited {rc}\n{one.tail()}")
    with open(one.out, errors="replace") as f:
        summary = f.read().strip().splitlines()
    results.append("scan /scan -> exit 0" + (f": {summary[-1][:120]}" if summary else ""))
    return results


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exec-in", help=argparse.SUPPRESS)
    ap.add_argument("--dockerfile", default="Dockerfile")
    ap.add_argument("--context", default=".")
    ap.add_argument("--work", required=False)
    ap.add_argument("--base-cache", default=os.environ.get("LEINDEX_ROOTFS_CACHE"))
    ap.add_argument("--build-context", action="append", default=[], metavar="NAME=DIR",
                    help="a named build context replacing the stage NAME, as BuildKit does")
    ap.add_argument("--grace", type=float, default=DEADLINE_S,
                    help="seconds to wait for the server to exit after STOPSIGNAL; generous, since "
                    "the check is that it exits 0 on its own (the time taken is printed)")
    a = ap.parse_args()
    if a.exec_in:
        exec_in_root(json.loads(a.exec_in))
        return 127
    if os.geteuid() != 0:
        raise ExerciseError("must run as root (debootstrap, chroot and namespaces need it)")
    t0 = time.monotonic()
    stages = dp.parse(a.dockerfile)
    base = make_base(a.work, a.base_cache)
    named = {}
    for spec in a.build_context:
        name, sep, path = spec.partition("=")
        if not sep:
            raise ExerciseError(f"--build-context {spec}: want NAME=DIR")
        named[name] = os.path.abspath(path)
    image = build(stages, base, a.work, os.path.abspath(a.context), named)
    log(f"image built in {time.monotonic() - t0:.0f} s; running it")
    results = exercise_container(image, a.work, a.grace)
    print("\nWhat ran for real:")
    for r in results:
        print(f"  ok  {r}")
    print(f"rootfs exercise passed in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ExerciseError, dp.DockerfileError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
