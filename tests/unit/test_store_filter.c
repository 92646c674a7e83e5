/* test_store_filter.c: every entry filter, prefix mode, order and the tree totals vs brute force. */
#include <lmdb.h> /* only to count the tree table's rows after a delete */

#include "api/scan_filter.h"
#include "tests/unit/test_store_util.h"

/* ---------------------------------------------------------------- a generated tree */

/*
 * A seeded tree written to the store while the truth is recorded: every entry with its path
 * and fields, in depth-first order. Names are chosen to exercise the filters: extensions with
 * several dots, dotfiles, names equal but for case, a non-UTF-8 name, names that are prefixes
 * of each other ("src", "src-x", "srcs"); sizes repeat; mtimes run from before 1970 to after
 * 2038, with nanoseconds.
 */
#define TF_MAX 4096

struct tf_entry {
	char path[512];
	size_t len;
	struct entry e;
	bool linked; /* a directory whose entries were stored */
};

struct tf_gen {
	struct store *s;
	uint64_t scan;
	uint32_t seed;
	struct tf_entry v[TF_MAX];
	size_t n;
	uint64_t made;
};

static uint32_t tf_rand(struct tf_gen *g)
{
	g->seed = g->seed * 1103515245u + 12345u;
	return g->seed >> 16;
}

static int tf_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static void tf_dir(struct tf_gen *g, uint64_t parent, const char *name, const char *dpath,
		   int level)
{
	static const char *const pool[] = {"src", "src-x", "srcs", "main.c", "Main.C", "x.tar.gz",
					   "gz", ".gz", "README", "test_a.c", "test_b.rs",
					   "lib.rs", "\xff\xfe.c", "a b.txt", "d1", "node_modules"};
	const size_t npool = sizeof(pool) / sizeof(pool[0]);
	size_t n = (level == 0 ? 10 : 2) + tf_rand(g) % 6;
	const char *names[16];
	bool used[16] = {false};
	for (size_t i = 0; i < n; i++) {
		size_t k = tf_rand(g) % npool;
		while (used[k])
			k = (k + 1) % npool;
		used[k] = true;
		names[i] = pool[k];
	}
	qsort(names, n, sizeof(names[0]), tf_name_cmp);
	struct store_batch *b;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	size_t first = g->n;
	for (size_t i = 0; i < n && g->n < TF_MAX; i++) {
		bool dirish = strchr(names[i], '.') == NULL && names[i][0] != 'R';
		enum entry_type t = dirish && level < 4 && tf_rand(g) % 3 ? ENTRY_DIR
				    : tf_rand(g) % 9 == 0		 ? ENTRY_SYMLINK
									 : ENTRY_FILE;
		struct entry e = tsu_entry(names[i], t, g->made++);
		e.size = (tf_rand(g) % 5) * 1000 + (tf_rand(g) % 3);
		e.mtime_sec = (int64_t)(tf_rand(g) % 7) * 1000000000 - 2000000000;
		e.mtime_nsec = (tf_rand(g) % 3) * 500000000u;
		if (tf_rand(g) % 17 == 0)
			e.flags = 0; /* not stat-ed: fails every bound */
		if (t == ENTRY_SYMLINK) {
			e.target = "t";
			e.target_len = 1;
		}
		CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &e, &err), 0);
		struct tf_entry *te = &g->v[g->n++];
		te->len = (size_t)snprintf(te->path, sizeof(te->path), "%s%s%s", dpath,
					   dpath[0] ? "/" : "", names[i]);
		te->e = e;
		te->e.name = NULL;
		te->e.target = NULL;
	}
	size_t count = g->n - first;
	uint64_t id;
	CU_ASSERT_EQUAL_FATAL(store_put_dir(g->s, g->scan, parent, name, strlen(name), b, &id, &err),
			      0);
	store_batch_destroy(b);
	/* The truth is depth-first: move each stored directory's subtree right after it. */
	struct tf_entry *kids = malloc(count * sizeof(*kids));
	CU_ASSERT_FATAL(kids != NULL);
	memcpy(kids, &g->v[first], count * sizeof(*kids));
	g->n = first;
	for (size_t i = 0; i < count; i++) {
		g->v[g->n++] = kids[i];
		if (kids[i].e.type != ENTRY_DIR || tf_rand(g) % 8 == 0 || g->n > TF_MAX - 64)
			continue; /* a directory never stored: no link */
		g->v[g->n - 1].linked = true;
		const char *nm = strrchr(kids[i].path, '/');
		nm = nm ? nm + 1 : kids[i].path;
		tf_dir(g, id, nm, kids[i].path, level + 1);
	}
	free(kids);
}

