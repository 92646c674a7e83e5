/* test_scan_faults.c: the scan engine's failure paths, replayed by failing chosen calls.
 *
 * This program is linked with -Wl,--wrap= for malloc, calloc, realloc, fstat, openat,
 * getdents64 and pthread_create (tests/CMakeLists.txt), so every call the scan engine makes to them goes
 * through the __wrap_ functions below, which fail the call a test names: the Nth allocation, or
 * the Nth fstat/openat/getdents64 of one path. Only calls of "armed" threads count: the test's
 * own thread while it runs scanner_run(), and the scan workers it starts (a thread created by an
 * armed thread is armed). The store's writer thread, started before, never is. With one worker
 * the order of those calls is fixed, so each case replays the same way on every run. The state
 * of the fault is one global because a --wrap function has no other place to find it.
 *
 * Each case checks what a user would see: the scan's outcome and message, its error records
 * (path, operation, errno, detail), and its listing against a run without faults. Leaks and
 * use-after-free are caught when this program runs from an ASan tree (-DLEINDEX_ASAN=ON).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/scan/scanner.h"
#include "tests/unit/test_store_util.h"

/* ---------------------------------------------------------------- the wrappers */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
int __real_fstat(int fd, struct stat *st);
int __real_openat(int dirfd, const char *name, int flags, ...);
ssize_t __real_getdents64(int fd, void *buf, size_t len);
int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg);

/** Which calls a fault counts. */
enum fault_kind {
	FAULT_NONE = 0,
	FAULT_ALLOC,    /**< malloc, calloc and realloc */
	FAULT_REALLOC,  /**< realloc only */
	FAULT_FSTAT,    /**< fstat of a descriptor open on `target` (an absolute path) */
	FAULT_OPENAT,   /**< openat of the name `target` */
	FAULT_GETDENTS, /**< getdents64 of a descriptor open on `target`: short reads, then fails */
	FAULT_VANISH,   /**< openat of the name `target`: the directory is moved away just before */
};

static struct {
	enum fault_kind kind;
	const char *target;
	unsigned nth;  /* fail the nth counted call (1-based) */
	int errnum;
	atomic_uint calls; /* counted calls so far */
	atomic_uint fired; /* failures injected */
} fault;

static _Thread_local bool fault_armed;

/* Where FAULT_VANISH moves its directory (out of the tree; moved back by the test). */
static char tf_gone[160];

static void fault_set(enum fault_kind kind, const char *target, unsigned nth, int errnum)
{
	fault.kind = kind;
	fault.target = target;
	fault.nth = nth;
	fault.errnum = errnum;
	atomic_store(&fault.calls, 0);
	atomic_store(&fault.fired, 0);
}

/* Whether this call is the one to fail; counts it when it is of the kind watched. */
static bool fault_hit(enum fault_kind kind)
{
	if (!fault_armed || fault.kind != kind)
		return false;
	if (atomic_fetch_add(&fault.calls, 1) + 1 != fault.nth)
		return false;
	atomic_fetch_add(&fault.fired, 1);
	return true;
}

