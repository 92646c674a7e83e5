/* store.h: the LMDB environment that keeps scans, their entries and their errors. */
#ifndef LEINDEX_STORE_H
#define LEINDEX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "store/entry.h"

/*
 * Design (the full essay is atop store.c).
 *
 * Entries are keyed by (dir_id, name): dir_id is a 64-bit big-endian number the store hands out
 * to each directory *when that directory's sorted entries are submitted*, from one counter shared
 * by all scans, so every submission comes in key order and is written with MDB_APPEND. A
 * directory's dir_id is linked from (parent dir_id, name) in a small links table, and the scan's
 * root from (0, scan id); a dirs table maps dir_id back to (scan id, parent, name) so that a walk
 * can resume after any entry from a token of (dir_id, name) alone. Keys are at most 8 + 255
 * bytes whatever the depth; full paths are rebuilt while walking.
 *
 * One writer thread owned by the store commits what workers submit, in large transactions; the
 * workers only encode and hand over buffers. Submissions block when too much is pending, which
 * bounds memory whatever the tree.
 *
 * Deleting a scan takes two steps: a tombstone (store_scan_tombstone()), a tiny record committed
 * and synced at once, after which every read treats the scan as gone; then the purge of its rows
 * (store_scan_purge()), which may take a while and may run later, in the background. A purge a
 * crash cut short is resumed by the next store_open(). store_scan_delete() does both.
 *
 * Thread safety: every function here is thread-safe unless it says otherwise, and may be called
 * from scan workers and HTTP threads at once. A struct store_batch belongs to one thread.
 */

/**
 * The on-disk format this binary reads and writes. Every change of the layout bumps it and adds a
 * migration from the previous format (store_format.c); store_open() migrates an older store in
 * place and refuses a newer one.
 *
 *   1  the first format
 *   2  deletion tombstones (a "tombstones" table; format 1's "deleting:" markers become tombstones)
 */
#define STORE_FORMAT_VERSION 2

struct store;

/** Flags of store_opts. */
enum store_open_flags {
	/**
	 * Read beside a running server (the CLI's scans, show, errors): opens an existing store
	 * with MDB_RDONLY, takes neither the directory's lock nor LMDB's writer lock, runs no
	 * recovery and starts no writer. Only the read functions may be called (store_scan_get(),
	 * store_scan_list(), store_walk(), store_errors(), store_scan_samples_get(), store_info());
	 * writes answer -EROFS. The data directory and its store must exist (-ENOENT otherwise),
	 * in this binary's format (an older one is migrated by the next read-write open).
	 */
	STORE_OPEN_READ_ONLY = 1u << 0,
};

/** How to open a store. */
struct store_opts {
	/** The data directory; created (mode 0700) when missing (not with STORE_OPEN_READ_ONLY). */
	const char *dir;
	/** enum store_open_flags. */
	unsigned flags;
	/** LMDB map size in bytes: the most the store may hold. 0: the default (64 GiB). */
	uint64_t map_size;
	/** Reader slots (one per thread that reads at once). 0: the default (512). */
	unsigned max_readers;
	/**
	 * Tests only: when set, store_open() calls it inside its recovery transaction (format
	 * migration included) just before the commit, so that a test can kill the process there.
	 */
	void (*test_before_recover_commit)(void *ctx);
	void *test_ctx;
};

/**
 * Opens (creating if needed) the store in opts->dir and takes the directory's exclusive lock.
 * Then, in one write transaction committed and synced before anything else is written: checks
 * the format version, migrating a store of an older format in place (a crash before that commit
 * leaves the old store as it was) and refusing a newer one with a message saying what to do;
 * marks scans left queued or running by a previous process as interrupted, with totals counted
 * from what they stored. Then purges the scans left tombstoned (a purge that finds the map full
 * is left for later, and the open goes on) and starts the writer thread. Fails with a message
 * naming the directory (and the lock holder's pid when another process holds it).
 */
int store_open(struct store **out, const struct store_opts *opts, struct errbuf *err);

/** Flushes pending writes, stops the writer, closes LMDB and releases the lock. NULL is fine. */
void store_close(struct store *s);

