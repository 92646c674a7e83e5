#!/usr/bin/env bash
# gitview_status.sh [DIR] [ROUNDS]: `leindexd scan --view git` against `git status --porcelain
# --untracked-files=all` on one repository, side by side in one run: ROUNDS (default 11) rounds,
# each running both (order alternating), and the medians. DIR (default: a generated repository
# of 20,000 files in /tmp) must be a git work tree; its index is refreshed by `git status` first.
# HOME is empty and no system configuration is read, for both. Not a ctest test: a measurement.
# leindexd is timed twice: the whole process (store opened, scan, commits synced, store closed)
# and the scan itself as the service runs it (its wall_seconds: the store is already open).
set -euo pipefail
LEINDEXD=${LEINDEXD:-$(cd "$(dirname "$0")/../.." && pwd)/build/leindexd}
dir=${1:-}
rounds=${2:-11}
work=$(mktemp -d /tmp/leindex-gitbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"

if [[ -z $dir ]]; then
	dir=$work/repo
	python3 - "$dir" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
os.makedirs(root)
dirs = [""]
for i in range(1000):
    parent = rnd.choice(dirs[-200:])
    d = os.path.join(parent, f"d{i:04d}")
    dirs.append(d)
    os.makedirs(os.path.join(root, d))
for i in range(24000):
    d = rnd.choice(dirs)
    ext = rnd.choice([".c", ".h", ".py", ".md", ".txt", ".o"])
    with open(os.path.join(root, d, f"f{i:05d}{ext}"), "w") as f:
        f.write("x" * rnd.randint(10, 4000))
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("*.o\n")
PY
	git -C "$dir" init -q
	git -C "$dir" add -A
	git -C "$dir" -c user.name=b -c user.email=b@b commit -qm bench
	# Some work in progress: modified and untracked files.
	mapfile -t mds < <(find "$dir" -name '*.md')
	for f in "${mds[@]:0:200}"; do echo more >>"$f"; done
	for i in $(seq 1 100); do echo new >"$dir/untracked$i.txt"; done
fi
git -C "$dir" status --porcelain --untracked-files=all >/dev/null # refresh the index
files=$(git -C "$dir" ls-files | wc -l)

now() { date +%s.%N; }
declare -a tg tl ts
for r in $(seq 1 "$rounds"); do
	for which in $( ((r % 2)) && echo "git lx" || echo "lx git"); do
		t0=$(now)
		if [[ $which == git ]]; then
			git -C "$dir" status --porcelain --untracked-files=all >/dev/null
			tg+=("$(echo "$(now) - $t0" | bc)")
		else
			"$LEINDEXD" scan --data-dir "$work/data" --view git --json "$dir" 2>/dev/null >"$work/json"
			tl+=("$(echo "$(now) - $t0" | bc)")
			ts+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$work/json")")
		fi
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "repository: $dir ($files tracked files), $rounds rounds"
echo "git status --porcelain --untracked-files=all: median $(median "${tg[@]}") s"
echo "leindexd scan --view git, the scan (wall_seconds): median $(median "${ts[@]}") s"
echo "leindexd scan --view git, the whole process:      median $(median "${tl[@]}") s"
