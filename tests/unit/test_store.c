/* test_store.c: the LMDB store: writing batches, walking them back, paging, filters, deletes. */
#include <lmdb.h> /* only to look inside the tables after a delete */
#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

#include "tests/unit/test_store_util.h"

/* ---------------------------------------------------------------- a generated tree */

/*
 * A pseudo-random tree, written to the store while the expected depth-first listing is built by
 * the same recursion. Names come from a pool that stresses the order: "a", "a-b", "a.b" sort as
 * bytes with '-' and '.' below '/', so a walk that sorted whole paths would put a/x after a-b.
 */
struct gen {
	struct store *s;
	uint64_t scan;
	uint32_t seed;
	char path[8192];
	size_t path_len;
	struct tsu_list expect; /* every entry, in walk order */
	struct tsu_list linked; /* directories whose entries were stored */
	struct tsu_list other;	/* directories never stored, and files: no prefix */
	uint64_t entries;
};

static uint32_t gen_rand(struct gen *g)
{
	g->seed = g->seed * 1103515245u + 12345u;
	return g->seed >> 16;
}

static int gen_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static void gen_dir(struct gen *g, uint64_t parent, const char *name, int level)
{
	static const char *const pool[] = {"a", "a-b", "a.b", "b", "c0", "zz", "\xff\xfe", "a b",
					   "a\nb", "aa"};
	const size_t npool = sizeof(pool) / sizeof(pool[0]);
	size_t n = gen_rand(g) % 7 == 0 ? 0 : 2 + gen_rand(g) % 5;
	const char *names[10];
	bool used[10] = {false};
	for (size_t i = 0; i < n; i++) {
		size_t k = gen_rand(g) % npool;
		while (used[k])
			k = (k + 1) % npool;
		used[k] = true;
		names[i] = pool[k];
	}
	qsort(names, n, sizeof(names[0]), gen_name_cmp);
	enum entry_type types[10];
	struct store_batch *b;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	for (size_t i = 0; i < n; i++) {
		types[i] = level < 4 && gen_rand(g) % 2 ? ENTRY_DIR
			   : gen_rand(g) % 4 == 0   ? ENTRY_SYMLINK
						    : ENTRY_FILE;
		struct entry e = tsu_entry(names[i], types[i], g->entries++);
		CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &e, &err), 0);
	}
	uint64_t id;
	CU_ASSERT_EQUAL_FATAL(store_put_dir(g->s, g->scan, parent, name, strlen(name), b, &id, &err),
			      0);
	CU_ASSERT_EQUAL(store_batch_count(b), 0);
	store_batch_destroy(b);
	size_t base = g->path_len;
	for (size_t i = 0; i < n; i++) {
		g->path_len = base;
		if (base)
			g->path[g->path_len++] = '/';
		memcpy(g->path + g->path_len, names[i], strlen(names[i]));
		g->path_len += strlen(names[i]);
		tsu_list_add(&g->expect, g->path, g->path_len, types[i]);
		if (types[i] == ENTRY_DIR && gen_rand(g) % 5 != 0) {
			tsu_list_add(&g->linked, g->path, g->path_len, ENTRY_DIR);
			gen_dir(g, id, names[i], level + 1);
		} else {
			tsu_list_add(&g->other, g->path, g->path_len, types[i]);
		}
	}
	g->path_len = base;
}

static void gen_tree(struct gen *g, struct store *s, uint64_t scan, uint32_t seed)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->scan = scan;
	g->seed = seed;
	gen_dir(g, 0, "", 0);
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_flush(s, scan, &err), 0);
}

static void gen_free(struct gen *g)
{
	tsu_list_free(&g->expect);
	tsu_list_free(&g->linked);
	tsu_list_free(&g->other);
}