/** The data directory (owned by the store). */
const char *store_dir(const struct store *s);

/* ---------------------------------------------------------------- scans */

/** The life cycle of a scan. */
enum scan_state {
	SCAN_QUEUED = 0,
	SCAN_RUNNING,
	SCAN_COMPLETED,
	SCAN_FAILED,
	SCAN_CANCELLED,
	SCAN_INTERRUPTED,
};
#define SCAN_STATE_COUNT 6

/** "queued", "running", ... */
const char *scan_state_name(enum scan_state state);
/** Parses a scan_state_name(); returns 0 or -1. */
int scan_state_parse(const char *name, enum scan_state *out);
/** Whether a scan in this state will not change any more. */
bool scan_state_finished(enum scan_state state);

/** Counts kept with a scan record. */
struct store_scan_totals {
	uint64_t dirs, files, symlinks, other, bytes, errors;
};

/**
 * A scan's record. Strings are NUL-terminated and owned by the struct once filled by the store
 * (free with store_scan_clear()); when passed in, they are borrowed.
 */
struct store_scan {
	uint64_t id;
	enum scan_state state;
	/** The absolute root as given (bytes, may be non-UTF-8). */
	char *root;
	size_t root_len;
	/** JSON object text of the effective options (written by the job manager). */
	char *options_json;
	/** JSON object text of the performance counters, or NULL until there are some. */
	char *counters_json;
	/** Why the scan failed, or NULL. */
	char *error;
	/** Nanoseconds since the epoch; 0 when not yet. */
	int64_t created_ns, started_ns, finished_ns;
	struct store_scan_totals totals;
};

/** Frees the strings of a scan filled by the store and zeroes it. */
void store_scan_clear(struct store_scan *scan);

/**
 * Gives `scan` a new id (never reused, even after deletion) and writes it, durably. scan->id is
 * set on success.
 */
int store_scan_create(struct store *s, struct store_scan *scan, struct errbuf *err);

/**
 * Overwrites the record of scan->id. The write is ordered after every batch and error already
 * submitted for that scan, and returns once committed; when it moves the scan to a finished state
 * it is synced to disk first, so a scan marked completed is durable. -ENOENT when there is no
 * such scan (or it is tombstoned).
 */
int store_scan_update(struct store *s, const struct store_scan *scan, struct errbuf *err);

/**
 * store_scan_update() of n records at once, in one transaction synced once (thousands of queued
 * scans ended by a shutdown would otherwise cost a sync each). rcs[i] gets each record's
 * outcome (0, -ENOENT, or the error of a failing store), errs[i] its message (both n long).
 * Returns 0 when every record was written, else the first failure's code with its message in
 * `err`. Thread-safe.
 */
int store_scan_update_many(struct store *s, const struct store_scan *scans, size_t n, int *rcs,
			   struct errbuf *errs, struct errbuf *err);

/**
 * Reads one scan. Returns 0, -ENOENT when there is no such scan (or it is tombstoned), or another
 * negative error.
 */
int store_scan_get(struct store *s, uint64_t id, struct store_scan *out, struct errbuf *err);

/** Called per scan by store_scan_list(); return non-zero to stop. `scan` is valid during the call. */
typedef int (*store_scan_cb)(void *ctx, const struct store_scan *scan);

/**
 * Lists scans newest first, starting below `before_id` (0: from the newest), calling `cb` for
 * each whose state bit is in `state_mask` (1u << state; 0: all). Tombstoned scans are skipped.
 */
int store_scan_list(struct store *s, uint64_t before_id, unsigned state_mask, store_scan_cb cb,
		    void *ctx, struct errbuf *err);

