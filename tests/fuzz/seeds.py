#!/usr/bin/env python3
"""seeds.py: writes the seed corpora of tests/fuzz (corpus/<target>/seed-*).

Run it again after a format changes: it rewrites the seed-* files and leaves every other file of
corpus/ alone (those are regression inputs: what fuzzing once found, kept so that each run replays
it). The formats are written out here from their C definitions (api/token.c, store/store_codec.c,
base/bytes.c); a seed that no longer decodes still does its job as a starting point, but then the
harness starts from invalid inputs only, so keep them in step.
"""
import hashlib
import hmac
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ------------------------------------------------------------------------------------- tokens
# As fuzz_token.c: key bytes 0..31, binding (entries, scan 7, filter "prefix=src").
KEY = bytes(range(32))
ROUTE_SCANS, ROUTE_ENTRIES, ROUTE_ERRORS = 1, 2, 3
B64U = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64u(raw):
    out, acc, bits = bytearray(), 0, 0
    for b in raw:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 6:
            bits -= 6
            out.append(B64U[(acc >> bits) & 63])
    if bits:
        out.append(B64U[(acc << (6 - bits)) & 63])
    return bytes(out)


def token(pos, route=ROUTE_ENTRIES, scan=7, filt=b"prefix=src", version=1):
    payload = bytes([version]) + pos
    head = bytes([route]) + struct.pack(">QQ", scan, len(filt))
    mac = hmac.new(KEY, b"leindexd page token\0" + head + filt + payload, hashlib.sha256).digest()
    return b64u(payload + mac)


def token_seeds():
    s = {}
    s["empty-pos"] = token(b"")
    for v in (0, 1, 255, 1 << 32, 1 << 63, (1 << 64) - 1):
        s["u64-%x" % v] = token(struct.pack(">Q", v))
    s["entries-pos"] = token(struct.pack(">Q", 42) + b"main.c")
    s["entries-long-name"] = token(struct.pack(">Q", 9) + b"n" * 255)
    s["max-pos"] = token(bytes(range(256)) + b"x" * 44)
    s["other-scan"] = token(struct.pack(">Q", 5), scan=8)
    s["other-route"] = token(struct.pack(">Q", 5), route=ROUTE_ERRORS)
    s["version-2"] = token(struct.pack(">Q", 5), version=2)
    good = token(struct.pack(">Q", 77))
    s["padding-bits"] = good[:-1] + bytes([B64U[B64U.index(good[-1]) | 1]])
    s["padded"] = good + b"=="
    s["truncated"] = good[:-4]
    s["std-alphabet"] = good.replace(b"-", b"+").replace(b"_", b"/")
    s["nul-inside"] = good[:10] + b"\0" + good[11:]
    s["garbage"] = b"not a token at all"
    s["empty"] = b""
    s["too-long"] = b"A" * 500
    # The round trip reads byte 0 as the filter length: short filters, then a position.
    s["rt-short"] = b"\x03abcPOS"
    s["rt-long-filter"] = b"\x0f" + b"f" * 15 + b"position bytes"
    return s


# ------------------------------------------------------------------------------ store values
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & ((1 << 64) - 1)


HAS_STAT, HAS_HASH, HAS_TARGET = 1 << 2, 1 << 3, 1 << 4


def entry(typ, stat=None, target=None, sha=None):
    flags, body = typ, b""
    if stat:
        mode, uid, gid, size, ino, nlink, mtime, mnsec, ctime, cnsec = stat
        flags |= HAS_STAT
        body += b"".join(varint(x) for x in (mode, uid, gid, size, ino, nlink))
        body += varint(zigzag(mtime)) + varint(mnsec) + varint(zigzag(ctime - mtime)) + varint(cnsec)
    if target is not None:
        flags |= HAS_TARGET
        body += varint(len(target)) + target
    if sha:
        flags |= HAS_HASH
        body += sha
    return bytes([flags]) + body


