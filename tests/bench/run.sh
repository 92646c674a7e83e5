#!/usr/bin/env bash
# run.sh: the benchmark of issue 4. leindexd (one-shot scan and the HTTP path) against bfs, find,
# fd and the kernel floor, on the corpora of shared/corpora, warm cache by default.
#
#   tests/bench/run.sh [--short] [--out DIR] [--trees DIR] [--tree NAME]... [--rounds N]
#                      [--runs N] [--cold] [--output null|pipe] [--workers N] [--keep-trees]
#                      [--corpora DIR] [--leindexd BIN] [--no-http] [--io] [--prev BIN]
#                      [--hash] [--commands ID,ID...]
#
# --short       one small tree (deep), 3 rounds: checks that every tool finds the same entries
#               (the README's test command runs it through ctest); it never asserts on times.
# --out DIR     where results.md, results.json and raw/ go (default: a new /tmp/leindex-bench.*).
# --trees DIR   reuse DIR/<tree> (generated there when absent); default: generated under the
#               output directory and removed at the end unless --keep-trees. Never in the repo.
# --tree NAME   measure only these trees (repeatable); default salsa-like kernel-like wide deep.
# --rounds N    rounds (default 10). Each round is one hyperfine invocation that runs every
#               command --runs times (default 1), in an order rotated by one each round, so the
#               commands alternate as far as hyperfine allows; an unrecorded warm-up round
#               comes first. Medians and quartiles are over all rounds.
# --cold        drop the page cache (echo 3 > /proc/sys/vm/drop_caches) before every run.
# --output      where hyperfine sends the tools' output: null (/dev/null, default) or pipe.
# --leindexd    the binary (default $LEINDEXD; else the repo is built into OUT/build).
# --no-http     leave out the HTTP path (no service is started).
# --io          the commands of issue 14 (cold caches): the floor at 16 threads, `leindexd scan`
#               with --workers 16 (and --io-depth 0), and with --io-depth 0 (workers alone).
# --prev BIN    also `leindexd scan` of BIN, a previous build (the warm no-slower check).
# --hash        `leindexd scan --hash` beside `find -type f -print0 | xargs -0 -P$(nproc)
#               sha256sum`, reported in bytes per second of the regular files' apparent size.
# --commands L  run only these command ids (comma-separated, bench.py's COMMANDS), e.g.
#               floor,floor16,scan,scan_w16,bfs_printf: fewer commands make shorter cold rounds.
#
# With CI=true a missing tool fails the run; otherwise --short skips (exit 0) without one.
set -euo pipefail
# The generators import corpuslib from shared/: leave no __pycache__ there.
export PYTHONDONTWRITEBYTECODE=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/poll.bash
source "$here/../lib/poll.bash" # wait_until
repo=$(cd "$here/../.." && pwd)
corpora=$repo/../shared/corpora
short=0 out= trees_dir= rounds= runs=1 cold=0 output=null workers= keep_trees=0 http=1
io=0 prev= hash=0 only=
leindexd=${LEINDEXD:-}
trees=()

die() {
	echo "run.sh: $*" >&2
	exit 1
}
note() { echo "run.sh: $*" >&2; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--short) short=1 ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	--trees) trees_dir=${2:?--trees needs a directory}; shift ;;
	--tree) trees+=("${2:?--tree needs a name}"); shift ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--cold) cold=1 ;;
	--output) output=${2:?--output needs null or pipe}; shift ;;
	--workers) workers=${2:?--workers needs a number}; shift ;;
	--keep-trees) keep_trees=1 ;;
	--corpora) corpora=${2:?--corpora needs a directory}; shift ;;
	--leindexd) leindexd=${2:?--leindexd needs a path}; shift ;;
	--no-http) http=0 ;;
	--io) io=1 ;;
	--prev) prev=${2:?--prev needs a leindexd binary}; shift ;;
	--hash) hash=1 ;;
	--commands) only=${2:?--commands needs a list of ids}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
