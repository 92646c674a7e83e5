/* scanner.h: walks one directory tree with a pool of worker threads into the store. */
#ifndef LEINDEX_SCANNER_H
#define LEINDEX_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "store/store.h"

/*
 * Calling sequence: scanner_create() with the options, scanner_run() on one thread (it starts
 * and joins the workers, and returns when the tree is done, cancelled, or the store failed),
 * scanner_cancel(), scanner_progress() and scanner_stats() from any thread at any time (any
 * number of threads at once), then scanner_destroy() after scanner_run() returned.
 */

struct scanner;

/** The most worker threads a scan may have (scanner_create() refuses more). */
#define SCANNER_WORKERS_MAX 256

/** The most I/O threads a scan may have (scanner_opts.io_depth; scanner_create() refuses more). */
#define SCANNER_IO_DEPTH_MAX 256

/**
 * The io_depth of the scan options' default (the API and the CLI; a zeroed scanner_opts has
 * none): measured on a 2-CPU virtual disk, 16 I/O threads brought a cold salsa-like scan to the
 * time of 16 workers; more gained nothing (README, Performance).
 */
#define SCANNER_IO_DEPTH_DEFAULT 16

/** The slow-directory threshold, in milliseconds, when scanner_opts.slow_threshold_ms is 0. */
#define SCANNER_SLOW_MS_DEFAULT 100

/** Flags of struct scanner_opts. */
enum scanner_flags {
	/**
	 * Follow links to directories that resolve inside the root (find -L). A followed directory
	 * is read only if the one opened is the one checked when its link was read: a link
	 * re-pointed in between is refused, recorded as an error of the link.
	 */
	SCANNER_FOLLOW_SYMLINKS = 1u << 0,
	SCANNER_ONE_FILE_SYSTEM = 1u << 1,
	/* 1u << 2 was SCANNER_USE_GITIGNORE: scanner_opts.view says it now. */
	SCANNER_HASH = 1u << 3,
	/**
	 * View git: enter submodules and nested repositories, each listed under its own index and
	 * rules (none of the superproject's), instead of one `repo` entry each.
	 */
	SCANNER_RECURSE_REPOS = 1u << 4,
};

/** Which entries a scan keeps (scanner_opts.view). */
enum scanner_view {
	/** Everything (like find), less the `ignore` option patterns. */
	SCANNER_VIEW_ALL = 0,
	/** .gitignore files and the root repository's info/exclude applied, as git does. */
	SCANNER_VIEW_GITIGNORE = 1,
	/**
	 * What git considers the project: tracked files (from the index) and untracked ones not
	 * ignored, as `git ls-files -co --exclude-standard` lists them, each with its git status
	 * (gitview.c). The root must be inside a git work tree.
	 */
	SCANNER_VIEW_GIT = 2,
};