static void tf_make(struct tf_gen *g, struct store *s, uint32_t seed)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->seed = seed;
	g->scan = tsu_scan(s, SCAN_RUNNING, "/gen");
	tf_dir(g, 0, "", "", 0);
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_flush(s, g->scan, &err), 0);
}

/* ---------------------------------------------------------------- the truth */

/* What the filter says of entry te, computed independently of store_filter.c. */
static bool tf_truth(const struct store_walk_filter *f, const struct tf_entry *te)
{
	const struct entry *e = &te->e;
	const char *name = strrchr(te->path, '/');
	name = name ? name + 1 : te->path;
	size_t nlen = strlen(name);
	if (f->prefix) {
		size_t pl = f->prefix_len;
		bool in;
		if (f->prefix_mode == STORE_PREFIX_STRING)
			in = te->len >= pl && memcmp(te->path, f->prefix, pl) == 0;
		else
			in = (te->len > pl && te->path[pl] == '/' && memcmp(te->path, f->prefix, pl) == 0) ||
			     (f->prefix_mode == STORE_PREFIX_PATH && te->len == pl &&
			      memcmp(te->path, f->prefix, pl) == 0 && e->type != ENTRY_DIR);
		if (!in)
			return false;
	}
	if (f->type_mask && !(f->type_mask & (1u << e->type)))
		return false;
	if (f->name && (nlen != f->name_len || memcmp(name, f->name, nlen)))
		return false;
	if (f->ext_count) {
		bool any = false;
		for (size_t i = 0; i < f->ext_count; i++) {
			char dot[300];
			snprintf(dot, sizeof(dot), ".%.*s", (int)f->exts[i].len, f->exts[i].p);
			size_t dl = strlen(dot);
			any |= nlen >= dl && strcmp(name + nlen - dl, dot) == 0;
		}
		if (!any)
			return false;
	}
	bool st = e->flags & ENTRY_HAS_STAT;
	double mt = (double)e->mtime_sec + e->mtime_nsec / 1e9;
	if ((f->bounds & STORE_FILTER_MIN_SIZE) && (!st || e->size < f->min_size))
		return false;
	if ((f->bounds & STORE_FILTER_MAX_SIZE) && (!st || e->size > f->max_size))
		return false;
	if ((f->bounds & STORE_FILTER_AFTER) &&
	    (!st || mt < (double)f->mtime_after.sec + f->mtime_after.nsec / 1e9))
		return false;
	if ((f->bounds & STORE_FILTER_BEFORE) &&
	    (!st || mt > (double)f->mtime_before.sec + f->mtime_before.nsec / 1e9))
		return false;
	return !f->match || f->match(f->match_ctx, te->path, te->len, e);
}

static int tf_sort_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Checks the walks of `f` against the truth: store_walk_all() in chunks of 3 examined entries,
 * pages of 5 through store_walk_ex() resumed from each `next`, both in the tree order; and the
 * store order as a set. Returns how many entries matched.
 */
