/* store_walk.c: reading a scan's entries back in depth-first order, and its errors. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * A walk keeps one cursor on the entries table and an explicit stack of open directories (no
 * recursion: trees are thousands of levels deep). Each frame remembers the dir_id and the length
 * of its path in a growable buffer, so an entry's path is the frame's path, '/', and the name.
 * Descending: an entry that is a directory with a row in links gets a frame, and the cursor jumps
 * to the first key of the child. Climbing: when the cursor leaves the child's key range, the
 * frame is dropped and the cursor goes back to the child's own entry in its parent (its name is
 * the last path component), to continue with the next sibling.
 *
 * Resuming from (dir_id, name): the dirs table gives the chain of parents up to the walk's base
 * directory, which rebuilds both the stack and the path; the walk then goes on after that entry,
 * into its subtree first when it is a directory.
 */

/** Guards against a damaged dirs table making the climb loop forever. */
#define STORE_WALK_MAX_DEPTH (1u << 20)

struct store_walk_frame {
	uint64_t dir_id;
	size_t path_len;
};

struct store_walker {
	struct store *s;
	MDB_txn *txn;
	uint64_t scan_id;
	const struct store_walk_req *rq;
	struct store_walk_out *out;
	char *path;
	size_t path_len, path_cap;
	struct store_walk_frame *frames;
	size_t depth, frames_cap;
	/* The walk proper (store_walk_run()): the cursor, its key and value, the scratch key. */
	MDB_cursor *cur;
	MDB_val k, v;
	int rc; /**< the cursor's last answer: 0, MDB_NOTFOUND or an error */
	unsigned char key[8 + 255];
	int stop; /**< what store_walk() returns when the walk stops early (the callback's) */
	/** STORE_PREFIX_STRING: what the names of the base directory's own entries start with. */
	const char *head;
	size_t head_len;
	/** STORE_PREFIX_PATH naming a non-directory: the walk is that one entry, (single_dir, name). */
	bool single;
	uint64_t single_dir;
	/** STORE_PREFIX_PATH naming a directory that has no entries stored: the walk is empty. */
	bool empty;
};

static int store_walk_path_add(struct store_walker *w, const char *name, size_t len,
			       struct errbuf *err)
{
	size_t need = w->path_len + 1 + len;
	if (need > w->path_cap) {
		size_t cap = w->path_cap ? w->path_cap : 1024;
		while (cap < need)
			cap *= 2;
		char *p = realloc(w->path, cap);
		if (!p)
			return errbuf_errno(err, ENOMEM, "walking scan %" PRIu64, w->scan_id);
		w->path = p;
		w->path_cap = cap;
	}
	if (w->path_len > 0)
		w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, len);
	w->path_len += len;
	return 0;
}

static int store_walk_push(struct store_walker *w, uint64_t dir_id, struct errbuf *err)
{
	if (w->depth == w->frames_cap) {
		size_t cap = w->frames_cap ? w->frames_cap * 2 : 64;
		struct store_walk_frame *f = realloc(w->frames, cap * sizeof(*f));
		if (!f)
			return errbuf_errno(err, ENOMEM, "walking scan %" PRIu64, w->scan_id);
		w->frames = f;
		w->frames_cap = cap;
	}
	w->frames[w->depth++] = (struct store_walk_frame){dir_id, w->path_len};
	return 0;
}

/* The child dir_id linked from (dir_id, name); 0 when there is none. */
static int store_walk_link(struct store_walker *w, uint64_t dir_id, const char *name,
			   size_t len, uint64_t *child, struct errbuf *err)
{
	unsigned char key[8 + 255];
	bytes_be64_put(key, dir_id);
	memcpy(key + 8, name, len);
	MDB_val k = {8 + len, key}, v;
	int rc = mdb_get(w->txn, w->s->db_links, &k, &v);
	*child = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(w->s, err, rc, "reading links of scan %" PRIu64 " from %s",
				     w->scan_id, w->s->path);
	if (v.mv_size != 8)
		return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt link in %s",
				  w->scan_id, w->s->path);
	*child = bytes_be64_get(v.mv_data);
	return 0;
}