def scan_rec(state, times, totals, root, options, counters, error):
    def s(x):
        return b"\0" if x is None else varint(len(x) + 1) + x

    out = bytes([1, state]) + b"".join(varint(zigzag(t)) for t in times)
    out += b"".join(varint(t) for t in totals)
    return out + s(root) + s(options) + s(counters) + s(error)


def store_seeds():
    st = (0o644, 1000, 1000, 4096, 1234567, 1, 1700000000, 123456789, 1700000001, 5)
    sha = hashlib.sha256(b"hello").digest()
    s = {}
    s["entry-file-nostat"] = entry(0)
    s["entry-file"] = entry(0, st)
    s["entry-file-hash"] = entry(0, st, sha=sha)
    s["entry-dir"] = entry(1, (0o755, 0, 0, 4096, 2, 3, 0, 0, 0, 0))
    s["entry-symlink"] = entry(2, st, target=b"../lib/target")
    s["entry-other-all"] = entry(3, st, target=b"t", sha=sha)
    s["entry-negative-times"] = entry(0, (0o7777, 2**32 - 1, 0, 2**64 - 1, 2**64 - 1, 2**64 - 1,
                                          -(2**62), 999999999, 2**62, 0))
    s["entry-empty-target"] = entry(2, None, target=b"")
    s["entry-short"] = entry(0, st)[:5]
    s["entry-trailing"] = entry(0) + b"\0"
    opts = b'{"follow_symlinks":false,"hash":"sha256","ignore":["*.o"]}'
    s["scan-queued"] = scan_rec(0, (1700000000000000000, 0, 0), (0,) * 6, b"/srv/data", opts, None, None)
    s["scan-completed"] = scan_rec(2, (1, 2, 3), (10, 100, 3, 1, 123456789, 2), b"/home/u/src",
                                   opts, b'{"dirs_per_s":1000}', None)
    s["scan-failed"] = scan_rec(3, (5, 6, 7), (1, 0, 0, 0, 0, 1), b"/x\xff\xfe", b"{}", None,
                                b"opening /x: Permission denied")
    s["scan-bad-state"] = scan_rec(6, (0, 0, 0), (0,) * 6, b"/", b"{}", None, None)
    s["scan-bad-version"] = b"\x02" + scan_rec(0, (0, 0, 0), (0,) * 6, b"/", None, None, None)[1:]
    s["scan-nul-in-root"] = scan_rec(1, (0, 0, 0), (0,) * 6, b"/a\0b", b"{}", None, None)
    s["scan-long-len"] = bytes([1, 0]) + b"\0" * 9 + varint(2**40)
    s["dir-root"] = varint(7) + varint(0) + b""
    s["dir-named"] = varint(7) + varint(12345) + b"src"
    s["dir-big-ids"] = varint(2**64 - 1) + varint(2**63) + b"\xff" * 255
    s["error-open"] = varint(zigzag(13)) + varint(4) + b"open" + b"/srv/data/secret"
    s["error-negative"] = varint(zigzag(-5)) + varint(0)
    s["error-huge-op"] = varint(zigzag(2)) + varint(2**63) + b"op"
    s["varint-max"] = b"\xff" * 9 + b"\x01"
    s["varint-overlong"] = b"\x80\x80\x80\x00" + b"\xff" * 10 + b"\x7f"
    s["varint-unterminated"] = b"\xff" * 12
    s["empty"] = b""
    return s


# --------------------------------------------------------------------------------- gitignore
# Byte 0: wildmatch flags (1 casefold, 2 pathname); then A (rules / pattern), NUL, B (paths / text).
CASEFOLD, PATHNAME = 1, 2

C_PROJECT = b"""# build outputs
*.o
*.a
*.so
/build/
/build-*/
!/build/keep.txt
*.[oa]
*~
.*.swp
\\#*#
cscope.*
tags
doc/**/*.html
**/generated/
foo/**/bar
*.asn1.[ch]
"""