/* Whether descriptor `fd` is open on fault.target. */
static bool fault_fd_is_target(int fd)
{
	char proc[64], path[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strcmp(path, fault.target) == 0;
}

static bool fault_alloc_hit(bool is_realloc)
{
	if (fault.kind == FAULT_REALLOC)
		return is_realloc && fault_hit(FAULT_REALLOC);
	return fault_hit(FAULT_ALLOC);
}

void *__wrap_malloc(size_t n)
{
	if (fault_alloc_hit(false)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (fault_alloc_hit(false)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (fault_alloc_hit(true)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

int __wrap_fstat(int fd, struct stat *st)
{
	if (fault.kind == FAULT_FSTAT && fault_armed && fault_fd_is_target(fd) &&
	    fault_hit(FAULT_FSTAT)) {
		errno = fault.errnum;
		return -1;
	}
	return __real_fstat(fd, st);
}

int __wrap_openat(int dirfd, const char *name, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	if (fault.kind == FAULT_OPENAT && fault_armed && strcmp(name, fault.target) == 0 &&
	    fault_hit(FAULT_OPENAT)) {
		errno = fault.errnum;
		return -1;
	}
	/* The directory vanishes between its parent's listing and its open, as rm -r does it. */
	if (fault.kind == FAULT_VANISH && fault_armed && strcmp(name, fault.target) == 0 &&
	    fault_hit(FAULT_VANISH) && renameat(dirfd, name, AT_FDCWD, tf_gone) < 0)
		perror("moving the directory away");
	return __real_openat(dirfd, name, flags, mode);
}

ssize_t __wrap_getdents64(int fd, void *buf, size_t len)
{
	if (fault.kind == FAULT_GETDENTS && fault_armed && fault_fd_is_target(fd)) {
		if (fault_hit(FAULT_GETDENTS)) {
			errno = fault.errnum;
			return -1;
		}
		if (len > 512) /* before the failure: short reads, a few names each */
			len = 512;
	}
	return __real_getdents64(fd, buf, len);
}

struct fault_start {
	void *(*fn)(void *);
	void *arg;
};

static void *fault_thread_main(void *p)
{
	struct fault_start start = *(struct fault_start *)p;
	free(p);
	fault_armed = true;
	return start.fn(start.arg);
}

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg)
{
	if (!fault_armed)
		return __real_pthread_create(th, attr, fn, arg);
	struct fault_start *start = __real_malloc(sizeof(*start));
	if (!start)
		return EAGAIN;
	*start = (struct fault_start){.fn = fn, .arg = arg};
	int rc = __real_pthread_create(th, attr, fault_thread_main, start);
	if (rc)
		free(start);
	return rc;
}

/* ---------------------------------------------------------------- the tree and the runs */

static char tf_dir[64], tf_root[128], tf_store_dir[128];
static struct store *tf_store;

static void tf_put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tf_root, rel);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void tf_mkdir(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tf_root, rel);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		exit(2);
	}
}

static void tf_symlink(const char *target, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tf_root, rel);
	if (symlink(target, path) < 0) {
		perror(path);
		exit(2);
	}
}

/*
 * root/.gitignore (20 patterns, "*.log" last), a.log (ignored), keep.txt, up -> . (a loop to
 * the root), x/{file, loop -> .}, y/{f1, f2, z/g}, w/ (100 files).
 */
static void tf_make_tree(void)
{
	tsu_tmpdir(tf_dir);
	snprintf(tf_root, sizeof(tf_root), "%s/root", tf_dir);
	snprintf(tf_store_dir, sizeof(tf_store_dir), "%s/store", tf_dir);
	if (mkdir(tf_root, 0755) < 0 || mkdir(tf_store_dir, 0755) < 0) {
		perror("mkdir");
		exit(2);
	}
	char gi[1024] = "";
	for (int i = 1; i <= 19; i++)
		snprintf(gi + strlen(gi), sizeof(gi) - strlen(gi), "never-%02d\n", i);
	strcat(gi, "*.log\n");
	tf_put(".gitignore", gi);
	tf_put("a.log", "x");
	tf_put("keep.txt", "x");
	tf_symlink(".", "up");
	tf_mkdir("x");
	tf_put("x/file", "x");
	tf_symlink(".", "x/loop");
	tf_mkdir("y");
	tf_put("y/f1", "x");
	tf_put("y/f2", "x");
	tf_mkdir("y/z");
	tf_put("y/z/g", "x");
	tf_mkdir("w");
	for (int i = 0; i < 100; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "w/file-with-a-longer-name-%03d", i);
		tf_put(rel, "");
	}
}

/* What one run gave: outcome, message, listing, errors. */
struct tf_run {
	enum scanner_outcome outcome;
	struct errbuf err;
	struct tsu_list list;
	size_t nerr;
	struct tf_error {
		char path[256], op[64], detail[1024];
		int errnum;
	} errors[64];
	unsigned fired;
};

static int tf_error_cb(void *ctx, const struct store_error *e)
{
	struct tf_run *r = ctx;
	if (r->nerr == sizeof(r->errors) / sizeof(r->errors[0]))
		return 0;
	struct tf_error *t = &r->errors[r->nerr++];
	snprintf(t->path, sizeof(t->path), "%.*s", (int)e->path_len, e->path);
	snprintf(t->op, sizeof(t->op), "%s", e->op);
	snprintf(t->detail, sizeof(t->detail), "%s", e->detail ? e->detail : "");
	t->errnum = e->errnum;
	return 0;
}

enum { TF_FOLLOW = SCANNER_FOLLOW_SYMLINKS };