/* The error of a prefix that names no directory (or, `what` "entry", no entry). */
static int store_walk_no(struct store_walker *w, const char *what, const char *p, size_t n,
			 struct errbuf *err)
{
	return errbuf_set(err, -ENOENT, "no %s %.*s in scan %" PRIu64, what, (int)n, p, w->scan_id);
}

/*
 * Resolves the directory path p[0..n) from the root, one component at a time, appending each to
 * the walker's path; *dir is its dir_id. Empty components ("a//b", a leading or trailing slash)
 * are skipped, unless `strict`: then they name nothing, as no stored path holds them.
 */
static int store_walk_resolve(struct store_walker *w, uint64_t root, const char *p, size_t n,
			      bool strict, uint64_t *dir, struct errbuf *err)
{
	size_t i = 0;
	int rc;
	*dir = root;
	while (i < n) {
		const char *c = p + i;
		const char *slash = memchr(c, '/', n - i);
		size_t len = slash ? (size_t)(slash - c) : n - i;
		i += len + 1;
		if (len == 0 && !strict)
			continue;
		if (len == 0 || len > 255)
			return store_walk_no(w, "directory", p, n, err);
		uint64_t child;
		if ((rc = store_walk_link(w, *dir, c, len, &child, err)) < 0)
			return rc;
		if (!child)
			return store_walk_no(w, "directory", p, n, err);
		if ((rc = store_walk_path_add(w, c, len, err)) < 0)
			return rc;
		*dir = child;
	}
	return 0;
}

/*
 * STORE_PREFIX_PATH: a directory's entries are walked as for STORE_PREFIX_DIR; a non-directory
 * is the walk's one entry (w->single); a directory that has no entries stored makes it empty.
 */
static int store_walk_base_path(struct store_walker *w, uint64_t root, const char *p, size_t n,
				struct errbuf *err)
{
	while (n > 0 && p[n - 1] == '/')
		n--;
	const char *slash = n ? memrchr(p, '/', n) : NULL;
	size_t dlen = slash ? (size_t)(slash - p) : 0;
	const char *last = slash ? slash + 1 : p;
	size_t llen = n - (size_t)(last - p);
	uint64_t dir, child;
	int rc = store_walk_resolve(w, root, p, dlen, false, &dir, err);
	if (rc < 0 || llen == 0)
		return rc < 0 ? rc : store_walk_push(w, dir, err);
	if (llen > 255)
		return store_walk_no(w, "entry", p, n, err);
	if ((rc = store_walk_link(w, dir, last, llen, &child, err)) < 0)
		return rc;
	if ((rc = store_walk_path_add(w, last, llen, err)) < 0)
		return rc;
	if (child)
		return store_walk_push(w, child, err);
	bytes_be64_put(w->key, dir);
	memcpy(w->key + 8, last, llen);
	w->k = (MDB_val){8 + llen, w->key};
	rc = mdb_get(w->txn, w->s->db_entries, &w->k, &w->v);
	if (rc == MDB_NOTFOUND)
		return store_walk_no(w, "entry", p, n, err);
	if (rc)
		return store_mdb_err(w->s, err, rc, "reading entries of %s", w->s->path);
	struct entry e;
	if (store_entry_decode(w->v.mv_data, w->v.mv_size, &e) < 0)
		return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt entry in %s",
				  w->scan_id, w->s->path);
	w->single = e.type != ENTRY_DIR;
	w->empty = e.type == ENTRY_DIR;
	w->single_dir = dir;
	return store_walk_push(w, dir, err);
}