/**
 * Deletes scan `id` durably, in one small transaction: writes its tombstone, commits and syncs it
 * before returning. From then on the scan is gone for every call here: store_scan_get() and
 * store_walk() answer -ENOENT, store_scan_list() skips it, updates and submissions of its entries
 * and errors are refused, and what was already queued for it is dropped. Its rows stay until
 * store_scan_purge() (or the next store_open()) removes them.
 *
 * The caller should have stopped the scan's writers first, but nothing breaks if it did not.
 * A tombstone is one row of an 8-byte key and no value: it commits in a map that a scan's
 * entries, or scan records, filled. Thread-safe; it waits for LMDB's writer lock (at most one
 * write transaction), never for the queue of submitted entries.
 *
 * Returns 0; -ENOENT when there is no such scan or it is tombstoned already; or, when the
 * tombstone could not be committed (the map or the disk is full, a write failed), a negative
 * error whose message says why (for a full map: "store full: ... raise --map-size"), and the scan
 * is left as it was. When the commit succeeded but the sync after it failed, returns that error
 * too: the scan is gone, but the deletion may not survive a power loss.
 */
int store_scan_tombstone(struct store *s, uint64_t id, struct errbuf *err);

/**
 * Removes the rows of tombstoned scan `id` (entries, directories, links, errors, then its record
 * and tombstone), in many small transactions so that other scans' writers are not held up; when
 * the map is full, smaller ones, since every committed deletion frees room for the next. Meant for
 * a background thread: it may take seconds for millions of entries. A crash midway is harmless:
 * the tombstone stays until the end, and store_open() resumes the purge.
 *
 * Returns 0 once nothing of the scan is left (also when an earlier purge finished it); -EINVAL
 * when the scan exists and is not tombstoned (a live scan is never purged); another negative
 * error when a transaction failed (the purge can be called again later). Thread-safe: two purges
 * of one scan at once are harmless. Must return before store_close().
 */
int store_scan_purge(struct store *s, uint64_t id, struct errbuf *err);

/**
 * Purges every tombstoned scan (as store_open() does), oldest first, stopping at the first
 * failure. For a caller that retries after a purge failed, e.g. once the map has room again.
 */
int store_purge_tombstoned(struct store *s, struct errbuf *err);

/**
 * store_scan_tombstone(), then store_scan_purge(): removes a scan with its entries, errors and
 * links before returning. -ENOENT when there is no such scan.
 */
int store_scan_delete(struct store *s, uint64_t id, struct errbuf *err);

/* ---------------------------------------------------------------- progress samples */

/** One progress sample of a scan: its counts `t_ms` milliseconds after it started. */
struct store_sample {
	uint64_t t_ms, entries, dirs, files, bytes, errors;
};

/** The most samples store_scan_samples_put() keeps for one scan. */
#define STORE_SAMPLES_MAX 4096

/**
 * Replaces the progress samples of scan `id` with v[0..n) (n <= STORE_SAMPLES_MAX), in one
 * small write transaction of the calling thread (it waits for LMDB's writer lock, never for the
 * queue of entries), not synced: the next synced commit covers it. -ENOENT when there is no such
 * scan or it is tombstoned; -EROFS on a read-only store; another error with its message.
 */
int store_scan_samples_put(struct store *s, uint64_t id, const struct store_sample *v, size_t n,
			   struct errbuf *err);

/**
 * Reads the progress samples of scan `id` into *v (malloc'ed, the caller frees; NULL when
 * *n == 0). A scan without samples (still running, or scanned by an older version) gives 0 with
 * *n == 0. -ENOENT when there is no such scan or it is tombstoned.
 */
int store_scan_samples_get(struct store *s, uint64_t id, struct store_sample **v, size_t *n,
			   struct errbuf *err);

/* ---------------------------------------------------------------- writing entries */

/** A buffer of one directory's encoded entries, built by one worker thread. */
struct store_batch;

int store_batch_create(struct store_batch **out, struct errbuf *err);
void store_batch_destroy(struct store_batch *b);

/**
 * Appends an entry. Entries must be added in bytewise order of their names (memcmp, shorter
 * first). Not thread-safe (one batch, one thread). Returns 0 or -ENOMEM.
 */
int store_batch_add(struct store_batch *b, const struct entry *e, struct errbuf *err);

/**
 * Moves every entry of `src` to the end of `dst`; src's first name must sort after dst's last.
 * `src` comes back empty. For a directory read in slices by several workers. Not thread-safe
 * for either batch. Returns 0, -EINVAL (out of order) or -ENOMEM.
 */
