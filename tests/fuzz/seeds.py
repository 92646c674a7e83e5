#!/usr/bin/env python3
"""seeds.py: writes the seed corpora of tests/fuzz (corpus/<target>/seed-*).

Run it again after a format changes: it rewrites the seed-* files and leaves every other file of
corpus/ alone (those are regression inputs: what fuzzing once found, kept so that each run replays
it). The formats are written out here from their C definitions (api/token.c, store/store_codec.c,
base/bytes.c) and from the input layouts the harnesses describe (fuzz_<target>.c); a seed that no longer decodes still does its job as a starting point, but then the
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


# ----------------------------------------------------------------------------- POST /scans body
def scan_body_seeds():
    s = {}
    s["minimal"] = b'{"root": "/srv/data"}'
    s["all-fields"] = (b'{"root": "/home/u/src", "workers": 4, "max_depth": 3, "follow_symlinks": true,'
                       b' "one_file_system": true, "ignore": ["*.o", "build/", "!keep.o"],'
                       b' "use_gitignore": false, "hash": true, "slow_threshold_ms": 250}')
    s["nulls"] = b'{"root": "/", "max_depth": null, "ignore": []}'
    s["echo-form"] = (b'{"workers":1,"max_depth":null,"follow_symlinks":false,"one_file_system":false,'
                      b'"ignore":[],"use_gitignore":true,"hash":false,"slow_threshold_ms":1000,"root":"/x"}')
    s["unicode"] = '{"root": "/données/\u65e5\u672c", "ignore": ["*.\u00e9t\u00e9", "\\u00e9"]}'.encode()
    s["relative-root"] = b'{"root": "srv/data"}'
    s["nul-in-root"] = b'{"root": "/a\\u0000b"}'
    s["no-root"] = b'{"workers": 2}'
    s["unknown-field"] = b'{"root": "/x", "wrokers": 2}'
    s["duplicate"] = b'{"root": "/x", "root": "/y"}'
    s["workers-range"] = b'{"root": "/x", "workers": 0}'
    s["workers-huge"] = b'{"root": "/x", "workers": 9223372036854775807}'
    s["workers-real"] = b'{"root": "/x", "workers": 2.0}'
    s["depth-negative"] = b'{"root": "/x", "max_depth": -1}'
    s["slow-max"] = b'{"root": "/x", "slow_threshold_ms": 86400000}'
    s["bool-as-string"] = b'{"root": "/x", "hash": "true"}'
    s["ignore-not-strings"] = b'{"root": "/x", "ignore": ["a", 1, null]}'
    s["ignore-long"] = b'{"root": "/x", "ignore": ["' + b"a" * 4097 + b'"]}'
    s["ignore-many"] = b'{"root": "/x", "ignore": [' + b",".join([b'"p"'] * 1025) + b"]}"
    s["not-object"] = b'["root", "/x"]'
    s["bad-json"] = b'{"root": "/x",'
    s["deep-nesting"] = b'{"root": "/x", "ignore": ' + b"[" * 200 + b"]" * 200 + b"}"
    s["long-unknown-utf8"] = ('{"root": "/x", "' + "\u00e9" * 60 + '": 1}').encode()
    return s


# ---------------------------------------------------------------------------------- query strings
# Byte 0: the route (0 none, 1 GET /scans, 2 GET /scans/{id}, 3 entries, 4 errors); then the query.
def query_seeds():
    s = {}
    for name, route, q in (
        ("none-empty", 0, b""),
        ("none-unknown", 0, b"x=1"),
        ("scans-all", 1, b"state=running&page_size=10&page_token=AAECAwQFBgcICQ"),
        ("scans-page-size-0", 1, b"page_size=0"),
        ("scans-page-size-max", 1, b"page_size=1000"),
        ("scans-page-size-leading-zero", 1, b"page_size=010"),
        ("scans-page-size-long", 1, b"page_size=99999999999999999999"),
        ("scans-twice", 1, b"state=queued&state=running"),
        ("scan-wait", 2, b"wait=30"),
        ("scan-wait-no-value", 2, b"wait"),
        ("entries-prefix-escaped", 3, b"prefix=src%2Flib&type=file&page_size=2"),
        ("entries-plus-and-utf8", 3, b"prefix=a+b%20c%E2%82%AC&page_token=x-_y"),
        ("entries-nul", 3, b"prefix=a%00b"),
        ("entries-escaped-key", 3, b"%70age_size=5"),
        ("entries-empty-pairs", 3, b"&&page_size=&=&type"),
        ("entries-bad-escape", 3, b"prefix=%zz%4&type=%"),
        ("entries-long-key", 3, b"k" * 80 + b"=1"),
        ("entries-utf8-key", 3, "\u00e9t\u00e9=1".encode()),
        ("entries-cut-utf8-key", 3, b"a" * 62 + "\u00e9".encode() + b"=1"),
        ("errors-token", 4, b"page_token=abc&page_size=7"),
    ):
        s[name] = bytes([route]) + q
    return s


# ------------------------------------------------------------------------------------------ router
# Byte 0 % 8: GET, HEAD, POST, DELETE, OPTIONS, PUT, get, or 7: the method is the bytes up to a NUL.
GET, HEAD, POST, DELETE, OPTIONS, PUT, LOWER_GET, CUSTOM = range(8)


def router_seeds():
    s = {}
    for name, m, url in (
        ("get-scans", GET, b"/scans"),
        ("post-scans", POST, b"/scans"),
        ("head-scan", HEAD, b"/scans/42"),
        ("delete-scan", DELETE, b"/scans/18446744073709551615"),
        ("get-scan-overflow", GET, b"/scans/18446744073709551616"),
        ("get-scan-zero", GET, b"/scans/0"),
        ("get-scan-leading-zero", GET, b"/scans/007"),
        ("get-scan-word", GET, b"/scans/abc/entries"),
        ("post-cancel", POST, b"/scans/1/cancel"),
        ("get-entries", GET, b"/scans/9/entries"),
        ("get-errors", GET, b"/scans/9/errors"),
        ("get-stats", GET, b"/scans/9/stats"),
        ("options-metrics", OPTIONS, b"/metrics"),
        ("put-healthz", PUT, b"/healthz"),
        ("delete-stats", DELETE, b"/stats"),
        ("lower-get", LOWER_GET, b"/readyz"),
        ("head-openapi", HEAD, b"/openapi.yaml"),
        ("trailing-slash", GET, b"/scans/"),
        ("double-slash", GET, b"/scans//entries"),
        ("empty", GET, b""),
        ("no-slash", GET, b"scans"),
        ("post-metrics", POST, b"/metrics"),
    ):
        s[name] = bytes([m]) + url
    s["custom-patch"] = bytes([CUSTOM]) + b"PATCH\0/scans/3"
    s["custom-empty"] = bytes([CUSTOM]) + b"\0/scans"
    s["custom-head"] = bytes([CUSTOM]) + b"HEAD\0/scans/1/cancel"
    return s


# ---------------------------------------------------------------------------------------- tokens
# As fuzz_auth.c: the file it makes holds these two tokens.
AUTH_TOKENS = ((b"reader", b"read", b"lxd_fuzz-reader-token"),
               (b"ci.writer_2", b"write", b"lxd_fuzz-writer-token"))


def auth_line(ident, scope, token):
    return ident + b" " + scope + b" sha256:" + hashlib.sha256(token).hexdigest().encode()


def auth_seeds():
    s = {}
    lines = [auth_line(*t) for t in AUTH_TOKENS]
    s["file"] = b"# tokens\n" + b"\n".join(lines) + b"\n"
    s["file-crlf-comments"] = b"\r\n".join(b"\t" + l + b"  # rotated 2024" for l in lines) + b"\r\n"
    s["file-upper-hex"] = lines[0].upper().replace(b"SHA256:", b"sha256:").replace(b"READER", b"reader").replace(b"READ", b"read")
    s["file-dup-id"] = lines[0] + b"\n" + lines[0] + b"\n"
    s["file-bad-scope"] = b"x admin sha256:" + b"0" * 64
    s["file-short-hex"] = b"x read sha256:" + b"0" * 63
    s["file-extra-field"] = lines[1] + b" extra"
    s["file-nul"] = lines[0][:5] + b"\0" + lines[0][6:]
    s["file-long-id"] = b"i" * 65 + b" read sha256:" + b"a" * 64
    s["file-blank"] = b"\n\n   \t\n# only comments\n"
    s["header-reader"] = b"Bearer lxd_fuzz-reader-token"
    s["header-writer-blanks"] = b"bEaReR \t lxd_fuzz-writer-token \t "
    s["header-basic"] = b"Basic dXNlcjpwYXNz"
    s["header-no-blank"] = b"Bearerlxd_fuzz-reader-token"
    s["header-empty-token"] = b"Bearer    "
    s["header-prefix-token"] = b"Bearer lxd_fuzz-reader-toke"
    s["header-long"] = b"Bearer lxd_fuzz-reader-token" + b" " * 490
    s["header-nul"] = b"Bearer lxd_fuzz-reader-token\0junk"
    return s


# ------------------------------------------------------------------------------------------ guard
# Byte 0: 1 no Host, 2 no Origin, 4 no Content-Type, 8 loopback server, bits 4-5 the CORS list
# (none, http://app.example, *, the Host's own origin); then method NUL host NUL origin NUL type.
NO_HOST, NO_ORIGIN, NO_CTYPE, LOOPBACK = 1, 2, 4, 8


def guard(bits, method, host=b"", origin=b"", ctype=b""):
    return bytes([bits]) + b"\0".join((method, host, origin, ctype))


def guard_seeds():
    s = {}
    s["get-plain"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"GET", b"127.0.0.1:8080")
    s["post-json-same-origin"] = guard(LOOPBACK, b"POST", b"localhost:8080", b"http://localhost:8080",
                                       b"application/json; charset=utf-8")
    s["post-form-cross-site"] = guard(LOOPBACK, b"POST", b"127.0.0.1:8080", b"https://evil.example",
                                      b"application/x-www-form-urlencoded")
    s["post-text-plain"] = guard(LOOPBACK | NO_ORIGIN, b"POST", b"[::1]:8080", b"", b"text/plain")
    s["delete-rebound"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"DELETE", b"attacker.example:8080")
    s["cors-allowed"] = guard(LOOPBACK | 0x10, b"POST", b"127.0.0.1", b"http://app.example",
                              b"APPLICATION/JSON")
    s["cors-star"] = guard(0x20 | NO_CTYPE, b"DELETE", b"files.internal", b"null")
    s["own-origin-list"] = guard(0x30, b"POST", b"h:1", b"http://h:1", b" application/json ;x=y")
    s["options-foreign"] = guard(LOOPBACK, b"OPTIONS", b"127.0.0.1", b"https://evil.example",
                                 b"text/plain")
    s["mapped-v6"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"GET", b"[::ffff:127.1.2.3]:80")
    s["sub-localhost"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"GET", b"app.localhost.")
    s["bare-v6"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"GET", b"::1")
    s["long-utf8-host"] = guard(LOOPBACK | NO_ORIGIN | NO_CTYPE, b"GET",
                                ("h\u00e9" * 60).encode())
    s["long-utf8-origin"] = guard(NO_CTYPE, b"POST", b"x", ("http://\u00e9" * 40).encode())
    s["lower-post"] = guard(LOOPBACK, b"post", b"127.0.0.1", b"http://evil", b"text/html")
    s["no-headers"] = guard(NO_HOST | NO_ORIGIN | NO_CTYPE, b"PUT")
    return s


# ------------------------------------------------------------------------- git config files
def gitconfig_seeds():
    s = {}
    s["empty"] = b""
    s["clone"] = (b"[core]\n\trepositoryformatversion = 0\n\tfilemode = false\n\tbare = false\n"
                  b"\tlogallrefupdates = true\n[remote \"origin\"]\n\turl = https://x/y.git\n"
                  b"\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n"
                  b"\tremote = origin\n\tmerge = refs/heads/main\n")
    s["same-line"] = b"[core] fileMode=no ; comment\n[Core]\nFILEMODE\n"
    s["quoted-continued"] = b"[core]\n\tfilemode = \"fa\\\nlse\" # c\n\tx = \"a\\\"b\\tc\"\n"
    s["sub-escapes"] = b"[remote \"o\\\"]\"]\n\tfilemode = false\n[core.x]\nfilemode = 0\n"
    s["numbers"] = b"[core]\nfilemode = -0\nfilemode = 1k\nfilemode = +7G\nfilemode =\n"
    s["junk"] = b"\xef\xbb\xbf= junk\n\x01[core\n[core]\r\n  filemode = off  \r\n\\"
    s["include"] = b"[include]\n\tpath = /etc/passwd\n[includeIf \"gitdir:~/\"]\n\tpath = x\n"
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
    write("scan_body", scan_body_seeds())
    write("query", query_seeds())
    write("router", router_seeds())
    write("auth", auth_seeds())
    write("guard", guard_seeds())
    write("gitconfig", gitconfig_seeds())
