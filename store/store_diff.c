/* store_diff.c: the differences between two stored scans, by a merge of their ordered walks. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "store/store_codec.h"
#include "store/store_impl.h"

/*
 * Both scans' entries come out of store_walk_ex() in depth-first pre-order, siblings in bytewise
 * order of names. That order is the order of paths compared component by component, which is
 * bytewise order with '/' counted below every other byte (names never hold '/' or NUL): "a/x"
 * comes before "a-b" since the component "a" is a prefix of "a-b". So the two walks merge like
 * two sorted lists: the smaller path is on one side only (added or removed), equal paths are
 * compared entry by entry. A subtree on one side only is a run of smaller paths, emitted whole.
 *
 * Each side reads `chunk` entries at a time into a buffer (one short read transaction per
 * chunk), so memory is bounded whatever the scans. A position is, per side, the last entry
 * consumed; walks resume after an entry by its (dir_id, name), which the walk hands out only for
 * the last entry of a call. When a page stops inside a chunk, the position of the k-th entry of
 * the chunk is found by walking k entries again from the chunk's start: one chunk at most, once
 * per page.
 */

#define STORE_DIFF_CHUNK 1024

/** One buffered entry: offsets into the side's arena until the chunk is complete. */
struct store_diff_item {
	struct entry e;
	size_t path_off, path_len, target_off;
};

/** One side of the merge: a walk read in chunks. */
struct store_diff_side {
	struct store *s;
	uint64_t scan_id;
	size_t chunk;
	/** The chunk was read after `start` (start_set) or from the scan's first entry. */
	bool start_set;
	struct store_pos start;
	/** Entries remain after this chunk; `end` is the chunk's last entry. */
	bool more, end_set;
	struct store_pos end;
	/** The chunk's entries, and the next one to consume. */
	struct store_diff_item *items;
	size_t n, cap, i;
	char *arena;
	size_t arena_len, arena_cap;
	bool oom;
	/** Whether anything is read yet (a first chunk is read on the first peek). */
	bool loaded;
};

static const char *const store_diff_names[STORE_DIFF_CHANGE_COUNT] = {
	"added", "removed", "modified", "type_changed"};

const char *store_diff_change_name(enum store_diff_change c)
{
	return (unsigned)c < STORE_DIFF_CHANGE_COUNT ? store_diff_names[c] : "?";
}

int store_diff_change_parse(const char *name, size_t len, enum store_diff_change *out)
{
	for (unsigned i = 0; i < STORE_DIFF_CHANGE_COUNT; i++)
		if (strlen(store_diff_names[i]) == len && memcmp(store_diff_names[i], name, len) == 0) {
			*out = (enum store_diff_change)i;
			return 0;
		}
	return -1;
}

/* Depth-first order of two relative paths: bytewise, '/' below every other byte. */
static int store_diff_path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	for (size_t i = 0; i < n; i++) {
		unsigned ca = a[i] == '/' ? 0u : (unsigned char)a[i];
		unsigned cb = b[i] == '/' ? 0u : (unsigned char)b[i];
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return an < bn ? -1 : an > bn;
}

/* Whether two entries of the same path and type differ (see STORE_DIFF_MODIFIED). */
static bool store_diff_modified(const struct entry *a, const struct entry *b)
{
	unsigned sa = a->flags & ENTRY_HAS_STAT, sb = b->flags & ENTRY_HAS_STAT;
	if (sa != sb)
		return true;
	if (sa) {
		if ((a->mode & 07777) != (b->mode & 07777))
			return true;
		if (a->type != ENTRY_DIR &&
		    (a->size != b->size || a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec))
			return true;
	}
	if (a->type == ENTRY_SYMLINK) {
		if (!a->target != !b->target || a->target_len != b->target_len ||
		    (a->target && memcmp(a->target, b->target, a->target_len) != 0))
			return true;
	}
	if ((a->flags & ENTRY_HAS_HASH) && (b->flags & ENTRY_HAS_HASH) &&
	    memcmp(a->sha256, b->sha256, sizeof(a->sha256)) != 0)
		return true;
	return false;
}

bool store_diff_same(const struct entry *a, const struct entry *b)
{
	return a->type == b->type && !store_diff_modified(a, b);
}