int store_batch_append(struct store_batch *dst, struct store_batch *src, struct errbuf *err);

/** Bytes of encoded entries in the batch (NULL: 0). */
size_t store_batch_bytes(const struct store_batch *b);

/** Makes room for `extra` more bytes without growing again. Returns 0 or -ENOMEM. */
int store_batch_reserve(struct store_batch *b, size_t extra, struct errbuf *err);

/** Number of entries in the batch. */
size_t store_batch_count(const struct store_batch *b);

/**
 * Says that the batch, once complete, holds exactly the rows of directory `base_dir_id` of the
 * scan's baseline, each equal to the baseline's for a diff (store_diff_same()): a directory a
 * rescan took over unchanged. store_diff_count() of the baseline and this scan, while the scan
 * is still writing, then compares only the directory's subdirectories' links, not its rows. A
 * promise: a batch marked wrongly makes those counts wrong. The next store_put_dir() or
 * store_batch_append() into it clears the mark. Not thread-safe (one batch, one thread).
 */
void store_batch_mark_copy(struct store_batch *b, uint64_t base_dir_id);

/**
 * Hands the batch of directory `name` (empty for the root) under `parent_dir_id` (0 for the
 * root) of scan `scan_id` to the writer, and gives the directory its dir_id in *dir_id. The
 * store takes the batch's content; `b` comes back empty, ready for the next directory. Blocks
 * while too much is pending. Returns a negative error when the store can no longer write for
 * this scan (the map is full, the disk failed): the scan should stop and fail with that message;
 * -ENOENT when the scan does not exist or is tombstoned.
 */
int store_put_dir(struct store *s, uint64_t scan_id, uint64_t parent_dir_id, const char *name,
		  size_t name_len, struct store_batch *b, uint64_t *dir_id, struct errbuf *err);

/**
 * Records an error of scan `scan_id`: the path (relative to the root), the operation, the errno.
 * Queued like a directory; fails as store_put_dir() does.
 */
int store_put_error(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
		    const char *op, int errnum, struct errbuf *err);

/**
 * store_put_error() with `detail` (NULL: none), a message saying what failed and where (the
 * ignore parser's "line 12: ..."), kept in the record after the operation and a NUL byte, so
 * records without one read as before and older readers see the operation alone.
 */
int store_put_error_detail(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
			   const char *op, int errnum, const char *detail, struct errbuf *err);

/**
 * Waits until everything submitted for `scan_id` so far is committed. Returns the first write
 * failure of that scan, if any.
 */
int store_flush(struct store *s, uint64_t scan_id, struct errbuf *err);

/* ---------------------------------------------------------------- reading entries */

/** Where a walk stopped: resume after the entry (dir_id, name). */
struct store_pos {
	uint64_t dir_id;
	size_t name_len;
	char name[256];
};

/** How a walk's prefix selects entries (store_walk_filter.prefix). */
enum store_prefix_mode {
	/**
	 * The entries below the prefix directory, not the directory itself (the default); -ENOENT
	 * when the prefix names no directory.
	 */
	STORE_PREFIX_DIR = 0,
	/**
	 * As STORE_PREFIX_DIR when the prefix names a directory; exactly the entry it names when that
	 * is not a directory; -ENOENT when it names nothing.
	 */
	STORE_PREFIX_PATH,
	/** Every entry whose relative path starts with the prefix bytes ("src/ma": "src/main.c"). */
	STORE_PREFIX_STRING,
};

/** Which bounds of a filter are set (store_walk_filter.bounds). */
enum store_filter_bounds {
	STORE_FILTER_MIN_SIZE = 1u << 0,
	STORE_FILTER_MAX_SIZE = 1u << 1,
	STORE_FILTER_AFTER = 1u << 2,  /**< modified at or after mtime_after */
	STORE_FILTER_BEFORE = 1u << 3, /**< modified at or before mtime_before */
};

/** Bytes that need not be NUL-terminated. */
struct store_bytes {
	const char *p;
	size_t len;
};

/** A time as the entries keep it. */
struct store_time {
	int64_t sec;
	uint32_t nsec;
};