/* The I/O threads of the runs (scanner_opts.io_depth): 0 but in the cases that set it. */
static unsigned tf_io_depth;

/* Runs one scan of the tree with one worker under the fault set, then reads what it stored. */
static void tf_scan(unsigned flags, struct tf_run *r)
{
	memset(r, 0, sizeof(*r));
	uint64_t id = tsu_scan(tf_store, SCAN_RUNNING, tf_root);
	struct scanner_opts o = {.root = tf_root, .workers = 1, .io_depth = tf_io_depth,
				 .max_depth = -1, .flags = flags, .view = SCANNER_VIEW_GITIGNORE,
				 .scan_id = id, .log_tag = "fault"};
	struct scanner *sc = NULL;
	errbuf_clear(&r->err);
	fault_armed = true;
	int rc = scanner_create(&sc, &o, tf_store, &r->err);
	r->outcome = rc < 0 ? SCANNER_FAILED : scanner_run(sc, &r->err);
	scanner_destroy(sc);
	fault_armed = false;
	r->fired = atomic_load(&fault.fired);
	struct errbuf err = {0};
	/* A failed scan may have stored nothing: its listing is then empty. */
	(void)store_flush(tf_store, id, &err);
	(void)tsu_walk_all(tf_store, id, NULL, 1000, &r->list);
	uint64_t next;
	bool more;
	CU_ASSERT_EQUAL(store_errors(tf_store, id, 0, 64, tf_error_cb, r, &next, &more, &err), 0);
}

static void tf_run_free(struct tf_run *r)
{
	tsu_list_free(&r->list);
}

static bool tf_listed(const struct tf_run *r, const char *path)
{
	for (size_t i = 0; i < r->list.n; i++)
		if (strcmp(r->list.paths[i], path) == 0)
			return true;
	return false;
}

/* The error of `path` with operation `op`, or NULL. */
static const struct tf_error *tf_error_of(const struct tf_run *r, const char *path, const char *op)
{
	for (size_t i = 0; i < r->nerr; i++)
		if (strcmp(r->errors[i].path, path) == 0 && strcmp(r->errors[i].op, op) == 0)
			return &r->errors[i];
	return NULL;
}

/* Every entry of `ref` is in `r`, and `r` holds `extra` more. */
static void tf_assert_superset(const struct tf_run *r, const struct tf_run *ref, size_t extra)
{
	for (size_t i = 0; i < ref->list.n; i++)
		if (!tf_listed(r, ref->list.paths[i])) {
			fprintf(stderr, "\n  missing from the listing: %s\n", ref->list.paths[i]);
			CU_FAIL("an entry of the tree is missing");
		}
	CU_ASSERT_EQUAL(r->list.n, ref->list.n + extra);
}

static void tf_dump(const char *what, const struct tf_run *r)
{
	fprintf(stderr, "\n  %s: outcome %d, \"%s\", %zu entries, %zu errors:", what,
		(int)r->outcome, r->err.msg, r->list.n, r->nerr);
	for (size_t i = 0; i < r->nerr; i++)
		fprintf(stderr, " [%s %s %d %s]", r->errors[i].path, r->errors[i].op,
			r->errors[i].errnum, r->errors[i].detail);
	fprintf(stderr, "\n");
}

static struct tf_run tf_ref; /* the run without faults, follow mode */

/* Descriptors open in this process now. */
static int tf_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------- the cases */

/* Without faults: the tree as find -L would list it, with the two loops recorded. */
static void test_reference(void)
{
	fault_set(FAULT_NONE, NULL, 0, 0);
	tf_scan(TF_FOLLOW, &tf_ref);
	CU_ASSERT_EQUAL(tf_ref.outcome, SCANNER_DONE);
	static const char *const want[] = {".gitignore", "keep.txt", "up", "w", "x", "x/file",
					   "x/loop", "y", "y/f1", "y/f2", "y/z", "y/z/g"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_TRUE(tf_listed(&tf_ref, want[i]));
	CU_ASSERT_FALSE(tf_listed(&tf_ref, "a.log"));
	CU_ASSERT_EQUAL(tf_ref.list.n, sizeof(want) / sizeof(want[0]) + 100);
	CU_ASSERT_EQUAL(tf_ref.nerr, 2);
	CU_ASSERT_PTR_NOT_NULL(tf_error_of(&tf_ref, "up", "loop"));
	CU_ASSERT_PTR_NOT_NULL(tf_error_of(&tf_ref, "x/loop", "loop"));
	if (tf_ref.list.n != sizeof(want) / sizeof(want[0]) + 100)
		tf_dump("reference", &tf_ref);
}

/* fstat of the root fails when the scan opens it: the scan fails, naming the root and why. */
static void test_root_fstat_at_open(void)
{
	fault_set(FAULT_FSTAT, tf_root, 1, EIO);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, "stat of the scan root"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, tf_root));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, strerror(EIO)));
	tf_run_free(&r);
}

