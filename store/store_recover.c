/* store_recover.c: the open-time transaction: tables, format, id counters, interrupted scans. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store_codec.h"

/*
 * store_open() runs one write transaction before anything else touches the store: it opens the
 * tables, checks the format (migrating an older store, store_format.c), reads the id counters,
 * marks the scans a previous process left queued or running as interrupted, and lists the
 * tombstones whose purge is still due. All or nothing: a crash before its commit leaves the file
 * as it was, and the next open does it all again.
 *
 * An interrupted scan's record has the totals the job last wrote, which is nothing when the
 * process died mid-scan (kill -9, a power loss): they are counted here from the rows it stored,
 * as the scan itself counts them (entries by type, bytes of regular files, recorded errors).
 */

/* Opens (creating) the tables, and lists them in s->tables (skips, tree and samples: absent
 * from stores made before them, created). */
static int store_open_tables(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {{"meta", &s->db_meta},       {"scans", &s->db_scans},
		   {"entries", &s->db_entries}, {"dirs", &s->db_dirs},
		   {"links", &s->db_links},     {"errors", &s->db_errors},
		   {"tombstones", &s->db_tombstones}, {"skips", &s->db_skips},
		   {"tree", &s->db_tree}, {"samples", &s->db_samples}};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		int rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
		if (rc)
			return store_mdb_err(s, err, rc, "opening table %s of %s", dbs[i].name,
					     s->path);
		if (s->n_tables < STORE_MAX_TABLES)
			s->tables[s->n_tables++] = *dbs[i].dbi;
	}
	s->has_samples = true;
	return 0;
}

/* Reads next_scan_id and next_dir_id, the latter raised past the last directory stored. */
static int store_load_counters(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	uint64_t next = 1;
	bool found;
	int rc = store_meta_get_u64(s, txn, STORE_META_NEXT_SCAN, &next, &found, err);
	if (rc < 0)
		return rc;
	s->next_scan_id = found && next > 0 ? next : 1;
	if ((rc = store_meta_get_u64(s, txn, STORE_META_NEXT_DIR, &next, &found, err)) < 0)
		return rc;
	s->next_dir_id = found && next > 0 ? next : 1;

	MDB_cursor *cur;
	MDB_val k, v;
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cur)))
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8 && bytes_be64_get(k.mv_data) >= s->next_dir_id)
		s->next_dir_id = bytes_be64_get(k.mv_data) + 1;
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading the last directory of %s", s->path);
	return 0;
}

/* Adds the entries of directory `dir_id` to `t`. */
static int store_count_dir(struct store *s, MDB_cursor *ce, uint64_t dir_id,
			   struct store_scan_totals *t, struct errbuf *err)
{
	unsigned char key[8];
	bytes_be64_put(key, dir_id);
	MDB_val k = {8, key}, v;
	int rc;
	for (rc = mdb_cursor_get(ce, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 8 && memcmp(k.mv_data, key, 8) == 0;
	     rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
		struct entry e;
		if (store_entry_decode(v.mv_data, v.mv_size, &e) < 0)
			return errbuf_set(err, -EIO, "counting directory %" PRIu64 ": corrupt entry "
					  "in %s", dir_id, s->path);
		switch (e.type) {
		case ENTRY_DIR:
			t->dirs++;
			break;
		case ENTRY_FILE:
			t->files++;
			t->bytes += e.size;
			break;
		case ENTRY_SYMLINK:
			t->symlinks++;
			break;
		default:
			t->other++;
			break;
		}
	}
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading entries of %s", s->path);
	return 0;
}

/* Adds the number of errors rows of scan `id` to t->errors. */
static int store_count_errors(struct store *s, MDB_txn *txn, uint64_t id,
			      struct store_scan_totals *t, struct errbuf *err)
{
	MDB_cursor *cur;
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id), v;
	int rc = mdb_cursor_open(txn, s->db_errors, &cur);
	if (rc)
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 8) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		t->errors++;
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading errors of %s", s->path);
	return 0;
}

