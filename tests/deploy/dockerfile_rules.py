"""dockerfile_rules.py DOCKERFILE [DOCKERIGNORE]: checks the rules issue 5 sets for the image.

No Docker engine runs where the tests do and hadolint is not packaged, so the rules are checked
on the parsed file. Prints one line per broken rule and exits 1 if any; exits 0 when all hold.
"""

import os
import json
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile_parse as dp  # noqa: E402

BASE = "debian:bookworm-slim"
BUILD_PACKAGES = {"cmake", "pkg-config", "libmicrohttpd-dev", "liblmdb-dev", "libjansson-dev",
                  "libssl-dev", "libcunit1-dev"}
# libmicrohttpd12 and libgit2-1.5 are opened at run time (base/dynlib.h), so no link step would
# notice them missing: the image must install them all the same.
RUNTIME_PACKAGES = {"libmicrohttpd12", "liblmdb0", "libjansson4", "libssl3", "libgit2-1.5",
                    "zlib1g", "libzstd1"}
BUILD_ONLY = re.compile(r"(-dev$|^build-essential$|^cmake$|^gcc|^g\+\+|^make$|^pkg-config$)")


# ctest labels the build stage leaves out: deploy checks and sanitizer reruns belong to CI, and
# end-to-end, fuzz and fault-injection tests need tools, time or privileges a build stage lacks.
# The unit and integration tests must still run there: each kept label by at least one ctest
# command (the integration tests may be a chosen few; CI runs them all).
CTEST_EXCLUDED_LABELS = ("deploy", "sanitize", "e2e", "fuzz", "fault")
CTEST_KEPT_LABELS = ("unit", "integration")
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}


def ctest_label_excludes(run_text):
    """For every ctest command in one RUN, its --label-exclude (-LE) regex, or None without one."""
    try:
        words = shlex.split(run_text)
    except ValueError:
        return []
    found, cmd = [], None
    for w in words + [";"]:
        if w in SHELL_SEPARATORS:
            if cmd is not None:
                found.append(cmd["exclude"])
            cmd = None
        elif cmd is None and (w == "ctest" or w.endswith("/ctest")):
            cmd = {"exclude": None, "want_value": False}
        elif cmd is not None:
            if cmd["want_value"]:
                cmd["exclude"], cmd["want_value"] = w, False
            elif w in ("-LE", "--label-exclude"):
                cmd["want_value"] = True
            elif w.startswith("--label-exclude="):
                cmd["exclude"] = w.split("=", 1)[1]
    return found


def check_ctest_labels(runs, err):
    """Each ctest command in `runs` (the build stage's RUN texts) leaves out
    CTEST_EXCLUDED_LABELS, and each of CTEST_KEPT_LABELS is kept by one of them at least. The regex is tried the way ctest applies
    it: searched for in each label."""
    kept = set()
    for regex in [r for run in runs for r in ctest_label_excludes(run)]:
        if regex is None:
            err("build stage runs ctest without --label-exclude "
                f"'{'|'.join(CTEST_EXCLUDED_LABELS)}'")
            continue
        try:
            rx = re.compile(regex)
        except re.error as e:
            err(f"build stage's ctest --label-exclude {regex!r} is not a regex: {e}")
            continue
        for label in CTEST_EXCLUDED_LABELS:
            if not rx.search(label):
                err(f"build stage's ctest --label-exclude {regex!r} does not leave out label "
                    f"{label} (want '{'|'.join(CTEST_EXCLUDED_LABELS)}')")
        kept.update(label for label in CTEST_KEPT_LABELS if not rx.search(label))
    for label in CTEST_KEPT_LABELS:
        if label not in kept:
            err(f"every ctest of the build stage leaves out the {label} tests")


def apt_installs(run_text):
    """Package names of every `apt-get install` in one RUN (options dropped)."""
    pkgs = []
    for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|\|\||$)", run_text):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-") and w != "\\"]
    return pkgs


# Where Docker and compose mount a secret named NAME: /run/secrets/NAME.
SECRETS_DIR = "/run/secrets/"
INSECURE_FLAG = "--insecure-no-auth"


