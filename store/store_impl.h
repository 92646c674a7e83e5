/* store_impl.h: the store's insides, shared by the store/ files (nothing outside store/ sees it). */
#ifndef LEINDEX_STORE_IMPL_H
#define LEINDEX_STORE_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>

#include "store/store.h"

/** The file of the LMDB environment inside the data directory (MDB_NOSUBDIR). */
#define STORE_DATA_FILE "leindex.mdb"
/** The file holding the directory's exclusive flock and the holder's pid. */
#define STORE_LOCK_FILE "lock"

/** Submissions block while this many bytes wait for the writer (in-flight ones included). */
#define STORE_PENDING_MAX (16u << 20)
/** Below this much pending, the writer waits up to STORE_COALESCE_NS for more before a commit. */
#define STORE_COALESCE_BYTES (1u << 20)
#define STORE_COALESCE_NS 2000000L

/** Keys of the meta table. */
#define STORE_META_FORMAT "format"
#define STORE_META_NEXT_SCAN "next_scan_id"
#define STORE_META_NEXT_DIR "next_dir_id"
/** Format 1 only: prefix of "a deletion of scan <BE64> is under way"; format 2 has tombstones. */
#define STORE_META_DELETING_V1 "deleting:"

/** What a queued item asks of the writer. */
enum store_item_kind {
	STORE_ITEM_DIR,	  /**< a directory's entries (buf) and its dirs/links rows */
	STORE_ITEM_ERROR, /**< an errors row: data holds the encoded value */
	STORE_ITEM_SCAN,  /**< a scan record (create or update): data holds the encoded record */
	STORE_ITEM_SKIPS, /**< skip records (store_skip.c): buf holds (key, value) pairs */
};

/** Flags of a STORE_ITEM_SCAN. */
enum store_item_flags {
	STORE_ITEM_CREATE = 1u << 0, /**< a new scan: also advance meta next_scan_id */
	STORE_ITEM_SYNC = 1u << 1,   /**< make it and everything before it durable */
	/** A scan record of a group queued together (store_scan_update_many): the records next
	 * to each other in the queue are written in one transaction, synced once. */
	STORE_ITEM_GROUP = 1u << 2,
};

/** Where a caller waiting for its item finds the outcome (on the caller's stack). */
struct store_wait {
	int rc;
	struct errbuf err;
};

/**
 * What the store remembers of a scan that submits directories or errors; in s->states, under
 * s->mu. It exists from the scan's first submission in this process until the scan is finished
 * (an update to a finished state committed) or tombstoned, and nothing of it is queued any more:
 * then it is pruned. A later submission makes a new one after checking that the scan exists.
 */
/**
 * What store_put_dir() knew of one directory: enough to total the scan's directories and to
 * count its diff from its baseline without reading its entries again (store_tree.c,
 * store_diff.c).
 */
struct store_dir_note {
	uint64_t dir, parent;
	/** Its own entries, regular files and their bytes (not its subdirectories' contents). */
	uint64_t entries, files, bytes;
	/** store_batch_mark_copy(): the baseline directory its rows equal (0: none). */
	uint64_t copy_of;
};

/**
 * Directories one scan's notes keep at most (48 bytes each: 48 MiB, copied once more when read);
 * beyond, they are dropped and the totals and diff counts read the stored rows, as before.
 */
#define STORE_NOTES_MAX (1u << 20)

struct store_scan_state {
	struct store_scan_state *next; /**< the next state in the same hash bucket */
	uint64_t scan_id;
	/**
	 * Every directory put so far, in dir_id order (malloc'ed), when `notes_whole`: the first
	 * note is the root, and none was lost to memory or STORE_NOTES_MAX. Otherwise readers
	 * fall back to the stored rows.
	 */
	struct store_dir_note *notes;
	size_t n_notes, notes_cap;
	bool notes_whole;
	/** The first write failure (negative) and its message (malloc'ed), or 0 and NULL. */
	int err_code;
	char *err_msg;
	/** The last errors sequence number handed out; valid when err_seq_known. */
	uint64_t err_seq;
	bool err_seq_known;
	/** Tombstoned: submissions are refused and queued items dropped. */
	bool deleted;
	/** An update to a finished state was committed. */
	bool finished;
	/** Items of this scan queued or being written: the state lives at least that long. */
	size_t pending;
};

