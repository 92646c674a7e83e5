/* test_store_diff.c: store_diff()'s merge walk against a truth computed from two synthetic scans. */
#include "tests/unit/test_store_util.h"

#include "api/diff_json.h"

/*
 * A scan is a model: a list of nodes (path, type, attributes) forming a tree. It is stored with
 * store_put_dir(), directory by directory; the truth of a diff is computed from the two models
 * alone (a union of paths, sorted by their list of components), and store_diff() must give
 * exactly it, whole or page by page, with chunks as small as one entry.
 */

#define TD_MAX 4096
#define TD_PATH 2048

struct td_node {
	char path[TD_PATH];
	enum entry_type type;
	uint64_t size;
	int64_t mtime;
	uint32_t mode;
	char target[16];
	bool hash;
	unsigned char h;
	bool gone;
};

struct td_model {
	struct td_node *n;
	size_t count;
};

/* A small deterministic generator (xorshift). */
static uint64_t td_rand(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* Names that sort around '/': '-' and '.' are below it, '0' and letters above; plus non-UTF-8. */
static const char *const td_names[] = {"a", "a-b", "a.b", "a0", "ab", "b", "\xff\xfe", "z z",
				       "A", "a\x7f", "\x01x", "~"};
#define TD_NAMES (sizeof(td_names) / sizeof(td_names[0]))

static struct td_node *td_add(struct td_model *m, const char *parent, const char *name,
			      enum entry_type t, uint64_t seed)
{
	if (m->count == TD_MAX || strchr(name, '/'))
		return NULL;
	struct td_node *x = &m->n[m->count];
	memset(x, 0, sizeof(*x));
	int w = parent[0] ? snprintf(x->path, TD_PATH, "%s/%s", parent, name)
			  : snprintf(x->path, TD_PATH, "%s", name);
	if (w < 0 || w >= TD_PATH)
		return NULL;
	for (size_t i = 0; i < m->count; i++)
		if (!m->n[i].gone && strcmp(m->n[i].path, x->path) == 0)
			return NULL;
	x->type = t;
	x->size = seed % 5000;
	x->mtime = 1700000000 + (int64_t)(seed % 1000);
	x->mode = t == ENTRY_DIR ? 0755 : 0644;
	if (t == ENTRY_SYMLINK)
		snprintf(x->target, sizeof(x->target), "t%u", (unsigned)(seed % 97));
	x->hash = t == ENTRY_FILE && seed % 2;
	x->h = (unsigned char)seed;
	m->count++;
	return x;
}

/* A random tree under `parent`, `depth` levels at most. */
static void td_grow(struct td_model *m, const char *parent, unsigned depth, uint64_t *st)
{
	for (size_t i = 0; i < TD_NAMES; i++) {
		if (td_rand(st) % 3 == 0)
			continue;
		uint64_t r = td_rand(st);
		enum entry_type t = depth && r % 3 == 0 ? ENTRY_DIR : r % 7 == 0 ? ENTRY_SYMLINK : ENTRY_FILE;
		struct td_node *x = td_add(m, parent, td_names[i], t, td_rand(st));
		if (x && t == ENTRY_DIR) {
			char p[TD_PATH];
			snprintf(p, sizeof(p), "%s", x->path);
			td_grow(m, p, depth - 1, st);
		}
	}
}

static bool td_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Drops node i and its subtree. */
static void td_drop(struct td_model *m, size_t i)
{
	char dir[TD_PATH];
	snprintf(dir, sizeof(dir), "%s", m->n[i].path);
	for (size_t k = 0; k < m->count; k++)
		if (strcmp(m->n[k].path, dir) == 0 || td_under(m->n[k].path, dir))
			m->n[k].gone = true;
}

static int td_name_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* The dir_id each directory of a stored model was given, by path. */
struct td_ids {
	char (*path)[TD_PATH];
	uint64_t *id;
	size_t n;
};

/*
 * Copy marks (store_batch_mark_copy()) while storing a model: each directory whose children are
 * those of the same directory of `base` (stored as `base_ids`), attribute for attribute, is
 * marked as a copy of it. `lie`: one directory whose rows differ is marked too.
 */
struct td_marks {
	struct td_ids *ids; /* filled with the stored model's dir_ids, or NULL */
	const struct td_model *base;
	const struct td_ids *base_ids;
	bool lie, lied;
	size_t marked;
};

static uint64_t td_id_of(const struct td_ids *ids, const char *path)
{
	for (size_t i = 0; ids && i < ids->n; i++)
		if (strcmp(ids->path[i], path) == 0)
			return ids->id[i];
	return 0;
}

static bool td_node_same(const struct td_node *x, const struct td_node *y)
{
	return x->type == y->type && x->size == y->size && x->mtime == y->mtime &&
	       x->mode == y->mode && strcmp(x->target, y->target) == 0 && x->hash == y->hash &&
	       x->h == y->h;
}

/* How many children of `dir` in `m` differ from (or are missing in) `o`. */
static size_t td_children_differ(const struct td_model *m, const struct td_model *o,
				 const char *dir)
{
	size_t dl = strlen(dir), n = 0;
	for (size_t i = 0; i < m->count; i++) {
		const struct td_node *x = &m->n[i];
		const char *rest = dl ? (td_under(x->path, dir) ? x->path + dl + 1 : NULL) : x->path;
		if (x->gone || !rest || strchr(rest, '/'))
			continue;
		const struct td_node *y = NULL;
		for (size_t k = 0; k < o->count && !y; k++)
			if (!o->n[k].gone && strcmp(o->n[k].path, x->path) == 0)
				y = &o->n[k];
		n += !y || !td_node_same(x, y);
	}
	return n;
}

/* The copy mark of directory `dir` of model `m`, if any (see struct td_marks). */
static void td_mark(struct td_marks *mk, const struct td_model *m, const char *dir,
		    struct store_batch *b)
{
	uint64_t base = mk ? td_id_of(mk->base_ids, dir) : 0;
	if (!base)
		return;
	size_t differ = td_children_differ(m, mk->base, dir) + td_children_differ(mk->base, m, dir);
	if (differ == 0) {
		store_batch_mark_copy(b, base);
		mk->marked++;
	} else if (mk->lie && !mk->lied) {
		store_batch_mark_copy(b, base);
		mk->lied = true;
	}
}

/* Stores directory `dir` of the model (its children), then its subdirectories. */
static void td_store_dir(struct store *s, uint64_t scan, const struct td_model *m, const char *dir,
			 uint64_t parent_id, const char *name, struct store_batch *b,
			 struct td_marks *mk)
{
	struct entry *kids = calloc(m->count + 1, sizeof(*kids));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kids);
	size_t nk = 0, dl = strlen(dir);
	for (size_t i = 0; i < m->count; i++) {
		const struct td_node *x = &m->n[i];
		const char *rest = dl ? (td_under(x->path, dir) ? x->path + dl + 1 : NULL) : x->path;
		if (x->gone || !rest || strchr(rest, '/'))
			continue;
		struct entry e = {.name = rest, .name_len = strlen(rest), .type = x->type,
				  .flags = ENTRY_HAS_STAT, .mode = x->mode, .size = x->size,
				  .mtime_sec = x->mtime, .nlink = 1, .ino = i + 1};
		if (x->type == ENTRY_SYMLINK) {
			e.target = x->target;
			e.target_len = strlen(x->target);
		}
		if (x->hash) {
			e.flags |= ENTRY_HAS_HASH;
			memset(e.sha256, x->h, sizeof(e.sha256));
		}
		kids[nk++] = e;
	}
	qsort(kids, nk, sizeof(*kids), td_name_cmp);
	struct errbuf err = {0};
	for (size_t i = 0; i < nk; i++)
		CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &kids[i], &err), 0);
	td_mark(mk, m, dir, b);
	uint64_t id = 0;
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, parent_id, name, strlen(name), b, &id, &err), 0);
	if (mk && mk->ids) {
		struct td_ids *t = mk->ids;
		t->path = realloc(t->path, (t->n + 1) * sizeof(*t->path));
		t->id = realloc(t->id, (t->n + 1) * sizeof(*t->id));
		CU_ASSERT_FATAL(t->path && t->id);
		snprintf(t->path[t->n], TD_PATH, "%s", dir);
		t->id[t->n++] = id;
	}
	for (size_t i = 0; i < nk; i++) {
		if (kids[i].type != ENTRY_DIR)
			continue;
		char sub[TD_PATH], nm[256];
		snprintf(nm, sizeof(nm), "%.*s", (int)kids[i].name_len, kids[i].name);
		snprintf(sub, sizeof(sub), "%s%s%s", dir, dl ? "/" : "", nm);
		td_store_dir(s, scan, m, sub, id, nm, b, mk);
	}
	free(kids);
}

