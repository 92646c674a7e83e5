/*
 * test_store_bench.c: the store writes and walks back a whole tree, exactly and compactly, and
 * says how long it took.
 *
 * A tree made in memory (221 directories, 13,480 entries) is written three times, as three
 * scans: every entry must come back with every field, deleting one scan must leave the others
 * whole, and a round must add at most STORE_BENCH_MAX_BYTES bytes of LMDB pages per entry.
 * Timings are printed, never asserted. To time a real tree too, as the scanner would submit it:
 *   LEINDEX_STORE_BENCH=/tmp/corpora/salsa-like ./test_store_bench
 */
#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test_store_util.h"

/* A directory read in memory: its entries sorted, the index of its parent, its name. */
struct bdir {
	size_t parent;
	char *name;
	struct entry *ents;
	size_t n;
	uint64_t dir_id;
};

static int bench_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->name_len < y->name_len ? x->name_len : y->name_len);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Reads the tree breadth first (parents before children), like the scanner submits it. */
static struct bdir *bench_read(const char *root, size_t *ndirs, size_t *nents)
{
	size_t cap = 1024, n = 1;
	struct bdir *d = calloc(cap, sizeof(*d));
	d[0].name = strdup("");
	int *fds = calloc(cap, sizeof(int));
	fds[0] = open(root, O_RDONLY | O_DIRECTORY);
	*nents = 0;
	for (size_t i = 0; i < n; i++) {
		DIR *dp = fdopendir(fds[i]);
		if (!dp)
			continue;
		size_t ecap = 16;
		d[i].ents = calloc(ecap, sizeof(struct entry));
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			struct stat st;
			if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (d[i].n == ecap)
				d[i].ents = realloc(d[i].ents, (ecap *= 2) * sizeof(struct entry));
			struct entry *e = &d[i].ents[d[i].n++];
			memset(e, 0, sizeof(*e));
			e->name = strdup(de->d_name);
			e->name_len = strlen(de->d_name);
			e->type = S_ISDIR(st.st_mode) ? ENTRY_DIR : S_ISLNK(st.st_mode) ? ENTRY_SYMLINK
				  : S_ISREG(st.st_mode) ? ENTRY_FILE : ENTRY_OTHER;
			e->flags = ENTRY_HAS_STAT;
			e->mode = st.st_mode & 07777;
			e->uid = st.st_uid;
			e->gid = st.st_gid;
			e->size = (uint64_t)st.st_size;
			e->ino = st.st_ino;
			e->nlink = st.st_nlink;
			e->mtime_sec = st.st_mtim.tv_sec;
			e->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
			e->ctime_sec = st.st_ctim.tv_sec;
			e->ctime_nsec = (uint32_t)st.st_ctim.tv_nsec;
			if (e->type == ENTRY_SYMLINK) {
				char buf[4096];
				ssize_t l = readlinkat(dirfd(dp), de->d_name, buf, sizeof(buf));
				if (l > 0) {
					e->target = strndup(buf, (size_t)l);
					e->target_len = (size_t)l;
				}
			}
			if (e->type == ENTRY_DIR) {
				if (n == cap) {
					cap *= 2;
					d = realloc(d, cap * sizeof(*d));
					fds = realloc(fds, cap * sizeof(int));
				}
				memset(&d[n], 0, sizeof(d[n]));
				d[n].parent = i;
				d[n].name = strdup(de->d_name);
				fds[n++] = openat(dirfd(dp), de->d_name, O_RDONLY | O_DIRECTORY);
			}
		}
		closedir(dp);
		qsort(d[i].ents, d[i].n, sizeof(struct entry), bench_cmp);
		*nents += d[i].n;
	}
	free(fds);
	*ndirs = n;
	return d;
}

/*
 * The most bytes of LMDB pages a round of the synthetic tree may add per entry (the growth from
 * round 0 to round 2, so that the tables' fixed pages do not count), free pages included. It is
 * about 66: a 20-byte key, a 30-byte value, LMDB's node header and page pointer, pages filled by
 * MDB_APPEND. Half-filled pages or a fatter layout show as more.
 */
#define STORE_BENCH_MAX_BYTES 80.0

