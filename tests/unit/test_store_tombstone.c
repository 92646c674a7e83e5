/*
 * test_store_tombstone.c: durable deletion (tombstones, purges), the per-scan states the store
 * keeps and prunes, and the totals of a scan a crash interrupted.
 */
#include <lmdb.h> /* only to count rows behind the store's back */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_store_util.h"

/* Rows of each table, read with LMDB directly (the store closed). */
struct rows {
	size_t scans, tombstones, entries, dirs, links, errors;
};

static size_t rows_of(MDB_txn *txn, const char *table)
{
	MDB_dbi dbi;
	MDB_stat st;
	if (mdb_dbi_open(txn, table, 0, &dbi) || mdb_stat(txn, dbi, &st))
		return (size_t)-1;
	return st.ms_entries;
}

static struct rows count_rows(const char *dir)
{
	char path[128];
	struct rows r;
	memset(&r, 0xff, sizeof(r));
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	MDB_env *env;
	MDB_txn *txn;
	if (mdb_env_create(&env))
		return r;
	mdb_env_set_maxdbs(env, 8);
	if (mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
		mdb_env_close(env);
		return r;
	}
	r = (struct rows){rows_of(txn, "scans"),   rows_of(txn, "tombstones"),
			  rows_of(txn, "entries"), rows_of(txn, "dirs"),
			  rows_of(txn, "links"),   rows_of(txn, "errors")};
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return r;
}

static int count_cb(void *ctx, const struct store_scan *scan)
{
	(void)scan;
	++*(size_t *)ctx;
	return 0;
}

static size_t list_count(struct store *s)
{
	size_t n = 0;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_scan_list(s, 0, 0, count_cb, &n, &err), 0);
	return n;
}

static int err_count_cb(void *ctx, const struct store_error *e)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

/* A tombstoned scan is gone for every call at once; the purge then removes its rows. */
static void test_tombstone_hides_then_purge_removes(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	uint64_t keep = tsu_scan(s, SCAN_COMPLETED, "/keep"), gone = tsu_scan(s, SCAN_RUNNING, "/g");
	uint64_t root, id;
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, keep, 0, "", 7, &root, &err), 0);
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, gone, 0, "", 20, &root, &err), 0);
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, gone, root, "sub", 30, &id, &err), 0);
	CU_ASSERT_EQUAL(store_put_error(s, gone, "x", 1, "open", EACCES, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, gone, &err), 0);
	CU_ASSERT_EQUAL(list_count(s), 2);

	CU_ASSERT_EQUAL_FATAL(store_scan_tombstone(s, gone, &err), 0);
	struct store_scan sc;
	CU_ASSERT_EQUAL(store_scan_get(s, gone, &sc, &err), -ENOENT);
	CU_ASSERT_EQUAL(list_count(s), 1);
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, gone, NULL, 10, &l), -ENOENT);
	CU_ASSERT_EQUAL(l.n, 0);
	uint64_t next;
	bool more;
	size_t nerr = 0;
	CU_ASSERT_EQUAL(store_errors(s, gone, 0, 10, err_count_cb, &nerr, &next, &more, &err),
			-ENOENT);
	struct store_scan up = {.id = gone, .state = SCAN_CANCELLED, .root = "/g", .root_len = 2};
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), -ENOENT);
	CU_ASSERT_TRUE(tsu_put_files(s, gone, root, "late", 3, &id, &err) == -ENOENT);
	CU_ASSERT_EQUAL(store_put_error(s, gone, "y", 1, "open", EIO, &err), -ENOENT);
	CU_ASSERT_EQUAL(store_scan_tombstone(s, gone, &err), -ENOENT);
	CU_ASSERT_EQUAL(store_scan_delete(s, gone, &err), -ENOENT);
	CU_ASSERT_EQUAL(store_scan_tombstone(s, 9999, &err), -ENOENT);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.tombstones, 1);

	/* A live scan is never purged; a tombstoned one is, once, then there is nothing to do. */
	CU_ASSERT_EQUAL(store_scan_purge(s, keep, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "it is not deleted"));
	CU_ASSERT_EQUAL(store_scan_purge(s, gone, &err), 0);
	CU_ASSERT_EQUAL(store_scan_purge(s, gone, &err), 0);
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.tombstones, 0);
	CU_ASSERT_EQUAL(tsu_walk_all(s, keep, NULL, 3, &l), 0);
	CU_ASSERT_EQUAL(l.n, 7);
	tsu_list_free(&l);
	store_close(s);

	struct rows r = count_rows(dir);
	CU_ASSERT_EQUAL(r.scans, 1);
	CU_ASSERT_EQUAL(r.tombstones, 0);
	CU_ASSERT_EQUAL(r.entries, 7);
	CU_ASSERT_EQUAL(r.dirs, 1);
	CU_ASSERT_EQUAL(r.links, 1);
	CU_ASSERT_EQUAL(r.errors, 0);
	tsu_rmrf(dir);
}

