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
/* Below this much pending, the writer waits up to STORE_COALESCE_NS for more before a commit. */
#define STORE_COALESCE_BYTES (1u << 20)
#define STORE_COALESCE_NS 2000000L

/** Keys of the meta table. */
#define STORE_META_FORMAT "format"
#define STORE_META_NEXT_SCAN "next_scan_id"
#define STORE_META_NEXT_DIR "next_dir_id"
/** Prefix of "a deletion of scan <BE64> is under way" markers, finished on the next open. */
#define STORE_META_DELETING "deleting:"

/** What a queued item asks of the writer. */
enum store_item_kind {
	STORE_ITEM_DIR,	  /**< a directory's entries (buf) and its dirs/links rows */
	STORE_ITEM_ERROR, /**< an errors row: data holds the encoded value */
	STORE_ITEM_SCAN,  /**< a scan record (create or update): data holds the encoded record */
};

/** Flags of a STORE_ITEM_SCAN. */
enum store_item_flags {
	STORE_ITEM_CREATE = 1u << 0, /**< a new scan: also advance meta next_scan_id */
	STORE_ITEM_SYNC = 1u << 1,   /**< make it and everything before it durable */
};

/** Where a caller waiting for its item finds the outcome (on the caller's stack). */
struct store_wait {
	int rc;
	struct errbuf err;
};

/** One unit of work for the writer; owned by the queue, then by the writer, which frees it. */
struct store_item {
	struct store_item *next;
	enum store_item_kind kind;
	unsigned flags;
	uint64_t scan_id;
	uint64_t seq; /**< submission order, shared by all scans */
	/** DIR: the directory's dir_id and its parent's; ERROR: dir_id holds the error's seq. */
	uint64_t dir_id, parent;
	/** DIR: the batch's records (varint name_len, name, varint val_len, value), malloc'ed. */
	unsigned char *buf;
	size_t buf_len, count;
	/** Bytes charged to the pending bound. */
	size_t cost;
	/** Set by the writer before it publishes done_seq; NULL when nobody waits. */
	struct store_wait *wait;
	bool skip; /**< writer-local: the scan already failed */
	/** DIR: the directory's name; ERROR: the encoded value; SCAN: the record. */
	size_t data_len;
	unsigned char data[];
};

/** What the store remembers per scan being written; in s->scans, under s->mu. */
struct store_scan_state {
	struct store_scan_state *next;
	uint64_t scan_id;
	/** The first write failure (negative) and its message (malloc'ed), or 0 and NULL. */
	int err_code;
	char *err_msg;
	/** The last errors sequence number handed out; 0 until looked up. */
	uint64_t err_seq;
	bool err_seq_known;
	/** store_scan_delete() began: submissions are refused. */
	bool deleted;
};

struct store {
	char *dir;
	char *path; /**< dir/leindex.mdb */
	int lock_fd;
	MDB_env *env;
	bool env_open;
	MDB_dbi db_meta, db_scans, db_entries, db_dirs, db_links, db_errors;
	uint64_t map_size;

	pthread_mutex_t mu;
	pthread_cond_t work_cond;  /**< the writer waits for items or stop */
	pthread_cond_t space_cond; /**< submitters wait for the pending bound */
	pthread_cond_t done_cond;  /**< waiters for done_seq */
	bool mu_ready, writer_started;
	pthread_t writer;
	/* Everything below is under mu. */
	struct store_item *head, **tail;
	size_t pending_bytes;
	/* Threads waiting for a commit (flushes, synchronous writes): the writer stops coalescing. */
	unsigned waiters;
	uint64_t submit_seq, done_seq;
	uint64_t next_dir_id, next_scan_id;
	struct store_scan_state *scans;
	bool stop;
	uint64_t commits, write_errors;
	bool writable;
};

/** Maps an LMDB or errno return code to a negative errno. */
int store_mdb_code(int rc);

/** Fills `err` with "<what>: <mdb_strerror(rc)>" (the map-full case says how to fix it). */
int store_mdb_err(struct store *s, struct errbuf *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** Finds (create: or adds) the state of a scan; under s->mu. NULL when absent or out of memory. */
struct store_scan_state *store_state_get(struct store *s, uint64_t scan_id, bool create);

/** Writes a meta counter as BE64 within `txn`, never lowering it. */
int store_meta_raise(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		     struct errbuf *err);

/** Starts the writer thread (store_writer.c). */
int store_writer_start(struct store *s, struct errbuf *err);

/** Stops it after it drained the queue; waits. Safe when it never started. */
void store_writer_stop(struct store *s);

/** Queues an item (taking it) and, when `wait` is set, waits for its commit. */
int store_writer_submit(struct store *s, struct store_item *it, struct store_wait *wait,
			struct errbuf *err);

/** Deletes the data of a scan whose record is gone, in small transactions (store_walk.c). */
int store_delete_data(struct store *s, uint64_t scan_id, struct errbuf *err);

/** Read transaction helpers: begin (with a message on failure) and abort. */
int store_read_begin(struct store *s, MDB_txn **txn, struct errbuf *err);

/* Counts a successful commit that proves the store writes again (after a failure). */
void store_mark_writable(struct store *s);

#endif