NODE = b"""node_modules/
dist
npm-debug.log*
.env
.env.*
!.env.example
coverage/
*.tsbuildinfo
"""


def gi(flags, a, b=None):
    return bytes([flags]) + a + (b"" if b is None else b"\0" + b)


def gitignore_seeds():
    s = {}
    paths = b"main.o\nsrc/lib/x.a\nbuild\nbuild/keep.txt\ndoc/a/b/c.html\nx/generated\nfoo/bar\nfoo/a/b/bar"
    s["c-project"] = gi(PATHNAME, C_PROJECT, paths)
    s["c-project-crlf"] = gi(0, C_PROJECT.replace(b"\n", b"\r\n"), paths)
    s["node"] = gi(0, NODE, b"node_modules\n.env.local\n.env.example\napp/dist\ncoverage")
    s["bom"] = gi(0, b"\xef\xbb\xbf*.log\n!keep.log\n", b"a.log\nkeep.log\nsub/b.log")
    s["trailing-spaces"] = gi(0, b"a   \nb\\ \nc\\  \nd\\\n", b"a\nb \nc \nd\\")
    s["negation-order"] = gi(0, b"*.txt\n!important.txt\n/important.txt\n", b"important.txt\nx/important.txt")
    s["escapes"] = gi(0, b"\\!bang\n\\#hash\n\\*star\n[[]x\n", b"!bang\n#hash\n*star\n[x")
    s["classes"] = gi(CASEFOLD, b"[[:upper:]]*\n[[:digit:][:space:]]?\n[a-c-e]\n[!a-z]\n[]]\n",
                      b"Abc\n1x\n-\nQ\n]")
    s["dironly"] = gi(0, b"logs/\n/tmp/\n*/cache/\n", b"logs\nx/logs\ntmp\na/cache")
    s["many-patterns"] = gi(0, b"".join(b"*.ext%d\nname%d\n/dir%d/**\n" % (i, i, i) for i in range(12)),
                            b"a.ext3\nname7\ndir11/x/y\nq.ext12")
    s["anchored-double-star"] = gi(PATHNAME, b"**/foo\n**/foo/bar\na/**/b\nfoo**/bar\n/**\n",
                                   b"foo\nx/foo/bar\na/b\na/x/y/b\nfooX/bar")
    s["deep-paths"] = gi(0, b"*.c\n", b"/".join([b"d"] * 60) + b"/x.c\n./a/../b.c\n//c.c//")
    # wildmatch: A is the pattern, B the text (git's t3070 vectors, a few of each kind).
    for name, flags, pat, text in (
        ("wm-star", 0, b"foo*", b"foobar"),
        ("wm-question", 0, b"???", b"abc"),
        ("wm-bracket-range", 0, b"[a-z]x", b"bx"),
        ("wm-bracket-negated", 0, b"[!a-c]", b"d"),
        ("wm-escape", 0, b"\\*\\?", b"*?"),
        ("wm-pathname-star", PATHNAME, b"foo/*", b"foo/bar/baz"),
        ("wm-pathname-dstar", PATHNAME, b"**/bar", b"foo/x/bar"),
        ("wm-pathname-dstar-mid", PATHNAME, b"foo/**/baz", b"foo/baz"),
        ("wm-casefold", CASEFOLD, b"[A-Z]*.TXT", b"readme.txt"),
        ("wm-class-unknown", 0, b"[[:nope:]]", b"a"),
        ("wm-unterminated", 0, b"[abc", b"a"),
        ("wm-many-stars", PATHNAME, b"*a*a*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaac"),
        ("wm-dstar-chain", PATHNAME, b"**/**/**/**/[b]x", b"a/a/a/a/a/a/a/a/a/a/a/a/ax"),
    ):
        s[name] = gi(flags, pat, text)
    return s


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (target, len(seeds)), file=sys.stderr)


if __name__ == "__main__":
    write("token", token_seeds())
    write("store_records", store_seeds())
    write("gitignore", gitignore_seeds())
