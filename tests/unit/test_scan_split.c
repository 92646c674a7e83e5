/* test_scan_split.c: a large directory is read in slices by more than one worker.
 *
 * Whether the second worker gets to stat any of a large directory on its own depends on the
 * scheduler, so measuring shares cannot prove the split. This program is linked with
 * -Wl,--wrap=statx (tests/CMakeLists.txt) and turns the first statx() of an entry of the large
 * directory, in each thread, into a barrier of two: a thread that gets there waits until a
 * second thread has too. Only a split directory brings two threads there: without the split the
 * one reading it would wait out the deadline (60 s) and the test fails; with it, both pass at
 * once whatever the scheduling. No assertion runs on a worker thread: the barrier records a
 * timeout for the test's thread to check.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "service/scan/scanner.h"
#include "tests/unit/test_store_util.h"

/* More names than SCAN_SPLIT_MIN (8192): three slices of 4096. */
#define TS_FILES 12000

int __real_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out);

/* The barrier (one global: a --wrap function has no other place to find it). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
	bool timed_out;
} ts_barrier = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local bool ts_passed;

/* Waits, on this thread's first call, until two threads have arrived, for at most 60 s. */
static void ts_barrier_wait(void)
{
	ts_passed = true;
	struct timespec until = clock_deadline(60ll * 1000000000ll);
	pthread_mutex_lock(&ts_barrier.lock);
	if (++ts_barrier.arrived >= 2)
		pthread_cond_broadcast(&ts_barrier.cond);
	while (ts_barrier.arrived < 2 && !ts_barrier.timed_out)
		if (pthread_cond_timedwait(&ts_barrier.cond, &ts_barrier.lock, &until) == ETIMEDOUT)
			ts_barrier.timed_out = true;
	pthread_mutex_unlock(&ts_barrier.lock);
}

int __wrap_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	/* The entries of the large directory are named s<number>; the root's one entry is "big". */
	if (!ts_passed && path[0] == 's')
		ts_barrier_wait();
	return __real_statx(dirfd, path, flags, mask, out);
}

static void test_split_between_two_workers(void)
{
	char dir[64], root[128], big[160], store_dir[128];
	tsu_tmpdir(dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(big, sizeof(big), "%s/big", root);
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	CU_ASSERT_FATAL(mkdir(root, 0755) == 0 && mkdir(big, 0755) == 0 &&
			mkdir(store_dir, 0755) == 0);
	int bfd = open(big, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(bfd >= 0);
	for (int i = 0; i < TS_FILES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "s%05d", i);
		int fd = openat(bfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
	}
	close(bfd);
	CU_ASSERT_FATAL(clock_cond_init(&ts_barrier.cond) == 0);

	struct store *s = tsu_open(store_dir, 256ull << 20);
	uint64_t id = tsu_scan(s, SCAN_RUNNING, root);
	struct scanner_opts o = {.root = root, .workers = 2, .max_depth = -1, .scan_id = id,
				 .log_tag = "split"};
	struct scanner *sc = NULL;
	struct errbuf err = {0};
	CU_ASSERT_FATAL(scanner_create(&sc, &o, s, &err) == 0);
	CU_ASSERT_EQUAL(scanner_run(sc, &err), SCANNER_DONE);
	/* Both workers stat-ed entries of the one large directory: it was split. */
	CU_ASSERT_FALSE(ts_barrier.timed_out);
	CU_ASSERT_EQUAL(ts_barrier.arrived, 2);
	struct scanner_stats st;
	scanner_stats(sc, &st);
	CU_ASSERT_EQUAL(st.workers, 2);
	if (st.workers == 2) {
		CU_ASSERT_TRUE(st.per_worker[0].entries > 0);
		CU_ASSERT_TRUE(st.per_worker[1].entries > 0);
		/* Every entry stat-ed once: the big directory's names and the root's one entry. */
		CU_ASSERT_EQUAL(st.per_worker[0].entries + st.per_worker[1].entries, TS_FILES + 1);
	}
	scanner_stats_clear(&st);
	scanner_destroy(sc);

	/* The merged slices reach the store as one sorted directory. */
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(tsu_walk_all(s, id, NULL, 5000, &l), 0);
	CU_ASSERT_EQUAL(l.n, TS_FILES + 1);
	for (size_t i = 1; i < l.n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "big/s%05zu", i - 1);
		if (strcmp(l.paths[i], want) != 0) {
			CU_FAIL("the split directory's entries are not all there in order");
			break;
		}
	}
	tsu_list_free(&l);
	store_close(s);
	pthread_cond_destroy(&ts_barrier.cond);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a large directory is split between two workers", test_split_between_two_workers},
		{NULL, NULL},
	};
	return unit_run("scan_split", tests);
}
