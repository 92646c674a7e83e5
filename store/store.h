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
 * Thread safety: every function here is thread-safe unless it says otherwise, and may be called
 * from scan workers and HTTP threads at once. A struct store_batch belongs to one thread.
 */

/** The on-disk format this binary reads and writes. */
#define STORE_FORMAT_VERSION 1

struct store;

/** How to open a store. */
struct store_opts {
	/** The data directory; created (mode 0700) when missing. */
	const char *dir;
	/** LMDB map size in bytes: the most the store may hold. 0: the default (64 GiB). */
	uint64_t map_size;
	/** Reader slots (one per thread that reads at once). 0: the default (512). */
	unsigned max_readers;
};

/**
 * Opens (creating if needed) the store in opts->dir, takes the directory's exclusive lock, checks
 * the format version, marks scans left queued or running by a previous process as interrupted,
 * and starts the writer thread. Fails with a message naming the directory (and the lock holder's
 * pid when another process holds it).
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
 * it is synced to disk first, so a scan marked completed is durable.
 */
int store_scan_update(struct store *s, const struct store_scan *scan, struct errbuf *err);

/** Reads one scan. Returns 0, -ENOENT when there is no such scan, or another negative error. */
int store_scan_get(struct store *s, uint64_t id, struct store_scan *out, struct errbuf *err);

/** Called per scan by store_scan_list(); return non-zero to stop. `scan` is valid during the call. */
typedef int (*store_scan_cb)(void *ctx, const struct store_scan *scan);

/**
 * Lists scans newest first, starting below `before_id` (0: from the newest), calling `cb` for
 * each whose state bit is in `state_mask` (1u << state; 0: all).
 */
int store_scan_list(struct store *s, uint64_t before_id, unsigned state_mask, store_scan_cb cb,
		    void *ctx, struct errbuf *err);

/**
 * Removes a scan with its entries, errors and links, in many small transactions so that other
 * scans' writers are not held up. The caller must have stopped the scan first. -ENOENT when
 * there is no such scan.
 */
int store_scan_delete(struct store *s, uint64_t id, struct errbuf *err);

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
 * Hands the batch of directory `name` (empty for the root) under `parent_dir_id` (0 for the
 * root) of scan `scan_id` to the writer, and gives the directory its dir_id in *dir_id. The
 * store takes the batch's content; `b` comes back empty, ready for the next directory. Blocks
 * while too much is pending. Returns a negative error when the store can no longer write for
 * this scan (the map is full, the disk failed): the scan should stop and fail with that message.
 */
int store_put_dir(struct store *s, uint64_t scan_id, uint64_t parent_dir_id, const char *name,
		  size_t name_len, struct store_batch *b, uint64_t *dir_id, struct errbuf *err);

/** Records an error of scan `scan_id`: the path (relative to the root), the operation, the errno. */
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

/** Filters of a walk. */
struct store_walk_filter {
	/** Only entries below this relative directory (not itself); NULL or "" for all. */
	const char *prefix;
	size_t prefix_len;
	/** Bit (1u << type) for each entry_type to return; 0: all. */
	unsigned type_mask;
};

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
 * this scan.
 */
int store_walk(struct store *s, uint64_t scan_id, const struct store_walk_filter *filter,
	       const struct store_pos *resume, size_t limit, store_entry_cb cb, void *ctx,
	       struct store_pos *next, bool *more, struct errbuf *err);

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

/* ---------------------------------------------------------------- health and size */

/** Figures for /stats and /metrics. */
struct store_info {
	uint64_t file_bytes;   /**< size of the data file on disk */
	uint64_t map_bytes;    /**< the map size (the most it may hold) */
	uint64_t used_bytes;   /**< pages in use times the page size */
	uint64_t commits;      /**< write transactions committed since open */
	uint64_t write_errors; /**< write transactions that failed since open */
	bool writable;         /**< false after a failed commit, until one succeeds */
};

int store_info(struct store *s, struct store_info *out, struct errbuf *err);

#endif