/* Resolves the walk's prefix into the base frame, as its mode says. */
static int store_walk_base(struct store_walker *w, uint64_t root, struct errbuf *err)
{
	const struct store_walk_filter *f = w->rq->filter;
	const char *p = f && f->prefix ? f->prefix : "";
	size_t n = f && f->prefix ? f->prefix_len : 0;
	uint64_t dir;
	int rc;
	switch (f ? f->prefix_mode : STORE_PREFIX_DIR) {
	case STORE_PREFIX_PATH:
		return store_walk_base_path(w, root, p, n, err);
	case STORE_PREFIX_STRING: {
		/* "src/ma": the entries of src whose names start with "ma", and their subtrees. */
		const char *slash = n ? memrchr(p, '/', n) : NULL;
		size_t dlen = slash ? (size_t)(slash - p) : 0;
		w->head = slash ? slash + 1 : p;
		w->head_len = n - (size_t)(w->head - p);
		rc = store_walk_resolve(w, root, p, dlen, true, &dir, err);
		break;
	}
	case STORE_PREFIX_DIR:
	default:
		rc = store_walk_resolve(w, root, p, n, false, &dir, err);
		break;
	}
	return rc < 0 ? rc : store_walk_push(w, dir, err);
}

/* Rebuilds the stack from the base down to the directory of a resume position. */
static int store_walk_resume_stack(struct store_walker *w, uint64_t dir_id, struct errbuf *err)
{
	struct store_dir_rec *chain = NULL;
	size_t n = 0, cap = 0;
	uint64_t base = w->frames[0].dir_id;
	int rc = 0;
	for (uint64_t d = dir_id; d != base;) {
		unsigned char key[8];
		bytes_be64_put(key, d);
		MDB_val k = {8, key}, v;
		struct store_dir_rec rec;
		rc = mdb_get(w->txn, w->s->db_dirs, &k, &v);
		if (rc == MDB_NOTFOUND || (rc == 0 && store_dir_decode(v.mv_data, v.mv_size, &rec) == 0 &&
					  (rec.scan_id != w->scan_id || rec.parent == 0))) {
			/* Another scan's directory, or one outside the prefix. */
			rc = errbuf_set(err, -EINVAL, "walking scan %" PRIu64
					": the resume position is not one of this walk", w->scan_id);
			goto out;
		}
		if (rc) {
			rc = store_mdb_err(w->s, err, rc, "reading directories of %s", w->s->path);
			goto out;
		}
		if (store_dir_decode(v.mv_data, v.mv_size, &rec) < 0 || n >= STORE_WALK_MAX_DEPTH) {
			rc = errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt directory in %s",
					w->scan_id, w->s->path);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct store_dir_rec *c = realloc(chain, cap * sizeof(*c));
			if (!c) {
				rc = errbuf_errno(err, ENOMEM, "walking scan %" PRIu64, w->scan_id);
				goto out;
			}
			chain = c;
		}
		rec.scan_id = d; /* reused: the dir_id of this link of the chain */
		chain[n++] = rec;
		d = rec.parent;
	}
	while (n > 0) {
		n--;
		if ((rc = store_walk_path_add(w, chain[n].name, chain[n].name_len, err)) < 0 ||
		    (rc = store_walk_push(w, chain[n].scan_id, err)) < 0)
			goto out;
	}
out:
	free(chain);
	return rc;
}

/* Whether the cursor's key (valid when rc is 0) is in directory `dir`. */
static bool store_walk_in_dir(int rc, const MDB_val *k, uint64_t dir)
{
	return rc == 0 && k->mv_size > 8 && bytes_be64_get(k->mv_data) == dir;
}

/* The error of a resume position that does not belong to this walk. */
static int store_walk_bad_resume(struct store_walker *w, struct errbuf *err)
{
	return errbuf_set(err, -EINVAL, "walking scan %" PRIu64
			  ": the resume position is not one of this walk", w->scan_id);
}

/* Decodes the entry under the cursor. */
static int store_walk_decode(struct store_walker *w, struct entry *e, struct errbuf *err)
{
	if (store_entry_decode(w->v.mv_data, w->v.mv_size, e) < 0)
		return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt entry in %s",
				  w->scan_id, w->s->path);
	return 0;
}