/* Stores model m as a new running scan, with copy marks when `mk` says so. */
static uint64_t td_store_marked(struct store *s, const struct td_model *m, struct td_marks *mk)
{
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/td");
	struct store_batch *b = NULL;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	td_store_dir(s, scan, m, "", 0, "", b, mk);
	store_batch_destroy(b);
	CU_ASSERT_EQUAL_FATAL(store_flush(s, scan, &err), 0);
	return scan;
}

static uint64_t td_store(struct store *s, const struct td_model *m)
{
	return td_store_marked(s, m, NULL);
}

/* The truth's order: components compared bytewise (unsigned), a prefix first. */
static int td_path_order(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		size_t n = la < lb ? la : lb;
		int c = memcmp(a, b, n);
		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		if (!a[la] || !b[lb])
			return !a[la] && !b[lb] ? 0 : !a[la] ? -1 : 1;
		a += la + 1;
		b += lb + 1;
	}
}

static const struct td_node *td_find(const struct td_model *m, const char *path)
{
	for (size_t i = 0; i < m->count; i++)
		if (!m->n[i].gone && strcmp(m->n[i].path, path) == 0)
			return &m->n[i];
	return NULL;
}

/* One line of a diff: "change path". */
struct td_lines {
	char **v;
	size_t n;
};