/* The synthetic tree: a root of 20 directories of 10 directories, 60 files in each directory. */
static struct bdir *bench_make(size_t *ndirs, size_t *nents)
{
	size_t n = 1 + 20 + 200, k = 0, seed = 1;
	struct bdir *d = calloc(n, sizeof(*d));
	if (!d)
		abort();
	*nents = 0;
	for (size_t i = 0; i < n; i++) {
		size_t nsub = i == 0 ? 20 : i <= 20 ? 10 : 0;
		d[i].n = nsub + 60;
		d[i].ents = calloc(d[i].n, sizeof(struct entry));
		if (!d[i].ents)
			abort();
		if (i == 0)
			d[i].name = strdup("");
		/* Directories "d00".."d19" sort before files "f-00000-...". */
		for (size_t j = 0; j < d[i].n; j++) {
			char name[64];
			bool dir = j < nsub;
			if (dir)
				snprintf(name, sizeof(name), "d%02zu", j);
			else
				snprintf(name, sizeof(name), "f-%05zu-%s.rs", j - nsub,
					 j % 3 ? "module" : "lib");
			d[i].ents[j] = tsu_entry(strdup(name), dir ? ENTRY_DIR : ENTRY_FILE, seed++);
			if (dir) {
				k++;
				d[k].parent = i;
				d[k].name = strdup(name);
			}
		}
		*nents += d[i].n;
	}
	*ndirs = n;
	return d;
}

/* What a walk gave: the count, and whether each entry matched what bench_make() wrote. */
struct bench_seen {
	size_t n, bad;
	char **paths;
};

static int bench_check(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct bench_seen *b = ctx;
	if (b->paths) {
		if (!(b->paths[b->n] = strndup(path, len)))
			abort();
	}
	b->n++;
	/* tsu_entry() derives every field from its seed, which ino carries. */
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)e->name_len, e->name);
	struct entry want = tsu_entry(name, e->type, e->ino - 1000000);
	const char *slash = memrchr(path, '/', len);
	const char *last = slash ? slash + 1 : path;
	if (e->flags != want.flags || e->mode != want.mode || e->uid != want.uid ||
	    e->gid != want.gid || e->size != want.size || e->nlink != want.nlink ||
	    e->mtime_sec != want.mtime_sec || e->mtime_nsec != want.mtime_nsec ||
	    e->ctime_sec != want.ctime_sec || e->ctime_nsec != want.ctime_nsec ||
	    e->target_len != 0 || (size_t)(path + len - last) != e->name_len ||
	    memcmp(last, e->name, e->name_len))
		b->bad++;
	return 0;
}

static int bench_count_cb(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	((struct bench_seen *)ctx)->n++;
	return 0;
}

static int bench_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths bench_make() wrote, sorted. */
static char **bench_paths(const struct bdir *d, size_t ndirs, size_t nents)
{
	char **paths = calloc(nents, sizeof(*paths)), **dpath = calloc(ndirs, sizeof(*dpath));
	size_t n = 0, k = 0;
	if (!paths || !dpath)
		abort();
	dpath[0] = strdup("");
	for (size_t i = 0; i < ndirs; i++) {
		for (size_t j = 0; j < d[i].n; j++) {
			char *p;
			if (asprintf(&p, "%s%s%s", dpath[i], i ? "/" : "", d[i].ents[j].name) < 0)
				abort();
			paths[n++] = p;
			if (d[i].ents[j].type == ENTRY_DIR)
				dpath[++k] = strdup(p);
		}
	}
	for (size_t i = 0; i <= k; i++)
		free(dpath[i]);
	free(dpath);
	qsort(paths, n, sizeof(*paths), bench_strcmp);
	return paths;
}

/* Submits the tree as the scanner would: a directory after its parent, its entries in order. */
static void bench_put(struct store *s, uint64_t scan, struct bdir *d, size_t ndirs,
		      struct store_batch *b)
{
	struct errbuf err = {0};
	for (size_t i = 0; i < ndirs; i++) {
		for (size_t k = 0; k < d[i].n; k++)
			CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &d[i].ents[k], &err), 0);
		uint64_t parent = i ? d[d[i].parent].dir_id : 0;
		CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, parent, d[i].name, strlen(d[i].name), b,
						    &d[i].dir_id, &err),
				      0);
	}
}

/*
 * Three rounds of the tree, each a scan: submit, flush, complete, walk. With `exact`, each walk
 * must give back the tree (bench_make()'s) entry for entry, and the store must stay compact.
 */