int store_count_stored(struct store *s, MDB_txn *txn, uint64_t id, struct store_scan_totals *out,
		       struct errbuf *err)
{
	MDB_cursor *cd = NULL, *ce = NULL;
	unsigned char root[16];
	memset(out, 0, sizeof(*out));
	bytes_be64_put(root, 0);
	bytes_be64_put(root + 8, id);
	MDB_val k = {16, root}, v;
	/* A scan's directories are the dirs rows naming it, from its root's dir_id on. */
	int rc = mdb_get(txn, s->db_links, &k, &v);
	if (rc == MDB_NOTFOUND)
		return store_count_errors(s, txn, id, out, err);
	if (rc)
		return store_mdb_err(s, err, rc, "reading links of %s", s->path);
	if (v.mv_size != 8)
		return errbuf_set(err, -EIO, "counting scan %" PRIu64 ": corrupt root link in %s",
				  id, s->path);
	k = (MDB_val){8, v.mv_data};
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cd)) ||
	    (rc = mdb_cursor_open(txn, s->db_entries, &ce))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto out;
	}
	for (rc = mdb_cursor_get(cd, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cd, &k, &v, MDB_NEXT)) {
		struct store_dir_rec rec;
		if (k.mv_size != 8 || store_dir_decode(v.mv_data, v.mv_size, &rec) < 0) {
			rc = errbuf_set(err, -EIO, "counting scan %" PRIu64 ": corrupt directory "
					"in %s", id, s->path);
			goto out;
		}
		if (rec.scan_id == id &&
		    (rc = store_count_dir(s, ce, bytes_be64_get(k.mv_data), out, err)) < 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? store_count_errors(s, txn, id, out, err)
				: store_mdb_err(s, err, rc, "reading directories of %s", s->path);
out:
	if (ce)
		mdb_cursor_close(ce);
	if (cd)
		mdb_cursor_close(cd);
	return rc;
}

/* Marks one queued or running scan interrupted, with the totals of what it stored. */
static int store_interrupt_one(struct store *s, MDB_txn *txn, uint64_t id, const MDB_val *v,
			       int64_t now, struct errbuf *err)
{
	struct store_scan scan;
	unsigned char *buf;
	size_t len;
	int rc = store_scan_decode(id, v->mv_data, v->mv_size, &scan);
	if (rc < 0)
		return errbuf_errno(err, -rc, "reading scan %" PRIu64 " of %s", id, s->path);
	scan.state = SCAN_INTERRUPTED;
	if (scan.finished_ns == 0)
		scan.finished_ns = now;
	if ((rc = store_count_stored(s, txn, id, &scan.totals, err)) < 0) {
		store_scan_clear(&scan);
		return rc;
	}
	rc = store_scan_encode(&scan, &buf, &len);
	store_scan_clear(&scan);
	if (rc < 0)
		return errbuf_errno(err, -rc, "marking scan %" PRIu64 " interrupted", id);
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id), nv = {len, buf};
	rc = mdb_put(txn, s->db_scans, &k, &nv, 0);
	free(buf);
	if (rc)
		return store_mdb_err(s, err, rc, "marking scan %" PRIu64 " of %s interrupted", id,
				     s->path);
	return 0;
}

/* Scans a previous process left queued or running will never finish: say so. */
static int store_interrupt_unfinished(struct store *s, MDB_txn *txn, struct errbuf *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t *ids = NULL;
	size_t n = 0;
	int rc = mdb_cursor_open(txn, s->db_scans, &cur);
	if (rc)
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	/* Collect first: rewriting records while the cursor walks them would move it. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		enum scan_state st;
		if (k.mv_size != 8 || store_scan_peek_state(v.mv_data, v.mv_size, &st) < 0 ||
		    (st != SCAN_QUEUED && st != SCAN_RUNNING))
			continue;
		uint64_t *d = realloc(ids, (n + 1) * sizeof(*ids));
		if (!d) {
			rc = ENOMEM;
			break;
		}
		ids = d;
		ids[n++] = bytes_be64_get(k.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc == ENOMEM)
		rc = errbuf_errno(err, ENOMEM, "reading the scans of %s", s->path);
	else if (rc != MDB_NOTFOUND)
		rc = store_mdb_err(s, err, rc, "reading the scans of %s", s->path);
	else
		rc = 0;
	int64_t now = clock_wall_ns();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char key[8];
		k = store_scan_key(key, ids[i]);
		if ((rc = mdb_get(txn, s->db_scans, &k, &v)))
			rc = store_mdb_err(s, err, rc, "reading scan %" PRIu64 " of %s", ids[i],
					   s->path);
		else
			rc = store_interrupt_one(s, txn, ids[i], &v, now, err);
	}
	free(ids);
	return rc;
}

int store_recover(struct store *s, const struct store_opts *opts, uint64_t **tomb, size_t *ntomb,
		  struct errbuf *err)
{
	MDB_txn *txn;
	*tomb = NULL;
	*ntomb = 0;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	if ((rc = store_open_tables(s, txn, err)) < 0 || (rc = store_format_check(s, txn, err)) < 0 ||
	    (rc = store_load_counters(s, txn, err)) < 0 ||
	    (rc = store_interrupt_unfinished(s, txn, err)) < 0 ||
	    (rc = store_tombstones_list(s, txn, tomb, ntomb, err)) < 0) {
		mdb_txn_abort(txn);
		free(*tomb);
		*tomb = NULL;
		*ntomb = 0;
		return rc;
	}
	if (opts->test_before_recover_commit)
		opts->test_before_recover_commit(opts->test_ctx);
	if ((rc = mdb_txn_commit(txn))) {
		free(*tomb);
		*tomb = NULL;
		*ntomb = 0;
		return store_mdb_err(s, err, rc, "committing the recovery of %s", s->path);
	}
	if ((rc = mdb_env_sync(s->env, 1)))
		return store_mdb_err(s, err, rc, "syncing %s", s->path);
	return 0;
}