[[ $output == null || $output == pipe ]] || die "--output $output: want null or pipe"
[[ $rounds =~ ^[0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || die "--rounds/--runs want numbers"
if [[ ${#trees[@]} -eq 0 ]]; then
	if ((short)); then trees=(deep); else trees=(salsa-like kernel-like wide deep); fi
fi
[[ -n $rounds ]] || { ((short)) && rounds=3 || rounds=10; }
((rounds >= 1)) || die "--rounds must be at least 1"

# Tools. Under CI a missing one is a failure: a benchmark that silently skips would rot.
missing=()
for tool in hyperfine bfs fdfind find curl python3 cc; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	msg="missing tools: ${missing[*]} (Debian: hyperfine bfs fd-find findutils curl python3 gcc)"
	if [[ ${CI:-} == true || $short -eq 0 ]]; then die "$msg"; fi
	echo "SKIP: $msg"
	exit 0
fi
[[ -d $corpora ]] || die "no corpora generators in $corpora (pass --corpora DIR)"
corpora=$(cd "$corpora" && pwd)

if [[ -z $out ]]; then
	out=$(mktemp -d /tmp/leindex-bench.XXXXXX) || die "mktemp -d under /tmp failed"
fi
mkdir -p "$out/raw" "$out/work" || die "cannot create $out/raw and $out/work"
out=$(cd "$out" && pwd)
work=$out/work
bench_py=$here/bench.py

svc_pid=
sampler_pid=
generated_trees=
cleanup() {
	if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
	if [[ -n $svc_pid ]]; then
		kill "$svc_pid" 2>/dev/null || true
		wait "$svc_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	if [[ -n $generated_trees && $keep_trees -eq 0 ]]; then rm -rf "$generated_trees"; fi
}
trap cleanup EXIT

# The trees: generated outside the repository.
if [[ -z $trees_dir ]]; then
	trees_dir=$out/trees
	generated_trees=$trees_dir
fi
mkdir -p "$trees_dir" || die "cannot create $trees_dir"
trees_dir=$(cd "$trees_dir" && pwd)
case $trees_dir/ in "$repo"/*) die "the trees must be outside the repository ($trees_dir)" ;; esac
for tree in "${trees[@]}"; do
	[[ -f $corpora/$tree.py ]] || die "no generator $corpora/$tree.py for tree $tree"
	if [[ ! -d $trees_dir/$tree ]]; then
		note "generating $trees_dir/$tree"
		python3 "$corpora/$tree.py" "$trees_dir/$tree" >&2 || die "generating $tree failed"
	fi
done

# The binary: given, or built from this checkout.
if [[ -z $leindexd ]]; then
	note "building leindexd into $out/build"
	cmake -S "$repo" -B "$out/build" >"$out/build.log" 2>&1 &&
		cmake --build "$out/build" -j"$(nproc)" --target leindexd >>"$out/build.log" 2>&1 ||
		die "building leindexd failed, see $out/build.log"
	leindexd=$out/build/leindexd
fi
[[ -x $leindexd ]] || die "leindexd binary $leindexd is not executable"
leindexd=$(cd "$(dirname "$leindexd")" && pwd)/$(basename "$leindexd")
if [[ -n $prev ]]; then
	[[ -x $prev ]] || die "--prev $prev is not executable"
	prev=$(cd "$(dirname "$prev")" && pwd)/$(basename "$prev")
fi

floor=$out/floor
cc -O2 -std=c11 -Wall -Wextra -pthread -o "$floor" "$here/floor.c" 2>"$out/floor-build.log" ||
	die "compiling $here/floor.c failed, see $out/floor-build.log"
httpc=$out/httpc
cc -O2 -std=c11 -Wall -Wextra -o "$httpc" "$here/httpc.c" 2>"$out/httpc-build.log" ||
	die "compiling $here/httpc.c failed, see $out/httpc-build.log"

prep_cold=
if ((cold)); then
	if ! { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		die "--cold needs a writable /proc/sys/vm/drop_caches (root, not in a read-only /proc)"
	fi
	prep_cold='sync; echo 3 > /proc/sys/vm/drop_caches; '
fi

scan_args=()
[[ -n $workers ]] && scan_args+=(--workers "$workers")

{
	printf 'trees\t%s\n' "${trees[*]}"
	printf 'rounds\t%s\nruns\t%s\n' "$rounds" "$runs"
	printf 'cache\t%s\n' "$( ((cold)) && echo cold || echo warm)"
	printf 'output\t%s\n' "$( [[ $output == null ]] && echo /dev/null || echo 'a pipe read by hyperfine')"
	printf 'loadavg_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'version.hyperfine\t%s\n' "$(hyperfine --version | head -n1)"
	printf 'version.bfs\t%s\n' "$(bfs --version | head -n1)"
	printf 'version.fd\t%s\n' "$(fdfind --version | head -n1)"
	printf 'version.find\t%s\n' "$(find --version | head -n1)"
	printf 'version.curl\t%s\n' "$(curl --version | head -n1)"
	printf 'version.leindexd\t%s\n' "$("$leindexd" --version 2>&1 | head -n1 || true)"
	[[ -z $prev ]] || printf 'version.leindexd_prev\t%s\n' "$("$prev" --version 2>&1 | head -n1 || true)"
	printf 'nproc\t%s\n' "$(nproc)"
} >"$out/raw/meta.tsv"

# count0 CMD...: the number of NUL bytes CMD prints (names may hold newlines: never wc -l).
count0() { "$@" | tr -cd '\0' | wc -c; }
# countx CMD...: the number of bytes CMD prints (used with -printf x, one byte per entry).
countx() { "$@" | wc -c; }

start_service() {
	local port
	port=$(python3 "$bench_py" freeport) || die "cannot find a free port"
	rm -rf "$work/svc" && mkdir -p "$work/svc"
	"$leindexd" --listen "127.0.0.1:$port" --data-dir "$work/svc" >"$out/raw/$tree/service.log" 2>&1 &
	svc_pid=$!
	base_url=http://127.0.0.1:$port
	wait_until "$WAIT_UNTIL_DEFAULT_S" service_answers ||
		die "the service did not answer on $base_url in $WAIT_UNTIL_DEFAULT_S s, see $out/raw/$tree/service.log"
	python3 "$bench_py" rss-sample "$svc_pid" "$out/raw/$tree/service-rss.tsv" &
	sampler_pid=$!
}

# service_answers: the service answers HTTP at all (any status); dies if it has exited.
service_answers() {
	local code
	code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$base_url/healthz" || true)
	[[ $code != 000 ]] && return 0
	kill -0 "$svc_pid" 2>/dev/null || die "the service exited at start, see $out/raw/$tree/service.log"
	return 1
}

# proc_cpu_ms PID: the user+system CPU time of PID so far, in ms.
proc_cpu_ms() {
	local stat rest
	stat=$(<"/proc/$1/stat") || die "cannot read /proc/$1/stat"
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	# After "pid (comm) ": state is f[0], utime f[11], stime f[12], in clock ticks.
	echo $(((f[11] + f[12]) * 1000 / $(getconf CLK_TCK)))
}

stop_service() {
	local hwm
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$svc_pid/status" 2>/dev/null || true)
	[[ -n $hwm ]] && printf 'rss.service_kib\t%s\n' "$hwm" >>"$facts"
	if [[ -n $sampler_pid ]]; then
		kill "$sampler_pid" 2>/dev/null || true
		wait "$sampler_pid" 2>/dev/null || true
		sampler_pid=
		cat "$out/raw/$tree/service-rss.tsv" >>"$facts" 2>/dev/null || true
	fi
	kill "$svc_pid" 2>/dev/null || true
	wait "$svc_pid" 2>/dev/null || true
	svc_pid=
}

fmt="'%p\\t%s\\t%T@\\t%m\\n'"
for tree in "${trees[@]}"; do
	dir=$trees_dir/$tree
	raw=$out/raw/$tree
	rm -rf "$raw" && mkdir -p "$raw"
	facts=$raw/facts.tsv
	: >"$facts"
	note "$tree: counting entries with every tool"
	{
		printf 'count.find_printf\t%s\n' "$(countx find "$dir" -printf x)"
		printf 'count.bfs_printf\t%s\n' "$(countx bfs "$dir" -printf x)"
		printf 'count.bfs\t%s\n' "$(count0 bfs "$dir" -print0)"
		printf 'count.fd_uu\t%s\n' "$(count0 fdfind -uu -j2 -0 . "$dir")"
		printf 'count.fd\t%s\n' "$(count0 fdfind -j2 -0 . "$dir")"
		# fd's view of what gitignore keeps, hidden names included, with each .git listed
		# but not entered: what leindexd keeps with gitignore on (it never enters .git).
		printf 'count.fd_hidden\t%s\n' "$(($(count0 fdfind -H -j2 -E .git -0 . "$dir") +
			$(count0 fdfind -H -j2 -0 -g .git "$dir")))"
	} >>"$facts"
	floor_out=$("$floor" "$dir") || die "$floor $dir failed: $floor_out"
	printf 'count.floor\t%s\n' "$(awk '{print $2}' <<<"$floor_out")" >>"$facts"
	# What hashing reads: the apparent size of the regular files (bytes per second of --hash).
	((hash)) && printf 'hash.bytes\t%s\n' "$(find "$dir" -type f -printf '%s\n' |
		awk '{s += $1} END {printf "%d", s}')" >>"$facts"

	rm -rf "$work/d-count" && mkdir -p "$work/d-count"
	python3 "$bench_py" rss "$raw/scan.rss" "$leindexd" scan "${scan_args[@]}" --no-gitignore --json \
		--data-dir "$work/d-count" "$dir" >"$raw/scan.json" 2>"$raw/scan.stderr" ||
		die "leindexd scan --no-gitignore --json $dir failed: $(tail -n 5 "$raw/scan.stderr")"
	entries=$(python3 "$bench_py" scan-json "$raw/scan.json") || die "reading $raw/scan.json failed"
	read -r sbytes sused < <(python3 "$bench_py" store-bytes "$work/d-count") ||
		die "measuring the store in $work/d-count failed"
	{
		printf 'count.scan\t%s\n' "$entries"
		printf 'rss.scan_kib\t%s\n' "$(cat "$raw/scan.rss")"
		printf 'store.bytes\t%s\nstore.used_bytes\t%s\nstore.entries\t%s\n' "$sbytes" "$sused" "$entries"
	} >>"$facts"
	rm -rf "$work/d-count" && mkdir -p "$work/d-count"
	"$leindexd" scan "${scan_args[@]}" --json --data-dir "$work/d-count" "$dir" \
		>"$raw/scan-gitignore.json" 2>"$raw/scan-gitignore.stderr" ||
		die "leindexd scan --json $dir failed: $(tail -n 5 "$raw/scan-gitignore.stderr")"
	printf 'count.scan_gitignore\t%s\n' "$(python3 "$bench_py" scan-json "$raw/scan-gitignore.json")" >>"$facts"
	rm -rf "$work/d-count"

	ids=(floor scan http http_ka bfs_printf find_printf bfs fd_uu scan_gitignore fd)
	if ((http)); then
		start_service
		check=$(python3 "$bench_py" http-check "$base_url" "$dir" 10000 false) ||
			die "the HTTP check of $dir failed"
		echo "$check" >"$raw/http-check.json"
		python3 - "$raw/http-check.json" >>"$facts" <<-'EOF' || die "reading the HTTP check failed"
			import json, sys
			c = json.load(open(sys.argv[1]))
			print("count.http\t%d" % c["entries"])
			print("http.root_listed\t%d" % c["root_listed"])
			print("http.problems\t%s" % json.dumps(c["problems"]))
		EOF
		HTTP_SCAN_REPORT=$raw/http-scan.tsv bash "$here/http_scan.sh" "$base_url" "$dir" ||
			die "http_scan.sh $base_url $dir failed"
		printf 'http.pages\t%s\n' "$(awk -F'\t' '$1 == "pages" {print $2}' "$raw/http-scan.tsv")" >>"$facts"
	else
		ids=(floor scan bfs_printf find_printf bfs fd_uu scan_gitignore fd)
		base_url=
	fi

	((io)) && ids+=(floor16 scan_w16 scan_io0)
	[[ -n $prev ]] && ids+=(scan_prev)
	# sha256sum opens files by path: the deep tree's are past PATH_MAX.
	((hash)) && [[ $tree != deep ]] && ids+=(scan_hash sha256sum)
	if [[ -n $only ]]; then
		keep=()
		for id in "${ids[@]}"; do [[ ,$only, == *,$id,* ]] && keep+=("$id"); done
		((${#keep[@]})) || die "--commands $only: none of them is run (ids: ${ids[*]})"
		ids=("${keep[@]}")
	fi

	# The commands, by id (the ids are bench.py's COMMANDS). Each gets its own prepare command.
	declare -A cmd prep
	cmd[floor]="'$floor' '$dir'"
	cmd[floor16]="'$floor' -j 16 '$dir'"
	cmd[scan]="'$leindexd' scan ${scan_args[*]} --no-gitignore --data-dir '$work/d-scan' '$dir'"
	cmd[scan_w16]="'$leindexd' scan --workers 16 --io-depth 0 --no-gitignore --data-dir '$work/d-scan' '$dir'"
	cmd[scan_io0]="'$leindexd' scan ${scan_args[*]} --io-depth 0 --no-gitignore --data-dir '$work/d-scan' '$dir'"
	cmd[scan_prev]="'$prev' scan ${scan_args[*]} --no-gitignore --data-dir '$work/d-scan' '$dir'"
	cmd[scan_hash]="'$leindexd' scan ${scan_args[*]} --hash --no-gitignore --data-dir '$work/d-scan' '$dir'"
	cmd[sha256sum]="bash -c \"find '$dir' -type f -print0 | xargs -0 -P$(nproc) sha256sum\""
	cmd[http]="bash '$here/http_scan.sh' '$base_url' '$dir'"
	hostport=${base_url#http://}
	cmd[http_ka]="'$httpc' '${hostport%:*}' '${hostport##*:}' '$dir'"
	cmd[bfs_printf]="bfs '$dir' -printf $fmt"
	cmd[find_printf]="find '$dir' -printf $fmt"
	cmd[bfs]="bfs '$dir'"
	cmd[fd_uu]="fdfind -uu -j2 . '$dir'"
	cmd[scan_gitignore]="'$leindexd' scan ${scan_args[*]} --data-dir '$work/d-scan-gi' '$dir'"
	cmd[fd]="fdfind -j2 . '$dir'"
	for id in "${ids[@]}"; do prep[$id]="bash -c '${prep_cold}true'"; done
	for id in scan scan_w16 scan_io0 scan_prev scan_hash; do
		prep[$id]="bash -c '${prep_cold}rm -rf $work/d-scan && mkdir -p $work/d-scan'"
	done
	prep[scan_gitignore]="bash -c '${prep_cold}rm -rf $work/d-scan-gi && mkdir -p $work/d-scan-gi'"

	((http)) && svc_cpu0=$(proc_cpu_ms "$svc_pid")
	n=${#ids[@]}
	for ((r = 0; r <= rounds; r++)); do
		args=()
		for ((i = 0; i < n; i++)); do
			id=${ids[$(((i + r) % n))]}
			args+=(--command-name "$id" --prepare "${prep[$id]}" "${cmd[$id]}")
		done
		if ((r == 0)); then
			json=$raw/warmup.json
			note "$tree: warm-up round"
		else
			json=$(printf '%s/round-%03d.json' "$raw" "$r")
			note "$tree: round $r of $rounds"
		fi
		hyperfine -N --style basic --output "$output" --runs "$runs" --export-json "$json" \
			"${args[@]}" >>"$raw/hyperfine.log" 2>&1 ||
			die "hyperfine failed on $tree round $r, see $raw/hyperfine.log"
	done
	if ((http)); then
		# The service is idle between HTTP runs: its CPU time over the rounds, per HTTP run
		# (the warm-up round included).
		svc_cpu1=$(proc_cpu_ms "$svc_pid")
		printf 'http.service_cpu_ms_per_run\t%s\n' \
			"$(((svc_cpu1 - svc_cpu0) / ((rounds * runs) + runs)))" >>"$facts"
		stop_service
	fi
	rm -rf "$work/d-scan" "$work/d-scan-gi" "$work/svc"
done

printf 'loadavg_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/raw/meta.tsv"
report_args=("$out")
((short)) && report_args+=(--short)
python3 "$bench_py" report "${report_args[@]}"
note "results in $out/results.md and $out/results.json"