/** What to scan and how. Strings are copied by scanner_create(). */
struct scanner_opts {
	/**
	 * Absolute, canonical path of the root directory (no symbolic link in it, no "." or ".."):
	 * it is opened without following any symbolic link, so a component swapped for a link after
	 * the path was checked fails the scan instead of leading elsewhere.
	 */
	const char *root;
	/**
	 * The allowed root (--allow-root, canonical) that `root` was checked against, or NULL when
	 * roots are not restricted. The scan opens it, then `root` beneath it, and fails when `root`
	 * no longer resolves beneath it. Set by the API, never by users (not a scan option).
	 */
	const char *allowed_root;
	/** Worker threads, 1..SCANNER_WORKERS_MAX; 0: scanner_default_workers(). */
	unsigned workers;
	/**
	 * Directory reads in flight while they wait on the device: up to this many I/O threads,
	 * 0..SCANNER_IO_DEPTH_MAX, beside the workers, that read directories like them but only
	 * while reads are found to block (a cold cache); asleep otherwise. 0: none.
	 */
	unsigned io_depth;
	/** Keep entries of depth <= max_depth; negative: no limit. */
	int max_depth;
	/** enum scanner_flags. */
	unsigned flags;
	/** enum scanner_view (0, the zero value, is SCANNER_VIEW_ALL). */
	unsigned view;
	/** gitignore patterns applied at the root, with precedence over .gitignore files. */
	const char *const *ignore;
	size_t ignore_count;
	/**
	 * A directory whose open+read+stat takes longer is logged and counted as slow;
	 * 0: SCANNER_SLOW_MS_DEFAULT.
	 */
	unsigned slow_threshold_ms;
	/**
	 * The scan this one reuses (a completed scan of the same root): its id; 0 none;
	 * SCANNER_BASELINE_LATEST ("latest") until scanopt_baseline_resolve() turns it into an id.
	 */
	int64_t baseline;
	/** enum scanner_reuse: what is taken from the baseline (with a baseline only). */
	unsigned reuse;
	/**
	 * Set by scanopt_baseline_resolve(), never by users: when the baseline scan started (wall
	 * clock, ns; the racy-timestamp rule), and whether its options differ from these in a way
	 * that changes what is listed (then nothing is reused and the stats say so).
	 */
	int64_t baseline_started_ns;
	bool baseline_mismatch;
	/** The scan's id in the store. */
	uint64_t scan_id;
	/** Prefix of log lines ("scan 12"); NULL: "scan". */
	const char *log_tag;
	/**
	 * Called for each slow directory (see slow_threshold_ms) on the worker that read it, with
	 * its path relative to the root ("." for the root; borrowed for the call), its entries and
	 * the seconds it took; NULL: none. It must not block, nor call back into the scanner.
	 */
	void (*on_slow_dir)(void *ctx, uint64_t scan_id, const char *path, size_t path_len,
			    uint64_t entries, double seconds);
	void *on_slow_dir_ctx;
};

/** scanner_opts.baseline before it is resolved: the newest completed scan of the same root. */
#define SCANNER_BASELINE_LATEST (-2)

/** What a scan with a baseline takes from it. */
enum scanner_reuse {
	/** Every directory is read and every entry stat-ed; a file's SHA-256 is copied when its
	 * (dev, ino, size, mtime, ctime) are unchanged and its mtime is older than the baseline's
	 * start. */
	SCANNER_REUSE_HASHES = 0,
	/** A directory whose (dev, ino, mtime, ctime) are unchanged is not read again. */
	SCANNER_REUSE_DIRS = 1,
	/** Not asked (null): hashes when there is a baseline (scanopt_baseline_resolve() sets it). */
	SCANNER_REUSE_UNSET = 2,
};

/** The CPUs this process may use: its affinity mask, capped by a cgroup v2/v1 CPU quota. */
unsigned scanner_default_workers(void);

/** Live counts; every field is read atomically. */
struct scanner_progress {
	uint64_t dirs, files, symlinks, other, bytes, errors;
	/** Directories waiting in the queue or being read. */
	uint64_t queued_dirs;
};

/** Per worker counters. */
struct scanner_worker_stats {
	/** Directories this worker read, and entries it stat-ed (its slices of large directories too). */
	uint64_t dirs, entries;
	double busy_seconds;
};

/** Buckets of the scandir latency histogram (open, list and stat of one directory). */
#define SCANNER_LATENCY_BUCKETS 12

/** Upper bounds in seconds of the first SCANNER_LATENCY_BUCKETS - 1 buckets; the last is +Inf. */
extern const double scanner_latency_bounds[SCANNER_LATENCY_BUCKETS - 1];

/**
 * The performance counters of a scan: a snapshot filled by scanner_stats(), owning its path and
 * per-worker array (free both with scanner_stats_clear()). A zeroed struct is a valid empty one.
 */
