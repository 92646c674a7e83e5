/* store_tree.c: per-directory subtree totals, computed once when a scan finishes, then read. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * "How big is each directory?" is asked of finished scans again and again (a page showing a
 * tree, `du`-like views), and the answer needs the whole subtree. So it is computed once, when
 * the scan finishes. Each directory's own entries were counted as its batch was built, and the
 * scan's state keeps them (store_state_note()) until its final record; when they are gone (a
 * later call, or memory ran short), one pass over its directories in dir_id order (short read
 * transactions of STORE_TREE_CHUNK directories) counts them again. Then, since a directory is
 * always stored after its parent (its parent's dir_id is needed to submit it), a pass from the
 * highest dir_id down adds each directory's totals into its parent's. The rows go to the "tree"
 * table, BE64 dir_id -> varints (entries, files, bytes), in transactions of STORE_TREE_CHUNK
 * rows that each check the scan is still alive, so a deleted scan's rows are never written after
 * its purge removed them (the purge deletes them with the dirs rows). Reading /tree is then one
 * lookup per directory shown.
 */

#define STORE_TREE_CHUNK 10000
/** Deepest store_tree_read() goes below its prefix. */
#define STORE_TREE_MAX_DEPTH 64

struct store_tree_row {
	uint64_t dir, parent;
	struct store_tree_totals t;
};

struct store_tree_rows {
	struct store_tree_row *v;
	size_t n, cap;
};

static int store_tree_add_row(struct store_tree_rows *r, uint64_t dir, uint64_t parent,
			      uint64_t scan_id, struct errbuf *err)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct store_tree_row *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return errbuf_errno(err, ENOMEM, "totalling the directories of scan %" PRIu64,
					    scan_id);
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct store_tree_row){.dir = dir, .parent = parent};
	return 0;
}

/* Counts the entries of directory `dir` into *t. */
static int store_tree_count_dir(struct store *s, MDB_cursor *ce, uint64_t dir,
				struct store_tree_totals *t, struct errbuf *err)
{
	unsigned char key[8];
	bytes_be64_put(key, dir);
	MDB_val k = {8, key}, v;
	int rc;
	for (rc = mdb_cursor_get(ce, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 8 && bytes_be64_get(k.mv_data) == dir;
	     rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
		enum entry_type type;
		uint64_t size;
		if (store_entry_peek(v.mv_data, v.mv_size, &type, &size) < 0)
			return errbuf_set(err, -EIO, "totalling directory %" PRIu64
					  ": corrupt entry in %s", dir, s->path);
		t->entries++;
		if (type == ENTRY_FILE) {
			t->files++;
			t->bytes += size;
		}
	}
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading entries of %s", s->path);
	return 0;
}

/*
 * One read transaction: up to STORE_TREE_CHUNK rows of the dirs table from *pos, the scan's
 * counted into `rows`. *pos 0 on the first call: starts at the scan's root. *done at the end.
 */
static int store_tree_collect_chunk(struct store *s, uint64_t scan_id, uint64_t *pos,
				    struct store_tree_rows *rows, bool *done, struct errbuf *err)
{
	MDB_txn *txn;
	MDB_cursor *cd = NULL, *ce = NULL;
	MDB_val k, v;
	unsigned char key[16];
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, txn, scan_id, &v, err)) < 0)
		goto out;
	if (*pos == 0) {
		bytes_be64_put(key, 0);
		bytes_be64_put(key + 8, scan_id);
		k = (MDB_val){16, key};
		if ((rc = mdb_get(txn, s->db_links, &k, &v)) == MDB_NOTFOUND) {
			*done = true; /* nothing stored: no directory to total */
			rc = 0;
			goto out;
		}
		if (rc || v.mv_size != 8) {
			rc = rc ? store_mdb_err(s, err, rc, "reading links of %s", s->path)
				: errbuf_set(err, -EIO, "corrupt root link in %s", s->path);
			goto out;
		}
		*pos = bytes_be64_get(v.mv_data);
	}
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cd)) ||
	    (rc = mdb_cursor_open(txn, s->db_entries, &ce))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto out;
	}
	bytes_be64_put(key, *pos);
	k = (MDB_val){8, key};
	size_t seen = 0;
	for (rc = mdb_cursor_get(cd, &k, &v, MDB_SET_RANGE); rc == 0 && seen < STORE_TREE_CHUNK;
	     rc = mdb_cursor_get(cd, &k, &v, MDB_NEXT), seen++) {
		struct store_dir_rec rec;
		if (k.mv_size != 8 || store_dir_decode(v.mv_data, v.mv_size, &rec) < 0) {
			rc = errbuf_set(err, -EIO, "totalling scan %" PRIu64
					": corrupt directory in %s", scan_id, s->path);
			goto out;
		}
		uint64_t dir = bytes_be64_get(k.mv_data);
		*pos = dir + 1;
		if (rec.scan_id != scan_id)
			continue;
		if ((rc = store_tree_add_row(rows, dir, rec.parent, scan_id, err)) < 0 ||
		    (rc = store_tree_count_dir(s, ce, dir, &rows->v[rows->n - 1].t, err)) < 0)
			goto out;
	}
	if (rc == MDB_NOTFOUND) {
		*done = true;
		rc = 0;
	} else if (rc) {
		rc = store_mdb_err(s, err, rc, "reading directories of %s", s->path);
	}
