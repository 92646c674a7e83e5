/* store_diff.c: the differences between two stored scans, by a merge of their ordered walks. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

static int store_diff_tally(void *ctx, const char *path, size_t path_len,
			    enum store_diff_change change, const struct entry *before,
			    const struct entry *after)
{
	(void)path, (void)path_len, (void)before, (void)after;
	((struct store_diff_counts *)ctx)->n[change]++;
	return 0;
}

int store_diff_count(struct store *s, uint64_t scan_a, uint64_t scan_b,
		     struct store_diff_counts *out, struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	struct store_diff_req rq = {.scan_a = scan_a, .scan_b = scan_b, .limit = SIZE_MAX,
				    .cb = store_diff_tally, .ctx = out};
	struct store_diff_out o;
	return store_diff(s, &rq, &o, err);
}