def check_tokens(runtime, env, err):
    """Access control in the image: LEINDEX_TOKEN_FILE names a file the operator mounts (a
    secret under /run/secrets: not the data volume, which the server may write), the image puts
    nothing there, and nothing turns tokens off."""
    token_file = env.get("LEINDEX_TOKEN_FILE", "")
    if not token_file.startswith(SECRETS_DIR) or token_file == SECRETS_DIR:
        err(f"ENV LEINDEX_TOKEN_FILE is {token_file!r}, want a file under {SECRETS_DIR} that the "
            "operator mounts (the image listens on 0.0.0.0 and needs tokens)")
    for ins in runtime.instructions:
        words = ins.exec_form if ins.exec_form is not None else ins.args.split()
        if any(w == INSECURE_FLAG or w.startswith(INSECURE_FLAG + "=") for w in words):
            err(f"{ins.keyword} passes {INSECURE_FLAG}: the image must refuse to serve without "
                "tokens", ins)
        if not token_file or token_file == SECRETS_DIR:
            continue
        if ins.keyword == "COPY" and words:
            dest = words[-1].rstrip("/") or "/"
            if (token_file + "/").startswith(dest + "/") and dest != "/":
                err(f"COPY into {dest} ships a token file at {token_file}; the operator mounts it",
                    ins)
        if ins.keyword == "RUN" and (token_file in ins.args or SECRETS_DIR.rstrip("/") in ins.args):
            err(f"RUN writes under {SECRETS_DIR}: the image ships no token file", ins)