static void td_line(struct td_lines *l, const char *change, const char *path, size_t len)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v)
		abort();
	if (asprintf(&l->v[l->n], "%s %.*s", change, (int)len, path) < 0)
		abort();
	l->n++;
}

static void td_lines_free(struct td_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int td_sort_idx(const void *a, const void *b)
{
	return td_path_order(*(const char *const *)a, *(const char *const *)b);
}

/* The truth: every path of either model, sorted, with its change. */
static void td_truth(const struct td_model *a, const struct td_model *b, struct td_lines *out)
{
	const char **paths = calloc(a->count + b->count + 1, sizeof(*paths));
	size_t n = 0;
	for (size_t i = 0; i < a->count; i++)
		if (!a->n[i].gone)
			paths[n++] = a->n[i].path;
	for (size_t i = 0; i < b->count; i++)
		if (!b->n[i].gone && !td_find(a, b->n[i].path))
			paths[n++] = b->n[i].path;
	qsort(paths, n, sizeof(*paths), td_sort_idx);
	for (size_t i = 0; i < n; i++) {
		const struct td_node *x = td_find(a, paths[i]), *y = td_find(b, paths[i]);
		const char *c = NULL;
		if (!x)
			c = "added";
		else if (!y)
			c = "removed";
		else if (x->type != y->type)
			c = "type_changed";
		else if (x->mode != y->mode ||
			 (x->type != ENTRY_DIR && (x->size != y->size || x->mtime != y->mtime)) ||
			 strcmp(x->target, y->target) != 0 || (x->hash && y->hash && x->h != y->h))
			c = "modified";
		if (c)
			td_line(out, c, paths[i], strlen(paths[i]));
	}
	free(paths);
}

struct td_got {
	struct td_lines l;
	bool bad; /* before/after not as the change says */
};

static int td_cb(void *ctx, const char *path, size_t len, enum store_diff_change c,
		 const struct entry *before, const struct entry *after)
{
	struct td_got *g = ctx;
	if ((c == STORE_DIFF_ADDED) != !before || (c == STORE_DIFF_REMOVED) != !after)
		g->bad = true;
	const struct entry *e = after ? after : before;
	if (e->name_len > len || memcmp(path + len - e->name_len, e->name, e->name_len) != 0)
		g->bad = true;
	td_line(&g->l, store_diff_change_name(c), path, len);
	return 0;
}

/* The diff of a to b in pages of `page` with chunks of `chunk`; returns the last rc. */
static int td_diff(struct store *s, uint64_t a, uint64_t b, size_t page, size_t chunk,
		   unsigned mask, struct td_got *g)
{
	struct store_diff_pos pos;
	bool first = true;
	struct errbuf err = {0};
	for (int guard = 0; guard < 100000; guard++) {
		struct store_diff_req rq = {.scan_a = a, .scan_b = b, .change_mask = mask,
					    .resume = first ? NULL : &pos, .limit = page,
					    .chunk = chunk, .cb = td_cb, .ctx = g};
		struct store_diff_out o;
		int rc = store_diff(s, &rq, &o, &err);
		if (rc)
			return rc;
		if (!o.more)
			return 0;
		if (o.given != page)
			return -1000; /* a page that stopped early though more remain */
		pos = o.next;
		first = false;
	}
	return -1001;
}

static void td_assert_same(const struct td_lines *got, const struct td_lines *want)
{
	CU_ASSERT_EQUAL(got->n, want->n);
	for (size_t i = 0; i < got->n && i < want->n; i++)
		if (strcmp(got->v[i], want->v[i]) != 0) {
			fprintf(stderr, "line %zu: got '%s', want '%s'\n", i, got->v[i], want->v[i]);
			CU_FAIL("diff line differs from the truth");
			break;
		}
}

/* Changes model `b` (a copy of a) at random: removals, changes, type changes, additions. */
static void td_mutate(struct td_model *b, uint64_t *st)
{
	size_t n0 = b->count;
	for (size_t i = 0; i < n0; i++) {
		struct td_node *x = &b->n[i];
		if (x->gone)
			continue;
		uint64_t r = td_rand(st) % 100;
		if (r < 6)
			td_drop(b, i);
		else if (r < 10)
			x->mode ^= 0100;
		else if (r < 14 && x->type != ENTRY_DIR)
			x->mtime++;
		else if (r < 17 && x->type == ENTRY_FILE)
			x->size++;
		else if (r < 19 && x->type == ENTRY_FILE && x->hash)
			x->h++;
		else if (r < 21 && x->type == ENTRY_SYMLINK)
			x->target[0] = 'u';
		else if (r < 24) {
			/* Type change: a directory loses its subtree (removed), a file becomes one. */
			char p[TD_PATH];
			snprintf(p, sizeof(p), "%s", x->path);
			enum entry_type t = x->type == ENTRY_DIR ? ENTRY_FILE : ENTRY_DIR;
			td_drop(b, i);
			struct td_node *y = td_add(b, "", "placeholder", t, td_rand(st));
			if (y) {
				snprintf(y->path, TD_PATH, "%s", p);
				if (t == ENTRY_DIR)
					td_grow(b, p, 1, st);
			}
		} else if (r < 27 && x->type == ENTRY_DIR) {
			char p[TD_PATH];
			snprintf(p, sizeof(p), "%s", x->path);
			td_grow(b, p, 2, st); /* additions, some whole subtrees */
		}
	}
}

static void td_model_init(struct td_model *m)
{
	m->n = calloc(TD_MAX, sizeof(*m->n));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->n);
	m->count = 0;
}