struct scanner_stats {
	uint64_t scandir_calls; /**< directories opened and read, the root included */
	uint64_t slow_scandirs;
	double scandir_seconds, stat_seconds, ignore_match_seconds, symlink_check_seconds;
	double hash_seconds, store_seconds, wall_seconds;
	uint64_t queue_peak;
	/** Path of the slowest directory (relative, "" for the root; malloc'ed, owned), or NULL. */
	char *slowest_scandir_path;
	size_t slowest_scandir_len;
	double slowest_scandir_seconds;
	/** Directories per latency bucket (not cumulative), and the sum of their latencies. */
	uint64_t scandir_latency[SCANNER_LATENCY_BUCKETS];
	double scandir_latency_sum;
	/**
	 * Paths a rule skipped (GET /scans/{id}/skipped): directories pruned (their contents are
	 * not read, so not counted) and the rest; and the ignore files (.gitignore, info/exclude)
	 * that skipped at least one, the `ignore` option patterns aside.
	 */
	uint64_t ignored_files, ignored_dirs, ignore_sources;
	/** View git: tracked files missing from the work tree (counted, not listed). */
	uint64_t git_deleted;
	/**
	 * With a baseline: directories whose entries were copied from it and directories read;
	 * SHA-256 sums copied from it and computed; whether nothing could be reused because the
	 * baseline's options list differently (scanner_opts.baseline_mismatch) or it could not be read.
	 */
	uint64_t dirs_reused, dirs_read, hashes_reused, hashes_computed;
	bool baseline_mismatch;
	/**
	 * The I/O threads (scanner_opts.io_depth): how many the scan had, how many read anything,
	 * how often reads were found to block and the threads were woken, and the directories and
	 * entries they read (also in the totals above; not in per_worker).
	 */
	unsigned io_threads, io_threads_ran;
	uint64_t io_wakeups, io_dirs, io_entries;
	unsigned workers;
	/** `workers` entries (malloc'ed, owned), or NULL when workers is 0. */
	struct scanner_worker_stats *per_worker;
};

/** How a run ended. */
enum scanner_outcome {
	SCANNER_DONE = 0,
	SCANNER_CANCELLED,
	/**
	 * The root could not be opened (gone, a symbolic link in its path, no longer beneath its
	 * allowed root) or read, memory ran out or the store failed: see the errbuf.
	 */
	SCANNER_FAILED,
};

/**
 * What can be checked of `opts` before a scan is queued, beyond the options themselves: for the
 * view git, that opts->root (canonical) is inside a git work tree whose files lie inside
 * opts->allowed_root and whose index libgit2 reads. 0; -ENOMEM; any other negative error is the
 * client's (a 422, exit 2), with the message in `err` naming what and where. Thread-safe.
 */
int scanner_precheck(const struct scanner_opts *opts, struct errbuf *err);

int scanner_create(struct scanner **out, const struct scanner_opts *opts, struct store *store,
		   struct errbuf *err);

/** Runs the scan to its end on the calling thread; fills `err` when the outcome is FAILED. */
enum scanner_outcome scanner_run(struct scanner *sc, struct errbuf *err);

/**
 * Asks the scan to stop soon: between directories, between the entries of a directory (listing,
 * ignore matching, stat, the slices of a large one), and between reads of a file being hashed.
 */
void scanner_cancel(struct scanner *sc);

void scanner_progress(const struct scanner *sc, struct scanner_progress *out);

/**
 * Fills `out` with a snapshot of the counters, exact after scanner_run() returned, approximate
 * while it runs. Thread-safe: callers share nothing, since `out` owns copies of the path and of
 * the per-worker counters. Returns 0, or -ENOMEM with `out` left empty (all zero). Either way
 * scanner_stats_clear(out) frees it afterwards.
 */
int scanner_stats(struct scanner *sc, struct scanner_stats *out);

/** Frees what scanner_stats() put in `st` and zeroes it. NULL is fine. */
void scanner_stats_clear(struct scanner_stats *st);

void scanner_destroy(struct scanner *sc);

#endif