/* Directories queued before the tombstone never land after it: no row is left orphaned. */
static void test_tombstone_drops_queued_writes(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/q"), root, id;
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, scan, 0, "", 10, &root, &err), 0);
	char name[16];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "d%03d", i);
		CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, scan, root, name, 50, &id, &err), 0);
		CU_ASSERT_EQUAL(store_put_error(s, scan, name, 4, "open", EACCES, &err), 0);
	}
	/* No flush: most of it is still queued when the tombstone commits. */
	CU_ASSERT_EQUAL_FATAL(store_scan_delete(s, scan, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.scan_states, 0);
	store_close(s);
	struct rows r = count_rows(dir);
	CU_ASSERT_EQUAL(r.scans, 0);
	CU_ASSERT_EQUAL(r.tombstones, 0);
	CU_ASSERT_EQUAL(r.entries, 0);
	CU_ASSERT_EQUAL(r.dirs, 0);
	CU_ASSERT_EQUAL(r.links, 0);
	CU_ASSERT_EQUAL(r.errors, 0);
	tsu_rmrf(dir);
}

/* What kill -9 leaves, run in a child: the store is never closed. */
static void crash_after_tombstone(const char *dir, uint64_t scan)
{
	struct store_opts o = {.dir = dir};
	struct errbuf err = {0};
	struct store *s;
	if (store_open(&s, &o, &err) < 0 || store_scan_tombstone(s, scan, &err) < 0)
		_exit(3);
	raise(SIGKILL);
	_exit(4);
}

/* A tombstone that store_scan_tombstone() returned 0 for survives kill -9; the open purges. */
static void test_tombstone_survives_kill(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	uint64_t a = tsu_scan(s, SCAN_COMPLETED, "/a"), b = tsu_scan(s, SCAN_COMPLETED, "/b"), root;
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, a, 0, "", 300, &root, &err), 0);
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, b, 0, "", 5, &root, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, a, &err), 0);
	store_close(s);

	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		crash_after_tombstone(dir, a);
	int status;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	struct rows r = count_rows(dir);
	CU_ASSERT_EQUAL(r.tombstones, 1); /* the purge had not run */
	CU_ASSERT_EQUAL(r.entries, 305);

	s = tsu_open(dir, 0);
	struct store_scan sc;
	CU_ASSERT_EQUAL(store_scan_get(s, a, &sc, &err), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, b, &sc, &err), 0);
	store_scan_clear(&sc);
	store_close(s);
	r = count_rows(dir);
	CU_ASSERT_EQUAL(r.tombstones, 0);
	CU_ASSERT_EQUAL(r.scans, 1);
	CU_ASSERT_EQUAL(r.entries, 5);
	tsu_rmrf(dir);
}

/* With the map full (a scan failed on it), deleting still commits; so does the purge. */
static void test_tombstone_in_full_map(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 1 << 20);
	struct errbuf err = {0};
	uint64_t small = tsu_scan(s, SCAN_COMPLETED, "/small"), root, id;
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, small, 0, "", 10, &root, &err), 0);
	uint64_t big = tsu_scan(s, SCAN_RUNNING, "/big");
	CU_ASSERT_EQUAL_FATAL(tsu_put_files(s, big, 0, "", 100, &root, &err), 0);
	int rc = 0;
	char name[16];
	for (int i = 0; i < 400 && rc == 0; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		rc = tsu_put_files(s, big, root, name, 500, &id, &err);
	}
	if (rc == 0)
		rc = store_flush(s, big, &err);
	CU_ASSERT_EQUAL_FATAL(rc, -ENOSPC);
	struct store_scan up = {.id = big, .state = SCAN_FAILED, .root = "/big", .root_len = 4,
				.error = err.msg};
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);

	CU_ASSERT_EQUAL(store_scan_tombstone(s, big, &err), 0);
	CU_ASSERT_EQUAL(store_scan_tombstone(s, small, &err), 0);
	CU_ASSERT_EQUAL(store_purge_tombstoned(s, &err), 0);
	struct store_info info;
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.tombstones, 0);
	CU_ASSERT_EQUAL(info.scan_states, 0);
	CU_ASSERT_EQUAL(list_count(s), 0);
	/* The room came back: a new scan writes. */
	uint64_t next = tsu_scan(s, SCAN_RUNNING, "/next");
	CU_ASSERT_EQUAL(tsu_put_files(s, next, 0, "", 1000, &root, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, next, &err), 0);
	store_close(s);
	struct rows r = count_rows(dir);
	CU_ASSERT_EQUAL(r.scans, 1);
	CU_ASSERT_EQUAL(r.entries, 1000);
	tsu_rmrf(dir);
}

