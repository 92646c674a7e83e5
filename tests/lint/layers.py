#!/usr/bin/env python3
"""The include graph keeps the layers: each file includes only its own folder and folders below.

    base/ < store/ < service/scan/ < service/job/ < api/ < service/ (main, CLI, config)

Fails (exit 1, one line per offence) when a file includes a higher layer, when a header of the
project is not found, or when a library header leaves its one owner: lmdb.h store/; and the
libraries opened at run time (base/dynlib.h) the one file that resolves them, microhttpd.h
api/mhd.h (every other file includes that) and git2.h service/scan/gitview.c.
Run from anywhere: python3 tests/lint/layers.py [SRC_DIR]
"""
import os
import re
import sys

LAYERS = ["base", "store", "service/scan", "service/job", "api", "service"]
# A folder (its files) or one file.
OWNED = {"lmdb.h": "store", "microhttpd.h": "api/mhd.h", "git2.h": "service/scan/gitview.c"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(rel):
    """The layer of a path relative to the source tree: the longest folder that matches."""
    best = None
    for name in LAYERS:
        if rel.startswith(name + "/") and "/" not in rel[len(name) + 1:]:
            best = name
    return best


def check(src):
    bad = []
    seen = 0
    for top in ("base", "store", "service", "api"):
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), src)
                mine = layer_of(rel)
                if mine is None:
                    bad.append(f"{rel}: not in any layer ({', '.join(LAYERS)})")
                    continue
                seen += 1
                text = open(os.path.join(src, rel), encoding="utf-8", errors="replace").read()
                for kind, inc in INCLUDE.findall(text):
                    if kind == "<":
                        owner = OWNED.get(inc)
                        if owner and owner.endswith((".c", ".h")) and rel != owner:
                            bad.append(f"{rel}: includes <{inc}>, which only {owner} may include")
                        elif owner and not owner.endswith((".c", ".h")) and mine != owner:
                            bad.append(f"{rel}: includes <{inc}>, which only {owner}/ may include")
                        continue
                    if not os.path.exists(os.path.join(src, inc)):
                        bad.append(f'{rel}: includes "{inc}", which is not a file of the tree')
                        continue
                    theirs = layer_of(inc)
                    if theirs is None:
                        bad.append(f'{rel}: includes "{inc}", which is in no layer')
                    elif LAYERS.index(theirs) > LAYERS.index(mine):
                        bad.append(f'{rel} ({mine}/) includes "{inc}" of the higher layer {theirs}/')
    return seen, bad


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    seen, bad = check(os.path.abspath(src))
    for line in bad:
        print(line)
    if seen == 0:
        print("no source file found below", src)
        return 1
    print(f"layers: {seen} files checked, {len(bad)} offences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