/* Pushes directory `child` and puts the cursor on its first entry. */
static int store_walk_descend(struct store_walker *w, uint64_t child, struct errbuf *err)
{
	int rc = store_walk_push(w, child, err);
	if (rc < 0)
		return rc;
	bytes_be64_put(w->key, child);
	w->k = (MDB_val){8, w->key};
	w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_SET_RANGE);
	return 0;
}

/*
 * Puts the cursor on the first entry to look at: after the resume position (into its subtree
 * first when it is a directory), or at the start of the base directory.
 */
static int store_walk_position(struct store_walker *w, struct errbuf *err)
{
	const struct store_pos *resume = w->rq->resume;
	if (!resume || !resume->dir_id) {
		/* From the first entry, or the first whose name starts with the head. */
		bytes_be64_put(w->key, w->frames[0].dir_id);
		if (w->head_len)
			memcpy(w->key + 8, w->head, w->head_len);
		w->k = (MDB_val){8 + w->head_len, w->key};
		w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_SET_RANGE);
		return 0;
	}
	if (resume->name_len < 1 || resume->name_len > 255)
		return store_walk_bad_resume(w, err);
	int rc = store_walk_resume_stack(w, resume->dir_id, err);
	if (rc < 0)
		return rc;
	bytes_be64_put(w->key, resume->dir_id);
	memcpy(w->key + 8, resume->name, resume->name_len);
	w->k = (MDB_val){8 + resume->name_len, w->key};
	rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_SET_KEY);
	if (rc == MDB_NOTFOUND)
		return store_walk_bad_resume(w, err);
	if (rc)
		return store_mdb_err(w->s, err, rc, "reading entries of %s", w->s->path);
	struct entry e;
	if ((rc = store_walk_decode(w, &e, err)) < 0)
		return rc;
	w->out->next = *resume;
	uint64_t child = 0;
	if (e.type == ENTRY_DIR &&
	    (rc = store_walk_link(w, resume->dir_id, resume->name, resume->name_len, &child, err)) < 0)
		return rc;
	if (!child) {
		w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_NEXT);
		return 0;
	}
	if ((rc = store_walk_path_add(w, resume->name, resume->name_len, err)) < 0)
		return rc;
	return store_walk_descend(w, child, err);
}

/*
 * The top directory is done: drops its frame and puts the cursor after the directory's own
 * entry in its parent (its name is the path's last component). *have: the cursor is already on
 * the next entry to look at.
 */
static void store_walk_climb(struct store_walker *w, bool *have)
{
	struct store_walk_frame *top = &w->frames[w->depth - 1], *up = top - 1;
	size_t off = up->path_len ? up->path_len + 1 : 0;
	size_t len = top->path_len - off;
	bytes_be64_put(w->key, up->dir_id);
	memcpy(w->key + 8, w->path + off, len);
	w->k = (MDB_val){8 + len, w->key};
	w->depth--;
	w->path_len = up->path_len;
	w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_SET_RANGE);
	/* Past its own entry (found), or at whatever follows where it would be. */
	*have = !(w->rc == 0 && w->k.mv_size == 8 + len && memcmp(w->k.mv_data, w->key, 8 + len) == 0);
}

/*
 * Visits the entry under the cursor, in the top directory: gives it to the callback when the
 * filter passes it, then descends into it when it is a linked directory (*have set). Returns 1
 * when the walk stops here: the page is full, enough entries were examined, the callback said
 * stop (w->stop), or the base directory's names no longer start with the head.
 */