def check(dockerfile, dockerignore):
    errors = []

    def err(msg, ins=None):
        where = f"{dockerfile}:{ins.lineno}: " if ins is not None else f"{dockerfile}: "
        errors.append(where + msg)

    try:
        stages = dp.parse(dockerfile)
    except (OSError, dp.DockerfileError) as e:
        return [f"cannot parse: {e}"]

    real = [s for s in stages if not (s.base == "scratch" and not s.instructions)]
    if len(real) < 2:
        err(f"expected a multi-stage build (build + runtime), found {len(real)} stage(s)")
        return errors
    names = set()
    for s in stages:
        if s.base == "scratch" and not s.instructions and s.name:
            names.add(s.name)
            continue  # an empty stage that a named build context (--build-context) replaces
        if s.base != BASE and s.base not in names:
            errors.append(f"{dockerfile}:{s.lineno}: FROM {s.base}: every stage starts from {BASE}")
        if not s.name:
            errors.append(f"{dockerfile}:{s.lineno}: stage {s.index} has no name (FROM ... AS name)")
        names.add(s.name)

    # Rules for every stage: hadolint's apt rules, COPY over ADD, no failure swallowed.
    for s in stages:
        for ins in s.instructions:
            if ins.keyword == "ADD":
                err("ADD: use COPY (ADD fetches URLs and unpacks archives implicitly)", ins)
            if ins.keyword != "RUN":
                continue
            text = ins.args
            if re.search(r"\|\|\s*(true|:)\b", text):
                err("RUN swallows a failure with '|| true'", ins)
            if "sudo" in text.split():
                err("RUN uses sudo", ins)
            if "apt-get install" in text:
                if not re.search(r"apt-get\s+update", text.split("apt-get install")[0]):
                    err("apt-get install without apt-get update earlier in the same RUN", ins)
                if "--no-install-recommends" not in text:
                    err("apt-get install without --no-install-recommends", ins)
                if not re.search(r"apt-get\s+install\s+(\S+\s+)*-y\b", text):
                    err("apt-get install without -y", ins)
                after = text.split("apt-get install")[-1]
                if not re.search(r"rm\s+-rf\s+/var/lib/apt/lists/\*", after):
                    err("apt lists not removed (rm -rf /var/lib/apt/lists/*) in the same RUN", ins)
            if re.search(r"\bapt\s+(install|update)\b", text):
                err("use apt-get, not apt, in scripts", ins)

    runtime = stages[-1]
    build = None
    for ins in runtime.all("COPY"):
        if ins.flags.get("from"):
            build = dp.find_stage(stages, ins.flags["from"])
    if build is None or build is runtime:
        err("the runtime stage copies nothing from a build stage")
        return errors

    # Build stage: the -dev packages, a build, and the test suite.
    build_runs = " ".join(i.args for i in build.all("RUN"))
    missing = BUILD_PACKAGES - set(apt_installs(build_runs))
    if missing:
        err(f"build stage does not install {', '.join(sorted(missing))}")
    if not re.search(r"cmake\s+--build", build_runs):
        err("build stage does not run cmake --build")
    if not re.search(r"\bctest\b", build_runs):
        err("build stage does not run the test suite (ctest)")
    check_ctest_labels([i.args for i in build.all("RUN")], err)

    # Runtime stage: only runtime libraries and the binary.
    runtime_pkgs = set()
    for ins in runtime.all("RUN"):
        runtime_pkgs |= set(apt_installs(ins.args))
    for p in sorted(runtime_pkgs):
        if BUILD_ONLY.search(p):
            err(f"runtime stage installs build-only package {p}")
    if not RUNTIME_PACKAGES <= runtime_pkgs:
        err(f"runtime stage lacks {', '.join(sorted(RUNTIME_PACKAGES - runtime_pkgs))}")
    binary = None
    for ins in runtime.all("COPY"):
        src = ins.flags.get("from")
        if src is None:
            err("runtime stage copies from the build context; it should take only built files", ins)
        elif dp.find_stage(stages, src) is None:
            err(f"COPY --from={src} names no stage", ins)
        words = ins.exec_form or ins.args.split()
        if words and words[-1].endswith("/leindexd"):
            binary = words[-1]
    if binary is None:
        err("runtime stage does not COPY --from the build stage to a .../leindexd path")

    user = runtime.last("USER")
    uid = None
    if user is None:
        err("runtime stage has no USER (it would run as root)")
    else:
        m = re.match(r"^(\d+)(?::(\d+))?$", user.args.strip())
        if not m:
            err(f"USER {user.args.strip()}: must be numeric (uid[:gid]) so runAsNonRoot can verify it", user)
        elif int(m.group(1)) == 0:
            err("USER 0 is root", user)
        else:
            uid = m.group(1)

    exposed = " ".join(i.args for i in runtime.all("EXPOSE")).split()
    if "8080" not in exposed and "8080/tcp" not in exposed:
        err("runtime stage does not EXPOSE 8080")

    env = runtime.env()
    if env.get("LEINDEX_LISTEN") != "0.0.0.0:8080":
        err(f"ENV LEINDEX_LISTEN is {env.get('LEINDEX_LISTEN')!r}, want '0.0.0.0:8080'")
    roots = env.get("LEINDEX_ALLOWED_ROOTS", "").split(":")
    if "/scan" not in roots:
        err("ENV LEINDEX_ALLOWED_ROOTS does not include /scan (where trees are mounted read-only)")
    data_dir = env.get("LEINDEX_DATA_DIR")
    runs = " ".join(i.args for i in runtime.all("RUN"))
    if not data_dir or not data_dir.startswith("/"):
        err(f"ENV LEINDEX_DATA_DIR is {data_dir!r}, want an absolute path")
    else:
        volumes = []
        for ins in runtime.all("VOLUME"):
            volumes += ins.exec_form if ins.exec_form is not None else ins.args.split()
        if data_dir not in volumes:
            err(f"the data directory {data_dir} is not declared a VOLUME")
        if not re.search(r"mkdir\s+(-\S+\s+)*[^&;]*" + re.escape(data_dir) + r"\b", runs):
            err(f"no RUN creates the data directory {data_dir}")
        if uid and not re.search(r"chown\s+(-\S+\s+)*(" + uid + r"|leindexd)(:\S+)?\s+[^&;]*"
                                 + re.escape(data_dir) + r"\b", runs):
            err(f"no RUN chowns {data_dir} to the USER {uid}")
    if not re.search(r"mkdir\s+(-\S+\s+)*[^&;]*/scan\b", runs):
        err("no RUN creates /scan, the default allowed root")
    check_tokens(runtime, env, err)

    ep = runtime.last("ENTRYPOINT")
    if ep is None:
        err("runtime stage has no ENTRYPOINT")
    elif ep.exec_form is None:
        err("ENTRYPOINT is in shell form: /bin/sh -c would be PID 1 and swallow SIGTERM", ep)
    elif binary and ep.exec_form[0] != binary:
        err(f"ENTRYPOINT runs {ep.exec_form[0]}, not the copied binary {binary}", ep)
    cmd = runtime.last("CMD")
    if cmd is not None and cmd.exec_form is None:
        err("CMD is in shell form; use the JSON form so it becomes ENTRYPOINT arguments", cmd)

    stop = runtime.last("STOPSIGNAL")
    if stop is None or stop.args.strip() not in ("SIGTERM", "15"):
        err("runtime stage needs STOPSIGNAL SIGTERM")

    hc = runtime.last("HEALTHCHECK")
    if hc is None:
        err("runtime stage has no HEALTHCHECK")
    else:
        m = re.match(r"^(?:--\S+\s+)*CMD\s+(.*)$", hc.args, re.S)
        if not m:
            err("HEALTHCHECK has no CMD", hc)
        else:
            body = m.group(1).strip()
            words = json.loads(body) if body.startswith("[") else body.split()
            if any(w in ("curl", "wget") or w.endswith("/curl") for w in words):
                err("HEALTHCHECK uses curl/wget, which the slim image does not have", hc)
            if len(words) < 2 or not words[0].endswith("leindexd") or words[1] != "health":
                err(f"HEALTHCHECK CMD is {words}, want `leindexd health`", hc)

    if dockerignore is not None:
        try:
            with open(dockerignore, encoding="utf-8") as f:
                ignored = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
        except OSError as e:
            errors.append(f"{dockerignore}: {e.strerror}")
        else:
            for want in (".git", "build*", "data"):
                if want not in ignored:
                    errors.append(f"{dockerignore}: does not exclude {want}")
    return errors


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: dockerfile_rules.py DOCKERFILE [DOCKERIGNORE]", file=sys.stderr)
        return 2
    errors = check(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