static void bench_run(const char *root, struct bdir *d, size_t ndirs, size_t nents, bool exact)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	struct store_batch *b;
	char **want = exact ? bench_paths(d, ndirs, nents) : NULL;
	uint64_t used0 = 0;
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	for (int round = 0; round < 3; round++) {
		uint64_t scan = tsu_scan(s, SCAN_RUNNING, root);
		double t0 = tsu_now();
		bench_put(s, scan, d, ndirs, b);
		double tsub = tsu_now();
		CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
		double tflush = tsu_now();
		struct store_scan up = {.id = scan, .state = SCAN_COMPLETED, .root = (char *)root,
					.root_len = strlen(root)};
		CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
		double tdone = tsu_now();
		struct bench_seen seen = {0};
		if (exact && !(seen.paths = calloc(nents, sizeof(char *))))
			abort();
		struct store_pos next;
		bool more;
		CU_ASSERT_EQUAL(store_walk(s, scan, NULL, NULL, SIZE_MAX, exact ? bench_check
					   : bench_count_cb, &seen, &next, &more, &err), 0);
		double twalk = tsu_now();
		CU_ASSERT_EQUAL(seen.n, nents);
		if (exact) {
			CU_ASSERT_EQUAL(seen.bad, 0);
			qsort(seen.paths, seen.n, sizeof(char *), bench_strcmp);
			size_t diff = 0;
			for (size_t i = 0; i < seen.n && i < nents; i++)
				diff += strcmp(seen.paths[i], want[i]) != 0;
			CU_ASSERT_EQUAL(diff, 0);
			for (size_t i = 0; i < seen.n; i++)
				free(seen.paths[i]);
			free(seen.paths);
		}
		struct store_info info;
		CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
		double per = (double)info.used_bytes / (double)(nents * (size_t)(round + 1));
		if (round == 0)
			used0 = info.used_bytes;
		if (exact && round == 2) {
			double grew = (double)(info.used_bytes - used0) / (double)(2 * nents);
			printf("\n  rounds 1-2 added %.1f B/entry (at most %.0f)", grew,
			       STORE_BENCH_MAX_BYTES);
			CU_ASSERT_TRUE(grew > 0 && grew <= STORE_BENCH_MAX_BYTES);
		}
		printf("\n  round %d: %zu dirs, %zu entries: submit %.1f ms, flush %.1f ms, completed "
		       "(synced) %.1f ms, total %.1f ms; walk %.1f ms; store %.1f MB used (%.0f B/entry "
		       "cumulative), %" PRIu64 " commits",
		       round, ndirs, nents, (tsub - t0) * 1e3, (tflush - tsub) * 1e3,
		       (tdone - tflush) * 1e3, (tdone - t0) * 1e3, (twalk - tdone) * 1e3,
		       (double)info.used_bytes / 1e6, per, info.commits);
	}
	double t0 = tsu_now();
	CU_ASSERT_EQUAL(store_scan_delete(s, 1, &err), 0);
	printf("\n  delete of one scan: %.1f ms\n", (tsu_now() - t0) * 1e3);
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, 1, NULL, 100, &l), -ENOENT);
	CU_ASSERT_EQUAL(tsu_walk_all(s, 2, NULL, 1000, &l), 0);
	CU_ASSERT_EQUAL(l.n, nents);
	tsu_list_free(&l);
	store_batch_destroy(b);
	store_close(s);
	tsu_rmrf(dir);
	if (want) {
		for (size_t i = 0; i < nents; i++)
			free(want[i]);
		free(want);
	}
}

static void bench_free(struct bdir *d, size_t ndirs)
{
	for (size_t i = 0; i < ndirs; i++) {
		for (size_t k = 0; k < d[i].n; k++) {
			free((char *)d[i].ents[k].name);
			free((char *)d[i].ents[k].target);
		}
		free(d[i].ents);
		free(d[i].name);
	}
	free(d);
}

/* The synthetic tree, checked; then, when LEINDEX_STORE_BENCH names one, a real tree, timed. */
static void test_bench(void)
{
	size_t ndirs, nents;
	struct bdir *d = bench_make(&ndirs, &nents);
	CU_ASSERT_EQUAL(nents, 220 + 221 * 60);
	bench_run("/synthetic", d, ndirs, nents, true);
	bench_free(d, ndirs);
	const char *root = getenv("LEINDEX_STORE_BENCH");
	if (!root || !*root) {
		printf("  (set LEINDEX_STORE_BENCH=/tmp/corpora/salsa-like to time a real tree too) ");
		return;
	}
	d = bench_read(root, &ndirs, &nents);
	bench_run(root, d, ndirs, nents, false);
	bench_free(d, ndirs);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a tree written and read back exactly and compactly, timed", test_bench},
		{NULL, NULL},
	};
	return unit_run("store_bench", tests);
}