/*
 * fstat of the root fails when it is read (its loop-check identity): recorded, the tree is still
 * listed, and the loop up -> . ends one level down, at up/up.
 */
static void test_root_fstat_at_read(void)
{
	fault_set(FAULT_FSTAT, tf_root, 2, EIO);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	const struct tf_error *e = tf_error_of(&r, "", "stat");
	CU_ASSERT_TRUE(e && e->errnum == EIO);
	e = tf_error_of(&r, "up/up", "loop");
	CU_ASSERT_TRUE(e && e->errnum == ELOOP);
	CU_ASSERT_PTR_NULL(tf_error_of(&r, "up", "loop"));
	/* The root's entries once more under up/, the loops among them caught. */
	CU_ASSERT_TRUE(tf_listed(&r, "up/y/z/g"));
	CU_ASSERT_TRUE(tf_listed(&r, "up/x/loop"));
	CU_ASSERT_FALSE(tf_listed(&r, "up/up/keep.txt"));
	tf_assert_superset(&r, &tf_ref, tf_ref.list.n);
	tf_run_free(&r);
}

/*
 * fstat of x fails when x is read: recorded with x's path; x is still listed, and the loop
 * x/loop -> . is caught one level further down (x/loop/loop), not followed forever.
 */
static void test_child_fstat_keeps_loop_detection(void)
{
	char x[256];
	snprintf(x, sizeof(x), "%s/x", tf_root);
	fault_set(FAULT_FSTAT, x, 1, EIO);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	const struct tf_error *e = tf_error_of(&r, "x", "stat");
	CU_ASSERT_TRUE(e && e->errnum == EIO);
	e = tf_error_of(&r, "x/loop/loop", "loop");
	CU_ASSERT_TRUE(e && e->errnum == ELOOP);
	CU_ASSERT_PTR_NULL(tf_error_of(&r, "x/loop", "loop"));
	CU_ASSERT_PTR_NOT_NULL(tf_error_of(&r, "up", "loop"));
	CU_ASSERT_EQUAL(r.nerr, 3);
	/* Everything else as without the fault, plus x read once more as x/loop. */
	CU_ASSERT_TRUE(tf_listed(&r, "x/loop/file"));
	CU_ASSERT_TRUE(tf_listed(&r, "x/loop/loop"));
	tf_assert_superset(&r, &tf_ref, 2);
	if (r.list.n != tf_ref.list.n + 2)
		tf_dump("child fstat", &r);
	tf_run_free(&r);
}

/* A subdirectory that cannot be opened: recorded, listed without its contents, the rest whole. */
static void test_child_openat(void)
{
	fault_set(FAULT_OPENAT, "y", 1, EACCES);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	const struct tf_error *e = tf_error_of(&r, "y", "open");
	CU_ASSERT_TRUE(e && e->errnum == EACCES);
	CU_ASSERT_TRUE(tf_listed(&r, "y"));
	CU_ASSERT_FALSE(tf_listed(&r, "y/f1"));
	CU_ASSERT_FALSE(tf_listed(&r, "y/z/g"));
	for (size_t i = 0; i < tf_ref.list.n; i++)
		if (strncmp(tf_ref.list.paths[i], "y/", 2) != 0)
			CU_ASSERT_TRUE(tf_listed(&r, tf_ref.list.paths[i]));
	CU_ASSERT_EQUAL(r.list.n, tf_ref.list.n - 4);
	tf_run_free(&r);
}

/*
 * The process is out of descriptors when a child is opened from its parent's (EMFILE, then
 * ENFILE): the scan spills the directories it keeps open, opens the child by path instead, and
 * lists the whole tree without an error.
 */
