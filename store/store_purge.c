/* store_purge.c: removing a tombstoned scan's entries, directories, links, errors and record. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * The scan has a tombstone (store_scan_tombstone()), so readers and the writer treat it as gone,
 * and the tombstone stays until the very end: a purge cut short runs again on the next open. It
 * works in transactions of at most STORE_PURGE_CHUNK deletions, so the writer thread and other
 * purges get LMDB's write lock between chunks. Deleting needs free pages too (copy on write):
 * when a chunk finds the map full, the next tries an eighth of it, down to one deletion, since
 * every committed chunk frees pages for those after it; after a success the chunk grows again.
 * Scan data may fill only the user's map, LMDB's is larger by a reserve (STORE_RESERVE), so a
 * purge finds pages even when scan data filled the map. A budget counts deletions, so a chunk of
 * one always deletes one row; if even that finds no page, the purge fails with -ENOSPC.
 *
 * A scan's directories are the dirs rows holding its id. Its root was submitted first, so they
 * all have ids at or above the root's: the search starts there and skips older scans. The root
 * link goes after them (it is how the next attempt finds where to start), then the record, and
 * the tombstone last, each in its own transaction (the smaller, the likelier to fit a full map).
 */

#define STORE_PURGE_CHUNK 10000

/* Deletes keys starting with the 8 bytes of `prefix` until done or *budget is spent. */
static int store_delete_prefix(MDB_cursor *c, const unsigned char *prefix, long *budget,
			       bool *done)
{
	*done = false;
	while (*budget > 0) {
		MDB_val k = {8, (void *)prefix}, v;
		int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < 8 || memcmp(k.mv_data, prefix, 8)))) {
			*done = true;
			return 0;
		}
		if (rc || (rc = mdb_cursor_del(c, 0)))
			return rc;
		(*budget)--;
	}
	return 0;
}

/* One chunk over the dirs of the scan, from dir_id *pos; *done when none is left. */
static int store_delete_dirs_chunk(struct store *s, MDB_txn *txn, uint64_t scan_id,
				   uint64_t *pos, long budget, bool *done, struct errbuf *err)
{
	MDB_cursor *cd = NULL, *ce = NULL, *cl = NULL;
	int rc;
	*done = false;
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cd)) ||
	    (rc = mdb_cursor_open(txn, s->db_entries, &ce)) ||
	    (rc = mdb_cursor_open(txn, s->db_links, &cl))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto out;
	}
	long visits = STORE_PURGE_CHUNK; /* other scans' rows: read only, but give the lock up */
	while (budget > 0 && visits-- > 0) {
		unsigned char key[8];
		bytes_be64_put(key, *pos);
		MDB_val k = {8, key}, v;
		struct store_dir_rec rec;
		rc = mdb_cursor_get(cd, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND) {
			*done = true;
			rc = 0;
			break;
		}
		if (rc) {
			rc = store_mdb_err(s, err, rc, "reading directories of %s", s->path);
			goto out;
		}
		if (k.mv_size != 8 || store_dir_decode(v.mv_data, v.mv_size, &rec) < 0) {
			rc = errbuf_set(err, -EIO, "purging scan %" PRIu64 ": corrupt directory in %s",
					scan_id, s->path);
			goto out;
		}
		uint64_t d = bytes_be64_get(k.mv_data);
		if (rec.scan_id != scan_id) {
			*pos = d + 1;
			continue;
		}
		bool all;
		bytes_be64_put(key, d);
		if ((rc = store_delete_prefix(ce, key, &budget, &all)) == 0 && all)
			rc = store_delete_prefix(cl, key, &budget, &all);
		if (rc) {
			rc = store_mdb_err(s, err, rc, "deleting directory %" PRIu64 " of scan %" PRIu64
					   " from %s", d, scan_id, s->path);
			goto out;
		}
		if (!all)
			break; /* the rest of this directory goes in the next chunk */
		k = (MDB_val){8, key};
		budget--;
		/* Its subtree totals (store_tree.c), when they were computed. */
		if ((rc = mdb_del(txn, s->db_tree, &k, NULL)) == MDB_NOTFOUND)
			rc = 0;
		if (rc || (rc = mdb_del(txn, s->db_dirs, &k, NULL))) {
			rc = store_mdb_err(s, err, rc, "deleting directory %" PRIu64 " of scan %" PRIu64
					   " from %s", d, scan_id, s->path);
			goto out;
		}
		*pos = d + 1;
	}
