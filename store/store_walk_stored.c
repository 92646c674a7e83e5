/* store_walk_stored.c: a scan's entries in the order their directories were stored. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * A running scan stores each directory whole, under a dir_id higher than every one handed out
 * before, and links it from its parent only then. A depth-first walk of it would miss the
 * subtrees linked after it passed their parents; walking the dirs table in dir_id order instead
 * meets every directory stored after a resume position later in the same order, so the pages of
 * a running scan (?partial=true) miss nothing stored before the last one was read.
 *
 * The dirs table holds the directories of every scan, interleaved when scans run at once: rows
 * of other scans are skipped. Each directory's path is rebuilt from its chain of parents (a
 * lookup per level). The prefix is tested on each entry's path, since the walk does not go
 * down from the prefix directory.
 */

/** Guards against a damaged dirs table: no chain of parents is longer. */
#define STORE_STORED_MAX_DEPTH (1u << 20)

struct store_stored {
	struct store *s;
	MDB_txn *txn;
	const struct store_walk_req *rq;
	struct store_walk_out *out;
	uint64_t root;
	/** The current directory's path, then the entry's: path[0..dir_len) is the directory's. */
	char *path;
	size_t path_len, path_cap, dir_len;
	/** The chain of names of the current directory, root last (scratch, reused). */
	struct store_dir_rec *chain;
	size_t chain_cap;
};

static int store_stored_room(struct store_stored *w, size_t need, struct errbuf *err)
{
	if (need <= w->path_cap)
		return 0;
	size_t cap = w->path_cap ? w->path_cap : 1024;
	while (cap < need)
		cap *= 2;
	char *p = realloc(w->path, cap);
	if (!p)
		return errbuf_errno(err, ENOMEM, "walking scan %" PRIu64, w->rq->scan_id);
	w->path = p;
	w->path_cap = cap;
	return 0;
}

static int store_stored_corrupt(struct store_stored *w, struct errbuf *err)
{
	return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt directory in %s",
			  w->rq->scan_id, w->s->path);
}

/* Rebuilds the path of directory `dir` (the root: "") from its chain of parents. */
static int store_stored_dir_path(struct store_stored *w, uint64_t dir, struct errbuf *err)
{
	size_t n = 0;
	for (uint64_t d = dir; d != w->root;) {
		unsigned char key[8];
		bytes_be64_put(key, d);
		MDB_val k = {8, key}, v;
		struct store_dir_rec rec;
		int rc = mdb_get(w->txn, w->s->db_dirs, &k, &v);
		if (rc)
			return rc == MDB_NOTFOUND ? store_stored_corrupt(w, err)
						  : store_mdb_err(w->s, err, rc, "reading directories of %s",
								  w->s->path);
		if (store_dir_decode(v.mv_data, v.mv_size, &rec) < 0 || rec.parent == 0 ||
		    n >= STORE_STORED_MAX_DEPTH)
			return store_stored_corrupt(w, err);
		if (n == w->chain_cap) {
			size_t cap = w->chain_cap ? w->chain_cap * 2 : 64;
			struct store_dir_rec *c = realloc(w->chain, cap * sizeof(*c));
			if (!c)
				return errbuf_errno(err, ENOMEM, "walking scan %" PRIu64, w->rq->scan_id);
			w->chain = c;
			w->chain_cap = cap;
		}
		w->chain[n++] = rec;
		d = rec.parent;
	}
	w->path_len = 0;
	while (n > 0) {
		const struct store_dir_rec *r = &w->chain[--n];
		int rc = store_stored_room(w, w->path_len + r->name_len + 2, err);
		if (rc < 0)
			return rc;
		if (w->path_len)
			w->path[w->path_len++] = '/';
		memcpy(w->path + w->path_len, r->name, r->name_len);
		w->path_len += r->name_len;
	}
	w->dir_len = w->path_len;
	return 0;
}

/* Whether `path` is selected by the filter's prefix (the walk's other tests come after). */
static bool store_stored_prefix(const struct store_walk_filter *f, const char *path, size_t len,
				enum entry_type type)
{
	if (!f || !f->prefix)
		return true;
	const char *p = f->prefix;
	size_t n = f->prefix_len;
	if (f->prefix_mode == STORE_PREFIX_STRING)
		return len >= n && memcmp(path, p, n) == 0;
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return true;
	if (f->prefix_mode == STORE_PREFIX_PATH && len == n && type != ENTRY_DIR &&
	    memcmp(path, p, n) == 0)
		return true;
	return len > n && path[n] == '/' && memcmp(path, p, n) == 0;
}

/*
 * Visits the entry under cursor `ce` (key k, value v) of directory `dir`. Returns 1 when the
 * walk stops here (full, enough examined, or the callback's answer in *stop).
 */