/**
 * Called by a walk for each entry that passed every other test of the filter, before the entry
 * is given to the walk's callback: whether it passes. For tests the store cannot make itself (a
 * gitignore-style glob lives above the store). Must not call into the store. `path` and `e` are
 * valid during the call only.
 */
typedef bool (*store_match_fn)(void *ctx, const char *path, size_t path_len, const struct entry *e);

/**
 * Filters of a walk, all of which an entry must pass. A zeroed filter passes everything; the
 * fields after type_mask were added later, so zero-initialised filters of older callers keep
 * their meaning. Every pointer is borrowed for the duration of the walk.
 */
struct store_walk_filter {
	/** Selects entries by path as prefix_mode says; NULL or "" for all. */
	const char *prefix;
	size_t prefix_len;
	/** Bit (1u << type) for each entry_type to return; 0: all. */
	unsigned type_mask;
	enum store_prefix_mode prefix_mode;
	/** Only entries of exactly this name (bytes); NULL: any. */
	const char *name;
	size_t name_len;
	/**
	 * Only entries whose name ends with '.' and one of these (case-sensitive, without the dot:
	 * "gz" and "tar.gz" both pass "a.tar.gz"); ext_count 0: any.
	 */
	const struct store_bytes *exts;
	size_t ext_count;
	/** enum store_filter_bounds: which of the inclusive bounds below hold. */
	unsigned bounds;
	/** st_size bounds; an entry that could not be stat-ed fails any of them. */
	uint64_t min_size, max_size;
	/** st_mtime bounds; an entry that could not be stat-ed fails any of them. */
	struct store_time mtime_after, mtime_before;
	/** A test of the caller's (a glob), or NULL. */
	store_match_fn match;
	void *match_ctx;
};

/**
 * Whether entry `e` at `path` passes every test of `f` but the prefix (which the walk applies
 * by where it goes): type, name, extensions, bounds, then f->match. Pure and thread-safe.
 */
bool store_filter_pass(const struct store_walk_filter *f, const char *path, size_t path_len,
		       const struct entry *e);

/** Whether name `name` ends with '.' followed by `ext` (store_walk_filter.exts). Pure. */
bool store_filter_ext(const char *name, size_t name_len, const char *ext, size_t ext_len);

/**
 * Called per entry by store_walk(): `path` is relative to the scan root (not NUL-terminated),
 * `e` describes it; both valid during the call only. Return non-zero to stop the walk with an
 * error that store_walk() returns.
 */
typedef int (*store_entry_cb)(void *ctx, const char *path, size_t path_len, const struct entry *e);

/**
 * Walks the entries of scan `scan_id` in depth-first pre-order (each directory followed by its
 * subtree, siblings in bytewise order of names), starting after `resume` (NULL: from the start),
 * calling `cb` for at most `limit` entries that pass `filter`. On return *more says whether
 * entries remain, and *next (when *more) is where to resume. One read transaction: the page is
 * consistent. -ENOENT: no such scan or prefix directory; -EINVAL: `resume` is not a position of
 * this scan. store_walk_ex() with the depth-first order and no bound on entries examined.
 */
int store_walk(struct store *s, uint64_t scan_id, const struct store_walk_filter *filter,
	       const struct store_pos *resume, size_t limit, store_entry_cb cb, void *ctx,
	       struct store_pos *next, bool *more, struct errbuf *err);

/** The order of a walk. */
enum store_walk_order {
	/** Depth-first pre-order, siblings in bytewise order: a finished scan's listing. */
	STORE_ORDER_TREE = 0,
	/**
	 * The order the directories were stored in (each directory's entries together, by name):
	 * for a running scan, whose later directories then come after any resume position, so that
	 * paging it misses nothing stored before the last page was read.
	 */
	STORE_ORDER_STORED,
};