static size_t tf_check(struct tf_gen *g, const struct store_walk_filter *f, const char *what)
{
	struct tsu_list want = {0}, all = {0}, paged = {0}, stored = {0};
	for (size_t i = 0; i < g->n; i++)
		if (tf_truth(f, &g->v[i]))
			tsu_list_add(&want, g->v[i].path, g->v[i].len, g->v[i].e.type);
	struct errbuf err = {0};
	struct store_walk_req rq = {.scan_id = g->scan, .filter = f, .cb = tsu_collect, .ctx = &all};
	int rc = store_walk_all(g->s, &rq, 3, &err);
	CU_ASSERT(rc == 0 || (rc == -ENOENT && want.n == 0));
	struct store_pos pos;
	rq.ctx = &paged;
	rq.limit = 5;
	for (int guard = 0; guard < 10000; guard++) {
		struct store_walk_out o;
		if (store_walk_ex(g->s, &rq, &o, &err) != 0 || !o.more)
			break;
		pos = o.next;
		rq.resume = &pos;
	}
	rq = (struct store_walk_req){.scan_id = g->scan, .filter = f, .order = STORE_ORDER_STORED,
				     .cb = tsu_collect, .ctx = &stored};
	CU_ASSERT_EQUAL(store_walk_all(g->s, &rq, 2, &err), 0);
	bool ok = all.n == want.n && paged.n == want.n && stored.n == want.n;
	for (size_t i = 0; ok && i < want.n; i++)
		ok = strcmp(all.paths[i], want.paths[i]) == 0 && strcmp(paged.paths[i], want.paths[i]) == 0;
	qsort(stored.paths, stored.n, sizeof(char *), tf_sort_cmp);
	qsort(want.paths, want.n, sizeof(char *), tf_sort_cmp);
	for (size_t i = 0; ok && i < want.n; i++)
		ok = strcmp(stored.paths[i], want.paths[i]) == 0;
	if (!ok)
		fprintf(stderr, "\n%s: want %zu, walk %zu, pages %zu, stored %zu\n", what, want.n, all.n,
			paged.n, stored.n);
	CU_ASSERT_TRUE(ok);
	size_t n = want.n;
	tsu_list_free(&want);
	tsu_list_free(&all);
	tsu_list_free(&paged);
	tsu_list_free(&stored);
	return n;
}

/* ---------------------------------------------------------------- tests */

static bool tf_has_b(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)ctx, (void)e;
	return memchr(path, 'b', len) != NULL;
}

static void test_each_filter_vs_truth(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	static struct tf_gen g;
	for (uint32_t seed = 1; seed <= (uint32_t)unit_rounds(8); seed++) {
		tf_make(&g, s, seed);
		CU_ASSERT_FATAL(g.n > 20);
		struct store_bytes gz[] = {{"gz", 2}}, tgz[] = {{"tar.gz", 6}}, two[] = {{"c", 1}, {"rs", 2}},
				   upper[] = {{"C", 1}};
		struct store_walk_filter fs[] = {
			{0},
			{.type_mask = 1u << ENTRY_FILE},
			{.type_mask = 1u << ENTRY_DIR},
			{.type_mask = 1u << ENTRY_SYMLINK},
			{.name = "main.c", .name_len = 6},
			{.name = "src", .name_len = 3},
			{.exts = gz, .ext_count = 1},
			{.exts = tgz, .ext_count = 1},
			{.exts = two, .ext_count = 2},
			{.exts = upper, .ext_count = 1},
			{.bounds = STORE_FILTER_MIN_SIZE, .min_size = 2000},
			{.bounds = STORE_FILTER_MAX_SIZE, .max_size = 1001},
			{.bounds = STORE_FILTER_MIN_SIZE | STORE_FILTER_MAX_SIZE, .min_size = 1000, .max_size = 1000},
			{.bounds = STORE_FILTER_AFTER, .mtime_after = {0, 500000000}},
			{.bounds = STORE_FILTER_BEFORE, .mtime_before = {-1000000000, 0}},
			{.bounds = STORE_FILTER_AFTER | STORE_FILTER_BEFORE, .mtime_after = {1000000000, 0},
			 .mtime_before = {1000000000, 500000000}},
			{.match = tf_has_b},
			{.type_mask = 1u << ENTRY_FILE, .exts = two, .ext_count = 2,
			 .bounds = STORE_FILTER_MIN_SIZE, .min_size = 1},
		};
		size_t matched = 0;
		char what[64];
		for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
			snprintf(what, sizeof(what), "seed %u filter %zu", seed, i);
			size_t m = tf_check(&g, &fs[i], what);
			if (i > 0)
				matched += m;
		}
		CU_ASSERT(matched > 0); /* the filters are not all empty: the check means something */
		/* Prefixes of every mode, from every stored path and a few strings. */
		for (size_t i = 0; i < g.n; i += 1 + i % 3) {
			for (int mode = 0; mode < 3; mode++) {
				if (mode == STORE_PREFIX_DIR && !g.v[i].linked)
					continue; /* -ENOENT: tested below */
				struct store_walk_filter f = {.prefix = g.v[i].path,
							      .prefix_len = g.v[i].len,
							      .prefix_mode = mode};
				snprintf(what, sizeof(what), "seed %u prefix %zu mode %d", seed, i, mode);
				tf_check(&g, &f, what);
				f.prefix_len = g.v[i].len > 1 ? g.v[i].len - 1 : 1;
				if (mode == STORE_PREFIX_STRING)
					tf_check(&g, &f, what);
			}
		}
	}
	store_close(s);
	tsu_rmrf(dir);
}