/* Whether `got` equals `want` from index `from` on. */
static bool lists_equal(const struct tsu_list *got, const struct tsu_list *want, size_t from)
{
	if (got->n != want->n - from) {
		fprintf(stderr, "got %zu entries, want %zu\n", got->n, want->n - from);
		return false;
	}
	for (size_t i = 0; i < got->n; i++) {
		if (strcmp(got->paths[i], want->paths[from + i]) != 0) {
			fprintf(stderr, "entry %zu: got '%s', want '%s'\n", i, got->paths[i],
				want->paths[from + i]);
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- tests */

struct sib_check {
	struct tsu_list l;
	int target_ok, hash_ok, stat_ok;
};

static int sib_cb(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct sib_check *c = ctx;
	tsu_list_add(&c->l, path, len, e->type);
	if (len == 3 && memcmp(path, "a-b", 3) == 0)
		c->target_ok = e->type == ENTRY_SYMLINK && e->target_len == 4 &&
			       memcmp(e->target, "../t", 4) == 0;
	if (len == 3 && memcmp(path, "a.b", 3) == 0)
		c->hash_ok = (e->flags & ENTRY_HAS_HASH) && e->sha256[0] == 0xab &&
			     e->sha256[31] == 0xcd && e->mtime_sec == -86400 &&
			     e->ctime_sec == 4102444800LL && e->size == 4294967297ULL;
	if (len == 3 && memcmp(path, "a/x", 3) == 0)
		c->stat_ok = e->mode == 04755 && e->uid == 1000 + 7 % 3 && e->ino == 1000007 &&
			     e->mtime_nsec == 7 * 7919 && e->name_len == 1 && e->name[0] == 'x';
	return 0;
}

static void test_sibling_order_and_fields(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/r");
	struct store_batch *b;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	struct entry a = tsu_entry("a", ENTRY_DIR, 1), ab = tsu_entry("a-b", ENTRY_SYMLINK, 2),
		     adb = tsu_entry("a.b", ENTRY_FILE, 3);
	ab.target = "../t";
	ab.target_len = 4;
	adb.flags |= ENTRY_HAS_HASH;
	adb.sha256[0] = 0xab;
	adb.sha256[31] = 0xcd;
	adb.mtime_sec = -86400;
	adb.ctime_sec = 4102444800LL;
	adb.size = 4294967297ULL;
	CU_ASSERT_EQUAL(store_batch_add(b, &a, &err), 0);
	CU_ASSERT_EQUAL(store_batch_add(b, &ab, &err), 0);
	CU_ASSERT_EQUAL(store_batch_add(b, &adb, &err), 0);
	/* Out of order and duplicate names are refused with a message. */
	CU_ASSERT_EQUAL(store_batch_add(b, &a, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "order"));
	uint64_t root, sub;
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, 0, "", 0, b, &root, &err), 0);
	struct entry x = tsu_entry("x", ENTRY_FILE, 7);
	x.mode = 04755;
	CU_ASSERT_EQUAL(store_batch_add(b, &x, &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, root, "a", 1, b, &sub, &err), 0);
	CU_ASSERT_TRUE(sub > root);
	store_batch_destroy(b);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);

	struct sib_check c = {0};
	struct store_pos next;
	bool more;
	CU_ASSERT_EQUAL(store_walk(s, scan, NULL, NULL, 100, sib_cb, &c, &next, &more, &err), 0);
	CU_ASSERT_FALSE(more);
	CU_ASSERT_EQUAL_FATAL(c.l.n, 4);
	CU_ASSERT_STRING_EQUAL(c.l.paths[0], "a");
	CU_ASSERT_STRING_EQUAL(c.l.paths[1], "a/x");
	CU_ASSERT_STRING_EQUAL(c.l.paths[2], "a-b");
	CU_ASSERT_STRING_EQUAL(c.l.paths[3], "a.b");
	CU_ASSERT_TRUE(c.target_ok);
	CU_ASSERT_TRUE(c.hash_ok);
	CU_ASSERT_TRUE(c.stat_ok);
	tsu_list_free(&c.l);
	store_close(s);
	tsu_rmrf(dir);
}

