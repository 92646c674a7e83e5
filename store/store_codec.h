/* store_codec.h: the byte layouts of the store's keys and values (internal to store/). */
#ifndef LEINDEX_STORE_CODEC_H
#define LEINDEX_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "store/entry.h"
#include "store/store.h"

/*
 * Keys are big-endian so that LMDB's default memcmp order is numeric order: a directory's
 * entries sort together, by name, and new directories sort last (MDB_APPEND).
 *
 * Values use LEB128 varints (zigzag for signed numbers) because most fields are small: a mode
 * fits in 2 bytes, a uid in 1-2, a size in 1-4. Decoders check every length against the value's
 * end and return -EIO on a short or malformed value, so a damaged file gives an error, not a
 * crash.
 */

/** The most bytes store_entry_encode() writes for `e`: flags, 11 varints, the target, a hash, git,
 * the device. */
static inline size_t store_entry_bound(const struct entry *e)
{
	return 1 + 11 * 10 + e->target_len + 32 + 1 + 10;
}

/** Flags byte of an encoded entry: the type in bits 0-1, then these. */
enum store_codec_entry_bits {
	STORE_CODEC_HAS_STAT = 1u << 2,
	STORE_CODEC_HAS_HASH = 1u << 3,
	STORE_CODEC_HAS_TARGET = 1u << 4,
	/** One more byte at the end: the entry's git state (view git). Records without it, older
	 * ones included, read as ENTRY_GIT_NONE. */
	STORE_CODEC_HAS_GIT = 1u << 5,
	/** One more varint at the very end: the entry's device (entry.dev). Records without it,
	 * older ones included, read as dev 0. */
	STORE_CODEC_HAS_DEV = 1u << 6,
};

/** Encodes the value of `e` (not its name) into `out` (store_entry_bound() bytes); returns its length. */
size_t store_entry_encode(const struct entry *e, unsigned char *out);

/**
 * Decodes a value into `e` (name untouched); e->target points into `val`. Returns 0 or -EIO.
 */
int store_entry_decode(const void *val, size_t len, struct entry *e);

/**
 * The type of an encoded entry and, for a stat-ed one, its size, without decoding the rest
 * (totals read every row of a scan). Returns 0, or -EIO when the bytes are damaged; *size is 0
 * when the entry has no stat.
 */
int store_entry_peek(const void *val, size_t len, enum entry_type *type, uint64_t *size);

/** Encodes a scan record into a malloc'ed buffer. Returns 0 or -ENOMEM. */
int store_scan_encode(const struct store_scan *scan, unsigned char **out, size_t *out_len);

/** Decodes a scan record; strings are malloc'ed (free with store_scan_clear()). 0, -EIO, -ENOMEM. */
int store_scan_decode(uint64_t id, const void *val, size_t len, struct store_scan *out);

/** The state of an encoded scan record without decoding it all; 0 or -EIO. */
int store_scan_peek_state(const void *val, size_t len, enum scan_state *state);

/** A dirs value: the scan, the parent dir_id and the name (pointing into the value). */
struct store_dir_rec {
	uint64_t scan_id, parent;
	const char *name;
	size_t name_len;
};

/** Encodes a dirs value into `out` (20 + name_len bytes); returns its length. */
size_t store_dir_encode(uint64_t scan_id, uint64_t parent, const char *name, size_t name_len,
			unsigned char *out);

/** Decodes a dirs value; 0 or -EIO. */
int store_dir_decode(const void *val, size_t len, struct store_dir_rec *out);

/** Encodes an errors value (errno, op, path) into `out` (20 + op + path bytes); returns its length. */
size_t store_error_encode(int errnum, const char *op, size_t op_len, const char *path,
			  size_t path_len, unsigned char *out);

/** Decodes an errors value; the strings point into the value. 0 or -EIO. */
int store_error_decode(const void *val, size_t len, int *errnum, const char **op, size_t *op_len,
		       const char **path, size_t *path_len);

/** Bytewise order of names (memcmp, shorter first), as LMDB compares keys. */
int store_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