out:
	if (cd)
		mdb_cursor_close(cd);
	if (ce)
		mdb_cursor_close(ce);
	if (cl)
		mdb_cursor_close(cl);
	return rc;
}

enum store_purge_stage {
	STORE_PURGE_DIRS,
	STORE_PURGE_ERRORS,
	STORE_PURGE_SKIPS,
	STORE_PURGE_ROOT,
	STORE_PURGE_RECORD,
	STORE_PURGE_TOMBSTONE,
	STORE_PURGE_DONE
};

/* Where a purge is: its stage, and in the dirs stage the next dir_id to look at. */
struct store_purge {
	uint64_t scan_id;
	enum store_purge_stage stage;
	uint64_t pos;
	bool have_pos;
	unsigned char root_key[16]; /**< the root link (0, scan id); its last 8 bytes: the id */
};

/* The dirs stage: finds the root's dir_id on the first call, then one chunk. */
static int store_purge_dirs(struct store *s, MDB_txn *txn, struct store_purge *p, long budget,
			    bool *done, struct errbuf *err)
{
	if (!p->have_pos) {
		MDB_val k = {16, p->root_key}, v;
		int rc = mdb_get(txn, s->db_links, &k, &v);
		if (rc == MDB_NOTFOUND) {
			*done = true; /* no directory was ever stored, or they are gone */
			return 0;
		}
		if (rc)
			return store_mdb_err(s, err, rc, "reading links of %s", s->path);
		if (v.mv_size != 8)
			return errbuf_set(err, -EIO, "corrupt root link in %s", s->path);
		p->pos = bytes_be64_get(v.mv_data);
		p->have_pos = true;
	}
	return store_delete_dirs_chunk(s, txn, p->scan_id, &p->pos, budget, done, err);
}

/* One transaction's worth of deletions in the current stage; *done when the stage is over. */
static int store_purge_step(struct store *s, MDB_txn *txn, struct store_purge *p, long budget,
			    bool *done, struct errbuf *err)
{
	MDB_val k = {16, p->root_key};
	unsigned char key[8];
	int rc = 0;
	switch (p->stage) {
	case STORE_PURGE_DIRS:
		return store_purge_dirs(s, txn, p, budget, done, err);
	case STORE_PURGE_ERRORS: {
		MDB_cursor *c;
		if ((rc = mdb_cursor_open(txn, s->db_errors, &c)) == 0) {
			rc = store_delete_prefix(c, p->root_key + 8, &budget, done);
			mdb_cursor_close(c);
		}
		if (rc)
			return store_mdb_err(s, err, rc, "deleting errors from %s", s->path);
		return 0;
	}
	case STORE_PURGE_SKIPS: {
		MDB_cursor *c;
		if ((rc = mdb_cursor_open(txn, s->db_skips, &c)) == 0) {
			rc = store_delete_prefix(c, p->root_key + 8, &budget, done);
			mdb_cursor_close(c);
		}
		if (rc)
			return store_mdb_err(s, err, rc, "deleting skip records from %s", s->path);
		return 0;
	}
	case STORE_PURGE_ROOT:
		rc = mdb_del(txn, s->db_links, &k, NULL);
		*done = true;
		if (rc && rc != MDB_NOTFOUND)
			return store_mdb_err(s, err, rc, "deleting the root link from %s", s->path);
		return 0;
	case STORE_PURGE_RECORD:
		k = store_scan_key(key, p->scan_id);
		*done = true;
		if ((rc = mdb_del(txn, s->db_samples, &k, NULL)) && rc != MDB_NOTFOUND)
			return store_mdb_err(s, err, rc, "deleting the progress samples from %s", s->path);
		if ((rc = mdb_del(txn, s->db_scans, &k, NULL)) && rc != MDB_NOTFOUND)
			return store_mdb_err(s, err, rc, "deleting the record from %s", s->path);
		return 0;
	case STORE_PURGE_TOMBSTONE:
		k = store_scan_key(key, p->scan_id);
		*done = true;
		if ((rc = mdb_del(txn, s->db_tombstones, &k, NULL)) && rc != MDB_NOTFOUND)
			return store_mdb_err(s, err, rc, "deleting the tombstone from %s", s->path);
		return 0;
	case STORE_PURGE_DONE:
		break;
	}
	*done = true;
	return 0;
}

