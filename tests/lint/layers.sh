#!/usr/bin/env bash
# The include graph keeps its layers (tests/lint/layers.py), and the check itself catches each
# kind of offence on a small planted tree.
set -euo pipefail
src=${LEINDEX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 "$src/tests/lint/layers.py" "$src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{base,store,service/scan,service/job,api}
echo '#include "base/a.h"' >"$tmp/base/a.h"
echo '#include "base/a.h"' >"$tmp/store/s.c"
echo '#include "base/a.h"' >"$tmp/api/x.h"
plant() { # FILE LINE: the planted tree with one more line must fail, naming FILE
	printf '%s\n' "$2" >>"$tmp/$1"
	if out=$(python3 "$src/tests/lint/layers.py" "$tmp"); then
		echo "FAIL: '$2' in $1 was not caught"; exit 1
	fi
	grep -q "^$1" <<<"$out" || { echo "FAIL: the offence was not named: $out"; exit 1; }
	sed -i '$d' "$tmp/$1"
}
python3 "$src/tests/lint/layers.py" "$tmp" >/dev/null
plant store/s.c '#include "api/x.h"'          # a lower layer includes a higher one
plant base/a.h '#include "store/s.c"'         # base depends on nothing else
plant store/s.c '#include "store/missing.h"'  # a header that is not there
plant store/s.c '#include <microhttpd.h>'     # only api/mhd.h includes libmicrohttpd
plant api/x.h '#include <microhttpd.h>'       # ... not even another file of api/
plant store/s.c '#include <git2.h>'           # only service/scan/gitview.c includes libgit2
plant api/x.h '#include <lmdb.h>'             # only store/ includes LMDB
echo "layers: 7 planted offences caught"