out:
	if (cd)
		mdb_cursor_close(cd);
	if (ce)
		mdb_cursor_close(ce);
	mdb_txn_abort(txn);
	return rc;
}

/* The index of directory `dir` in the sorted rows, or -1. */
static long store_tree_find(const struct store_tree_rows *r, uint64_t dir)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->v[mid].dir < dir)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].dir == dir ? (long)lo : -1;
}

/* Adds each directory's totals into its parent's, children (higher dir_ids) first. */
static void store_tree_sum(struct store_tree_rows *r)
{
	for (size_t i = r->n; i-- > 0;) {
		long p = store_tree_find(r, r->v[i].parent);
		if (p < 0 || (size_t)p >= i)
			continue; /* the root (parent 0), or damage: never count a row twice */
		r->v[p].t.entries += r->v[i].t.entries;
		r->v[p].t.files += r->v[i].t.files;
		r->v[p].t.bytes += r->v[i].t.bytes;
	}
}

/* Writes rows [from, to) in one transaction, after checking the scan is alive. */
static int store_tree_write(struct store *s, uint64_t scan_id, const struct store_tree_rows *r,
			    size_t from, size_t to, struct errbuf *err)
{
	MDB_txn *txn;
	MDB_val v;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	if ((rc = store_scan_lookup(s, txn, scan_id, &v, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, s->db_tree, &c))) {
		mdb_txn_abort(txn);
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	}
	/* Rows in dir_id order, usually after every stored one (a new scan's dir_ids are the
	 * highest): appended, until one is not (a scan that ran beside another, or a rebuild). */
	unsigned flags = MDB_APPEND;
	for (size_t i = from; i < to; i++) {
		unsigned char key[8], val[30];
		size_t n = bytes_varint_put(val, r->v[i].t.entries);
		n += bytes_varint_put(val + n, r->v[i].t.files);
		n += bytes_varint_put(val + n, r->v[i].t.bytes);
		bytes_be64_put(key, r->v[i].dir);
		MDB_val k = {8, key};
		v = (MDB_val){n, val};
		if ((rc = mdb_cursor_put(c, &k, &v, flags)) == MDB_KEYEXIST && flags) {
			flags = 0;
			rc = mdb_cursor_put(c, &k, &v, 0);
		}
		if (rc) {
			mdb_cursor_close(c);
			mdb_txn_abort(txn);
			return store_mdb_err(s, err, rc, "writing the directory totals of scan %" PRIu64
					     " to %s", scan_id, s->path);
		}
	}
	mdb_cursor_close(c);
	if ((rc = mdb_txn_commit(txn))) {
		rc = store_mdb_err(s, err, rc, "committing the directory totals of scan %" PRIu64
				   " to %s", scan_id, s->path);
		store_note_commit(s, 0, err, false);
		return rc;
	}
	store_note_commit(s, 0, NULL, false);
	return 0;
}

/*
 * The rows from the scan's notes, while it is still writing: each directory's own totals as its
 * batch counted them, so no entry is read again. -ENODATA: no whole notes (read the rows).
 */
static int store_tree_from_notes(struct store *s, uint64_t scan_id, struct store_tree_rows *rows,
				 struct errbuf *err)
{
	struct store_dir_note *notes;
	size_t n;
	int rc = store_state_notes(s, scan_id, &notes, &n);
	if (rc == -ENOMEM)
		return errbuf_errno(err, ENOMEM, "totalling the directories of scan %" PRIu64,
				    scan_id);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = store_tree_add_row(rows, notes[i].dir, notes[i].parent, scan_id, err)) == 0)
			rows->v[rows->n - 1].t = (struct store_tree_totals){
				notes[i].entries, notes[i].files, notes[i].bytes};
	}
	free(notes);
	return rc;
}