/* Copies `n` bytes to the arena; their offset in *off. */
static bool store_diff_arena_put(struct store_diff_side *d, const char *p, size_t n, size_t *off)
{
	if (d->arena_len + n > d->arena_cap) {
		size_t cap = d->arena_cap ? d->arena_cap : 65536;
		while (cap < d->arena_len + n)
			cap *= 2;
		char *a = realloc(d->arena, cap);
		if (!a)
			return false;
		d->arena = a;
		d->arena_cap = cap;
	}
	if (n)
		memcpy(d->arena + d->arena_len, p, n);
	*off = d->arena_len;
	d->arena_len += n;
	return true;
}

/* store_walk_ex() callback: buffers one entry. */
static int store_diff_collect(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct store_diff_side *d = ctx;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct store_diff_item *it = realloc(d->items, cap * sizeof(*it));
		if (!it)
			return -ENOMEM;
		d->items = it;
		d->cap = cap;
	}
	struct store_diff_item *it = &d->items[d->n];
	it->e = *e;
	it->path_len = path_len;
	it->target_off = 0;
	if (!store_diff_arena_put(d, path, path_len, &it->path_off) ||
	    (e->target && !store_diff_arena_put(d, e->target, e->target_len, &it->target_off)))
		return -ENOMEM;
	d->n++;
	return 0;
}

/* Reads the chunk after `end` (or the first one); the arena is stable once it returns. */
static int store_diff_fill(struct store_diff_side *d, struct errbuf *err)
{
	if (d->loaded) {
		d->start_set = d->end_set;
		d->start = d->end;
	}
	d->loaded = true;
	d->n = d->i = d->arena_len = 0;
	struct store_walk_req rq = {.scan_id = d->scan_id, .order = STORE_ORDER_TREE,
				    .resume = d->start_set ? &d->start : NULL, .limit = d->chunk,
				    .cb = store_diff_collect, .ctx = d};
	struct store_walk_out o;
	int rc = store_walk_ex(d->s, &rq, &o, err);
	if (rc > 0 || rc == -ENOMEM)
		return errbuf_set(err, -ENOMEM, "out of memory reading scan %llu for a diff",
				  (unsigned long long)d->scan_id);
	if (rc < 0)
		return rc;
	d->more = o.more;
	d->end_set = d->start_set || o.given > 0;
	d->end = o.given > 0 ? o.next : d->start;
	for (size_t k = 0; k < d->n; k++) {
		struct store_diff_item *it = &d->items[k];
		const char *path = d->arena + it->path_off;
		it->e.name = path + it->path_len - it->e.name_len;
		if (it->e.target)
			it->e.target = d->arena + it->target_off;
	}
	return 0;
}

/* The next entry of side d, or NULL at its end; *rc gets a failure. */
static const struct store_diff_item *store_diff_peek(struct store_diff_side *d, int *rc,
						     struct errbuf *err)
{
	while (!d->loaded || (d->i == d->n && d->more)) {
		if ((*rc = store_diff_fill(d, err)) < 0)
			return NULL;
	}
	return d->i < d->n ? &d->items[d->i] : NULL;
}

static int store_diff_count_cb(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	(void)path, (void)path_len, (void)e;
	(void)ctx;
	return 0;
}

/* The position after the entries consumed so far on side d: the last one consumed. */
static int store_diff_side_pos(struct store_diff_side *d, bool *set, struct store_pos *pos,
			       struct errbuf *err)
{
	if (!d->loaded || d->i == 0) {
		*set = d->start_set;
		*pos = d->start;
		return 0;
	}
	if (d->i == d->n) {
		*set = d->end_set;
		*pos = d->end;
		return 0;
	}
	struct store_walk_req rq = {.scan_id = d->scan_id, .order = STORE_ORDER_TREE,
				    .resume = d->start_set ? &d->start : NULL, .limit = d->i,
				    .cb = store_diff_count_cb};
	struct store_walk_out o;
	int rc = store_walk_ex(d->s, &rq, &o, err);
	if (rc < 0)
		return rc;
	if (o.given != d->i)
		return errbuf_set(err, -EIO, "scan %llu changed while it was diffed",
				  (unsigned long long)d->scan_id);
	*set = true;
	*pos = o.next;
	return 0;
}

static void store_diff_side_free(struct store_diff_side *d)
{
	free(d->items);
	free(d->arena);
}