static void test_child_openat_starved(void)
{
	static const int errs[] = {EMFILE, ENFILE};
	for (size_t i = 0; i < 2; i++) {
		fault_set(FAULT_OPENAT, "y", 1, errs[i]);
		struct tf_run r;
		tf_scan(TF_FOLLOW, &r);
		CU_ASSERT_EQUAL(r.fired, 1);
		CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
		CU_ASSERT_EQUAL(r.nerr, tf_ref.nerr);
		tf_assert_superset(&r, &tf_ref, 0);
		if (r.nerr != tf_ref.nerr)
			tf_dump("starved child open", &r);
		tf_run_free(&r);
	}
}

/*
 * Out of descriptors when the root's .gitignore is opened (no parent to spill; one worker): the
 * open waits and tries again, and the rules apply (a.log stays out), without an error.
 */
static void test_gitignore_open_starved(void)
{
	fault_set(FAULT_OPENAT, ".gitignore", 1, EMFILE);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_FALSE(tf_listed(&r, "a.log"));
	CU_ASSERT_EQUAL(r.nerr, tf_ref.nerr);
	tf_assert_superset(&r, &tf_ref, 0);
	tf_run_free(&r);
}

/* getdents64 fails part way through w: the names read before it are kept, the failure recorded. */
static void test_listing_fails_part_way(void)
{
	char w[256];
	snprintf(w, sizeof(w), "%s/w", tf_root);
	fault_set(FAULT_GETDENTS, w, 2, EIO);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	const struct tf_error *e = tf_error_of(&r, "w", "read");
	CU_ASSERT_TRUE(e && e->errnum == EIO);
	size_t in_w = 0;
	for (size_t i = 0; i < r.list.n; i++) {
		if (strncmp(r.list.paths[i], "w/", 2) != 0)
			continue;
		in_w++;
		CU_ASSERT_TRUE(tf_listed(&tf_ref, r.list.paths[i])); /* real names only */
	}
	CU_ASSERT_TRUE(in_w > 0);
	CU_ASSERT_TRUE(in_w < 100);
	CU_ASSERT_EQUAL(r.list.n, tf_ref.list.n - (100 - in_w));
	tf_run_free(&r);
}

/*
 * Fails each realloc of the scan in turn. Where the .gitignore parser's allocation fails, the
 * record names the file and the parser's message names the line: growing the pattern list
 * happens at the 17th pattern.
 */
static void test_gitignore_parse_message(void)
{
	bool seen_line17 = false;
	for (unsigned n = 1;; n++) {
		fault_set(FAULT_REALLOC, NULL, n, ENOMEM);
		struct tf_run r;
		tf_scan(TF_FOLLOW, &r);
		unsigned fired = r.fired;
		const struct tf_error *e = tf_error_of(&r, ".gitignore", "parse");
		if (e) {
			CU_ASSERT_EQUAL(e->errnum, ENOMEM);
			CU_ASSERT_PTR_NOT_NULL(strstr(e->detail, strerror(ENOMEM)));
			/* Without its rules, the ignored file is listed: the error says why. */
			CU_ASSERT_TRUE(tf_listed(&r, "a.log"));
			if (strcmp(e->detail, "line 17: growing the pattern list: Cannot allocate "
					      "memory") == 0)
				seen_line17 = true;
		}
		tf_run_free(&r);
		if (!fired || n > 10000)
			break;
	}
	CU_ASSERT_TRUE(seen_line17);
}

/*
 * Fails each allocation of a scan in turn (the test's thread and the worker): no crash, no leak
 * (under ASan), and each run either fails with a message saying memory ran out, or completes
 * with every entry of the tree, any extra error being an out-of-memory one of a named path.
 */