/* Runs one step in its own transaction and commits it. */
static int store_purge_txn(struct store *s, struct store_purge *p, long budget, bool *done,
			   struct errbuf *err)
{
	MDB_txn *txn;
	struct store_purge before = *p; /* a failed transaction deleted nothing: nor moved on */
	*done = false;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	if ((rc = store_purge_step(s, txn, p, budget, done, err)) != 0) {
		mdb_txn_abort(txn);
		*p = before;
		return rc < 0 ? rc : -EIO;
	}
	if ((rc = mdb_txn_commit(txn))) {
		*p = before;
		return store_mdb_err(s, err, rc, "committing to %s", s->path);
	}
	store_note_commit(s, 0, NULL, true); /* pages came free: a full map is full no longer */
	return 0;
}

/* Whether scan `id` may be purged: 0 and *tomb; -EINVAL for a live scan. */
static int store_purge_check(struct store *s, uint64_t id, bool *tomb, struct errbuf *err)
{
	MDB_txn *txn;
	MDB_val v;
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id);
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_tombstoned(s, txn, id, tomb, err)) == 0 && !*tomb) {
		rc = mdb_get(txn, s->db_scans, &k, &v);
		if (rc == 0)
			rc = errbuf_set(err, -EINVAL, "purging scan %" PRIu64 ": it is not deleted",
					id);
		else if (rc == MDB_NOTFOUND)
			rc = 0;
		else
			rc = store_mdb_err(s, err, rc, "reading scan %" PRIu64 " from %s", id,
					   s->path);
	}
	mdb_txn_abort(txn);
	return rc;
}

int store_scan_purge(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	bool tomb;
	int rc = store_purge_check(s, scan_id, &tomb, err);
	if (rc < 0 || !tomb)
		return rc;
	struct store_purge p = {.scan_id = scan_id, .stage = STORE_PURGE_DIRS};
	bytes_be64_put(p.root_key, 0);
	bytes_be64_put(p.root_key + 8, scan_id);
	long budget = STORE_PURGE_CHUNK;
	while (p.stage != STORE_PURGE_DONE) {
		bool done;
		struct errbuf e;
		errbuf_clear(&e);
		rc = store_purge_txn(s, &p, budget, &done, &e);
		if (rc == -ENOSPC && budget > 1) {
			budget = budget / 8 > 0 ? budget / 8 : 1;
			continue;
		}
		/* A single deletion found no page: nothing can free one now (the reserve is spent,
		 * or an old reader pins the free pages); the next open resumes the purge. */
		if (rc < 0) {
			if (err) {
				*err = e;
				errbuf_prefix(err, "purging deleted scan %" PRIu64, scan_id);
			}
			return rc;
		}
		if (budget < STORE_PURGE_CHUNK)
			budget = budget * 2 < STORE_PURGE_CHUNK ? budget * 2 : STORE_PURGE_CHUNK;
		if (done)
			p.stage++;
	}
	return 0;
}

int store_tombstones_list(struct store *s, MDB_txn *txn, uint64_t **ids, size_t *n,
			  struct errbuf *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	*ids = NULL;
	*n = 0;
	int rc = mdb_cursor_open(txn, s->db_tombstones, &cur);
	if (rc)
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8)
			continue;
		uint64_t *d = realloc(*ids, (*n + 1) * sizeof(**ids));
		if (!d) {
			mdb_cursor_close(cur);
			return errbuf_errno(err, ENOMEM, "reading the tombstones of %s", s->path);
		}
		*ids = d;
		d[(*n)++] = bytes_be64_get(k.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading the tombstones of %s", s->path);
	return 0;
}

int store_purge_tombstoned(struct store *s, struct errbuf *err)
{
	MDB_txn *txn;
	uint64_t *ids;
	size_t n;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	rc = store_tombstones_list(s, txn, &ids, &n, err);
	mdb_txn_abort(txn);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_scan_purge(s, ids[i], err);
	free(ids);
	return rc;
}