/** What store_walk_ex() is asked. */
struct store_walk_req {
	uint64_t scan_id;
	/** NULL: every entry. */
	const struct store_walk_filter *filter;
	enum store_walk_order order;
	/** Resume after this entry (a position of the same order and filter); NULL: the start. */
	const struct store_pos *resume;
	/** Entries given to `cb` at most. */
	size_t limit;
	/**
	 * Entries examined at most, whether they pass the filter or not (0: no bound): keeps one
	 * call, and so one read transaction, short however selective the filter.
	 */
	size_t visit_limit;
	store_entry_cb cb;
	void *ctx;
};

/** What store_walk_ex() did. */
struct store_walk_out {
	/** Entries remain: resume at `next`, the last entry examined. */
	bool more;
	struct store_pos next;
	/** Entries given to the callback, and examined. */
	size_t given, visited;
};

/**
 * store_walk() in either order, with a bound on the entries examined. One read transaction.
 * Returns 0, the callback's non-zero answer, -ENOENT (no such scan, or for STORE_PREFIX_DIR and
 * STORE_PREFIX_PATH no such prefix), -EINVAL (`resume` is not a position of this walk), or
 * another negative error with its message.
 */
int store_walk_ex(struct store *s, const struct store_walk_req *rq, struct store_walk_out *out,
		  struct errbuf *err);

/**
 * store_walk_ex() to the end, in calls of at most `chunk` entries examined (0: 4096), each its
 * own short read transaction, so that a long walk does not pin old pages of the file. rq->resume
 * and rq->limit are ignored. Returns as store_walk_ex() does; a scan deleted midway gives
 * -ENOENT.
 */
int store_walk_all(struct store *s, const struct store_walk_req *rq, size_t chunk,
		   struct errbuf *err);

/**
 * Calls `cb` once with the entry at relative `path` (no leading or trailing '/', no empty
 * component) of scan `scan_id`. -ENOENT when the scan or the entry does not exist.
 */
int store_entry_get(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
		    store_entry_cb cb, void *ctx, struct errbuf *err);

/* ---------------------------------------------------------------- directory totals */

/** What a directory's subtree holds (the directory itself not counted). */
struct store_tree_totals {
	/** Entries of every type, regular files, and the bytes (st_size) of the regular files. */
	uint64_t entries, files, bytes;
};

/**
 * Computes the totals of every directory of finished scan `scan_id` and stores them (in the
 * "tree" table), so that store_tree_read() costs a read. Called once the scan's entries are all
 * submitted and before its final record, it takes each directory's own totals from what its
 * batch counted; later (or if that record was lost to memory), one pass over the scan's
 * directories in short read transactions. Then it sums children into parents (a child is stored
 * after its parent, so its dir_id is larger), with memory of 40 bytes per directory, and writes
 * in transactions of at most 10,000 rows. A scan deleted meanwhile gives -ENOENT and writes
 * nothing more. Running it again rewrites the same values. Thread-safe.
 */
int store_tree_build(struct store *s, uint64_t scan_id, struct errbuf *err);

/**
 * Called by store_tree_read() for the prefix directory (depth 0) and then each directory below
 * it down to the asked depth, in depth-first order: its path relative to the root, and its
 * totals. Valid during the call only; non-zero stops the read and is returned.
 */
typedef int (*store_tree_cb)(void *ctx, const char *path, size_t path_len, unsigned depth,
			     const struct store_tree_totals *t);

/**
 * Reads the stored totals of directory `prefix` ("" for the root) of scan `scan_id` and of the
 * directories below it down to `depth` levels. One read transaction. -ENOENT: no such scan or
 * directory; -ENODATA: the scan's totals were never computed (store_tree_build()).
 */
int store_tree_read(struct store *s, uint64_t scan_id, const char *prefix, size_t prefix_len,
		    unsigned depth, store_tree_cb cb, void *ctx, struct errbuf *err);

/** One recorded error. Strings valid during the callback only. */
struct store_error {
	uint64_t seq;
	const char *path;
	size_t path_len;
	const char *op;
	int errnum;
	/** What failed and where, beyond the errno (store_put_error_detail()), or NULL. */
	const char *detail;
};

typedef int (*store_error_cb)(void *ctx, const struct store_error *e);

/**
 * Calls `cb` for at most `limit` errors of `scan_id` in the order they were recorded, starting
 * after sequence number `after` (0: from the first). *more and *next_after as in store_walk().
 */