static void test_prefix_edges(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	static struct tf_gen g;
	tf_make(&g, s, 42);
	struct errbuf err = {0};
	struct tsu_list l = {0};
	struct store_walk_filter f = {.prefix = "no/such", .prefix_len = 7};
	struct store_walk_req rq = {.scan_id = g.scan, .filter = &f, .cb = tsu_collect, .ctx = &l,
				    .limit = 100};
	struct store_walk_out o;
	CU_ASSERT_EQUAL(store_walk_ex(s, &rq, &o, &err), -ENOENT);
	f.prefix_mode = STORE_PREFIX_PATH;
	CU_ASSERT_EQUAL(store_walk_ex(s, &rq, &o, &err), -ENOENT);
	f.prefix_mode = STORE_PREFIX_STRING; /* a string names nothing: nothing, or -ENOENT */
	int rc = store_walk_ex(s, &rq, &o, &err);
	CU_ASSERT(rc == 0 || rc == -ENOENT);
	CU_ASSERT_EQUAL(l.n, 0);
	/* "a//b" is no stored path as a string. */
	f.prefix = "src//";
	f.prefix_len = 5;
	rc = store_walk_ex(s, &rq, &o, &err);
	CU_ASSERT(rc == 0 || rc == -ENOENT);
	CU_ASSERT_EQUAL(l.n, 0);
	/* A file named by path mode, resumed after it: nothing more. */
	for (size_t i = 0; i < g.n; i++) {
		if (g.v[i].e.type != ENTRY_FILE || !(g.v[i].e.flags & ENTRY_HAS_STAT))
			continue;
		f = (struct store_walk_filter){.prefix = g.v[i].path, .prefix_len = g.v[i].len,
					       .prefix_mode = STORE_PREFIX_PATH};
		CU_ASSERT_EQUAL(store_walk_ex(s, &rq, &o, &err), 0);
		CU_ASSERT_EQUAL(o.given, 1);
		CU_ASSERT_FALSE(o.more);
		break;
	}
	tsu_list_free(&l);
	store_close(s);
	tsu_rmrf(dir);
}

static int tf_one(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct tf_entry *out = ctx;
	out->len = len < sizeof(out->path) ? len : sizeof(out->path) - 1;
	memcpy(out->path, path, out->len);
	out->e = *e;
	return 0;
}

