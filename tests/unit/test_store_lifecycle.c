/* test_store_lifecycle.c: the LMDB store's guards: the lock, the format version, a full map. */
#include <lmdb.h> /* only to forge an unknown format */
#include <inttypes.h>
#include <unistd.h>

#include "tests/unit/test_store_util.h"

static void test_lock_refuses_second_open(void)
{
	char dir[64], pid[32];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0), *s2 = NULL;
	struct store_opts o = {.dir = dir};
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_open(&s2, &o, &err), -EBUSY);
	CU_ASSERT_PTR_NULL(s2);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, pid));
	store_close(s);
	CU_ASSERT_EQUAL(store_open(&s2, &o, &err), 0);
	store_close(s2);
	tsu_rmrf(dir);
}

static void test_unknown_format_refused(void)
{
	char dir[64], path[128];
	store_close(tsu_open(tsu_tmpdir(dir), 0));
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	unsigned char seven[8] = {0, 0, 0, 0, 0, 0, 0, 7};
	MDB_val k = {6, "format"}, v = {8, seven};
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	CU_ASSERT_EQUAL(mdb_put(txn, meta, &k, &v, 0), 0);
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	struct store *s = NULL;
	struct store_opts o = {.dir = dir};
	struct errbuf err = {0};
	CU_ASSERT_TRUE(store_open(&s, &o, &err) < 0);
	char want[256];
	snprintf(want, sizeof(want),
		 "data directory %s has store format 7, newer than this binary's format %d: run the "
		 "leindexd that wrote it (or a newer one), or give this one an empty data directory",
		 dir, STORE_FORMAT_VERSION);
	CU_ASSERT_STRING_EQUAL(err.msg, want);
	/* Nothing was written: the format is still 7. */
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	CU_ASSERT_EQUAL(mdb_get(txn, meta, &k, &v), 0);
	CU_ASSERT_TRUE(v.mv_size == 8 && memcmp(v.mv_data, seven, 8) == 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	tsu_rmrf(dir);
}

static void test_map_full_fails_one_scan(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 1 << 20);
	struct errbuf err = {0};
	uint64_t a = tsu_scan(s, SCAN_RUNNING, "/a"), aroot, root, id;
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, a, 0, "", 10, &aroot, &err), 0);
	CU_ASSERT_EQUAL_FATAL(store_flush(s, a, &err), 0);
	uint64_t bscan = tsu_scan(s, SCAN_RUNNING, "/b");
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, bscan, 0, "", 100, &root, &err), 0);
	int rc = 0;
	char name[16];
	for (int i = 0; i < 400 && rc == 0; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		rc = tsu_put_files(s, bscan, root, name, 500, &id, &err);
	}
	if (rc == 0)
		rc = store_flush(s, bscan, &err);
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "store full: the LMDB map (1048576 bytes) is full; "
					       "raise --map-size"));
	char who[32];
	snprintf(who, sizeof(who), "scan %" PRIu64, bscan);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, who));
	CU_ASSERT_EQUAL(store_flush(s, bscan, &err), -ENOSPC);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_FALSE(info.writable);
	CU_ASSERT_TRUE(info.write_errors >= 1);

	/* The other scan reads and writes on. */
	CU_ASSERT_EQUAL(store_flush(s, a, &err), 0);
	struct tsu_list got = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, a, NULL, 4, &got), 0);
	CU_ASSERT_EQUAL(got.n, 10);
	tsu_list_free(&got);
	/* How much room the failed scan left is a matter of commit timing: free its pages (as a
	 * user would, by deleting it) before asking the other scan to write again. */
	CU_ASSERT_EQUAL(store_scan_delete(s, bscan, &err), 0);
	CU_ASSERT_EQUAL(tsu_put_files(s, a, aroot, "sub", 5, &id, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, a, &err), 0);
	struct store_walk_filter f = {.prefix = "sub", .prefix_len = 3};
	CU_ASSERT_EQUAL(tsu_walk_all(s, a, &f, 4, &got), 0);
	CU_ASSERT_EQUAL(got.n, 5);
	tsu_list_free(&got);
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_TRUE(info.writable); /* a commit succeeded since the failure */
	store_close(s);
	tsu_rmrf(dir);
}

/* Fills the map with scan `b` until the store refuses it; returns the error. */
static int fill_until_full(struct store *s, uint64_t b, struct errbuf *err)
{
	uint64_t root, id;
	int rc = tsu_put_files(s, b, 0, "", 100, &root, err);
	char name[16];
	for (int i = 0; i < 4000 && rc == 0; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		rc = tsu_put_files(s, b, root, name, 500, &id, err);
	}
	return rc ? rc : store_flush(s, b, err);
}

/* Scan data fills only the user's map: deleting what filled it always finds pages, however
 * often the map fills (before the reserve, a purge in a full map could find none, forever). */
static void test_full_map_deletes_again_and_again(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 1 << 20);
	struct errbuf err = {0};
	struct store_info info;
	for (int round = 0; round < 4; round++) {
		uint64_t b = tsu_scan(s, SCAN_RUNNING, "/b");
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(fill_until_full(s, b, &err), -ENOSPC);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "store full"));
		/* Then another scan takes whatever page is left, a directory at a time. */
		uint64_t c = tsu_scan(s, SCAN_RUNNING, "/c"), croot = 0, id;
		int rc = 0;
		char name[16];
		for (int i = 0; i < 100000 && rc == 0; i++) {
			snprintf(name, sizeof(name), "c%d", i);
			rc = tsu_put_files(s, c, croot, croot ? name : "", 1, croot ? &id : &croot, &err);
			if (rc == 0 && i % 64 == 0)
				rc = store_flush(s, c, &err);
		}
		CU_ASSERT_EQUAL(rc, -ENOSPC);
		CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
		CU_ASSERT_FALSE(info.writable);
		CU_ASSERT_TRUE(info.used_bytes <= info.map_bytes);
		CU_ASSERT_EQUAL(info.map_bytes, 1 << 20);
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(store_scan_delete(s, b, &err), 0);
		CU_ASSERT_EQUAL(store_scan_delete(s, c, &err), 0);
		if (err.msg[0])
			fprintf(stderr, "round %d: %s\n", round, err.msg);
		CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
		CU_ASSERT_TRUE(info.writable);
		CU_ASSERT_EQUAL(info.tombstones, 0);
	}
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"lock refuses a second open", test_lock_refuses_second_open},
		{"unknown format refused", test_unknown_format_refused},
		{"map full fails one scan, the other reads on", test_map_full_fails_one_scan},
		{"a full map deletes again and again", test_full_map_deletes_again_and_again},
		{NULL, NULL},
	};
	return unit_run("store lifecycle", tests);
}