int store_errors(struct store *s, uint64_t scan_id, uint64_t after, size_t limit,
		 store_error_cb cb, void *ctx, uint64_t *next_after, bool *more,
		 struct errbuf *err);

/* ---------------------------------------------------------------- skipped paths (store_skip.c) */

/** Where the rule that skipped a path comes from. */
enum store_skip_source {
	STORE_SKIP_GITIGNORE = 0, /**< a .gitignore file: source_path is its path from the root */
	STORE_SKIP_EXCLUDE = 1,   /**< a repository's info/exclude */
	STORE_SKIP_OPTION = 2,    /**< the scan's `ignore` option patterns */
};

/**
 * A path a rule skipped (a file left out, or a directory pruned, its contents unread), with the
 * rule that decided it, as git check-ignore -v names it. Strings are borrowed: when passed in,
 * for the call; when handed to a callback, for the callback.
 */
struct store_skip {
	const char *path; /**< relative to the scan root */
	size_t path_len;
	enum entry_type type;
	enum store_skip_source source;
	/** "src/.gitignore", "info/exclude", "option". */
	const char *source_path;
	size_t source_len;
	/** The pattern's line in its file (its position among the option patterns). */
	uint32_t line;
	/** The pattern as written ("!keep.o", "/build/"). */
	const char *pattern;
	size_t pattern_len;
	/**
	 * Unique per scan (e.g. a counter), used only for paths whose key would be too long: the
	 * order of records is depth-first by path, and, for paths sharing their first
	 * STORE_SKIP_KEY_PATH bytes, the order of this number.
	 */
	uint64_t seq;
};

/** Bytes of a path that order skip records (longer ones: see store_skip.seq). */
#define STORE_SKIP_KEY_PATH 272
/** The most bytes of a position handed out by store_skipped() (fits a page token). */
#define STORE_SKIP_POS_MAX (STORE_SKIP_KEY_PATH + 8)

/** Skip records of one worker, to hand to the store together (one thread, like a batch). */
struct store_skips;

int store_skips_create(struct store_skips **out, struct errbuf *err);
void store_skips_destroy(struct store_skips *b);

/** Appends a record (copied). 0 or -ENOMEM. Not thread-safe (one batch, one thread). */
int store_skips_add(struct store_skips *b, const struct store_skip *rec, struct errbuf *err);

/** Records in the batch (NULL: 0). */
size_t store_skips_count(const struct store_skips *b);

/**
 * Hands the batch's records of scan `scan_id` to the writer (ordered after everything submitted
 * before); `b` comes back empty. An empty batch is no call. Fails as store_put_dir() does.
 */
int store_put_skips(struct store *s, uint64_t scan_id, struct store_skips *b, struct errbuf *err);

/** Called per skip record; return non-zero to stop with that error. */
typedef int (*store_skip_cb)(void *ctx, const struct store_skip *rec);

/**
 * Calls `cb` for at most `limit` skip records of `scan_id` in depth-first order of their paths
 * (siblings in bytewise order of names), starting after position `after` (after_len bytes; 0:
 * from the first). *more says whether records remain, and then next[0..*next_len) (next holds
 * STORE_SKIP_POS_MAX bytes) is where to resume. -ENOENT: no such scan (or tombstoned).
 */
int store_skipped(struct store *s, uint64_t scan_id, const void *after, size_t after_len,
		  size_t limit, store_skip_cb cb, void *ctx, void *next, size_t *next_len,
		  bool *more, struct errbuf *err);

/* ---------------------------------------------------------------- diffs (store_diff.c) */

/** How an entry differs between two scans. */
enum store_diff_change {
	STORE_DIFF_ADDED = 0,	 /**< only in the later scan */
	STORE_DIFF_REMOVED,	 /**< only in the earlier scan */
	/**
	 * In both, same type, but a different size, mtime, mode, link target, stat-ability, or
	 * (when both have one) sha256. A directory compares by mode alone: its size and mtime change
	 * whenever a name inside it is added or removed, which the diff names already.
	 */
	STORE_DIFF_MODIFIED,
	STORE_DIFF_TYPE_CHANGED, /**< in both, of different types */
};
#define STORE_DIFF_CHANGE_COUNT 4