static void test_every_allocation(void)
{
	bool seen_root_item = false, seen_loop_check = false;
	unsigned runs = 0;
	for (unsigned n = 1;; n++) {
		fault_set(FAULT_ALLOC, NULL, n, ENOMEM);
		struct tf_run r;
		tf_scan(TF_FOLLOW, &r);
		runs++;
		if (r.outcome == SCANNER_FAILED) {
			if (!strstr(r.err.msg, strerror(ENOMEM)))
				tf_dump("failed without saying why", &r);
			CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, strerror(ENOMEM)));
			seen_root_item |= strstr(r.err.msg, "allocating the root's queue item") != NULL;
			seen_loop_check |= strstr(r.err.msg, "allocating the loop check") != NULL;
		} else {
			CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
			if (r.list.n < tf_ref.list.n) {
				fprintf(stderr, "\n  allocation %u:", n);
				tf_dump("completed without every entry", &r);
			}
			for (size_t i = 0; i < tf_ref.list.n; i++)
				CU_ASSERT_TRUE(tf_listed(&r, tf_ref.list.paths[i]));
			for (size_t i = 0; i < r.nerr; i++) {
				const struct tf_error *e = &r.errors[i];
				if (tf_error_of(&tf_ref, e->path, e->op))
					continue;
				CU_ASSERT_EQUAL(e->errnum, ENOMEM);
				CU_ASSERT_TRUE(e->path[0] != '\0');
			}
		}
		unsigned fired = r.fired;
		tf_run_free(&r);
		if (!fired || n > 100000)
			break;
	}
	/* The sweep reached the end (a run with no allocation left to fail) and the paths that
	 * once read freed memory or left children without a loop check. */
	CU_ASSERT_TRUE(runs > 10);
	CU_ASSERT_TRUE(seen_root_item);
	CU_ASSERT_TRUE(seen_loop_check);
}

/*
 * The I/O threads forced on from the start (LEINDEX_SCAN_IO=open): the same listing and errors
 * as the workers alone; then a directory vanishing between its parent's listing and its open,
 * read by whichever thread pops it: recorded, the rest whole, and no descriptor left open.
 */
static void test_io_threads_vanish(void)
{
	CU_ASSERT_EQUAL_FATAL(setenv("LEINDEX_SCAN_IO", "open", 1), 0);
	tf_io_depth = 4;
	int fds = tf_open_fds();
	fault_set(FAULT_NONE, NULL, 0, 0);
	struct tf_run r;
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_EQUAL(r.nerr, tf_ref.nerr);
	tf_assert_superset(&r, &tf_ref, 0);
	tf_run_free(&r);
	CU_ASSERT_EQUAL(tf_open_fds(), fds);

	char y[256];
	snprintf(y, sizeof(y), "%s/y", tf_root);
	snprintf(tf_gone, sizeof(tf_gone), "%s/gone", tf_dir);
	fault_set(FAULT_VANISH, "y", 1, 0);
	tf_scan(TF_FOLLOW, &r);
	CU_ASSERT_EQUAL(rename(tf_gone, y), 0); /* back, for the cases after this one */
	CU_ASSERT_EQUAL(r.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	const struct tf_error *e = tf_error_of(&r, "y", "open");
	CU_ASSERT_TRUE(e && e->errnum == ENOENT);
	CU_ASSERT_TRUE(tf_listed(&r, "y"));
	CU_ASSERT_FALSE(tf_listed(&r, "y/f1"));
	for (size_t i = 0; i < tf_ref.list.n; i++)
		if (strncmp(tf_ref.list.paths[i], "y/", 2) != 0)
			CU_ASSERT_TRUE(tf_listed(&r, tf_ref.list.paths[i]));
	CU_ASSERT_EQUAL(r.list.n, tf_ref.list.n - 4);
	tf_run_free(&r);
	CU_ASSERT_EQUAL(tf_open_fds(), fds);
	tf_io_depth = 0;
	unsetenv("LEINDEX_SCAN_IO");
}

int main(void)
{
	tf_make_tree();
	tf_store = tsu_open(tf_store_dir, 256ull << 20);
	static const struct unit_test tests[] = {
		{"reference run", test_reference},
		{"fstat of the root at open", test_root_fstat_at_open},
		{"fstat of the root when read", test_root_fstat_at_read},
		{"fstat of a child keeps loop detection", test_child_fstat_keeps_loop_detection},
		{"openat of a child", test_child_openat},
		{"openat of a child out of descriptors", test_child_openat_starved},
		{"openat of .gitignore out of descriptors", test_gitignore_open_starved},
		{"getdents64 fails part way", test_listing_fails_part_way},
		{".gitignore parse failure names the line", test_gitignore_parse_message},
		{"I/O threads on, and a directory vanishing", test_io_threads_vanish},
		{"every allocation fails in turn", test_every_allocation},
		{NULL, NULL},
	};
	int rc = unit_run("scan_faults", tests);
	tf_run_free(&tf_ref);
	store_close(tf_store);
	tsu_rmrf(tf_dir);
	return rc;
}