/* Slices of a directory read by several workers are joined in order; out of order is refused. */
static void test_batch_append(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/r"), id;
	struct store_batch *a, *b;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
	for (size_t i = 0; i < 6; i++) {
		struct entry e = tsu_entry(names[i], ENTRY_FILE, i);
		CU_ASSERT_EQUAL(store_batch_add(i < 3 ? a : b, &e, &err), 0);
	}
	CU_ASSERT_EQUAL(store_batch_append(b, a, &err), -EINVAL);
	CU_ASSERT_EQUAL(store_batch_append(a, b, &err), 0);
	CU_ASSERT_EQUAL(store_batch_count(a), 6);
	CU_ASSERT_EQUAL(store_batch_count(b), 0);
	struct entry g = tsu_entry("g", ENTRY_FILE, 9), c = tsu_entry("c", ENTRY_FILE, 9);
	CU_ASSERT_EQUAL(store_batch_add(a, &c, &err), -EINVAL);
	CU_ASSERT_EQUAL(store_batch_add(a, &g, &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, 0, "", 0, a, &id, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, scan, NULL, 100, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 7);
	for (size_t i = 0; i < 6; i++)
		CU_ASSERT_STRING_EQUAL(l.paths[i], names[i]);
	CU_ASSERT_STRING_EQUAL(l.paths[6], "g");
	tsu_list_free(&l);
	store_batch_destroy(a);
	store_batch_destroy(b);
	store_close(s);
	tsu_rmrf(dir);
}

static void test_random_trees_resume_everywhere(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	size_t total = 0;
	for (uint32_t seed = 1; seed <= 12; seed++) {
		struct gen g;
		uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/r");
		gen_tree(&g, s, scan, seed);
		total += g.expect.n;
		for (size_t page = 1; page <= 7; page += 6) {
			struct tsu_list got = {0};
			CU_ASSERT_EQUAL(tsu_walk_all(s, scan, NULL, page, &got), 0);
			CU_ASSERT_TRUE(lists_equal(&got, &g.expect, 0));
			tsu_list_free(&got);
		}
		/* Every position, taken from pages of one, resumes with exactly the rest. */
		struct store_pos *pos = calloc(g.expect.n + 1, sizeof(*pos));
		struct store_pos next;
		bool more = g.expect.n > 0;
		struct errbuf err = {0};
		for (size_t i = 0; i < g.expect.n; i++) {
			struct tsu_list one = {0};
			CU_ASSERT_EQUAL(store_walk(s, scan, NULL, i ? &pos[i - 1] : NULL, 1,
						   tsu_collect, &one, &pos[i], &more, &err),
					0);
			CU_ASSERT_EQUAL(one.n, 1);
			CU_ASSERT_EQUAL(more, i + 1 < g.expect.n);
			tsu_list_free(&one);
		}
		for (size_t i = 0; i < g.expect.n; i++) {
			struct tsu_list rest = {0};
			CU_ASSERT_EQUAL(store_walk(s, scan, NULL, &pos[i], SIZE_MAX, tsu_collect,
						   &rest, &next, &more, &err),
					0);
			CU_ASSERT_FALSE(more);
			CU_ASSERT_TRUE(lists_equal(&rest, &g.expect, i + 1));
			tsu_list_free(&rest);
		}
		free(pos);
		gen_free(&g);
	}
	CU_ASSERT_TRUE(total > 400);
	store_close(s);
	tsu_rmrf(dir);
}

static void test_prefix_and_type_filters(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/r");
	struct gen g;
	gen_tree(&g, s, scan, 42);
	for (uint32_t seed = 43; g.linked.n < 6; seed++) {
		gen_free(&g);
		scan = tsu_scan(s, SCAN_RUNNING, "/r");
		gen_tree(&g, s, scan, seed);
	}
	struct errbuf err = {0};
	/* Below each stored directory: exactly the entries whose path extends it. */
	for (size_t d = 0; d < g.linked.n; d++) {
		const char *p = g.linked.paths[d];
		size_t plen = strlen(p);
		struct tsu_list want = {0}, got = {0};
		for (size_t i = 0; i < g.expect.n; i++)
			if (strncmp(g.expect.paths[i], p, plen) == 0 && g.expect.paths[i][plen] == '/')
				tsu_list_add(&want, g.expect.paths[i], strlen(g.expect.paths[i]),
					     g.expect.types[i]);
		struct store_walk_filter f = {.prefix = p, .prefix_len = plen};
		CU_ASSERT_EQUAL(tsu_walk_all(s, scan, &f, 3, &got), 0);
		CU_ASSERT_TRUE(lists_equal(&got, &want, 0));
		tsu_list_free(&got);
		tsu_list_free(&want);
	}
	/* Files and unstored directories are no prefix. */
	for (size_t i = 0; i < g.other.n; i++) {
		struct store_walk_filter f = {.prefix = g.other.paths[i],
					      .prefix_len = strlen(g.other.paths[i])};
		struct tsu_list got = {0};
		CU_ASSERT_EQUAL(tsu_walk_all(s, scan, &f, 3, &got), -ENOENT);
		tsu_list_free(&got);
	}
	/* Type masks, paged: the pages still join up. */
	unsigned masks[] = {1u << ENTRY_DIR, 1u << ENTRY_FILE, (1u << ENTRY_SYMLINK) | (1u << ENTRY_DIR)};
	for (size_t m = 0; m < 3; m++) {
		for (size_t page = 1; page <= 4; page += 3) {
			struct tsu_list want = {0}, got = {0};
			for (size_t i = 0; i < g.expect.n; i++)
				if (masks[m] & (1u << g.expect.types[i]))
					tsu_list_add(&want, g.expect.paths[i],
						     strlen(g.expect.paths[i]), g.expect.types[i]);
			struct store_walk_filter f = {.type_mask = masks[m]};
			CU_ASSERT_EQUAL(tsu_walk_all(s, scan, &f, page, &got), 0);
			CU_ASSERT_TRUE(lists_equal(&got, &want, 0));
			tsu_list_free(&got);
			tsu_list_free(&want);
		}
	}
	/* A position outside the prefix, of another scan, or unknown: -EINVAL. */
	struct store_pos pos, next;
	bool more;
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(store_walk(s, scan, NULL, NULL, 1, tsu_collect, &l, &pos, &more, &err), 0);
	uint64_t other = tsu_scan(s, SCAN_RUNNING, "/o");
	struct gen g2;
	gen_tree(&g2, s, other, 43);
	CU_ASSERT_EQUAL(store_walk(s, other, NULL, &pos, 5, tsu_collect, &l, &next, &more, &err),
			-EINVAL);
	struct store_pos bogus = pos;
	bogus.name[0] ^= 0x55;
	CU_ASSERT_EQUAL(store_walk(s, scan, NULL, &bogus, 5, tsu_collect, &l, &next, &more, &err),
			-EINVAL);
	CU_ASSERT_EQUAL(store_walk(s, 999, NULL, NULL, 5, tsu_collect, &l, &next, &more, &err),
			-ENOENT);
	tsu_list_free(&l);
	gen_free(&g);
	gen_free(&g2);
	store_close(s);
	tsu_rmrf(dir);
}

static void test_deep_chain_long_paths(void)
{
	enum { LEVELS = 1000 };
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/deep");
	struct store_batch *b;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	uint64_t parent = 0;
	char name[32] = "", child[32];
	for (int level = 0; level <= LEVELS; level++) {
		struct entry f = tsu_entry("file", ENTRY_FILE, (uint64_t)level);
		CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &f, &err), 0);
		snprintf(child, sizeof(child), "level-%06d", level + 1);
		if (level < LEVELS) {
			struct entry d = tsu_entry(child, ENTRY_DIR, (uint64_t)level);
			CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &d, &err), 0);
		}
		uint64_t id;
		CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, parent, name, strlen(name), b, &id, &err),
				      0);
		parent = id;
		strcpy(name, child);
	}
	store_batch_destroy(b);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	static const size_t pages[] = {7, 100000};
	for (size_t pi = 0; pi < 2; pi++) {
		size_t page = pages[pi];
		struct tsu_list got = {0};
		CU_ASSERT_EQUAL(tsu_walk_all(s, scan, NULL, page, &got), 0);
		CU_ASSERT_EQUAL_FATAL(got.n, 2 * LEVELS + 1);
		size_t last = strlen(got.paths[got.n - 1]);
		CU_ASSERT_EQUAL(last, LEVELS * 13 + 4);
		CU_ASSERT_EQUAL(strcmp(got.paths[0], "file"), 0);
		CU_ASSERT_EQUAL(strcmp(got.paths[1], "level-000001"), 0);
		CU_ASSERT_EQUAL(strcmp(got.paths[2], "level-000001/file"), 0);
		/* Under a deep prefix: the rest of the chain. */
		struct store_walk_filter f = {.prefix = got.paths[1001],
					      .prefix_len = strlen(got.paths[1001])};
		struct tsu_list sub = {0};
		CU_ASSERT_EQUAL(tsu_walk_all(s, scan, &f, page, &sub), 0);
		CU_ASSERT_TRUE(lists_equal(&sub, &got, 1002));
		tsu_list_free(&sub);
		tsu_list_free(&got);
	}
	store_close(s);
	tsu_rmrf(dir);
}