/** The per-scan states: a hash table of chains keyed by scan id (store_state.c). */
struct store_states {
	struct store_scan_state **buckets;
	size_t nbuckets; /**< a power of two, or 0 before the first insert */
	size_t count;
};

/** One unit of work for the writer; owned by the queue, then by the writer, which frees it. */
struct store_item {
	struct store_item *next;
	enum store_item_kind kind;
	unsigned flags;
	uint64_t scan_id;
	uint64_t seq; /**< submission order, shared by all scans */
	/** DIR and ERROR: the scan's state, kept alive by its `pending` count until retired. */
	struct store_scan_state *st;
	/** DIR: the directory's dir_id and its parent's; ERROR: dir_id holds the error's seq. */
	uint64_t dir_id, parent;
	/** DIR: the batch's records (varint name_len, name, varint val_len, value), malloc'ed. */
	unsigned char *buf;
	size_t buf_len, count;
	/** Bytes charged to the pending bound. */
	size_t cost;
	/** Where the submitter waits for the outcome; NULL when nobody waits. */
	struct store_wait *wait;
	bool skip; /**< writer-local: written, or not to be written (its scan failed or is gone) */
	bool gone; /**< writer-local: its scan was found deleted inside the write transaction */
	bool finishes; /**< writer-local: a committed update that moved its scan to a finished state */
	/** DIR: the directory's name; ERROR: the encoded value; SCAN: the record. */
	size_t data_len;
	unsigned char data[];
};

/** The most tables a store opens (LMDB's maxdbs). */
#define STORE_MAX_TABLES 16

/** Room beyond the user's map for deletes and records in a full store: 1/32, at least 1 MiB. */
#define STORE_RESERVE(map) ((map) / 32 > (1u << 20) ? (map) / 32 : (uint64_t)(1u << 20))

struct store {
	char *dir;
	char *path; /**< dir/leindex.mdb */
	int lock_fd;
	MDB_env *env;
	bool env_open;
	MDB_dbi db_meta, db_scans, db_entries, db_dirs, db_links, db_errors, db_tombstones;
	MDB_dbi db_skips; /**< store_skip.c: BE64 scan id + ordered path key -> skip record */
	/** dir_id -> the totals of its subtree (store_tree.c); written when a scan finishes. */
	MDB_dbi db_tree;
	/** Progress samples by scan (store_scan_samples_put()); absent from a read-only open of
	 * a store no version with samples has opened for writing: has_samples is then false. */
	MDB_dbi db_samples;
	bool has_samples;
	/** Opened with STORE_OPEN_READ_ONLY: no lock, no writer, reads only. */
	bool read_only;
	/** Every table opened (store_open_tables()), for store_live_bytes(); set before threads. */
	MDB_dbi tables[STORE_MAX_TABLES];
	unsigned n_tables;
	/**
	 * The map as the user set it (--map-size): the most scan data may fill. LMDB's own map is
	 * STORE_RESERVE bytes larger, room kept for what must succeed in a full store: records of
	 * failed scans, tombstones and the purges that free pages (see store_live_bytes()).
	 */
	uint64_t map_size;