int store_tree_build(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	struct store_tree_rows rows = {0};
	uint64_t pos = 0;
	int rc = store_tree_from_notes(s, scan_id, &rows, err);
	bool done = rc == 0;
	if (rc == -ENODATA)
		rc = 0;
	while (!done && rc == 0)
		rc = store_tree_collect_chunk(s, scan_id, &pos, &rows, &done, err);
	if (rc == 0)
		store_tree_sum(&rows);
	for (size_t i = 0; rc == 0 && i < rows.n; i += STORE_TREE_CHUNK)
		rc = store_tree_write(s, scan_id, &rows, i,
				      rows.n - i < STORE_TREE_CHUNK ? rows.n : i + STORE_TREE_CHUNK,
				      err);
	free(rows.v);
	return rc;
}

/* ---------------------------------------------------------------- reading */

struct store_tree_reader {
	struct store *s;
	MDB_txn *txn;
	uint64_t scan_id;
	unsigned depth;
	store_tree_cb cb;
	void *ctx;
	char *path;
	size_t path_len, path_cap;
};

/* The stored totals of directory `dir`: 0, or -ENODATA when they were never computed. */
static int store_tree_get(struct store_tree_reader *r, uint64_t dir, struct store_tree_totals *t,
			  struct errbuf *err)
{
	unsigned char key[8];
	bytes_be64_put(key, dir);
	MDB_val k = {8, key}, v;
	int rc = mdb_get(r->txn, r->s->db_tree, &k, &v);
	if (rc == MDB_NOTFOUND)
		return errbuf_set(err, -ENODATA, "the directory totals of scan %" PRIu64
				  " were not computed", r->scan_id);
	if (rc)
		return store_mdb_err(r->s, err, rc, "reading directory totals from %s", r->s->path);
	const unsigned char *p = v.mv_data, *end = p + v.mv_size;
	if (bytes_varint_get(&p, end, &t->entries) < 0 || bytes_varint_get(&p, end, &t->files) < 0 ||
	    bytes_varint_get(&p, end, &t->bytes) < 0)
		return errbuf_set(err, -EIO, "corrupt directory totals in %s", r->s->path);
	return 0;
}

static int store_tree_path_set(struct store_tree_reader *r, size_t at, const char *name,
			       size_t len, struct errbuf *err)
{
	size_t need = at + 1 + len + 1;
	if (need > r->path_cap) {
		size_t cap = r->path_cap ? r->path_cap : 1024;
		while (cap < need)
			cap *= 2;
		char *p = realloc(r->path, cap);
		if (!p)
			return errbuf_errno(err, ENOMEM, "reading the tree of scan %" PRIu64,
					    r->scan_id);
		r->path = p;
		r->path_cap = cap;
	}
	r->path_len = at;
	if (at)
		r->path[r->path_len++] = '/';
	memcpy(r->path + r->path_len, name, len);
	r->path_len += len;
	return 0;
}

/*
 * Gives the child directories of `dir` (whose path is path[0..at)) and, down to r->depth, theirs.
 * Recursion is bounded by STORE_TREE_MAX_DEPTH.
 */
