"""dockerfile_parse.py: a small Dockerfile reader for the deploy checks (standard library only).

It understands what this repository's Dockerfile uses: comments, backslash continuations, the
exec (JSON) and shell forms, leading --flags, `FROM image AS name`, and ENV in both spellings.
Anything it does not understand (heredocs, a changed escape character) is an error rather than
a guess, because tests/deploy/exercise-dockerfile-rootfs.bash executes what this returns.
"""

import json
import re
import shlex


class DockerfileError(Exception):
    """The Dockerfile uses something this reader does not handle; the message says where."""


class Instruction:
    """One instruction: `keyword` upper-cased, `flags` from leading --name=value words, `args`
    the rest as written (continuations joined), `exec_form` the JSON list or None."""

    def __init__(self, lineno, keyword, flags, args, exec_form):
        self.lineno = lineno
        self.keyword = keyword
        self.flags = flags
        self.args = args
        self.exec_form = exec_form

    def __repr__(self):
        return f"{self.keyword}@{self.lineno}({self.args!r})"


class Stage:
    """One FROM and the instructions under it."""

    def __init__(self, index, base, name, lineno):
        self.index = index
        self.base = base
        self.name = name
        self.lineno = lineno
        self.instructions = []

    def all(self, keyword):
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword):
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self):
        """ENV values in order of definition, later ones winning."""
        out = {}
        for ins in self.all("ENV"):
            out.update(parse_env(ins))
        return out


def _logical_lines(text, path):
    lines = text.split("\n")
    out = []
    buf, start = None, 0
    for n, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if n == 1 or (buf is None and not out):
            m = re.match(r"^#\s*(\w+)\s*=\s*(.*)$", stripped)
            if m and m.group(1).lower() == "escape" and m.group(2).strip() != "\\":
                raise DockerfileError(f"{path}:{n}: escape directive other than backslash")
        if stripped.startswith("#"):
            continue  # comments vanish, even inside a continued instruction (as in Docker)
        if buf is None:
            if not stripped:
                continue
            buf, start = "", n
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        out.append((start, buf.strip()))
        buf = None
    if buf is not None:
        raise DockerfileError(f"{path}:{start}: instruction continued past the end of the file")
    return out


def _split_flags(rest):
    flags = {}
    while True:
        m = re.match(r"^--([a-z-]+)=(\S+)\s*", rest)
        if not m:
            return flags, rest
        flags[m.group(1)] = m.group(2)
        rest = rest[m.end():]


def parse_env(ins):
    """The key/value pairs of one ENV instruction."""
    words = shlex.split(ins.args, posix=True)
    if words and "=" not in words[0]:
        # legacy `ENV KEY value with spaces`
        return {words[0]: ins.args.split(None, 1)[1] if len(words) > 1 else ""}
    out = {}
    for w in words:
        if "=" not in w:
            raise DockerfileError(f"line {ins.lineno}: ENV word {w!r} has no '='")
        k, v = w.split("=", 1)
        out[k] = v
    return out


def parse(path):
    """Returns the list of stages of the Dockerfile at `path`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stages = []
    for lineno, line in _logical_lines(text, path):
        parts = line.split(None, 1)
        keyword = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        flags, rest = _split_flags(rest)
        if "<<" in rest and keyword in ("RUN", "COPY"):
            raise DockerfileError(f"{path}:{lineno}: heredocs are not supported by the checks")
        exec_form = None
        if rest.startswith("["):
            try:
                exec_form = json.loads(rest)
            except json.JSONDecodeError:
                exec_form = None  # Docker too falls back to the shell form
            if exec_form is not None and not (
                isinstance(exec_form, list) and all(isinstance(x, str) for x in exec_form)):
                raise DockerfileError(f"{path}:{lineno}: JSON form must be a list of strings")
        ins = Instruction(lineno, keyword, flags, rest, exec_form)
        if keyword == "FROM":
            m = re.match(r"^(\S+)(?:\s+[Aa][Ss]\s+(\S+))?\s*$", rest)
            if not m:
                raise DockerfileError(f"{path}:{lineno}: cannot read FROM {rest!r}")
            stages.append(Stage(len(stages), m.group(1), m.group(2), lineno))
            continue
        if not stages:
            if keyword == "ARG":
                continue
            raise DockerfileError(f"{path}:{lineno}: {keyword} before the first FROM")
        stages[-1].instructions.append(ins)
    if not stages:
        raise DockerfileError(f"{path}: no FROM instruction")
    return stages


def find_stage(stages, ref):
    """The stage a `COPY --from=` names, by name or index, or None."""
    for s in stages:
        if s.name == ref or str(s.index) == ref:
            return s
    return None