static void td_model_copy(struct td_model *dst, const struct td_model *src)
{
	td_model_init(dst);
	memcpy(dst->n, src->n, src->count * sizeof(*src->n));
	dst->count = src->count;
}

/* A deep chain on one side only, and a deep path changed at its end. */
static void td_deep(struct td_model *m, const char *top, unsigned levels, uint64_t seed)
{
	char p[TD_PATH] = "";
	const char *parent = "";
	char buf[TD_PATH];
	for (unsigned i = 0; i < levels; i++) {
		struct td_node *x = td_add(m, parent, i ? "d" : top, ENTRY_DIR, seed + i);
		if (!x)
			return;
		snprintf(p, sizeof(p), "%s", x->path);
		snprintf(buf, sizeof(buf), "%s", p);
		parent = buf;
	}
	td_add(m, parent, "leaf", ENTRY_FILE, seed);
}

/* The truth's lines of each kind of change. */
static void td_truth_counts(const struct td_lines *want, uint64_t n[STORE_DIFF_CHANGE_COUNT])
{
	for (unsigned k = 0; k < STORE_DIFF_CHANGE_COUNT; k++) {
		const char *name = store_diff_change_name((enum store_diff_change)k);
		size_t len = strlen(name);
		n[k] = 0;
		for (size_t i = 0; i < want->n; i++)
			n[k] += strncmp(want->v[i], name, len) == 0 && want->v[i][len] == ' ';
	}
}