static void test_entry_get(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	static struct tf_gen g;
	tf_make(&g, s, 7);
	struct errbuf err = {0};
	for (size_t i = 0; i < g.n; i++) {
		struct tf_entry got = {0};
		CU_ASSERT_EQUAL_FATAL(store_entry_get(s, g.scan, g.v[i].path, g.v[i].len, tf_one, &got, &err), 0);
		CU_ASSERT_EQUAL(got.len, g.v[i].len);
		CU_ASSERT(memcmp(got.path, g.v[i].path, got.len) == 0);
		CU_ASSERT_EQUAL(got.e.type, g.v[i].e.type);
		CU_ASSERT_EQUAL(got.e.flags & ENTRY_HAS_STAT, g.v[i].e.flags & ENTRY_HAS_STAT);
		if (g.v[i].e.flags & ENTRY_HAS_STAT) { /* the rest is kept only with the stat */
			CU_ASSERT_EQUAL(got.e.size, g.v[i].e.size);
			CU_ASSERT_EQUAL(got.e.mtime_sec, g.v[i].e.mtime_sec);
			CU_ASSERT_EQUAL(got.e.mtime_nsec, g.v[i].e.mtime_nsec);
		}
	}
	struct tf_entry got;
	CU_ASSERT_EQUAL(store_entry_get(s, g.scan, "nope", 4, tf_one, &got, &err), -ENOENT);
	CU_ASSERT_EQUAL(store_entry_get(s, g.scan, "src//main.c", 11, tf_one, &got, &err), -ENOENT);
	CU_ASSERT_EQUAL(store_entry_get(s, g.scan + 99, "src", 3, tf_one, &got, &err), -ENOENT);
	store_close(s);
	tsu_rmrf(dir);
}

struct tf_tree_seen {
	struct tf_gen *g;
	size_t dirs;
	bool ok;
	struct store_tree_totals root;
};

/* Brute force: the totals of everything below `path` ("" for the root). */
static struct store_tree_totals tf_totals(struct tf_gen *g, const char *path, size_t len)
{
	struct store_tree_totals t = {0};
	for (size_t i = 0; i < g->n; i++) {
		const struct tf_entry *te = &g->v[i];
		if (len && !(te->len > len && te->path[len] == '/' && memcmp(te->path, path, len) == 0))
			continue;
		t.entries++;
		if (te->e.type == ENTRY_FILE) {
			t.files++;
			if (te->e.flags & ENTRY_HAS_STAT)
				t.bytes += te->e.size;
		}
	}
	return t;
}

static int tf_tree_cb(void *ctx, const char *path, size_t len, unsigned depth,
		      const struct store_tree_totals *t)
{
	struct tf_tree_seen *seen = ctx;
	struct store_tree_totals want = tf_totals(seen->g, path, len);
	if (want.entries != t->entries || want.files != t->files || want.bytes != t->bytes) {
		fprintf(stderr, "\ntree: %.*s: %" PRIu64 "/%" PRIu64 "/%" PRIu64 " want %" PRIu64
			"/%" PRIu64 "/%" PRIu64 "\n", (int)len, path, t->entries, t->files, t->bytes,
			want.entries, want.files, want.bytes);
		seen->ok = false;
	}
	if (depth == 0)
		seen->root = *t;
	else
		seen->dirs++;
	return 0;
}

static size_t tf_count_keys(const char *dir, const char *table)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st = {0};
	char path[128];
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, table, 0, &dbi), 0);
	mdb_stat(txn, dbi, &st);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

