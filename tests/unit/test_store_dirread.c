/* test_store_dirread.c: one stored directory read back for a rescan (store_dirread.h). */
#include "tests/unit/test_store_util.h"

#include "store/store_dirread.h"

/*
 * A scan of three directories is stored: the root (files, a symlink, two subdirectories, one of
 * them never read), and "sub" with a hashed file. Each read must give the rows in name order with
 * every field, the subdirectories' dir_ids (0 for the one not read), and a lazy read the same
 * rows once decoded, with their stored bytes copied as they are by store_batch_add_raw(). A read
 * after the scan was deleted fails, although the reader's last snapshot had it alive.
 */

#define TDR_ROOT_N 5

struct tdr_scan {
	uint64_t id, root_dir, sub_dir;
	struct entry root[TDR_ROOT_N];
	struct entry sub[2];
};

static void tdr_put(struct store *s, uint64_t scan, uint64_t parent, const char *name,
		    const struct entry *v, size_t n, uint64_t *dir)
{
	struct store_batch *b = NULL;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &v[i], &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, parent, name, strlen(name), b, dir, &err), 0);
	store_batch_destroy(b);
}

static void tdr_store(struct store *s, struct tdr_scan *t)
{
	/* Bytewise name order, as a batch takes them. */
	t->root[0] = tsu_entry("a.txt", ENTRY_FILE, 1);
	t->root[1] = tsu_entry("link", ENTRY_SYMLINK, 2);
	t->root[1].target = "a.txt";
	t->root[1].target_len = 5;
	t->root[2] = tsu_entry("sub", ENTRY_DIR, 3);
	t->root[3] = tsu_entry("unread", ENTRY_DIR, 4);
	t->root[4] = tsu_entry("z", ENTRY_FILE, 5);
	t->root[4].flags = 0; /* not stat-ed: no size */
	t->sub[0] = tsu_entry("h", ENTRY_FILE, 6);
	t->sub[0].flags |= ENTRY_HAS_HASH;
	memset(t->sub[0].sha256, 0xab, sizeof(t->sub[0].sha256));
	t->sub[1] = tsu_entry("plain", ENTRY_FILE, 7);
	t->id = tsu_scan(s, SCAN_RUNNING, "/tdr");
	tdr_put(s, t->id, 0, "", t->root, TDR_ROOT_N, &t->root_dir);
	tdr_put(s, t->id, t->root_dir, "sub", t->sub, 2, &t->sub_dir);
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_flush(s, t->id, &err), 0);
}

/* Whether stored entry `got` is `want` field for field (what the codec keeps). */
static bool tdr_same(const struct entry *got, const struct entry *want)
{
	bool stat = want->flags & ENTRY_HAS_STAT;
	return got->name_len == want->name_len && memcmp(got->name, want->name, want->name_len) == 0 &&
	       got->type == want->type &&
	       (got->flags & (ENTRY_HAS_STAT | ENTRY_HAS_HASH)) ==
		       (want->flags & (ENTRY_HAS_STAT | ENTRY_HAS_HASH)) &&
	       (!stat || (got->mode == want->mode && got->size == want->size &&
			  got->ino == want->ino && got->mtime_sec == want->mtime_sec &&
			  got->mtime_nsec == want->mtime_nsec && got->ctime_nsec == want->ctime_nsec)) &&
	       got->target_len == want->target_len &&
	       (!want->target_len || memcmp(got->target, want->target, want->target_len) == 0) &&
	       (!(want->flags & ENTRY_HAS_HASH) ||
		memcmp(got->sha256, want->sha256, sizeof(want->sha256)) == 0);
}

static void test_dirread_rows_and_children(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct tdr_scan t;
	tdr_store(s, &t);
	struct store_dirents d = {0};
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "", 0, &d, &err), 0);
	CU_ASSERT_TRUE(d.found);
	CU_ASSERT_EQUAL_FATAL(d.n, TDR_ROOT_N);
	for (size_t i = 0; i < d.n; i++)
		CU_ASSERT_TRUE(tdr_same(&d.e[i], &t.root[i]));
	CU_ASSERT_EQUAL(d.child[2], t.sub_dir); /* sub: read, linked */
	CU_ASSERT_EQUAL(d.child[3], 0);         /* unread: a row, no directory */
	CU_ASSERT_EQUAL(d.child[0], 0);
	CU_ASSERT_STRING_EQUAL(d.e[2].name, "sub"); /* a subdirectory's name is NUL-terminated */
	CU_ASSERT_EQUAL(store_dirents_lower_bound(&d, "sub", 3), 2);
	CU_ASSERT_EQUAL(store_dirents_lower_bound(&d, "zz", 2), TDR_ROOT_N);
	/* By the id the parent's row gave, and by path: the same rows. */
	CU_ASSERT_EQUAL_FATAL(store_dir_entries_id(s, t.id, d.child[2], &d, &err), 0);
	CU_ASSERT_EQUAL_FATAL(d.n, 2);
	CU_ASSERT_TRUE(tdr_same(&d.e[0], &t.sub[0]) && tdr_same(&d.e[1], &t.sub[1]));
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "sub", 3, &d, &err), 0);
	CU_ASSERT_EQUAL(d.n, 2);
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "unread", 6, &d, &err), 0);
	CU_ASSERT_FALSE(d.found);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "no/such", 7, &d, &err), 0);
	CU_ASSERT_FALSE(d.found);
	CU_ASSERT_EQUAL(store_dir_entries_id(s, t.id, 0, &d, &err), 0);
	CU_ASSERT_FALSE(d.found);
	store_dirents_free(&d);
	store_close(s);
	tsu_rmrf(dir);
}