struct err_seen {
	uint64_t seqs[64];
	size_t n;
	bool ok;
};

static int err_cb(void *ctx, const struct store_error *e)
{
	struct err_seen *c = ctx;
	char want[32];
	snprintf(want, sizeof(want), "dir/p%" PRIu64, e->seq);
	c->ok = c->ok && e->path_len == strlen(want) && memcmp(e->path, want, e->path_len) == 0 &&
		strcmp(e->op, "open") == 0 && e->errnum == (int)e->seq;
	c->seqs[c->n++] = e->seq;
	return 0;
}

static void test_errors_paging(void)
{
	char dir[64], path[32];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/r"), next = 0;
	struct errbuf err = {0};
	for (int i = 1; i <= 25; i++) {
		snprintf(path, sizeof(path), "dir/p%d", i);
		CU_ASSERT_EQUAL(store_put_error(s, scan, path, strlen(path), "open", i, &err), 0);
	}
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	struct err_seen c = {.ok = true};
	bool more;
	size_t pages = 0;
	do {
		CU_ASSERT_EQUAL_FATAL(store_errors(s, scan, next, 10, err_cb, &c, &next, &more, &err),
				      0);
		pages++;
	} while (more);
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(c.n, 25);
	CU_ASSERT_TRUE(c.ok);
	for (size_t i = 0; i < c.n; i++)
		CU_ASSERT_EQUAL(c.seqs[i], i + 1);
	CU_ASSERT_EQUAL(store_errors(s, 777, 0, 10, err_cb, &c, &next, &more, &err), -ENOENT);
	store_close(s);

	/* After a reopen, numbering goes on. */
	s = tsu_open(dir, 0);
	CU_ASSERT_EQUAL(store_put_error(s, scan, "dir/p26", 7, "open", 26, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	c = (struct err_seen){.ok = true};
	CU_ASSERT_EQUAL(store_errors(s, scan, 24, 10, err_cb, &c, &next, &more, &err), 0);
	CU_ASSERT_EQUAL(c.n, 2);
	CU_ASSERT_EQUAL(c.seqs[1], 26);
	CU_ASSERT_TRUE(c.ok);
	CU_ASSERT_FALSE(more);
	store_close(s);
	tsu_rmrf(dir);
}

static void test_interrupted_on_reopen(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t q = tsu_scan(s, SCAN_QUEUED, "/q"), r = tsu_scan(s, SCAN_RUNNING, "/r"),
		 c = tsu_scan(s, SCAN_COMPLETED, "/c");
	store_close(s);
	s = tsu_open(dir, 0);
	struct store_scan sc;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, q, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_INTERRUPTED);
	CU_ASSERT_TRUE(sc.finished_ns > 0);
	CU_ASSERT_STRING_EQUAL(sc.root, "/q");
	CU_ASSERT_STRING_EQUAL(sc.options_json, "{}");
	CU_ASSERT_PTR_NULL(sc.error);
	store_scan_clear(&sc);
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, r, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_INTERRUPTED);
	store_scan_clear(&sc);
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, c, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_COMPLETED);
	CU_ASSERT_EQUAL(sc.finished_ns, 0);
	store_scan_clear(&sc);
	CU_ASSERT_EQUAL(store_scan_get(s, 99, &sc, &err), -ENOENT);
	store_close(s);
	tsu_rmrf(dir);
}

