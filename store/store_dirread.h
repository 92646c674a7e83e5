/* store_dirread.h: the stored entries of one directory of a scan, by its relative path. */
#ifndef LEINDEX_STORE_DIRREAD_H
#define LEINDEX_STORE_DIRREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "store/entry.h"
#include "store/store.h"

/*
 * A directory's entries as stored, sorted by name bytewise (the store's key order, which is the
 * scanner's order of names too), for a rescan to merge-join against what it reads. The struct
 * owns its buffers and one read transaction, renewed for each read and kept live until the next
 * one (or store_dirents_free()), so that names and link targets are read in place, not copied:
 * a worker holds a snapshot for as long as it works on one directory. It is reused from one
 * directory to the next, so a warm reader allocates nothing. Not thread-safe: one per thread,
 * used with one store only, and freed (store_dirents_free) before that store is closed. Zero it
 * before the first use.
 */
struct store_dirents {
	/** The entries; names and link targets stay valid until the next read or
	 * store_dirents_free(). Only a subdirectory's name is NUL-terminated (after name_len
	 * bytes); the others are not. */
	struct entry *e;
	/** Per entry: the dir_id of a subdirectory that was read (0: not a directory, or none
	 * stored), to read it next with store_dir_entries_id() without resolving its path. */
	uint64_t *child;
	/** Per entry: its stored value (in the map, valid like the names), and its length. */
	const unsigned char **raw;
	uint32_t *raw_len;
	/**
	 * Set by the caller before a read: only subdirectories are decoded whole; every other
	 * entry has its name, type and the flags ENTRY_HAS_STAT and ENTRY_HAS_HASH only, until
	 * store_dirents_decode(). For a reader that copies most rows as they are
	 * (store_batch_add_raw()).
	 */
	bool lazy;
	size_t n, cap;
	/** Whether the directory exists in the scan (false: n is 0). */
	bool found;
	/** Storage of names and link targets. */
	char *bytes;
	size_t bytes_len, bytes_cap;
	/** The read transaction (an MDB_txn *), or NULL; live (not reset) after a read. */
	void *txn;
	bool live;
	/** The snapshot (LMDB txn id) in which scan `checked_scan` was last found alive: a read
	 * in the same snapshot need not look it up again. */
	size_t checked_txnid;
	uint64_t checked_scan;
};

/**
 * Reads the entries of the directory at path[0..len) (relative to the root, "" for the root, no
 * leading or trailing '/') of scan `scan_id` into `out`, in one short read transaction. A path
 * that is not a directory of the scan gives 0 with out->found false and no entries. -ENOENT when
 * the scan is gone (tombstoned or missing); another negative error with its message.
 * Thread-safe on distinct `out`.
 */
int store_dir_entries(struct store *s, uint64_t scan_id, const char *path, size_t len,
		      struct store_dirents *out, struct errbuf *err);

/**
 * The same for the directory `dir_id` of scan `scan_id`, taken from out->child of an earlier
 * read of that scan: no path to resolve. dir_id 0 gives out->found false.
 */
int store_dir_entries_id(struct store *s, uint64_t scan_id, uint64_t dir_id,
			 struct store_dirents *out, struct errbuf *err);

/**
 * Entry i of `d` decoded whole into *e (its name and target pointing where d's do), for a lazy
 * read. 0 or -EIO (a damaged row).
 */
int store_dirents_decode(const struct store_dirents *d, size_t i, struct entry *e);

/**
 * Appends entry i of `d` to batch `b` as stored, without decoding it: a row a rescan takes over
 * unchanged. *file_bytes: its size when it is a stat-ed regular file, else 0. Fails as
 * store_batch_add() does (order, memory).
 */
int store_batch_add_raw(struct store_batch *b, const struct store_dirents *d, size_t i,
			uint64_t *file_bytes, struct errbuf *err);

/** Frees the buffers and the transaction of `d` (zeroed; NULL is fine). */
void store_dirents_free(struct store_dirents *d);

/**
 * The index of the first entry of `d` whose name is not below name[0..len) bytewise (d->n when
 * none): where a merge-join of a slice of names starts.
 */
size_t store_dirents_lower_bound(const struct store_dirents *d, const char *name, size_t len);

#endif