/* One step of the merge: the change of the smaller path(s), or -1 when they are the same. */
static int store_diff_step(const struct store_diff_item *a, const struct store_diff_item *b,
			   struct store_diff_side *da, struct store_diff_side *db, int *cmp)
{
	*cmp = !a ? 1 : !b ? -1
			   : store_diff_path_cmp(da->arena + a->path_off, a->path_len,
						 db->arena + b->path_off, b->path_len);
	if (*cmp < 0)
		return STORE_DIFF_REMOVED;
	if (*cmp > 0)
		return STORE_DIFF_ADDED;
	if (a->e.type != b->e.type)
		return STORE_DIFF_TYPE_CHANGED;
	return store_diff_modified(&a->e, &b->e) ? STORE_DIFF_MODIFIED : -1;
}

/* The merge loop proper, once both sides are set up. */
static int store_diff_merge(const struct store_diff_req *rq, struct store_diff_side *da,
			    struct store_diff_side *db, struct store_diff_out *out,
			    struct errbuf *err)
{
	unsigned mask = rq->change_mask ? rq->change_mask : (1u << STORE_DIFF_CHANGE_COUNT) - 1;
	for (;;) {
		int rc = 0;
		const struct store_diff_item *a = store_diff_peek(da, &rc, err);
		if (rc < 0)
			return rc;
		const struct store_diff_item *b = store_diff_peek(db, &rc, err);
		if (rc < 0)
			return rc;
		if (!a && !b)
			return 0;
		int cmp;
		int change = store_diff_step(a, b, da, db, &cmp);
		if (change >= 0 && (mask & (1u << change))) {
			if (out->given == rq->limit) {
				out->more = true; /* another difference: the page stops before it */
				if ((rc = store_diff_side_pos(da, &out->next.a_started, &out->next.a, err)) < 0 ||
				    (rc = store_diff_side_pos(db, &out->next.b_started, &out->next.b, err)) < 0)
					return rc;
				return 0;
			}
			const struct store_diff_item *p = cmp > 0 ? b : a;
			const struct store_diff_side *dp = cmp > 0 ? db : da;
			if ((rc = rq->cb(rq->ctx, dp->arena + p->path_off, p->path_len,
					 (enum store_diff_change)change, cmp > 0 ? NULL : &a->e,
					 cmp < 0 ? NULL : &b->e)))
				return rc;
			out->given++;
		}
		if (cmp <= 0)
			da->i++;
		if (cmp >= 0)
			db->i++;
	}
}

int store_diff(struct store *s, const struct store_diff_req *rq, struct store_diff_out *out,
	       struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	size_t chunk = rq->chunk ? rq->chunk : STORE_DIFF_CHUNK;
	struct store_diff_side da = {.s = s, .scan_id = rq->scan_a, .chunk = chunk};
	struct store_diff_side db = {.s = s, .scan_id = rq->scan_b, .chunk = chunk};
	if (rq->resume) {
		da.start_set = rq->resume->a_started;
		da.start = rq->resume->a;
		db.start_set = rq->resume->b_started;
		db.start = rq->resume->b;
	}
	int rc = store_diff_merge(rq, &da, &db, out, err);
	store_diff_side_free(&da);
	store_diff_side_free(&db);
	return rc;
}

/*
 * Counting. The count is the same merge, done directory by directory: a path belongs to exactly
 * one directory (its parent), so the paths of the two walks differ where the entries of the
 * same directory differ, and a directory on one side only contributes all of its rows. The two
 * roots are paired, then each pair of same-named subdirectories; a subdirectory on one side only
 * is paired with none. Rows are compared as stored: equal bytes are equal entries, and only rows
 * that differ are decoded. Pairs are kept on a stack (order does not matter to a count), and the
 * whole count reads in one transaction: a few milliseconds for salsa-like's 72k entries, where
 * the path merge takes tens.
 */

/* A directory of each scan (0: none on that side), to be compared. */
struct store_diff_pair {
	uint64_t a, b;
};

struct store_diff_counter {
	struct store *s;
	MDB_txn *txn;
	MDB_cursor *ca, *cb;
	struct store_diff_pair *stack;
	size_t n, cap;
	struct store_diff_counts *out;
	/* Scan b's directories marked as copies of scan a's (store_batch_mark_copy()), by dir. */
	struct store_diff_pair *copies;
	size_t n_copies;
};