static void test_diff_random_against_truth(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t st = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < unit_rounds(12); round++) {
		struct td_model a, b;
		td_model_init(&a);
		td_grow(&a, "", 3, &st);
		td_deep(&a, "deep", 60, round);
		td_model_copy(&b, &a);
		td_mutate(&b, &st);
		td_deep(&b, "deeper", 40, round); /* a subtree on one side only */
		/* deep/d/d/.../leaf modified at depth 60 */
		for (size_t i = 0; i < b.count; i++)
			if (!b.n[i].gone && strstr(b.n[i].path, "/leaf") && strncmp(b.n[i].path, "deep/", 5) == 0)
				b.n[i].size += 1;
		uint64_t ia = td_store(s, &a), ib = td_store(s, &b);
		struct td_lines want = {0};
		td_truth(&a, &b, &want);
		CU_ASSERT_TRUE(want.n > 10);
		static const size_t pages[] = {SIZE_MAX, 1, 2, 7};
		static const size_t chunks[] = {0, 1, 3, 1};
		for (size_t k = 0; k < 4; k++) {
			struct td_got g = {0};
			CU_ASSERT_EQUAL(td_diff(s, ia, ib, pages[k], chunks[k], 0, &g), 0);
			CU_ASSERT_FALSE(g.bad);
			td_assert_same(&g.l, &want);
			td_lines_free(&g.l);
		}
		/* Self-diff: empty, both ways round. */
		struct td_got self = {0};
		CU_ASSERT_EQUAL(td_diff(s, ia, ia, 5, 2, 0, &self), 0);
		CU_ASSERT_EQUAL(self.l.n, 0);
		td_lines_free(&self.l);
		/* The reverse diff: added and removed swap. */
		struct td_lines rev = {0};
		td_truth(&b, &a, &rev);
		struct td_got g = {0};
		CU_ASSERT_EQUAL(td_diff(s, ib, ia, 3, 2, 0, &g), 0);
		td_assert_same(&g.l, &rev);
		td_lines_free(&g.l);
		td_lines_free(&rev);
		/* One change only: the truth's lines of that change, paged. */
		struct td_lines only = {0};
		for (size_t i = 0; i < want.n; i++)
			if (strncmp(want.v[i], "modified ", 9) == 0)
				td_line(&only, "modified", want.v[i] + 9, strlen(want.v[i] + 9));
		struct td_got gm = {0};
		CU_ASSERT_EQUAL(td_diff(s, ia, ib, 2, 5, 1u << STORE_DIFF_MODIFIED, &gm), 0);
		td_assert_same(&gm.l, &only);
		/* Counts. */
		struct store_diff_counts c;
		struct errbuf err = {0};
		CU_ASSERT_EQUAL(store_diff_count(s, ia, ib, &c, &err), 0);
		CU_ASSERT_EQUAL(c.n[STORE_DIFF_MODIFIED], only.n);
		CU_ASSERT_EQUAL(c.n[0] + c.n[1] + c.n[2] + c.n[3], want.n);
		/* Counted directory by directory: each kind as many as the truth's lines of it. */
		uint64_t kinds[STORE_DIFF_CHANGE_COUNT];
		td_truth_counts(&want, kinds);
		for (unsigned k = 0; k < STORE_DIFF_CHANGE_COUNT; k++)
			CU_ASSERT_EQUAL(c.n[k], kinds[k]);
		struct store_diff_counts rc;
		CU_ASSERT_EQUAL(store_diff_count(s, ib, ia, &rc, &err), 0);
		CU_ASSERT_EQUAL(rc.n[STORE_DIFF_ADDED], c.n[STORE_DIFF_REMOVED]);
		CU_ASSERT_EQUAL(rc.n[STORE_DIFF_REMOVED], c.n[STORE_DIFF_ADDED]);
		CU_ASSERT_EQUAL(rc.n[STORE_DIFF_MODIFIED], c.n[STORE_DIFF_MODIFIED]);
		CU_ASSERT_EQUAL(rc.n[STORE_DIFF_TYPE_CHANGED], c.n[STORE_DIFF_TYPE_CHANGED]);
		CU_ASSERT_EQUAL(store_diff_count(s, ia, ia, &rc, &err), 0);
		CU_ASSERT_EQUAL(rc.n[0] + rc.n[1] + rc.n[2] + rc.n[3], 0);
		td_lines_free(&gm.l);
		td_lines_free(&only);
		td_lines_free(&want);
		free(a.n);
		free(b.n);
	}
	store_close(s);
	tsu_rmrf(dir);
}