struct list_seen {
	uint64_t ids[16];
	size_t n;
};

static int list_cb(void *ctx, const struct store_scan *scan)
{
	struct list_seen *l = ctx;
	l->ids[l->n++] = scan->id;
	return l->n == 16;
}

static void test_scan_list_and_update(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = tsu_scan(s, i % 2 ? SCAN_COMPLETED : SCAN_RUNNING, "/x");
	struct errbuf err = {0};
	struct list_seen l = {0};
	CU_ASSERT_EQUAL(store_scan_list(s, 0, 0, list_cb, &l, &err), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 5);
	CU_ASSERT_EQUAL(l.ids[0], ids[4]);
	CU_ASSERT_EQUAL(l.ids[4], ids[0]);
	l.n = 0;
	CU_ASSERT_EQUAL(store_scan_list(s, ids[3], 1u << SCAN_RUNNING, list_cb, &l, &err), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.ids[0], ids[2]);
	CU_ASSERT_EQUAL(l.ids[1], ids[0]);

	struct store_scan up = {.id = ids[0], .state = SCAN_FAILED, .root = "/x", .root_len = 2,
				.error = "boom", .counters_json = "{\"a\":1}", .finished_ns = -5,
				.totals = {1, 2, 3, 4, 5, 6}};
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
	struct store_scan got;
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, ids[0], &got, &err), 0);
	CU_ASSERT_EQUAL(got.state, SCAN_FAILED);
	CU_ASSERT_STRING_EQUAL(got.error, "boom");
	CU_ASSERT_STRING_EQUAL(got.counters_json, "{\"a\":1}");
	CU_ASSERT_PTR_NULL(got.options_json);
	CU_ASSERT_EQUAL(got.finished_ns, -5);
	CU_ASSERT_EQUAL(got.totals.bytes, 5);
	CU_ASSERT_EQUAL(got.totals.errors, 6);
	store_scan_clear(&got);
	up.id = 12345;
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), -ENOENT);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_TRUE(info.writable);
	CU_ASSERT_TRUE(info.commits >= 6);
	CU_ASSERT_TRUE(info.file_bytes > 0 && info.used_bytes > 0);
	CU_ASSERT_EQUAL(info.map_bytes, (uint64_t)64 << 30);
	store_close(s);
	tsu_rmrf(dir);
}