static int store_stored_visit(struct store_stored *w, uint64_t dir, const MDB_val *k,
			      const MDB_val *v, int *stop, struct errbuf *err)
{
	const struct store_walk_req *rq = w->rq;
	struct store_walk_out *out = w->out;
	const char *name = (const char *)k->mv_data + 8;
	size_t name_len = k->mv_size - 8;
	if (rq->visit_limit && out->visited == rq->visit_limit) {
		out->more = true;
		return 1;
	}
	struct entry e;
	if (store_entry_decode(v->mv_data, v->mv_size, &e) < 0)
		return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt entry in %s",
				  rq->scan_id, w->s->path);
	e.name = name;
	e.name_len = name_len;
	int rc = store_stored_room(w, w->dir_len + name_len + 2, err);
	if (rc < 0)
		return rc;
	w->path_len = w->dir_len;
	if (w->path_len)
		w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, name_len);
	w->path_len += name_len;
	if (store_stored_prefix(rq->filter, w->path, w->path_len, e.type) &&
	    store_filter_pass(rq->filter, w->path, w->path_len, &e)) {
		if (out->given == rq->limit) {
			out->more = true;
			return 1;
		}
		if ((rc = rq->cb(rq->ctx, w->path, w->path_len, &e))) {
			*stop = rc;
			return 1;
		}
		out->given++;
	}
	out->visited++;
	out->next.dir_id = dir;
	out->next.name_len = name_len;
	memcpy(out->next.name, name, name_len);
	return 0;
}

/* The entries of directory `dir`, after name `after` when it is set. 1: the walk stops. */
static int store_stored_dir(struct store_stored *w, MDB_cursor *ce, uint64_t dir,
			    const struct store_pos *after, int *stop, struct errbuf *err)
{
	unsigned char key[8 + 255];
	bytes_be64_put(key, dir);
	size_t klen = 8;
	if (after) {
		memcpy(key + 8, after->name, after->name_len);
		klen += after->name_len;
	}
	MDB_val k = {klen, key}, v;
	int rc = mdb_cursor_get(ce, &k, &v, MDB_SET_RANGE);
	if (after && rc == 0 && k.mv_size == klen && memcmp(k.mv_data, key, klen) == 0)
		rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT);
	for (; rc == 0 && k.mv_size > 8 && bytes_be64_get(k.mv_data) == dir;
	     rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
		int r = store_stored_visit(w, dir, &k, &v, stop, err);
		if (r)
			return r;
	}
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(w->s, err, rc, "reading entries of %s", w->s->path);
	return 0;
}

/* Checks that the resume position is a directory of this scan. */
static int store_stored_check_resume(struct store_stored *w, const struct store_pos *pos,
				     struct errbuf *err)
{
	unsigned char key[8];
	bytes_be64_put(key, pos->dir_id);
	MDB_val k = {8, key}, v;
	struct store_dir_rec rec;
	int rc = mdb_get(w->txn, w->s->db_dirs, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(w->s, err, rc, "reading directories of %s", w->s->path);
	if (rc == MDB_NOTFOUND || pos->name_len < 1 || pos->name_len > 255 ||
	    store_dir_decode(v.mv_data, v.mv_size, &rec) < 0 || rec.scan_id != w->rq->scan_id ||
	    pos->dir_id < w->root)
		return errbuf_set(err, -EINVAL, "walking scan %" PRIu64
				  ": the resume position is not one of this walk", w->rq->scan_id);
	return 0;
}

/* The loop over the directories, from the resume position's or the root. */
static int store_stored_run(struct store_stored *w, MDB_cursor *cd, MDB_cursor *ce,
			    struct errbuf *err)
{
	const struct store_pos *resume = w->rq->resume && w->rq->resume->dir_id ? w->rq->resume : NULL;
	int rc = resume ? store_stored_check_resume(w, resume, err) : 0;
	if (rc < 0)
		return rc;
	unsigned char key[8];
	bytes_be64_put(key, resume ? resume->dir_id : w->root);
	MDB_val k = {8, key}, v;
	int stop = 0;
	for (rc = mdb_cursor_get(cd, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cd, &k, &v, MDB_NEXT)) {
		struct store_dir_rec rec;
		if (k.mv_size != 8 || store_dir_decode(v.mv_data, v.mv_size, &rec) < 0)
			return store_stored_corrupt(w, err);
		if (rec.scan_id != w->rq->scan_id)
			continue;
		uint64_t dir = bytes_be64_get(k.mv_data);
		if ((rc = store_stored_dir_path(w, dir, err)) < 0)
			return rc;
		const struct store_pos *after = resume && resume->dir_id == dir ? resume : NULL;
		if ((rc = store_stored_dir(w, ce, dir, after, &stop, err)) != 0)
			return rc < 0 ? rc : stop;
	}
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(w->s, err, rc, "reading directories of %s", w->s->path);
	return 0;
}

int store_walk_stored(struct store *s, MDB_txn *txn, const struct store_walk_req *rq,
		      uint64_t root, struct store_walk_out *out, struct errbuf *err)
{
	struct store_stored w = {.s = s, .txn = txn, .rq = rq, .out = out, .root = root};
	MDB_cursor *cd = NULL, *ce = NULL;
	int rc;
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cd)) ||
	    (rc = mdb_cursor_open(txn, s->db_entries, &ce)))
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	else
		rc = store_stored_run(&w, cd, ce, err);
	if (cd)
		mdb_cursor_close(cd);
	if (ce)
		mdb_cursor_close(ce);
	free(w.path);
	free(w.chain);
	return rc;
}
