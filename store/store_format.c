/* store_format.c: the store's format version, and the migrations from each older format. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store_codec.h"

/*
 * Every change of the on-disk layout bumps STORE_FORMAT_VERSION (store.h lists them) and adds a
 * row to store_migrations[]: the step from format k to k + 1, run inside the open-time write
 * transaction (store_recover.c). store_open() runs every step from the store's format up to the
 * current one, then writes the new format number, all in that one transaction: a crash before
 * its commit leaves the store exactly as the older binary wrote it, and a crash after leaves it
 * migrated. A step therefore writes only through `txn`. It reads the layout of format k: it may
 * call today's codecs while what they read is unchanged since then, and keeps its own copy of
 * one when a later format changes it.
 *
 * A store newer than this binary is refused, as is one older than the oldest step kept here,
 * each with a message that says what to do.
 */

/*
 * Format 1 -> 2: a tombstones table (opened by store_recover()); format 1's "deleting:" markers
 * become tombstones; scans a crash interrupted, which format 1 marked with zero totals, get the
 * totals of what they stored, as format 2 does when it marks them.
 */
static int store_migrate_1_to_2(struct store *s, MDB_txn *txn, struct errbuf *err);

/** One step: what it changes and how. */
struct store_migration {
	uint64_t from; /**< the format it reads; it leaves format from + 1 */
	const char *what;
	int (*run)(struct store *s, MDB_txn *txn, struct errbuf *err);
};

static const struct store_migration store_migrations[] = {
	{1, "deletion tombstones, totals of interrupted scans", store_migrate_1_to_2},
};

#define STORE_MIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

/* The oldest format a step reads. */
#define STORE_FORMAT_OLDEST 1

/* Format 1's deletion markers ("deleting:" + BE64 id in meta) become tombstones. */
static int store_migrate_1_markers(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	MDB_cursor *cur;
	MDB_val k, v, empty = {0, ""};
	size_t plen = strlen(STORE_META_DELETING_V1);
	int rc = mdb_cursor_open(txn, s->db_meta, &cur);
	if (rc)
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	k = (MDB_val){plen, (void *)STORE_META_DELETING_V1};
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == plen + 8 && memcmp(k.mv_data, STORE_META_DELETING_V1, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
		/* The marker's record is gone already; the tombstone keeps the purge going. */
		unsigned char id[8];
		memcpy(id, (const unsigned char *)k.mv_data + plen, 8);
		MDB_val tk = {8, id};
		if ((rc = mdb_put(txn, s->db_tombstones, &tk, &empty, 0)) ||
		    (rc = mdb_cursor_del(cur, 0)))
			break;
		k = (MDB_val){plen, (void *)STORE_META_DELETING_V1};
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "turning deletion markers into tombstones in %s",
				     s->path);
	return 0;
}

/*
 * One scan of format 1: when interrupted with zero totals (a crash mid-scan), counts what it
 * stored and gives it a finish time if it had none; rewrites the record (under `cur`) if either
 * changed.
 */
static int store_migrate_1_scan(struct store *s, MDB_txn *txn, MDB_cursor *cur, uint64_t id,
				const MDB_val *v, int64_t now, struct errbuf *err)
{
	static const struct store_scan_totals zero;
	struct store_scan scan;
	int rc = store_scan_decode(id, v->mv_data, v->mv_size, &scan);
	if (rc < 0)
		return errbuf_errno(err, -rc, "reading scan %" PRIu64 " of %s", id, s->path);
	if (scan.state != SCAN_INTERRUPTED || memcmp(&scan.totals, &zero, sizeof(zero)))
		goto out;
	if ((rc = store_count_stored(s, txn, id, &scan.totals, err)) < 0)
		goto out;
	if (!memcmp(&scan.totals, &zero, sizeof(zero)) && scan.finished_ns != 0)
		goto out; /* nothing stored, nothing to say */
	if (scan.finished_ns == 0)
		scan.finished_ns = now;
	unsigned char *buf, key[8];
	size_t len;
	if ((rc = store_scan_encode(&scan, &buf, &len)) < 0) {
		rc = errbuf_errno(err, -rc, "counting scan %" PRIu64, id);
		goto out;
	}
	/* A value of a new size moves the node: put with a key of our own, not the cursor's. */
	MDB_val nk = store_scan_key(key, id), nv = {len, buf};
	if ((rc = mdb_cursor_put(cur, &nk, &nv, 0)))
		rc = store_mdb_err(s, err, rc, "writing scan %" PRIu64 " to %s", id, s->path);
	free(buf);
out:
	store_scan_clear(&scan);
	return rc;
}

/* Interrupted scans with zero totals get those of what they stored. */
static int store_migrate_1_totals(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int64_t now = clock_wall_ns();
	int rc = mdb_cursor_open(txn, s->db_scans, &cur);
	if (rc)
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 8 &&
		    (rc = store_migrate_1_scan(s, txn, cur, bytes_be64_get(k.mv_data), &v, now,
					       err)) < 0) {
			mdb_cursor_close(cur);
			return rc;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading the scans of %s", s->path);
	return 0;
}

static int store_migrate_1_to_2(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	int rc = store_migrate_1_markers(s, txn, err);
	return rc < 0 ? rc : store_migrate_1_totals(s, txn, err);
}

/* Runs every step from `format` to the current one, then writes the current format. */
static int store_migrate(struct store *s, MDB_txn *txn, uint64_t format, struct errbuf *err)
{
	for (uint64_t from = format; from < STORE_FORMAT_VERSION; from++) {
		const struct store_migration *m = NULL;
		for (size_t i = 0; i < STORE_MIGRATIONS && !m; i++)
			if (store_migrations[i].from == from)
				m = &store_migrations[i];
		if (!m)
			return errbuf_set(err, -EPROTO,
					  "data directory %s has store format %" PRIu64
					  ", and this binary has no migration from it",
					  s->dir, from);
		int rc = m->run(s, txn, err);
		if (rc < 0)
			return errbuf_prefix(err,
					     "migrating data directory %s from store format %" PRIu64
					     " to %" PRIu64 " (%s); it is left as it was",
					     s->dir, from, from + 1, m->what);
	}
	return store_meta_put_u64(s, txn, STORE_META_FORMAT, STORE_FORMAT_VERSION, err);
}

int store_format_check(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	uint64_t format = 0;
	bool found;
	int rc = store_meta_get_u64(s, txn, STORE_META_FORMAT, &format, &found, err);
	if (rc < 0)
		return rc;
	if (!found) /* a new store */
		return store_meta_put_u64(s, txn, STORE_META_FORMAT, STORE_FORMAT_VERSION, err);
	if (format == STORE_FORMAT_VERSION)
		return 0;
	if (format > STORE_FORMAT_VERSION)
		return errbuf_set(err, -EPROTO,
				  "data directory %s has store format %" PRIu64
				  ", newer than this binary's format %d: run the leindexd that wrote "
				  "it (or a newer one), or give this one an empty data directory",
				  s->dir, format, STORE_FORMAT_VERSION);
	if (format < STORE_FORMAT_OLDEST)
		return errbuf_set(err, -EPROTO,
				  "data directory %s has store format %" PRIu64
				  ", older than this binary migrates (formats %d to %d): read it "
				  "with the leindexd that wrote it, or delete the directory to start "
				  "over",
				  s->dir, format, STORE_FORMAT_OLDEST, STORE_FORMAT_VERSION);
	return store_migrate(s, txn, format, err);
}