/* Many records at once: each written, a missing scan failing alone, the others still written. */
static void test_scan_update_many(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	enum { N = 300 };
	static struct store_scan up[N + 1];
	static int rcs[N + 1];
	static struct errbuf errs[N + 1];
	for (int i = 0; i < N; i++) {
		uint64_t id = tsu_scan(s, SCAN_QUEUED, "/q");
		up[i] = (struct store_scan){.id = id, .state = SCAN_INTERRUPTED, .root = "/q",
					    .root_len = 2, .error = "shut down", .finished_ns = 7};
	}
	/* One not there, in the middle of the group. */
	up[N] = up[N / 2];
	up[N / 2].id = 999999;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_scan_update_many(s, up, N + 1, rcs, errs, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "999999"));
	for (int i = 0; i <= N; i++) {
		if (i == N / 2) {
			CU_ASSERT_EQUAL(rcs[i], -ENOENT);
			continue;
		}
		CU_ASSERT_EQUAL(rcs[i], 0);
		struct store_scan got;
		CU_ASSERT_EQUAL_FATAL(store_scan_get(s, up[i].id, &got, &err), 0);
		CU_ASSERT_EQUAL(got.state, SCAN_INTERRUPTED);
		CU_ASSERT_STRING_EQUAL(got.error, "shut down");
		store_scan_clear(&got);
	}
	/* All well: 0, and nothing at all is fine too. */
	up[N / 2] = up[N];
	CU_ASSERT_EQUAL(store_scan_update_many(s, up, N, rcs, errs, &err), 0);
	CU_ASSERT_EQUAL(store_scan_update_many(s, up, 0, rcs, errs, &err), 0);
	store_close(s);
	tsu_rmrf(dir);
}

/* Counts the keys of a table. */
static size_t count_keys(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;
	if (mdb_stat(txn, dbi, &st))
		return (size_t)-1;
	return st.ms_entries;
}