/* Each kind of change once, by hand, with the entries handed to the callback checked. */
struct td_one {
	int calls;
	bool ok;
};

static int td_one_cb(void *ctx, const char *path, size_t len, enum store_diff_change c,
		     const struct entry *before, const struct entry *after)
{
	struct td_one *o = ctx;
	o->calls++;
	if (len == 1 && path[0] == 'f' && c == STORE_DIFF_TYPE_CHANGED && before && after &&
	    before->type == ENTRY_FILE && after->type == ENTRY_DIR)
		o->ok = true;
	return 0;
}

static void test_diff_type_change_entries_and_missing_scan(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct td_model a, b;
	td_model_init(&a);
	td_model_init(&b);
	td_add(&a, "", "f", ENTRY_FILE, 1);
	td_add(&b, "", "f", ENTRY_DIR, 1);
	uint64_t ia = td_store(s, &a), ib = td_store(s, &b);
	struct td_one o = {0};
	struct store_diff_req rq = {.scan_a = ia, .scan_b = ib, .limit = SIZE_MAX, .cb = td_one_cb,
				    .ctx = &o};
	struct store_diff_out out;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_diff(s, &rq, &out, &err), 0);
	CU_ASSERT_EQUAL(o.calls, 1);
	CU_ASSERT_TRUE(o.ok);
	CU_ASSERT_FALSE(out.more);
	rq.scan_b = ib + 100;
	CU_ASSERT_EQUAL(store_diff(s, &rq, &out, &err), -ENOENT);
	enum store_diff_change ch;
	CU_ASSERT_EQUAL(store_diff_change_parse("type_changed", 12, &ch), 0);
	CU_ASSERT_EQUAL(ch, STORE_DIFF_TYPE_CHANGED);
	CU_ASSERT_EQUAL(store_diff_change_parse("modifie", 7, &ch), -1);
	free(a.n);
	free(b.n);
	store_close(s);
	tsu_rmrf(dir);
}

/*
 * A scan whose options name a baseline (as POST /scans echoes it: "baseline": <id>): the id read
 * back from the stored record is the default `against`, and its diff counts are the truth's.
 */
static void test_diff_default_against_from_stored_baseline(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct td_model a, b;
	td_model_init(&a);
	uint64_t st = 42;
	td_grow(&a, "", 2, &st);
	td_model_copy(&b, &a);
	td_mutate(&b, &st);
	td_add(&b, "", "only-in-b", ENTRY_FILE, 7);
	uint64_t ia = td_store(s, &a), ib = td_store(s, &b);
	struct errbuf err = {0};
	struct store_scan rec = {0};
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, ib, &rec, &err), 0);
	char opts[96];
	snprintf(opts, sizeof(opts), "{\"view\": \"all\", \"baseline\": %llu}", (unsigned long long)ia);
	char *old = rec.options_json;
	rec.options_json = opts;
	rec.state = SCAN_COMPLETED;
	CU_ASSERT_EQUAL_FATAL(store_scan_update(s, &rec, &err), 0);
	rec.options_json = old;
	store_scan_clear(&rec);
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, ib, &rec, &err), 0);
	uint64_t against = 0;
	CU_ASSERT_EQUAL(api_diff_baseline(rec.options_json, &against), 0);
	CU_ASSERT_EQUAL(against, ia);
	store_scan_clear(&rec);
	struct store_diff_counts c;
	CU_ASSERT_EQUAL(store_diff_count(s, against, ib, &c, &err), 0);
	struct td_lines want = {0};
	td_truth(&a, &b, &want);
	uint64_t n[STORE_DIFF_CHANGE_COUNT];
	td_truth_counts(&want, n);
	for (unsigned k = 0; k < STORE_DIFF_CHANGE_COUNT; k++)
		CU_ASSERT_EQUAL(c.n[k], n[k]);
	CU_ASSERT_TRUE(c.n[STORE_DIFF_ADDED] >= 1);
	/* No baseline, a string baseline, or text that does not parse: none. */
	CU_ASSERT_EQUAL(api_diff_baseline("{}", &against), 1);
	CU_ASSERT_EQUAL(api_diff_baseline("{\"baseline\": \"latest\"}", &against), 1);
	CU_ASSERT_EQUAL(api_diff_baseline(NULL, &against), 1);
	CU_ASSERT_EQUAL(api_diff_baseline("{", &against), -1);
	td_lines_free(&want);
	free(a.n);
	free(b.n);
	store_close(s);
	tsu_rmrf(dir);
}