static int store_diff_push(struct store_diff_counter *c, uint64_t a, uint64_t b)
{
	if (!a && !b)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		struct store_diff_pair *p = realloc(c->stack, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->stack = p;
		c->cap = cap;
	}
	c->stack[c->n++] = (struct store_diff_pair){a, b};
	return 0;
}

/* The dir_id linked from (parent, name): 0 when none (a directory that was not read). */
static int store_diff_child(struct store_diff_counter *c, uint64_t parent, const MDB_val *key,
			    uint64_t *child, struct errbuf *err)
{
	*child = 0;
	if (!parent)
		return 0;
	unsigned char buf[8 + 256];
	size_t name_len = key->mv_size - 8;
	if (name_len > 255)
		return 0;
	bytes_be64_put(buf, parent);
	memcpy(buf + 8, (const char *)key->mv_data + 8, name_len);
	MDB_val k = {8 + name_len, buf}, v;
	int rc = mdb_get(c->txn, c->s->db_links, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(c->s, err, rc, "reading links of %s", c->s->path);
	if (v.mv_size == 8)
		*child = bytes_be64_get(v.mv_data);
	return 0;
}

static bool store_diff_row_is_dir(const MDB_val *v)
{
	return v->mv_size > 0 && (enum entry_type)(*(const unsigned char *)v->mv_data & 3u) == ENTRY_DIR;
}

/* One row present on one side only (side 'a': removed): counted, its subtree queued. */
static int store_diff_one_side(struct store_diff_counter *c, bool side_a, uint64_t dir,
			       const MDB_val *k, const MDB_val *v, struct errbuf *err)
{
	c->out->n[side_a ? STORE_DIFF_REMOVED : STORE_DIFF_ADDED]++;
	if (!store_diff_row_is_dir(v))
		return 0;
	uint64_t child;
	int rc = store_diff_child(c, dir, k, &child, err);
	if (rc == 0)
		rc = side_a ? store_diff_push(c, child, 0) : store_diff_push(c, 0, child);
	return rc;
}

/* The same name on both sides: compared (decoded only when the bytes differ). */
static int store_diff_both(struct store_diff_counter *c, const struct store_diff_pair *p,
			   const MDB_val *k, const MDB_val *va, const MDB_val *vb,
			   struct errbuf *err)
{
	bool da = store_diff_row_is_dir(va), db = store_diff_row_is_dir(vb);
	if (va->mv_size != vb->mv_size || memcmp(va->mv_data, vb->mv_data, va->mv_size) != 0) {
		struct entry ea, eb;
		if (store_entry_decode(va->mv_data, va->mv_size, &ea) < 0 ||
		    store_entry_decode(vb->mv_data, vb->mv_size, &eb) < 0)
			return errbuf_set(err, -EIO, "a damaged entry in scans being diffed in %s",
					  c->s->path);
		if (ea.type != eb.type)
			c->out->n[STORE_DIFF_TYPE_CHANGED]++;
		else if (store_diff_modified(&ea, &eb))
			c->out->n[STORE_DIFF_MODIFIED]++;
	}
	uint64_t ca = 0, cb = 0;
	int rc = 0;
	if (da)
		rc = store_diff_child(c, p->a, k, &ca, err);
	if (rc == 0 && db)
		rc = store_diff_child(c, p->b, k, &cb, err);
	return rc < 0 ? rc : store_diff_push(c, ca, cb);
}

/*
 * Positions cursor `cur` (on a table keyed dir_id + name: "entries" or "links", as `what` names
 * it) on the first row of `dir`: 0 with *ok, or an error.
 */
static int store_diff_first(struct store_diff_counter *c, MDB_cursor *cur, const char *what,
			    uint64_t dir, unsigned char key[8], MDB_val *k, MDB_val *v, bool *ok,
			    struct errbuf *err)
{
	*ok = false;
	if (!dir)
		return 0;
	bytes_be64_put(key, dir);
	*k = (MDB_val){8, key};
	int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(c->s, err, rc, "reading %s of %s", what, c->s->path);
	*ok = rc == 0 && k->mv_size > 8 && bytes_be64_get(k->mv_data) == dir;
	return 0;
}

/* Steps cursor `cur` to the next row of `dir`. */
static int store_diff_next(struct store_diff_counter *c, MDB_cursor *cur, const char *what,
			   uint64_t dir, MDB_val *k, MDB_val *v, bool *ok, struct errbuf *err)
{
	int rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(c->s, err, rc, "reading %s of %s", what, c->s->path);
	*ok = rc == 0 && k->mv_size > 8 && bytes_be64_get(k->mv_data) == dir;
	return 0;
}

/* Merges the rows of one pair of directories by name (the order the table keeps them in). */
static int store_diff_pair_rows(struct store_diff_counter *c, struct store_diff_pair p,
				struct errbuf *err)
{
	unsigned char keya[8], keyb[8];
	MDB_val ka, va, kb, vb;
	bool oka, okb;
	int rc = store_diff_first(c, c->ca, "entries", p.a, keya, &ka, &va, &oka, err);
	if (rc == 0)
		rc = store_diff_first(c, c->cb, "entries", p.b, keyb, &kb, &vb, &okb, err);
	while (rc == 0 && (oka || okb)) {
		int cmp = !oka ? 1
			  : !okb ? -1
				 : store_name_cmp((const char *)ka.mv_data + 8, ka.mv_size - 8,
						  (const char *)kb.mv_data + 8, kb.mv_size - 8);
		if (cmp < 0)
			rc = store_diff_one_side(c, true, p.a, &ka, &va, err);
		else if (cmp > 0)
			rc = store_diff_one_side(c, false, p.b, &kb, &vb, err);
		else
			rc = store_diff_both(c, &p, &ka, &va, &vb, err);
		if (rc == 0 && cmp <= 0)
			rc = store_diff_next(c, c->ca, "entries", p.a, &ka, &va, &oka, err);
		if (rc == 0 && cmp >= 0)
			rc = store_diff_next(c, c->cb, "entries", p.b, &kb, &vb, &okb, err);
	}
	return rc;
}

/* Whether scan b's directory p.b is marked as a copy of scan a's p.a. */
static bool store_diff_is_copy(const struct store_diff_counter *c, struct store_diff_pair p)
{
	size_t lo = 0, hi = c->n_copies;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->copies[mid].b < p.b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return p.a && p.b && lo < c->n_copies && c->copies[lo].b == p.b && c->copies[lo].a == p.a;
}

/* The dir_id a link holds (0: a damaged one, paired with none). */
static uint64_t store_diff_link_id(const MDB_val *v)
{
	return v->mv_size == 8 ? bytes_be64_get(v->mv_data) : 0;
}

/*
 * A directory pair whose rows are equal (scan b's is marked as a copy of scan a's): nothing to
 * count in it, and its subdirectories, the same names on both sides, are paired through the
 * links of each side, as store_diff_both() pairs them. A subdirectory read on one side only is
 * paired with none, as there.
 */
static int store_diff_pair_links(struct store_diff_counter *c, MDB_cursor *la, MDB_cursor *lb,
				 struct store_diff_pair p, struct errbuf *err)
{
	unsigned char keya[8], keyb[8];
	MDB_val ka, va, kb, vb;
	bool oka, okb;
	int rc = store_diff_first(c, la, "links", p.a, keya, &ka, &va, &oka, err);
	if (rc == 0)
		rc = store_diff_first(c, lb, "links", p.b, keyb, &kb, &vb, &okb, err);
	while (rc == 0 && (oka || okb)) {
		int cmp = !oka ? 1
			  : !okb ? -1
				 : store_name_cmp((const char *)ka.mv_data + 8, ka.mv_size - 8,
						  (const char *)kb.mv_data + 8, kb.mv_size - 8);
		rc = store_diff_push(c, cmp <= 0 ? store_diff_link_id(&va) : 0,
				     cmp >= 0 ? store_diff_link_id(&vb) : 0);
		if (rc == 0 && cmp <= 0)
			rc = store_diff_next(c, la, "links", p.a, &ka, &va, &oka, err);
		if (rc == 0 && cmp >= 0)
			rc = store_diff_next(c, lb, "links", p.b, &kb, &vb, &okb, err);
	}
	return rc;
}

/* The root directory of a scan (0: none stored yet); -ENOENT when the scan is not there. */
static int store_diff_root(struct store_diff_counter *c, uint64_t scan, uint64_t *root,
			   struct errbuf *err)
{
	MDB_val rec;
	int rc = store_scan_lookup(c->s, c->txn, scan, &rec, err);
	if (rc < 0)
		return rc;
	unsigned char key[16];
	bytes_be64_put(key, 0);
	bytes_be64_put(key + 8, scan);
	MDB_val k = {16, key}, v;
	*root = 0;
	rc = mdb_get(c->txn, c->s->db_links, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(c->s, err, rc, "reading links of %s", c->s->path);
	if (v.mv_size != 8)
		return errbuf_set(err, -EIO, "scan %" PRIu64 ": corrupt root link in %s", scan,
				  c->s->path);
	*root = bytes_be64_get(v.mv_data);
	return 0;
}

/*
 * Scan b's directories marked as copies of scan a's, from its notes (only while it writes; once
 * it finished, every pair is read). The notes are in dir order, so the pairs come sorted by b.
 */
static int store_diff_copies(struct store_diff_counter *c, uint64_t scan_a, uint64_t scan_b,
			     struct errbuf *err)
{
	struct store_dir_note *notes;
	size_t n;
	int rc = scan_a == scan_b ? -ENODATA : store_state_notes(c->s, scan_b, &notes, &n);
	if (rc == -ENODATA)
		return 0;
	if (rc < 0)
		return errbuf_set(err, -ENOMEM, "out of memory counting the diff of scans %" PRIu64
				  " and %" PRIu64, scan_a, scan_b);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (notes[i].copy_of)
			k++;
	if (k > 0 && !(c->copies = malloc(k * sizeof(*c->copies)))) {
		free(notes);
		return errbuf_set(err, -ENOMEM, "out of memory counting the diff of scans %" PRIu64
				  " and %" PRIu64, scan_a, scan_b);
	}
	for (size_t i = 0; i < n; i++)
		if (notes[i].copy_of)
			c->copies[c->n_copies++] = (struct store_diff_pair){notes[i].copy_of, notes[i].dir};
	free(notes);
	return 0;
}

static int store_diff_count_txn(struct store_diff_counter *c, uint64_t scan_a, uint64_t scan_b,
				struct errbuf *err)
{
	uint64_t ra, rb;
	int rc = store_diff_root(c, scan_a, &ra, err);
	if (rc == 0)
		rc = store_diff_root(c, scan_b, &rb, err);
	if (rc == 0 && (rc = mdb_cursor_open(c->txn, c->s->db_entries, &c->ca)) == 0 &&
	    (rc = mdb_cursor_open(c->txn, c->s->db_entries, &c->cb)) != 0) {
		mdb_cursor_close(c->ca);
		c->ca = NULL;
	}
	if (rc > 0)
		return store_mdb_err(c->s, err, rc, "reading entries of %s", c->s->path);
	if (rc < 0)
		return rc;
	MDB_cursor *la = NULL, *lb = NULL;
	if (rc == 0 && c->n_copies > 0 &&
	    ((rc = mdb_cursor_open(c->txn, c->s->db_links, &la)) != 0 ||
	     (rc = mdb_cursor_open(c->txn, c->s->db_links, &lb)) != 0))
		rc = store_mdb_err(c->s, err, rc, "reading links of %s", c->s->path);
	if (rc == 0)
		rc = store_diff_push(c, ra, rb);
	while (rc == 0 && c->n > 0) {
		struct store_diff_pair p = c->stack[--c->n];
		rc = la && store_diff_is_copy(c, p) ? store_diff_pair_links(c, la, lb, p, err)
						    : store_diff_pair_rows(c, p, err);
	}
	if (la)
		mdb_cursor_close(la);
	if (lb)
		mdb_cursor_close(lb);
	mdb_cursor_close(c->ca);
	mdb_cursor_close(c->cb);
	if (rc == -ENOMEM)
		return errbuf_set(err, -ENOMEM, "out of memory counting the diff of scans %" PRIu64
				  " and %" PRIu64, scan_a, scan_b);
	return rc;
}

int store_diff_count(struct store *s, uint64_t scan_a, uint64_t scan_b,
		     struct store_diff_counts *out, struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	struct store_diff_counter c = {.s = s, .out = out};
	int rc = store_diff_copies(&c, scan_a, scan_b, err);
	if (rc < 0)
		return rc;
	if ((rc = store_read_begin(s, &c.txn, err)) < 0) {
		free(c.copies);
		return rc;
	}
	rc = store_diff_count_txn(&c, scan_a, scan_b, err);
	mdb_txn_abort(c.txn);
	free(c.stack);
	free(c.copies);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