static int store_walk_visit(struct store_walker *w, bool *have, struct errbuf *err)
{
	const struct store_walk_req *rq = w->rq;
	struct store_walk_out *out = w->out;
	struct store_walk_frame *top = &w->frames[w->depth - 1];
	const char *name = (const char *)w->k.mv_data + 8;
	size_t name_len = w->k.mv_size - 8;
	/* Names sort bytewise: those starting with the head come together, from the first seek. */
	if (w->depth == 1 && w->head_len &&
	    (name_len < w->head_len || memcmp(name, w->head, w->head_len) != 0))
		return 1;
	if (rq->visit_limit && out->visited == rq->visit_limit) {
		out->more = true; /* resume at the last entry examined */
		return 1;
	}
	struct entry e;
	int rc = store_walk_decode(w, &e, err);
	if (rc < 0)
		return rc;
	e.name = name;
	e.name_len = name_len;
	w->path_len = top->path_len;
	if ((rc = store_walk_path_add(w, name, name_len, err)) < 0)
		return rc;
	if (store_filter_pass(rq->filter, w->path, w->path_len, &e)) {
		if (out->given == rq->limit) {
			out->more = true; /* another entry passes: the page stops before it */
			return 1;
		}
		if ((rc = rq->cb(rq->ctx, w->path, w->path_len, &e))) {
			w->stop = rc;
			return 1;
		}
		out->given++;
	}
	out->visited++;
	out->next.dir_id = top->dir_id;
	out->next.name_len = name_len;
	memcpy(out->next.name, name, name_len);
	if (e.type != ENTRY_DIR)
		return 0;
	uint64_t child;
	if ((rc = store_walk_link(w, top->dir_id, name, name_len, &child, err)) < 0)
		return rc;
	if (!child)
		return 0;
	*have = true;
	return store_walk_descend(w, child, err);
}

/* STORE_PREFIX_PATH naming a non-directory: the one entry (its path is w->path), if it passes. */
static int store_walk_one(struct store_walker *w, struct errbuf *err)
{
	const struct store_walk_req *rq = w->rq;
	if (rq->resume && rq->resume->dir_id)
		return 0; /* after the one entry: nothing */
	struct entry e;
	int rc = store_walk_decode(w, &e, err);
	if (rc < 0)
		return rc;
	const char *slash = memrchr(w->path, '/', w->path_len);
	e.name = slash ? slash + 1 : w->path;
	e.name_len = w->path_len - (size_t)(e.name - w->path);
	w->out->visited = 1;
	if (!store_filter_pass(rq->filter, w->path, w->path_len, &e))
		return 0;
	if (rq->limit == 0) {
		w->out->more = true;
		return 0;
	}
	if ((rc = rq->cb(rq->ctx, w->path, w->path_len, &e)))
		return rc;
	w->out->given = 1;
	return 0;
}

/* The walk proper, once the txn is open and the scan known to exist. */
static int store_walk_run(struct store_walker *w, uint64_t root, struct errbuf *err)
{
	int rc = store_walk_base(w, root, err);
	if (rc < 0 || w->empty)
		return rc;
	if (w->single)
		return store_walk_one(w, err);
	if ((rc = mdb_cursor_open(w->txn, w->s->db_entries, &w->cur)))
		return store_mdb_err(w->s, err, rc, "opening a cursor on %s", w->s->path);
	if ((rc = store_walk_position(w, err)) < 0)
		goto out;
	/* `have`: the cursor's current key is the next entry to look at. */
	bool have = true;
	for (;;) {
		if (!have)
			w->rc = mdb_cursor_get(w->cur, &w->k, &w->v, MDB_NEXT);
		have = false;
		if (w->rc && w->rc != MDB_NOTFOUND) {
			rc = store_mdb_err(w->s, err, w->rc, "reading entries of %s", w->s->path);
			goto out;
		}
		if (!store_walk_in_dir(w->rc, &w->k, w->frames[w->depth - 1].dir_id)) {
			if (w->depth == 1)
				break;
			store_walk_climb(w, &have);
			continue;
		}
		if ((rc = store_walk_visit(w, &have, err)) != 0)
			break;
	}
	rc = rc > 0 ? w->stop : rc;
out:
	mdb_cursor_close(w->cur);
	return rc;
}

/* Whether a prefix names a directory below the root (is not empty or only slashes). */
static bool store_walk_has_component(const char *prefix, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (prefix[i] != '/')
			return true;
	return false;
}