static void td_finish(struct store *s, uint64_t scan)
{
	struct errbuf err = {0};
	struct store_scan rec = {0};
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, scan, &rec, &err), 0);
	rec.state = SCAN_COMPLETED;
	CU_ASSERT_EQUAL_FATAL(store_scan_update(s, &rec, &err), 0);
	store_scan_clear(&rec);
}

/*
 * A rescan marks the directories it took over unchanged (store_batch_mark_copy()): counted while
 * it still writes, those are paired by their links only, and the counts are still the truth's;
 * once it finished, the rows are read and give the same. A mark on a directory that did change
 * hides its changes: the marks are what the count skips by.
 */
static void test_diff_count_copies(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t st = 0x2545f4914f6cdd1dull;
	size_t marked = 0;
	for (int round = 0; round < unit_rounds(8); round++) {
		struct td_model a, b;
		td_model_init(&a);
		td_grow(&a, "", 3, &st);
		td_deep(&a, "deep", 20, round);
		td_model_copy(&b, &a);
		td_mutate(&b, &st);
		struct td_ids ids = {0};
		struct td_marks ma = {.ids = &ids};
		uint64_t ia = td_store_marked(s, &a, &ma);
		struct td_marks mb = {.base = &a, .base_ids = &ids};
		uint64_t ib = td_store_marked(s, &b, &mb);
		struct td_marks ml = {.base = &a, .base_ids = &ids, .lie = true};
		uint64_t il = td_store_marked(s, &b, &ml);
		marked += mb.marked;
		struct td_lines want = {0};
		td_truth(&a, &b, &want);
		uint64_t n[STORE_DIFF_CHANGE_COUNT];
		td_truth_counts(&want, n);
		struct store_diff_counts c, cl;
		struct errbuf err = {0};
		CU_ASSERT_EQUAL(store_diff_count(s, ia, ib, &c, &err), 0);
		for (unsigned k = 0; k < STORE_DIFF_CHANGE_COUNT; k++)
			CU_ASSERT_EQUAL(c.n[k], n[k]);
		CU_ASSERT_EQUAL(store_diff_count(s, ia, il, &cl, &err), 0);
		if (ml.lied)
			CU_ASSERT_TRUE(cl.n[0] + cl.n[1] + cl.n[2] + cl.n[3] < want.n);
		/* Finished: the notes are gone, the rows are read, the counts stay. */
		td_finish(s, ib);
		td_finish(s, il);
		CU_ASSERT_EQUAL(store_diff_count(s, ia, ib, &c, &err), 0);
		CU_ASSERT_EQUAL(store_diff_count(s, ia, il, &cl, &err), 0);
		for (unsigned k = 0; k < STORE_DIFF_CHANGE_COUNT; k++) {
			CU_ASSERT_EQUAL(c.n[k], n[k]);
			CU_ASSERT_EQUAL(cl.n[k], n[k]);
		}
		td_lines_free(&want);
		free(ids.path);
		free(ids.id);
		free(a.n);
		free(b.n);
	}
	CU_ASSERT_TRUE(marked > 0);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"random trees: the merge walk equals the truth, whole and paged",
		 test_diff_random_against_truth},
		{"a type change hands both entries; a missing scan is -ENOENT",
		 test_diff_type_change_entries_and_missing_scan},
		{"the baseline of a stored record is the default against; its counts are the truth's",
		 test_diff_default_against_from_stored_baseline},
		{"directories marked as copies are paired by links; the counts stay the truth's",
		 test_diff_count_copies},
		{NULL, NULL},
	};
	return unit_run("store diff", tests);
}