	pthread_mutex_t mu;
	pthread_cond_t work_cond;  /**< the writer waits for items or stop (timed: monotonic) */
	pthread_cond_t space_cond; /**< submitters wait for the pending bound */
	pthread_cond_t done_cond;  /**< waiters for done_seq */
	bool mu_ready, writer_started;
	pthread_t writer;
	/* Everything below is under mu. */
	struct store_item *head, **tail;
	size_t pending_bytes;
	/** Threads waiting for a commit (flushes, synchronous writes): the writer stops coalescing. */
	unsigned waiters;
	uint64_t submit_seq, done_seq;
	uint64_t next_dir_id, next_scan_id;
	struct store_states states;
	bool stop;
	uint64_t commits, write_errors;
	bool writable;
};

/* ---------------------------------------------------------------- store.c */

/** Maps an LMDB or errno return code to a negative errno. */
int store_mdb_code(int rc);

/** Fills `err` with "<what>: <mdb_strerror(rc)>" (the map-full case says how to fix it). */
int store_mdb_err(struct store *s, struct errbuf *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** Begins a read transaction, with a message on failure. */
int store_read_begin(struct store *s, MDB_txn **txn, struct errbuf *err);

/**
 * Counts a commit (e NULL) or a failure, under s->mu taken here. Only a commit that wrote entries
 * or freed pages proves the store writes again (`proves`): a scan record is a few bytes that still
 * fit in a full map. A failure also fails scan `scan_id` (when not 0): its later calls return it.
 */
void store_note_commit(struct store *s, uint64_t scan_id, const struct errbuf *e, bool proves);

/* ---------------------------------------------------------------- store_state.c (under s->mu) */

/** The state of a scan, or NULL. */
struct store_scan_state *store_state_find(struct store *s, uint64_t scan_id);

/** The state of a scan, added when missing; NULL when out of memory. */
struct store_scan_state *store_state_add(struct store *s, uint64_t scan_id);

/** Frees the state when nothing needs it any more (finished or deleted, nothing pending). */
void store_state_prune(struct store *s, struct store_scan_state *st);

/** Frees every state (store_close()). */
void store_states_free(struct store *s);

/* ---------------------------------------------------------------- store_scan.c */

/**
 * Looks up the live record of scan `id` in `txn`: 0 with *rec pointing into the txn; -ENOENT
 * ("no scan N") when there is none or it is tombstoned; another error with its message.
 */
int store_scan_lookup(struct store *s, MDB_txn *txn, uint64_t id, MDB_val *rec,
		      struct errbuf *err);

/** Whether scan `id` has a tombstone in `txn`: 0 (*yes set) or a negative error. */
int store_tombstoned(struct store *s, MDB_txn *txn, uint64_t id, bool *yes, struct errbuf *err);

/** Encodes scan `id`'s key (8 bytes, big-endian) into `key` and returns its MDB_val. */
MDB_val store_scan_key(unsigned char key[8], uint64_t id);

/* ---------------------------------------------------------------- store.c: the meta table */

/** Reads a BE64 meta value; *found false (and 0 returned) when absent. */
int store_meta_get_u64(struct store *s, MDB_txn *txn, const char *key, uint64_t *out,
		       bool *found, struct errbuf *err);

/** Writes a BE64 meta value within `txn`. */
int store_meta_put_u64(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		       struct errbuf *err);

/** Writes a meta counter as BE64 within `txn`, never lowering it. */
int store_meta_raise(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		     struct errbuf *err);

/* ---------------------------------------------------------------- store_format.c */

/**
 * Checks the format of the store in `txn` (its tables open): writes the current one into a new
 * store, migrates an older one in place, step by step, within `txn`, and refuses a newer one or
 * one too old to migrate with a message saying what to do.
 */
int store_format_check(struct store *s, MDB_txn *txn, struct errbuf *err);

/* ---------------------------------------------------------------- store_recover.c */

/**
 * Opens the tables, checks (or migrates) the format, loads the id counters, marks unfinished scans
 * interrupted with their stored totals, and lists the tombstones to purge (*tomb, malloc'ed, in
 * id order), all in one write transaction, committed and synced.
 */
int store_recover(struct store *s, const struct store_opts *opts, uint64_t **tomb, size_t *ntomb,
		  struct errbuf *err);

/** Counts what scan `id` stored in `txn`: entries by type, bytes of files, errors. */
int store_count_stored(struct store *s, MDB_txn *txn, uint64_t id, struct store_scan_totals *out,
		       struct errbuf *err);

/* ---------------------------------------------------------------- store_batch.c */

/**
 * Takes the batch's buffer (malloc'ed: the caller frees it), with its length and capacity, and
 * fills the directory's note but for its dir and parent (its entry count, files, bytes, copy
 * mark); the batch comes back empty, ready for the next directory. Not thread-safe (one batch,
 * one thread).
 */
unsigned char *store_batch_take(struct store_batch *b, size_t *len, size_t *cap,
			       struct store_dir_note *note);

/**
 * Adds the note of a directory just given its dir_id to its scan's state (under s->mu). The
 * first note must be the root's; a failure or the limit drops the notes for good.
 */
void store_state_note(struct store_scan_state *st, const struct store_dir_note *note);

/**
 * Copies scan `scan_id`'s notes while it is still writing (under s->mu, taken here): 0 with
 * *out malloc'ed (the caller frees it) and *n; -ENODATA when they are not whole or its state
 * is gone (it finished: the stored rows are the truth); -ENOMEM.
 */
int store_state_notes(struct store *s, uint64_t scan_id, struct store_dir_note **out, size_t *n);

/* ---------------------------------------------------------------- store_writer.c */

/** Starts the writer thread. */
int store_writer_start(struct store *s, struct errbuf *err);

/** Stops it after it drained the queue; waits. Safe when it never started. */
void store_writer_stop(struct store *s);

/**
 * Queues a data item of scan it->scan_id (STORE_ITEM_SKIPS), taking it: waits for room, finds or
 * makes the scan's state (refusing a scan that is gone or failed), and enqueues. On failure the
 * item and its buf are freed. 0 or a negative error with its message.
 */
int store_writer_put_rows(struct store *s, struct store_item *it, struct errbuf *err);

/** Queues a scan-record item (taking it) and, when `wait` is set, waits for its commit. */
int store_writer_submit(struct store *s, struct store_item *it, struct store_wait *wait,
			struct errbuf *err);

/**
 * Queues n scan-record items (taking them) back to back, each with its waits[i], and waits for
 * the last one's commit. 0, or -ESHUTDOWN (the store is closing: none was queued, all freed).
 */
int store_writer_submit_many(struct store *s, struct store_item **items, struct store_wait *waits,
			     size_t n, struct errbuf *err);

/*
 * Bytes of the pages the tables hold in `txn` (the free list not counted): what scan data is
 * weighed against map_size. Cheap (one mdb_stat per table). Thread-safe as `txn` is.
 */
int store_live_bytes(struct store *s, MDB_txn *txn, uint64_t *out, struct errbuf *err);

/* ---------------------------------------------------------------- store_skip.c */

/** Writes the rows of a STORE_ITEM_SKIPS item into the skips table in `txn` (the writer). */
int store_skip_write_item(struct store *s, MDB_txn *txn, const struct store_item *it,
			  struct errbuf *err);

/* ---------------------------------------------------------------- store_walk_stored.c */

/**
 * The walk of rq in STORE_ORDER_STORED, inside `txn`, from the scan's root directory `root`
 * (non-zero). Returns as store_walk_ex() does.
 */
int store_walk_stored(struct store *s, MDB_txn *txn, const struct store_walk_req *rq,
		      uint64_t root, struct store_walk_out *out, struct errbuf *err);

/* ---------------------------------------------------------------- store_purge.c */

/** Lists the tombstoned scans in `txn` into *ids (malloc'ed, in id order). */
int store_tombstones_list(struct store *s, MDB_txn *txn, uint64_t **ids, size_t *n,
			  struct errbuf *err);

#endif