/*
 * Begins the walk's read transaction and finds the scan's root directory: 0 with *root set, or 0
 * and *root 0 when the scan has no directory stored yet; -ENOENT when there is no such scan.
 */
static int store_walk_open(struct store_walker *w, uint64_t *root, struct errbuf *err)
{
	unsigned char key[16];
	MDB_val k, v;
	*root = 0;
	int rc = store_read_begin(w->s, &w->txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(w->s, w->txn, w->scan_id, &v, err)) < 0)
		return rc;
	/* The root link: (0, scan id). A scan with no directory stored yet has no entries. */
	bytes_be64_put(key, 0);
	bytes_be64_put(key + 8, w->scan_id);
	k = (MDB_val){16, key};
	rc = mdb_get(w->txn, w->s->db_links, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(w->s, err, rc, "reading links from %s", w->s->path);
	if (v.mv_size != 8)
		return errbuf_set(err, -EIO, "walking scan %" PRIu64 ": corrupt root link in %s",
				  w->scan_id, w->s->path);
	*root = bytes_be64_get(v.mv_data);
	return 0;
}

static void store_walk_close(struct store_walker *w)
{
	if (w->txn)
		mdb_txn_abort(w->txn);
	free(w->path);
	free(w->frames);
}

int store_walk_ex(struct store *s, const struct store_walk_req *rq, struct store_walk_out *out,
		  struct errbuf *err)
{
	struct store_walker w = {.s = s, .scan_id = rq->scan_id, .rq = rq, .out = out};
	const struct store_walk_filter *filter = rq->filter;
	uint64_t root;
	memset(out, 0, sizeof(*out));
	int rc = store_walk_open(&w, &root, err);
	if (rc < 0 || root) {
		if (rc == 0)
			rc = rq->order == STORE_ORDER_STORED ? store_walk_stored(s, w.txn, rq, root, out, err)
							     : store_walk_run(&w, root, err);
	} else if (filter && filter->prefix && filter->prefix_mode != STORE_PREFIX_STRING &&
		   store_walk_has_component(filter->prefix, filter->prefix_len)) {
		rc = store_walk_no(&w, "directory", filter->prefix, filter->prefix_len, err);
	} else if (rq->resume && rq->resume->dir_id) {
		rc = store_walk_bad_resume(&w, err);
	}
	store_walk_close(&w);
	return rc;
}

int store_walk(struct store *s, uint64_t scan_id, const struct store_walk_filter *filter,
	       const struct store_pos *resume, size_t limit, store_entry_cb cb, void *ctx,
	       struct store_pos *next, bool *more, struct errbuf *err)
{
	const struct store_walk_req rq = {.scan_id = scan_id, .filter = filter, .resume = resume,
					  .limit = limit, .cb = cb, .ctx = ctx};
	struct store_walk_out out;
	int rc = store_walk_ex(s, &rq, &out, err);
	*more = out.more;
	*next = out.next;
	return rc;
}

int store_walk_all(struct store *s, const struct store_walk_req *rq, size_t chunk,
		   struct errbuf *err)
{
	struct store_walk_req r = *rq;
	struct store_pos pos;
	r.resume = NULL;
	r.limit = SIZE_MAX;
	r.visit_limit = chunk ? chunk : 4096;
	for (;;) {
		struct store_walk_out out;
		int rc = store_walk_ex(s, &r, &out, err);
		if (rc || !out.more)
			return rc;
		pos = out.next;
		r.resume = &pos;
	}
}