static void test_tree_totals(void)
{
	char dir[64];
	tsu_tmpdir(dir);
	struct store *s = tsu_open(dir, 0);
	static struct tf_gen g;
	tf_make(&g, s, 99);
	uint64_t other = g.scan;
	struct errbuf err = {0};
	struct tf_tree_seen seen = {.g = &g, .ok = true};
	CU_ASSERT_EQUAL(store_tree_read(s, g.scan, "", 0, 1, tf_tree_cb, &seen, &err), -ENODATA);
	/* While the scan writes, from what its batches counted; once it finished, from its rows. */
	CU_ASSERT_EQUAL(store_tree_build(s, g.scan, &err), 0);
	CU_ASSERT_EQUAL(store_tree_read(s, g.scan, "", 0, 64, tf_tree_cb, &seen, &err), 0);
	CU_ASSERT_TRUE(seen.ok);
	CU_ASSERT_EQUAL(seen.root.entries, g.n);
	struct store_scan rec = {0};
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, g.scan, &rec, &err), 0);
	rec.state = SCAN_COMPLETED;
	CU_ASSERT_EQUAL_FATAL(store_scan_update(s, &rec, &err), 0);
	store_scan_clear(&rec);
	CU_ASSERT_EQUAL(store_tree_build(s, g.scan, &err), 0); /* again: the same rows */
	seen = (struct tf_tree_seen){.g = &g, .ok = true};
	CU_ASSERT_EQUAL(store_tree_read(s, g.scan, "", 0, 64, tf_tree_cb, &seen, &err), 0);
	CU_ASSERT_TRUE(seen.ok);
	CU_ASSERT_EQUAL(seen.root.entries, g.n);
	size_t dirs = 0;
	for (size_t i = 0; i < g.n; i++)
		dirs += g.v[i].e.type == ENTRY_DIR;
	CU_ASSERT_EQUAL(seen.dirs, dirs);
	/* Every directory as the prefix, depth 1. */
	for (size_t i = 0; i < g.n; i++) {
		if (!g.v[i].linked)
			continue;
		seen = (struct tf_tree_seen){.g = &g, .ok = true};
		CU_ASSERT_EQUAL(store_tree_read(s, g.scan, g.v[i].path, g.v[i].len, 1, tf_tree_cb, &seen,
						&err), 0);
		CU_ASSERT_TRUE(seen.ok);
	}
	CU_ASSERT_EQUAL(store_tree_read(s, g.scan, "no/such", 7, 1, tf_tree_cb, &seen, &err), -ENOENT);
	/* A second scan's rows, then the first one deleted: only its rows go. */
	tf_make(&g, s, 100);
	CU_ASSERT_EQUAL(store_tree_build(s, g.scan, &err), 0);
	CU_ASSERT_EQUAL(store_scan_delete(s, other, &err), 0);
	CU_ASSERT_EQUAL(store_tree_build(s, other, &err), -ENOENT);
	store_close(s);
	size_t dirs2 = 1;
	for (size_t i = 0; i < g.n; i++)
		dirs2 += g.v[i].linked;
	CU_ASSERT_EQUAL(tf_count_keys(dir, "tree"), dirs2);
	tsu_rmrf(dir);
}

/* ---------------------------------------------------------------- the parser of the filters */

static int tf_take(struct api_filter *qf, const char *k, const char *v)
{
	char bad[API_FILTER_BAD_MAX];
	bad[0] = '\0';
	int rc = api_filter_take(qf, k, strlen(k), v, v ? strlen(v) : 0, bad, sizeof(bad));
	CU_ASSERT(rc != -1 || (bad[0] && strstr(bad, k)));
	return rc;
}

