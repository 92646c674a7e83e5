/*
 * test_store_bench.c: how long the store takes to write (and walk) a real tree's entries.
 * Run by hand: LEINDEX_STORE_BENCH=/tmp/corpora/salsa-like ./test_store_bench
 * Without the variable it does nothing (CI runs it as a no-op).
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

static int bench_count(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

static void test_bench(void)
{
	const char *root = getenv("LEINDEX_STORE_BENCH");
	if (!root || !*root) {
		printf("(set LEINDEX_STORE_BENCH=/tmp/corpora/salsa-like to run) ");
		return;
	}
	size_t ndirs, nents;
	struct bdir *d = bench_read(root, &ndirs, &nents);
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	struct errbuf err = {0};
	struct store_batch *b;
	CU_ASSERT_EQUAL_FATAL(store_batch_create(&b, &err), 0);
	for (int round = 0; round < 3; round++) {
		uint64_t scan = tsu_scan(s, SCAN_RUNNING, root);
		double t0 = tsu_now(), tsub;
		for (size_t i = 0; i < ndirs; i++) {
			for (size_t k = 0; k < d[i].n; k++)
				CU_ASSERT_EQUAL_FATAL(store_batch_add(b, &d[i].ents[k], &err), 0);
			uint64_t parent = i ? d[d[i].parent].dir_id : 0;
			CU_ASSERT_EQUAL_FATAL(store_put_dir(s, scan, parent, d[i].name,
							    strlen(d[i].name), b, &d[i].dir_id, &err),
					      0);
		}
		tsub = tsu_now();
		CU_ASSERT_EQUAL(store_flush(s, scan, &err), 0);
		double tflush = tsu_now();
		struct store_scan up = {.id = scan, .state = SCAN_COMPLETED, .root = (char *)root,
					.root_len = strlen(root)};
		CU_ASSERT_EQUAL(store_scan_update(s, &up, &err), 0);
		double tdone = tsu_now();
		size_t seen = 0;
		struct store_pos next;
		bool more;
		CU_ASSERT_EQUAL(store_walk(s, scan, NULL, NULL, SIZE_MAX, bench_count, &seen, &next,
					   &more, &err), 0);
		double twalk = tsu_now();
		CU_ASSERT_EQUAL(seen, nents);
		struct store_info info;
		store_info(s, &info, &err);
		printf("\n  round %d: %zu dirs, %zu entries: submit %.1f ms, flush %.1f ms, completed "
		       "(synced) %.1f ms, total %.1f ms; walk %.1f ms; store %.1f MB used (%.0f B/entry "
		       "cumulative), %" PRIu64 " commits",
		       round, ndirs, nents, (tsub - t0) * 1e3, (tflush - tsub) * 1e3,
		       (tdone - tflush) * 1e3, (tdone - t0) * 1e3, (twalk - tdone) * 1e3,
		       (double)info.used_bytes / 1e6,
		       (double)info.used_bytes / (double)(nents * (size_t)(round + 1)), info.commits);
	}
	double t0 = tsu_now();
	CU_ASSERT_EQUAL(store_scan_delete(s, 1, &err), 0);
	printf("\n  delete of one scan: %.1f ms\n", (tsu_now() - t0) * 1e3);
	store_batch_destroy(b);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"store throughput on a real tree", test_bench},
		{NULL, NULL},
	};
	return unit_run("store_bench", tests);
}