/* A map filled to the last page by scan records alone: deleting still commits, and frees room. */
static void test_tombstone_in_map_full_of_records(void)
{
	char dir[64], big[3000];
	struct store *s = tsu_open(tsu_tmpdir(dir), 256 << 10);
	struct errbuf err = {0};
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uint64_t last = 0;
	int rc, n = 0;
	for (;;) {
		struct store_scan sc = {.state = SCAN_COMPLETED, .root = "/x", .root_len = 2,
					.options_json = big};
		if ((rc = store_scan_create(s, &sc, &err)) < 0)
			break;
		last = sc.id;
		CU_ASSERT_FATAL(++n < 10000);
	}
	CU_ASSERT_EQUAL_FATAL(rc, -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "raise --map-size"));
	CU_ASSERT_FATAL(last > 5);
	for (uint64_t id = last; id > last - 5; id--)
		CU_ASSERT_EQUAL(store_scan_tombstone(s, id, &err), 0);
	CU_ASSERT_EQUAL(store_purge_tombstoned(s, &err), 0);
	CU_ASSERT_EQUAL(list_count(s), (size_t)n - 5);
	struct store_scan sc = {.state = SCAN_COMPLETED, .root = "/x", .root_len = 2,
				.options_json = big};
	CU_ASSERT_EQUAL(store_scan_create(s, &sc, &err), 0);
	store_close(s);
	tsu_rmrf(dir);
}

/* Writes and finishes one scan of the many: an error recorded, then a final state. */
static void one_short_scan(struct store *s, int i, uint64_t *id_out)
{
	struct errbuf err = {0};
	uint64_t scan = tsu_scan(s, SCAN_RUNNING, "/many"), root;
	CU_ASSERT_EQUAL(tsu_put_files(s, scan, 0, "", 3, &root, &err), 0);
	CU_ASSERT_EQUAL(store_put_error(s, scan, "e", 1, "open", EACCES, &err), 0);
	struct store_scan up = {.id = scan, .root = "/many", .root_len = 5,
				.state = i % 3 == 0 ? SCAN_FAILED : SCAN_COMPLETED};
	if (i % 5 == 0) {
		CU_ASSERT_EQUAL(store_scan_delete(s, scan, &err), 0);
	} else {
		CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
		CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
	}
	*id_out = scan;
}