static void test_filter_parser(void)
{
	struct api_filter qf;
	char bad[API_FILTER_BAD_MAX];
	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "page_size", "1"), 0); /* not a filter's */
	CU_ASSERT_EQUAL(tf_take(&qf, "ext", "rs"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "ext", "tar.gz"), 1); /* repeatable */
	CU_ASSERT_EQUAL(tf_take(&qf, "ext", ".rs"), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "ext", ""), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "name", "a/b"), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "name", "Cargo.toml"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "name", "x"), -1); /* twice */
	CU_ASSERT_EQUAL(tf_take(&qf, "min_size", "01"), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "min_size", "18446744073709551616"), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "min_size", "18446744073709551615"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "max_size", "5"), 1);
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), -1); /* min > max */
	CU_ASSERT(strstr(bad, "min_size") != NULL);
	api_filter_clear(&qf);

	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "type", "fifo"), -1);
	CU_ASSERT_EQUAL(tf_take(&qf, "type", "symlink"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix", "a"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix_b64", "YQ=="), 1);
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), -1); /* both */
	api_filter_clear(&qf);

	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix", "../etc"), 1);
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), -1); /* path mode: no ".." */
	api_filter_clear(&qf);
	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix", "../etc"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix_mode", "string"), 1); /* any string */
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(qf.f.prefix_mode, STORE_PREFIX_STRING);
	api_filter_clear(&qf);

	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "prefix_b64", "/w=="), 1); /* the byte 0xff */
	CU_ASSERT_EQUAL(tf_take(&qf, "count", "true"), 1);
	CU_ASSERT_EQUAL(tf_take(&qf, "partial", "yes"), -1);
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(qf.f.prefix_len, 1);
	CU_ASSERT_EQUAL((unsigned char)qf.f.prefix[0], 0xff);
	CU_ASSERT_EQUAL(qf.f.prefix_mode, STORE_PREFIX_PATH); /* the default */
	CU_ASSERT_TRUE(qf.count);
	api_filter_clear(&qf);

	api_filter_init(&qf);
	CU_ASSERT_EQUAL(tf_take(&qf, "match", "!x"), 1);
	CU_ASSERT_EQUAL(api_filter_finish(&qf, bad, sizeof(bad)), -1); /* a negation selects nothing */
	api_filter_clear(&qf);
	/* Page tokens are bound to the canonical form: the same filters give the same bytes. */
	struct api_filter a, b;
	api_filter_init(&a);
	api_filter_init(&b);
	tf_take(&a, "ext", "c");
	tf_take(&a, "min_size", "3");
	tf_take(&b, "min_size", "3");
	tf_take(&b, "ext", "c");
	CU_ASSERT_EQUAL(api_filter_finish(&a, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(api_filter_finish(&b, bad, sizeof(bad)), 0);
	CU_ASSERT(a.canon.len == b.canon.len && memcmp(a.canon.buf, b.canon.buf, a.canon.len) == 0);
	api_filter_clear(&b);
	api_filter_init(&b);
	tf_take(&b, "min_size", "4");
	tf_take(&b, "ext", "c");
	CU_ASSERT_EQUAL(api_filter_finish(&b, bad, sizeof(bad)), 0);
	CU_ASSERT(a.canon.len != b.canon.len || memcmp(a.canon.buf, b.canon.buf, a.canon.len) != 0);
	api_filter_clear(&a);
	api_filter_clear(&b);
}

static void test_times_and_base64(void)
{
	struct store_time t;
	static const struct {
		const char *s;
		int64_t sec;
		uint32_t nsec;
	} ok[] = {
		{"1970-01-01T00:00:00Z", 0, 0},
		{"1970-01-01t00:00:01z", 1, 0},
		{"2024-02-29T12:00:00.5Z", 1709208000, 500000000},
		{"2024-02-29T14:00:00.000000001+02:00", 1709208000, 1},
		{"1969-12-31T23:59:59.999999999Z", -1, 999999999},
		{"2000-01-01 00:00:00-01:30", 946690200, 0},
		{"9999-12-31T23:59:59Z", 253402300799, 0},
		{"0000-01-01T00:00:00Z", -62167219200, 0},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(api_filter_time(ok[i].s, strlen(ok[i].s), &t), 0);
		CU_ASSERT_EQUAL(t.sec, ok[i].sec);
		CU_ASSERT_EQUAL(t.nsec, ok[i].nsec);
	}
	static const char *const bad[] = {"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
					  "2024-01-01T24:00:00Z", "2024-01-01T00:00:00",
					  "2024-01-01", "2024-01-01T00:00:00.Z",
					  "2024-01-01T00:00:00.1234567891Z", "2024-01-01T00:00:00+2:00",
					  "2024-01-01T00:00:00+24:00", "x024-01-01T00:00:00Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(api_filter_time(bad[i], strlen(bad[i]), &t), -1);
	char *out;
	size_t len;
	CU_ASSERT_EQUAL(api_filter_b64("aGVsbG8=", 8, &out, &len), 0);
	CU_ASSERT(len == 5 && memcmp(out, "hello", 5) == 0);
	free(out);
	CU_ASSERT_EQUAL(api_filter_b64("aGVsbG8", 7, &out, &len), 0); /* unpadded */
	free(out);
	CU_ASSERT_EQUAL(api_filter_b64("aGVsbG9", 7, &out, &len), -1); /* stray bits */
	CU_ASSERT_EQUAL(api_filter_b64("a", 1, &out, &len), -1);
	CU_ASSERT_EQUAL(api_filter_b64("a!==", 4, &out, &len), -1);
}

static void test_ext_and_unstat(void)
{
	CU_ASSERT_TRUE(store_filter_ext("a.tar.gz", 8, "gz", 2));
	CU_ASSERT_TRUE(store_filter_ext("a.tar.gz", 8, "tar.gz", 6));
	CU_ASSERT_FALSE(store_filter_ext("a.tar.gz", 8, "ar.gz", 5));
	CU_ASSERT_FALSE(store_filter_ext("gz", 2, "gz", 2));
	CU_ASSERT_TRUE(store_filter_ext(".gz", 3, "gz", 2)); /* the end after a dot */
	CU_ASSERT_FALSE(store_filter_ext("a.GZ", 4, "gz", 2)); /* case-sensitive */
	struct entry e = {.name = "x", .name_len = 1, .type = ENTRY_FILE};
	struct store_walk_filter f = {.bounds = STORE_FILTER_MAX_SIZE, .max_size = 100};
	CU_ASSERT_FALSE(store_filter_pass(&f, "x", 1, &e)); /* not stat-ed */
	e.flags = ENTRY_HAS_STAT;
	CU_ASSERT_TRUE(store_filter_pass(&f, "x", 1, &e));
	/* The glob is the ignore matcher's: gitignore semantics on the relative path. */
	struct api_filter qf;
	char bad[API_FILTER_BAD_MAX];
	static const struct {
		const char *pat, *path;
		bool dir, want;
	} g[] = {{"*.rs", "a/b/c.rs", false, true},	{"*.rs", "c.rs", false, true},
		 {"src/**/test_*", "src/a/b/test_x.c", false, true},
		 {"src/**/test_*", "src/test_x.c", false, true},
		 {"src/**/test_*", "lib/src/test_x.c", false, false},
		 {"build/", "a/build", true, true},	{"build/", "a/build", false, false},
		 {"/top", "top", false, true},		{"/top", "a/top", false, false}};
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		api_filter_init(&qf);
		CU_ASSERT_EQUAL(api_filter_take(&qf, "match", 5, g[i].pat, strlen(g[i].pat), bad,
						sizeof(bad)), 1);
		CU_ASSERT_EQUAL_FATAL(api_filter_finish(&qf, bad, sizeof(bad)), 0);
		struct entry ge = {.type = g[i].dir ? ENTRY_DIR : ENTRY_FILE};
		CU_ASSERT_EQUAL(store_filter_pass(&qf.f, g[i].path, strlen(g[i].path), &ge), g[i].want);
		api_filter_clear(&qf);
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"each filter and prefix mode vs brute force, both orders, paged", test_each_filter_vs_truth},
		{"prefixes that name nothing, a file named by path", test_prefix_edges},
		{"one entry by path", test_entry_get},
		{"directory totals vs brute force, deleted with the scan", test_tree_totals},
		{"the parser of the query's filters", test_filter_parser},
		{"RFC 3339 times and base64", test_times_and_base64},
		{"extensions, unstat-ed entries, the glob", test_ext_and_unstat},
		{NULL, NULL},
	};
	return unit_run("store_filter", tests);
}