/* The entry at the path: its parent resolved strictly, then one lookup. */
static int store_entry_find(struct store_walker *w, uint64_t root, const char *path, size_t n,
			    struct errbuf *err)
{
	const char *slash = n ? memrchr(path, '/', n) : NULL;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	const char *last = slash ? slash + 1 : path;
	size_t llen = n - (size_t)(last - path);
	uint64_t dir;
	if (!root || llen == 0 || llen > 255)
		return store_walk_no(w, "entry", path, n, err);
	int rc = store_walk_resolve(w, root, path, dlen, true, &dir, err);
	if (rc == -ENOENT)
		return store_walk_no(w, "entry", path, n, err);
	if (rc < 0 || (rc = store_walk_path_add(w, last, llen, err)) < 0)
		return rc;
	bytes_be64_put(w->key, dir);
	memcpy(w->key + 8, last, llen);
	w->k = (MDB_val){8 + llen, w->key};
	rc = mdb_get(w->txn, w->s->db_entries, &w->k, &w->v);
	if (rc == MDB_NOTFOUND)
		return store_walk_no(w, "entry", path, n, err);
	if (rc)
		return store_mdb_err(w->s, err, rc, "reading entries of %s", w->s->path);
	return store_walk_decode(w, &(struct entry){0}, err);
}

int store_entry_get(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
		    store_entry_cb cb, void *ctx, struct errbuf *err)
{
	struct store_walker w = {.s = s, .scan_id = scan_id};
	uint64_t root;
	int rc = store_walk_open(&w, &root, err);
	if (rc == 0 && (rc = store_entry_find(&w, root, path, path_len, err)) == 0) {
		struct entry e;
		store_entry_decode(w.v.mv_data, w.v.mv_size, &e); /* checked by store_entry_find() */
		const char *slash = memrchr(w.path, '/', w.path_len);
		e.name = slash ? slash + 1 : w.path;
		e.name_len = w.path_len - (size_t)(e.name - w.path);
		rc = cb(ctx, w.path, w.path_len, &e);
	}
	store_walk_close(&w);
	return rc;
}

int store_errors(struct store *s, uint64_t scan_id, uint64_t after, size_t limit,
		 store_error_cb cb, void *ctx, uint64_t *next_after, bool *more,
		 struct errbuf *err)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	unsigned char key[16];
	MDB_val k, v;
	*more = false;
	*next_after = after;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, txn, scan_id, &v, err)) < 0)
		goto out;
	bytes_be64_put(key, scan_id);
	if ((rc = mdb_cursor_open(txn, s->db_errors, &cur))) {
		rc = store_mdb_err(s, err, rc, "reading errors of scan %" PRIu64 " from %s",
				   scan_id, s->path);
		goto out;
	}
	if (after == UINT64_MAX)
		goto out;
	bytes_be64_put(key + 8, after + 1);
	k = (MDB_val){16, key};
	size_t count = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == 16 && bytes_be64_get(k.mv_data) == scan_id;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (count == limit) {
			*more = true;
			break;
		}
		struct store_error e = {.seq = bytes_be64_get((const unsigned char *)k.mv_data + 8)};
		size_t op_len;
		const char *op;
		if (store_error_decode(v.mv_data, v.mv_size, &e.errnum, &op, &op_len, &e.path,
				       &e.path_len) < 0) {
			rc = errbuf_set(err, -EIO, "reading errors of scan %" PRIu64
					": corrupt record in %s", scan_id, s->path);
			goto out;
		}
		/* op is short ("open", "statx"): copy it to give the callback a C string. A detail
		 * follows it after a NUL byte (store_put_error_detail()). */
		char opbuf[64], detail[1024];
		const char *nul = memchr(op, '\0', op_len);
		size_t name_len = nul ? (size_t)(nul - op) : op_len;
		snprintf(opbuf, sizeof(opbuf), "%.*s", (int)name_len, op);
		e.op = opbuf;
		if (nul) {
			snprintf(detail, sizeof(detail), "%.*s", (int)(op_len - name_len - 1), nul + 1);
			e.detail = detail;
		}
		if ((rc = cb(ctx, &e)))
			goto out;
		count++;
		*next_after = e.seq;
	}
	if (rc && rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading errors of scan %" PRIu64 " from %s", scan_id,
				   s->path);
		goto out;
	}
	rc = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}