/* Copies every row of directory `dirent` of the lazy read into a batch, as stored. */
static void tdr_copy_raw(const struct store_dirents *d, struct store_batch *b, uint64_t *bytes)
{
	struct errbuf err = {0};
	*bytes = 0;
	for (size_t i = 0; i < d->n; i++) {
		uint64_t fb = 99;
		CU_ASSERT_EQUAL_FATAL(store_batch_add_raw(b, d, i, &fb, &err), 0);
		*bytes += fb;
	}
}

static void test_dirread_lazy_and_raw_copy(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct tdr_scan t;
	tdr_store(s, &t);
	struct store_dirents d = {.lazy = true};
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "", 0, &d, &err), 0);
	CU_ASSERT_EQUAL_FATAL(d.n, TDR_ROOT_N);
	/* Lazy: a file carries its name, type and flags only; a subdirectory is whole. */
	CU_ASSERT_EQUAL(d.e[0].type, ENTRY_FILE);
	CU_ASSERT_EQUAL(d.e[0].flags & ENTRY_HAS_STAT, ENTRY_HAS_STAT);
	CU_ASSERT_EQUAL(d.e[0].size, 0);
	CU_ASSERT_EQUAL(d.e[1].target_len, 0);
	CU_ASSERT_TRUE(tdr_same(&d.e[2], &t.root[2]));
	CU_ASSERT_EQUAL(d.child[2], t.sub_dir);
	for (size_t i = 0; i < d.n; i++) {
		struct entry e;
		CU_ASSERT_EQUAL(store_dirents_decode(&d, i, &e), 0);
		CU_ASSERT_TRUE(tdr_same(&e, &t.root[i]));
	}
	/* The rows copied as stored into another scan: read back, the same entries; the
	 * directory's totals as its batch counted them (a.txt's size; z has none). */
	struct store_batch *b = NULL;
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	uint64_t bytes, copy_root;
	tdr_copy_raw(&d, b, &bytes);
	CU_ASSERT_EQUAL(bytes, t.root[0].size);
	CU_ASSERT_EQUAL(store_batch_count(b), TDR_ROOT_N);
	/* Out of order: refused. */
	CU_ASSERT_EQUAL(store_batch_add_raw(b, &d, 0, &bytes, &err), -EINVAL);
	uint64_t other = tsu_scan(s, SCAN_RUNNING, "/tdr");
	CU_ASSERT_EQUAL_FATAL(store_put_dir(s, other, 0, "", 0, b, &copy_root, &err), 0);
	store_batch_destroy(b);
	CU_ASSERT_EQUAL_FATAL(store_flush(s, other, &err), 0);
	struct store_dirents c = {0};
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, other, "", 0, &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, TDR_ROOT_N);
	for (size_t i = 0; i < c.n; i++) {
		CU_ASSERT_TRUE(tdr_same(&c.e[i], &t.root[i]));
		CU_ASSERT_TRUE(c.raw_len[i] == d.raw_len[i] &&
			       memcmp(c.raw[i], d.raw[i], d.raw_len[i]) == 0);
	}
	CU_ASSERT_EQUAL_FATAL(store_tree_build(s, other, &err), 0);
	store_dirents_free(&c);
	store_dirents_free(&d);
	store_close(s);
	tsu_rmrf(dir);
}

static void test_dirread_deleted_scan(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct tdr_scan t;
	tdr_store(s, &t);
	struct store_dirents d = {0};
	struct errbuf err = {0};
	/* Two reads in one snapshot: the second does not look the scan up again. */
	CU_ASSERT_EQUAL_FATAL(store_dir_entries(s, t.id, "", 0, &d, &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_dir_entries_id(s, t.id, t.sub_dir, &d, &err), 0);
	CU_ASSERT_EQUAL(d.n, 2);
	/* Deleted (a tombstone committed): the next read is in a newer snapshot and fails. */
	CU_ASSERT_EQUAL_FATAL(store_scan_delete(s, t.id, &err), 0);
	CU_ASSERT_EQUAL(store_dir_entries_id(s, t.id, t.sub_dir, &d, &err), -ENOENT);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(store_dir_entries(s, t.id, "", 0, &d, &err), -ENOENT);
	store_dirents_free(&d);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"rows in name order, every field, subdirectories' ids, by path or by id",
		 test_dirread_rows_and_children},
		{"a lazy read decodes files on demand; rows copied as stored read back the same",
		 test_dirread_lazy_and_raw_copy},
		{"a read after the scan was deleted fails, though the last snapshot had it",
		 test_dirread_deleted_scan},
		{NULL, NULL},
	};
	return unit_run("store dirread", tests);
}