static void test_delete_removes_everything(void)
{
	char dir[64], path[128];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	uint64_t keep = tsu_scan(s, SCAN_COMPLETED, "/k"), gone = tsu_scan(s, SCAN_RUNNING, "/g");
	struct gen gk, gg;
	gen_tree(&gk, s, keep, 5);
	gen_tree(&gg, s, gone, 6);
	uint64_t id;
	/* A non-root directory needs a name. */
	CU_ASSERT_EQUAL(tsu_put_files(s, gone, 1, "", 0, &id, &err), -EINVAL);
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, gone, NULL, 1000, &l), 0);
	tsu_list_free(&l);
	/* A directory of 25,000 entries spans several delete transactions. */
	uint64_t huge = tsu_scan(s, SCAN_RUNNING, "/h");
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, huge, 0, "", 25000, &id, &err), 0);
	for (int i = 0; i < 30; i++)
		CU_ASSERT_EQUAL(store_put_error(s, gone, "x", 1, "open", EACCES, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, gone, &err), 0);

	CU_ASSERT_EQUAL(store_scan_delete(s, gone, &err), 0);
	CU_ASSERT_EQUAL(store_scan_delete(s, huge, &err), 0);
	CU_ASSERT_EQUAL(store_scan_delete(s, gone, &err), -ENOENT);
	CU_ASSERT_EQUAL(tsu_walk_all(s, gone, NULL, 10, &l), -ENOENT);
	struct store_scan sc;
	CU_ASSERT_EQUAL(store_scan_get(s, gone, &sc, &err), -ENOENT);
	uint64_t next;
	bool more;
	CU_ASSERT_EQUAL(store_errors(s, gone, 0, 10, NULL, NULL, &next, &more, &err), -ENOENT);
	/* Writes for a deleted scan are refused. */
	CU_ASSERT_TRUE(tsu_put_files(s, gone, 0, "", 1, &id, &err) < 0);
	CU_ASSERT_EQUAL(tsu_walk_all(s, keep, NULL, 1000, &l), 0);
	CU_ASSERT_TRUE(lists_equal(&l, &gk.expect, 0));
	tsu_list_free(&l);
	uint64_t fresh = tsu_scan(s, SCAN_RUNNING, "/f");
	CU_ASSERT_TRUE(fresh > huge);
	CU_ASSERT_EQUAL(store_scan_delete(s, fresh, &err), 0);
	store_close(s);

	/* Inside: only the kept scan's rows are left. */
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "entries", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), gk.expect.n);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "dirs", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), gk.linked.n + 1);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "links", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), gk.linked.n + 1);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "errors", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), 0);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "scans", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), 1);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), 3); /* format, next_scan_id, next_dir_id */
	mdb_txn_abort(txn);
	mdb_env_close(env);

	/* Ids are never reused, even when the newest scan was deleted. */
	s = tsu_open(dir, 0);
	CU_ASSERT_TRUE(tsu_scan(s, SCAN_RUNNING, "/n") > fresh);
	store_close(s);
	gen_free(&gk);
	gen_free(&gg);
	tsu_rmrf(dir);
}

/* A deletion cut short (tombstone committed, rows left) is finished by the next open. */
static void test_interrupted_delete_finished_on_open(void)
{
	char dir[64], path[128];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	uint64_t id, scan = tsu_scan(s, SCAN_COMPLETED, "/x");
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, scan, 0, "", 50, &id, &err), 0);
	CU_ASSERT_EQUAL(store_put_error(s, scan, "y", 1, "open", EIO, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	store_close(s);

	/* What a crash right after store_scan_tombstone() leaves: the tombstone, every row. */
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi tomb, dbi;
	unsigned char sk[8] = {0};
	sk[7] = (unsigned char)scan;
	MDB_val k = {8, sk}, v = {0, ""};
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "tombstones", 0, &tomb), 0);
	CU_ASSERT_EQUAL(mdb_put(txn, tomb, &k, &v, 0), 0);
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	s = tsu_open(dir, 0);
	struct store_scan sc;
	CU_ASSERT_EQUAL(store_scan_get(s, scan, &sc, &err), -ENOENT);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.tombstones, 0);
	store_close(s);

	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	static const char *const tables[] = {"entries", "dirs",	  "links",
					     "errors",	"scans", "tombstones"};
	for (size_t i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(mdb_dbi_open(txn, tables[i], 0, &dbi), 0);
		CU_ASSERT_EQUAL(count_keys(txn, dbi), 0);
	}
	CU_ASSERT_EQUAL(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	CU_ASSERT_EQUAL(count_keys(txn, dbi), 3);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"sibling order a, a/x, a-b, a.b and fields", test_sibling_order_and_fields},
		{"batch append joins slices in order", test_batch_append},
		{"random trees: pages of 1 and 7, resume everywhere", test_random_trees_resume_everywhere},
		{"prefix and type filters, bad positions", test_prefix_and_type_filters},
		{"1,000-level chain with 13 KB paths", test_deep_chain_long_paths},
		{"errors paging and numbering across reopen", test_errors_paging},
		{"queued and running scans interrupted on reopen", test_interrupted_on_reopen},
		{"scan list, update, info", test_scan_list_and_update},
		{"many scan records at once", test_scan_update_many},
		{"delete removes everything, ids not reused", test_delete_removes_everything},
		{"a cut-short delete is finished on open", test_interrupted_delete_finished_on_open},
		{NULL, NULL},
	};
	return unit_run("store", tests);
}