static int store_tree_children(struct store_tree_reader *r, uint64_t dir, size_t at,
			       unsigned level, struct errbuf *err)
{
	MDB_cursor *ce;
	unsigned char key[8 + 255];
	int rc = mdb_cursor_open(r->txn, r->s->db_entries, &ce);
	if (rc)
		return store_mdb_err(r->s, err, rc, "opening a cursor on %s", r->s->path);
	bytes_be64_put(key, dir);
	MDB_val k = {8, key}, v;
	for (rc = mdb_cursor_get(ce, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 8 && bytes_be64_get(k.mv_data) == dir;
	     rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
		struct entry e;
		if (store_entry_decode(v.mv_data, v.mv_size, &e) < 0) {
			rc = errbuf_set(err, -EIO, "corrupt entry in %s", r->s->path);
			goto out;
		}
		if (e.type != ENTRY_DIR)
			continue;
		/* The key's bytes: the cursor moves on below, so keep a copy of the name. */
		size_t len = k.mv_size - 8;
		memcpy(key + 8, (const char *)k.mv_data + 8, len);
		MDB_val lk = {8 + len, key}, lv;
		struct store_tree_totals t = {0};
		rc = mdb_get(r->txn, r->s->db_links, &lk, &lv);
		uint64_t child = rc == 0 && lv.mv_size == 8 ? bytes_be64_get(lv.mv_data) : 0;
		if (rc && rc != MDB_NOTFOUND) {
			rc = store_mdb_err(r->s, err, rc, "reading links of %s", r->s->path);
			goto out;
		}
		/* A directory without a link had nothing stored below it: zeros. */
		if ((child && (rc = store_tree_get(r, child, &t, err)) < 0) ||
		    (rc = store_tree_path_set(r, at, (const char *)key + 8, len, err)) < 0 ||
		    (rc = r->cb(r->ctx, r->path, r->path_len, level, &t)) != 0)
			goto out;
		/* Deeper levels use cursors of their own: this one stays where it is. */
		if (child && level < r->depth &&
		    (rc = store_tree_children(r, child, r->path_len, level + 1, err)) != 0)
			goto out;
	}
	if (rc && rc != MDB_NOTFOUND)
		rc = store_mdb_err(r->s, err, rc, "reading entries of %s", r->s->path);
	else
		rc = 0;
out:
	mdb_cursor_close(ce);
	return rc;
}

/* Resolves the prefix (empty components skipped) to its dir_id; its path goes to r->path. */
static int store_tree_resolve(struct store_tree_reader *r, uint64_t root, const char *p,
			      size_t n, uint64_t *dir, struct errbuf *err)
{
	unsigned char key[8 + 255];
	size_t i = 0;
	*dir = root;
	while (i < n) {
		const char *c = p + i;
		const char *slash = memchr(c, '/', n - i);
		size_t len = slash ? (size_t)(slash - c) : n - i;
		i += len + 1;
		if (len == 0)
			continue;
		if (len > 255)
			return errbuf_set(err, -ENOENT, "no directory %.*s in scan %" PRIu64, (int)n,
					  p, r->scan_id);
		bytes_be64_put(key, *dir);
		memcpy(key + 8, c, len);
		MDB_val k = {8 + len, key}, v;
		int rc = mdb_get(r->txn, r->s->db_links, &k, &v);
		if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != 8))
			return errbuf_set(err, -ENOENT, "no directory %.*s in scan %" PRIu64, (int)n,
					  p, r->scan_id);
		if (rc)
			return store_mdb_err(r->s, err, rc, "reading links of %s", r->s->path);
		if ((rc = store_tree_path_set(r, r->path_len, c, len, err)) < 0)
			return rc;
		*dir = bytes_be64_get(v.mv_data);
	}
	return 0;
}

int store_tree_read(struct store *s, uint64_t scan_id, const char *prefix, size_t prefix_len,
		    unsigned depth, store_tree_cb cb, void *ctx, struct errbuf *err)
{
	struct store_tree_reader r = {.s = s, .scan_id = scan_id, .cb = cb, .ctx = ctx,
				      .depth = depth > STORE_TREE_MAX_DEPTH ? STORE_TREE_MAX_DEPTH
									     : depth};
	unsigned char key[16];
	MDB_val k, v;
	int rc = store_read_begin(s, &r.txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, r.txn, scan_id, &v, err)) < 0)
		goto out;
	bytes_be64_put(key, 0);
	bytes_be64_put(key + 8, scan_id);
	k = (MDB_val){16, key};
	struct store_tree_totals t = {0};
	uint64_t root = 0, dir;
	if ((rc = mdb_get(r.txn, s->db_links, &k, &v)) == 0 && v.mv_size == 8)
		root = bytes_be64_get(v.mv_data);
	else if (rc && rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading links of %s", s->path);
		goto out;
	}
	if (!root) {
		/* Nothing stored: an empty root, and no directory below it. */
		for (size_t i = 0; i < prefix_len; i++)
			if (prefix[i] != '/') {
				rc = errbuf_set(err, -ENOENT, "no directory %.*s in scan %" PRIu64,
						(int)prefix_len, prefix, scan_id);
				goto out;
			}
		rc = cb(ctx, "", 0, 0, &t);
		goto out;
	}
	if ((rc = store_tree_resolve(&r, root, prefix, prefix_len, &dir, err)) < 0 ||
	    (rc = store_tree_get(&r, dir, &t, err)) < 0)
		goto out;
	if ((rc = cb(ctx, r.path ? r.path : "", r.path_len, 0, &t)) != 0 || r.depth == 0)
		goto out;
	rc = store_tree_children(&r, dir, r.path_len, 1, err);
out:
	mdb_txn_abort(r.txn);
	free(r.path);
	return rc;
}
