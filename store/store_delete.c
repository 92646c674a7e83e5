/* store_delete.c: removing a deleted scan's entries, directories, links and errors. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * The scan record is already gone (store_scan_delete()) and a "deleting" marker is in meta, so
 * this runs again on the next open if the process dies half way. It works in transactions of
 * at most STORE_DELETE_CHUNK deletions, so the writer thread and other deletions get LMDB's
 * write lock between chunks.
 *
 * A scan's directories are the dirs rows holding its id. Its root was submitted first, so they
 * all have ids at or above the root's: the search starts there and skips older scans. The root
 * link goes last: it is how the next attempt finds where to start.
 */

#define STORE_DELETE_CHUNK 10000

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
				   uint64_t *pos, bool *done, struct errbuf *err)
{
	MDB_cursor *cd = NULL, *ce = NULL, *cl = NULL;
	long budget = STORE_DELETE_CHUNK;
	int rc;
	*done = false;
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cd)) ||
	    (rc = mdb_cursor_open(txn, s->db_entries, &ce)) ||
	    (rc = mdb_cursor_open(txn, s->db_links, &cl))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto out;
	}
	while (budget > 0) {
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
			rc = errbuf_set(err, -EIO, "deleting scan %" PRIu64 ": corrupt directory in %s",
					scan_id, s->path);
			goto out;
		}
		uint64_t d = bytes_be64_get(k.mv_data);
		budget--;
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
		if ((rc = mdb_del(txn, s->db_dirs, &k, NULL))) {
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

enum store_delete_stage { STORE_DEL_DIRS, STORE_DEL_ERRORS, STORE_DEL_ROOT, STORE_DEL_DONE };

int store_delete_data(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	enum store_delete_stage stage = STORE_DEL_DIRS;
	unsigned char root_key[16];
	bytes_be64_put(root_key, 0);
	bytes_be64_put(root_key + 8, scan_id);
	uint64_t pos = 0;
	bool have_pos = false;
	while (stage != STORE_DEL_DONE) {
		MDB_txn *txn;
		MDB_val k = {16, root_key}, v;
		bool done = false;
		int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc)
			return store_mdb_err(s, err, rc, "starting a write transaction on %s",
					     s->path);
		switch (stage) {
		case STORE_DEL_DIRS:
			if (!have_pos) {
				rc = mdb_get(txn, s->db_links, &k, &v);
				if (rc == MDB_NOTFOUND) {
					done = true; /* no directory was ever stored */
					rc = 0;
					break;
				}
				if (rc || v.mv_size != 8) {
					rc = rc ? store_mdb_err(s, err, rc, "reading links of %s",
								s->path)
						: errbuf_set(err, -EIO, "corrupt root link in %s",
							     s->path);
					break;
				}
				pos = bytes_be64_get(v.mv_data);
				have_pos = true;
			}
			rc = store_delete_dirs_chunk(s, txn, scan_id, &pos, &done, err);
			break;
		case STORE_DEL_ERRORS: {
			MDB_cursor *c;
			long budget = STORE_DELETE_CHUNK;
			if ((rc = mdb_cursor_open(txn, s->db_errors, &c)) == 0) {
				rc = store_delete_prefix(c, root_key + 8, &budget, &done);
				mdb_cursor_close(c);
			}
			if (rc)
				rc = store_mdb_err(s, err, rc, "deleting errors of scan %" PRIu64
						   " from %s", scan_id, s->path);
			break;
		}
		case STORE_DEL_ROOT:
			rc = mdb_del(txn, s->db_links, &k, NULL);
			if (rc && rc != MDB_NOTFOUND)
				rc = store_mdb_err(s, err, rc, "deleting the root of scan %" PRIu64
						   " from %s", scan_id, s->path);
			else
				rc = 0;
			done = true;
			break;
		case STORE_DEL_DONE:
			break;
		}
		if (rc < 0 || rc > 0) {
			mdb_txn_abort(txn);
			return rc < 0 ? rc : -EIO;
		}
		if ((rc = mdb_txn_commit(txn)))
			return store_mdb_err(s, err, rc, "committing the deletion of scan %" PRIu64
					     " in %s", scan_id, s->path);
		store_mark_writable(s); /* pages came free: a full map is full no longer */
		if (done)
			stage++;
	}
	return 0;
}