/** "added", "removed", "modified", "type_changed". */
const char *store_diff_change_name(enum store_diff_change c);
/** Parses a store_diff_change_name(); 0 or -1. */
int store_diff_change_parse(const char *name, size_t len, enum store_diff_change *out);

/** Where a diff stopped: the last entry consumed on each side (`*_started` false: none yet). */
struct store_diff_pos {
	bool a_started, b_started;
	struct store_pos a, b;
};

/**
 * Called per difference: the path relative to the roots, the change, the entry of the earlier
 * scan (`before`, NULL when added) and of the later one (`after`, NULL when removed). Valid during
 * the call only; non-zero stops the diff and is returned.
 */
typedef int (*store_diff_cb)(void *ctx, const char *path, size_t path_len,
			     enum store_diff_change change, const struct entry *before,
			     const struct entry *after);

/** What store_diff() is asked. */
struct store_diff_req {
	/** The earlier scan (before) and the later one (after). */
	uint64_t scan_a, scan_b;
	/** Bit (1u << change) of each change to give; 0: all. */
	unsigned change_mask;
	/** Resume after this position (from a previous store_diff_out.next); NULL: the start. */
	const struct store_diff_pos *resume;
	/** Differences given to `cb` at most (SIZE_MAX: all). */
	size_t limit;
	/** Entries read per side per read transaction (0: 1024). */
	size_t chunk;
	store_diff_cb cb;
	void *ctx;
};

/** What store_diff() did. */
struct store_diff_out {
	/** Another difference remains: resume at `next`. */
	bool more;
	struct store_diff_pos next;
	size_t given;
};

/**
 * Gives the differences between the entries of scans scan_a and scan_b, in depth-first pre-order
 * of their paths (siblings in bytewise order of names): a merge of the two ordered walks, linear
 * in their sizes, holding at most `chunk` entries per side; each chunk is one short read
 * transaction (the scans should be finished: a running one may change between chunks). A subtree
 * present on one side only comes out whole, as added or removed. Returns 0, the callback's
 * non-zero answer, -ENOENT (a scan does not exist, or was deleted midway), -EINVAL (`resume`
 * is not a position of these scans), or another negative error with its message. Thread-safe.
 */
int store_diff(struct store *s, const struct store_diff_req *rq, struct store_diff_out *out,
	       struct errbuf *err);

/** Counts of a diff's changes, indexed by enum store_diff_change. */
struct store_diff_counts {
	uint64_t n[STORE_DIFF_CHANGE_COUNT];
};

/** Whether a diff counts entries a and b (of the same path) as unchanged. */
bool store_diff_same(const struct entry *a, const struct entry *b);

/**
 * The whole diff of scan_a to scan_b, counted. Returns as store_diff() does. While scan_b is
 * still writing, a directory of scan_b marked as a copy of scan_a's (store_batch_mark_copy())
 * is not read again: only its subdirectories are paired.
 */
int store_diff_count(struct store *s, uint64_t scan_a, uint64_t scan_b,
		     struct store_diff_counts *out, struct errbuf *err);

/* ---------------------------------------------------------------- health and size */

/** Figures for /stats and /metrics. */
struct store_info {
	uint64_t file_bytes;   /**< size of the data file on disk */
	uint64_t map_bytes;    /**< the map size (--map-size: the most scan data may fill) */
	uint64_t used_bytes;   /**< bytes of the pages the tables hold (free pages not counted) */
	uint64_t commits;      /**< write transactions committed since open */
	uint64_t write_errors; /**< write transactions that failed since open */
	bool writable;         /**< false after a failed commit, until one succeeds */
	/** Scans whose write state the store keeps in memory (being written, not yet finished). */
	uint64_t scan_states;
	/** Tombstoned scans whose rows are not purged yet. */
	uint64_t tombstones;
};

/** Fills `out`. Thread-safe; reads one short transaction. */
int store_info(struct store *s, struct store_info *out, struct errbuf *err);

#endif