/* The store forgets a scan's write state once it is finished or deleted. */
static void test_scan_states_pruned(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	struct store_info info;
	uint64_t live = tsu_scan(s, SCAN_RUNNING, "/live"), root, id, last = 0;
	CU_ASSERT_EQUAL(tsu_put_files(s, live, 0, "", 2, &root, &err), 0);
	for (int i = 0; i < 120; i++)
		one_short_scan(s, i, &last);
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.scan_states, 1); /* the live scan only */
	CU_ASSERT_EQUAL(list_count(s), 1 + 96);

	/* A finished scan still takes writes (as before); its numbering of errors goes on. */
	CU_ASSERT_EQUAL(store_put_error(s, last, "late", 4, "open", EIO, &err), 0);
	CU_ASSERT_EQUAL(store_flush(s, last, &err), 0);
	uint64_t after;
	bool more;
	size_t n = 0;
	CU_ASSERT_EQUAL(store_errors(s, last, 1, 10, err_count_cb, &n, &after, &more, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(after, 2);
	struct store_scan up = {.id = live, .state = SCAN_COMPLETED, .root = "/live", .root_len = 5};
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
	up.id = last;
	CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.scan_states, 0);
	/* Writes for a scan that was never created are refused, and leave no state behind. */
	CU_ASSERT_EQUAL(tsu_put_files(s, 123456, 0, "", 1, &id, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no such scan"));
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.scan_states, 0);
	store_close(s);
	tsu_rmrf(dir);
}

/*
 * What a scan a crash interrupts has stored: a root of every type, a directory of 1,000 files,
 * four errors. Writes it when `s` is set (0 or -1, no CUnit: it runs in a child) and fills `t`.
 */
static int crashed_scan_put(struct store *s, uint64_t scan, struct store_scan_totals *t)
{
	struct errbuf err = {0};
	struct store_batch *b = NULL;
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	static const enum entry_type types[] = {ENTRY_DIR, ENTRY_FILE, ENTRY_OTHER, ENTRY_SYMLINK,
						ENTRY_FILE};
	memset(t, 0, sizeof(*t));
	if (s && store_batch_create(&b, &err) < 0)
		return -1;
	for (int i = 0; i < 5; i++) {
		struct entry e = tsu_entry(names[i], types[i], (uint64_t)i + 1);
		if (s && store_batch_add(b, &e, &err) < 0)
			return -1;
		t->dirs += types[i] == ENTRY_DIR;
		t->files += types[i] == ENTRY_FILE;
		t->other += types[i] == ENTRY_OTHER;
		t->symlinks += types[i] == ENTRY_SYMLINK;
		t->bytes += types[i] == ENTRY_FILE ? e.size : 0;
	}
	t->files += 1000;
	for (int i = 0; i < 1000; i++)
		t->bytes += tsu_entry("f", ENTRY_FILE, (uint64_t)i).size; /* as tsu_put_files() */
	t->errors = 4;
	if (!s)
		return 0;
	uint64_t root, a;
	int rc = store_put_dir(s, scan, 0, "", 0, b, &root, &err);
	store_batch_destroy(b);
	if (rc < 0 || tsu_put_files(s, scan, root, "a", 1000, &a, &err) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (store_put_error(s, scan, "a", 1, "open", EACCES, &err) < 0)
			return -1;
	return store_flush(s, scan, &err) < 0 ? -1 : 0;
}

/*
 * The child: scan 1 running with what crashed_scan_put() stores, scan 2 queued, scan 3 finished
 * with its own totals and directories around scan 1's; then kill -9, mid-scan.
 */
static void crash_mid_scan(const char *dir)
{
	struct store_opts o = {.dir = dir};
	struct errbuf err = {0};
	struct store *s;
	struct store_scan_totals t;
	if (store_open(&s, &o, &err) < 0)
		_exit(3);
	struct store_scan r = {.state = SCAN_RUNNING, .root = "/r", .root_len = 2, .created_ns = 1},
			  q = {.state = SCAN_QUEUED, .root = "/q", .root_len = 2, .created_ns = 1},
			  o3 = {.state = SCAN_RUNNING, .root = "/o", .root_len = 2, .created_ns = 1};
	uint64_t root;
	if (store_scan_create(s, &r, &err) < 0 || store_scan_create(s, &q, &err) < 0 ||
	    store_scan_create(s, &o3, &err) < 0 || r.id != 1 || o3.id != 3 ||
	    tsu_put_files(s, o3.id, 0, "", 77, &root, &err) < 0 ||
	    crashed_scan_put(s, r.id, &t) < 0 ||
	    tsu_put_files(s, o3.id, root, "late", 11, &root, &err) < 0)
		_exit(4);
	o3.state = SCAN_COMPLETED;
	o3.totals.files = 1;
	if (store_flush(s, o3.id, &err) < 0 || store_scan_update(s, &o3, &err) < 0)
		_exit(5);
	raise(SIGKILL);
	_exit(6);
}

/* A scan a crash interrupted reports the counts of what it stored. */
static void test_interrupted_scan_counts_what_it_stored(void)
{
	char dir[64];
	tsu_tmpdir(dir);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		crash_mid_scan(dir);
	int status;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	struct store *s = tsu_open(dir, 0);
	struct errbuf err = {0};
	struct store_scan_totals want;
	crashed_scan_put(NULL, 0, &want);
	struct store_scan sc;
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, 1, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_INTERRUPTED);
	CU_ASSERT_TRUE(sc.finished_ns > 0);
	CU_ASSERT_EQUAL(sc.totals.dirs, want.dirs);
	CU_ASSERT_EQUAL(sc.totals.files, want.files);
	CU_ASSERT_EQUAL(sc.totals.symlinks, want.symlinks);
	CU_ASSERT_EQUAL(sc.totals.other, want.other);
	CU_ASSERT_EQUAL(sc.totals.bytes, want.bytes);
	CU_ASSERT_EQUAL(sc.totals.errors, want.errors);
	CU_ASSERT_EQUAL(want.files, 1002);
	store_scan_clear(&sc);
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, 2, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_INTERRUPTED);
	CU_ASSERT_EQUAL(sc.totals.files + sc.totals.dirs + sc.totals.errors, 0);
	store_scan_clear(&sc);
	/* A finished scan keeps the totals it wrote. */
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, 3, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_COMPLETED);
	CU_ASSERT_EQUAL(sc.totals.files, 1);
	store_scan_clear(&sc);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a tombstone hides the scan at once, the purge removes its rows",
		 test_tombstone_hides_then_purge_removes},
		{"writes queued before the tombstone leave no row", test_tombstone_drops_queued_writes},
		{"a tombstone survives kill -9 and the open purges", test_tombstone_survives_kill},
		{"tombstones and purges commit in a full map", test_tombstone_in_full_map},
		{"tombstones and purges commit in a map full of records",
		 test_tombstone_in_map_full_of_records},
		{"write states of 120 finished or deleted scans are pruned", test_scan_states_pruned},
		{"an interrupted scan counts what it stored", test_interrupted_scan_counts_what_it_stored},
		{NULL, NULL},
	};
	return unit_run("store tombstones", tests);
}
