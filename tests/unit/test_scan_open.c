/* test_scan_open.c: how a scan opens what it reads, so that it stays inside what was checked.
 *
 * - The root is opened without following any symbolic link, beneath its allowed root when it
 *   has one: a root, a parent of it or the allowed root that has become a link fails the scan
 *   with a message naming the path; a root outside its allowed root fails it too.
 * - A followed link is read only if it opens as the directory checked. This program is linked
 *   with -Wl,--wrap=statx (tests/CMakeLists.txt): the statx() that checks the link (of the
 *   descriptor the link resolved to, AT_EMPTY_PATH) re-points the link out of the root just
 *   after, exactly in the window an attacker races for; the scan must refuse the link.
 * - Directories opened by path from the root (no parent descriptor kept: the budget is forced
 *   to zero by a low RLIMIT_NOFILE) list the same as with descriptors kept.
 * - The walk that replaces openat2() (scanfd_walk()) refuses links and escapes step by step.
 *
 * Everything runs twice: as is, then in a child process where a seccomp filter makes openat2()
 * fail with ENOSYS (as an old kernel or a container's filter does), so the scan's fallback walk
 * is what opens every path there. The child is this program again (--no-openat2); its failures
 * count as this program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "service/scan/scan_internal.h"
#include "tests/unit/test_store_util.h"

static char to_dir[64], to_t[128], to_store_dir[160];
static struct store *to_store;
static bool to_no_openat2;

int __real_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out);

/* The link to re-point after its check, and where to (one global: --wrap has no context). */
static struct {
	char link[256], outside[256];
	bool armed;
	unsigned fired;
} to_repoint;

int __wrap_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	int rc = __real_statx(dirfd, path, flags, mask, out);
	if (to_repoint.armed && (flags & AT_EMPTY_PATH) && path[0] == '\0') {
		/* The link has just been checked: point it elsewhere before the child is opened. */
		char tmp[300];
		snprintf(tmp, sizeof(tmp), "%s.tmp", to_repoint.link);
		if (symlink(to_repoint.outside, tmp) == 0 && rename(tmp, to_repoint.link) == 0)
			to_repoint.fired++;
		to_repoint.armed = false;
	}
	return rc;
}

/* ---------------------------------------------------------------- the tree */

static void to_path(char *buf, size_t cap, const char *rel)
{
	snprintf(buf, cap, "%s/%s", to_t, rel);
}

static void to_mkdir(const char *rel)
{
	char p[512];
	to_path(p, sizeof(p), rel);
	if (mkdir(p, 0755) < 0) {
		perror(p);
		exit(2);
	}
}

static void to_file(const char *rel)
{
	char p[512];
	to_path(p, sizeof(p), rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0) {
		perror(p);
		exit(2);
	}
}

static void to_link(const char *target, const char *rel)
{
	char p[512];
	to_path(p, sizeof(p), rel);
	if (symlink(target, p) < 0) {
		perror(p);
		exit(2);
	}
}

/*
 * t/a/b/c/, t/a/b/f, t/ln -> a, t/a/lnb -> b, t/a/esc -> ../out, t/a/abs -> <t>/a/b,
 * t/out/out-file; t/f/{sub/in-file, link -> sub}; t/chain: 20 levels d/d/.../d, a file in each,
 * and at level 10 a link l -> d.
 */
static void to_make_tree(void)
{
	tsu_tmpdir(to_dir);
	snprintf(to_t, sizeof(to_t), "%s/t", to_dir);
	snprintf(to_store_dir, sizeof(to_store_dir), "%s/store", to_dir);
	if (mkdir(to_t, 0755) < 0 || mkdir(to_store_dir, 0755) < 0) {
		perror("mkdir");
		exit(2);
	}
	to_mkdir("a");
	to_mkdir("a/b");
	to_mkdir("a/b/c");
	to_file("a/b/f");
	to_link("a", "ln");
	to_link("b", "a/lnb");
	to_link("../out", "a/esc");
	char abs[256];
	to_path(abs, sizeof(abs), "a/b");
	to_link(abs, "a/abs");
	to_mkdir("out");
	to_file("out/out-file");
	to_mkdir("f");
	to_mkdir("f/sub");
	to_file("f/sub/in-file");
	to_link("sub", "f/link");
	char rel[256] = "chain";
	to_mkdir(rel);
	for (int level = 1; level <= 20; level++) {
		strcat(rel, "/d");
		to_mkdir(rel);
		char file[300];
		snprintf(file, sizeof(file), "%s/file", rel);
		to_file(file);
		if (level == 10) {
			snprintf(file, sizeof(file), "%s/l", rel);
			to_link("d", file);
		}
	}
}

/* ---------------------------------------------------------------- one scan */

struct to_run {
	enum scanner_outcome outcome;
	struct errbuf err;
	struct tsu_list list;
	size_t nerr;
	struct {
		char path[256], op[32], detail[256];
	} errors[16];
};

static int to_error_cb(void *ctx, const struct store_error *e)
{
	struct to_run *r = ctx;
	if (r->nerr < sizeof(r->errors) / sizeof(r->errors[0])) {
		snprintf(r->errors[r->nerr].path, sizeof(r->errors[0].path), "%.*s", (int)e->path_len,
			 e->path);
		snprintf(r->errors[r->nerr].op, sizeof(r->errors[0].op), "%s", e->op);
		snprintf(r->errors[r->nerr].detail, sizeof(r->errors[0].detail), "%s",
			 e->detail ? e->detail : "");
	}
	r->nerr++;
	return 0;
}

/* Scans `root` (relative to t/, or absolute when it starts with '/') with one worker. */
static void to_scan(const char *root, const char *allowed, unsigned flags, struct to_run *r)
{
	memset(r, 0, sizeof(*r));
	char rootp[512], allowedp[512];
	if (root[0] == '/')
		snprintf(rootp, sizeof(rootp), "%s", root);
	else
		to_path(rootp, sizeof(rootp), root);
	if (allowed && allowed[0] != '/')
		to_path(allowedp, sizeof(allowedp), allowed);
	else if (allowed)
		snprintf(allowedp, sizeof(allowedp), "%s", allowed);
	uint64_t id = tsu_scan(to_store, SCAN_RUNNING, rootp);
	struct scanner_opts o = {.root = rootp, .allowed_root = allowed ? allowedp : NULL,
				 .workers = 1, .max_depth = -1, .flags = flags, .scan_id = id,
				 .log_tag = "open"};
	struct scanner *sc = NULL;
	errbuf_clear(&r->err);
	int rc = scanner_create(&sc, &o, to_store, &r->err);
	r->outcome = rc < 0 ? SCANNER_FAILED : scanner_run(sc, &r->err);
	scanner_destroy(sc);
	struct errbuf err = {0};
	(void)store_flush(to_store, id, &err);
	(void)tsu_walk_all(to_store, id, NULL, 1000, &r->list);
	uint64_t next;
	bool more;
	CU_ASSERT_EQUAL(store_errors(to_store, id, 0, 16, to_error_cb, r, &next, &more, &err), 0);
}

static bool to_listed(const struct to_run *r, const char *path)
{
	for (size_t i = 0; i < r->list.n; i++)
		if (strcmp(r->list.paths[i], path) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- the cases */

/* openat2 is what this pass says: there, or refused with ENOSYS by the filter. */
static void test_openat2_as_expected(void)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC};
	long fd = syscall(SYS_openat2, AT_FDCWD, to_t, &how, sizeof(how));
	if (to_no_openat2) {
		CU_ASSERT_EQUAL(fd, -1);
		CU_ASSERT_EQUAL(errno, ENOSYS);
	} else if (fd < 0 && errno == ENOSYS) {
		unit_skip("this kernel has no openat2: the scan falls back on its walk in both passes");
	} else {
		CU_ASSERT_TRUE(fd >= 0);
	}
	if (fd >= 0)
		close((int)fd);
}

/* The fallback walk refuses a link where none may be, and anything out of its start. */
static void test_walk(void)
{
	const int fl = O_RDONLY | O_DIRECTORY;
	char p[512];
	to_path(p, sizeof(p), "a/b/c");
	int fd = scanfd_walk(AT_FDCWD, p, fl, SCANFD_NO_SYMLINKS, NULL);
	CU_ASSERT_TRUE(fd >= 0);
	close(fd);
	to_path(p, sizeof(p), "ln/b");
	CU_ASSERT_EQUAL(scanfd_walk(AT_FDCWD, p, fl, SCANFD_NO_SYMLINKS, NULL), -1);
	CU_ASSERT_EQUAL(errno, ELOOP);
	to_path(p, sizeof(p), "a/lnb");
	CU_ASSERT_EQUAL(scanfd_walk(AT_FDCWD, p, fl, SCANFD_NO_SYMLINKS, NULL), -1);
	CU_ASSERT_EQUAL(errno, ELOOP);

	char a[512];
	to_path(a, sizeof(a), "a");
	int afd = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(afd >= 0);
	const unsigned beneath = SCANFD_BENEATH | SCANFD_NO_SYMLINKS;
	fd = scanfd_walk(afd, "b//./c/", fl, beneath, NULL);
	CU_ASSERT_TRUE(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(scanfd_walk(afd, "../out", fl, beneath, NULL), -1);
	CU_ASSERT_EQUAL(errno, EXDEV);
	CU_ASSERT_EQUAL(scanfd_walk(afd, "/tmp", fl, beneath, NULL), -1);
	CU_ASSERT_EQUAL(errno, EXDEV);
	CU_ASSERT_EQUAL(scanfd_walk(afd, "lnb/c", fl, beneath, NULL), -1);
	CU_ASSERT_EQUAL(errno, ELOOP);
	/* Following links: each step must lie at or below `inside`. */
	fd = scanfd_walk(afd, "lnb/c", fl, SCANFD_BENEATH, a);
	CU_ASSERT_TRUE(fd >= 0);
	close(fd);
	fd = scanfd_walk(afd, "abs", fl, SCANFD_BENEATH, a); /* absolute, but inside */
	CU_ASSERT_TRUE(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(scanfd_walk(afd, "esc", fl, SCANFD_BENEATH, a), -1);
	CU_ASSERT_EQUAL(errno, EXDEV);
	close(afd);
}

static void test_root_plain(void)
{
	struct to_run r;
	to_scan("a", NULL, 0, &r);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_TRUE(to_listed(&r, "b/c") && to_listed(&r, "b/f") && to_listed(&r, "lnb"));
	tsu_list_free(&r.list);
	to_scan("a/b", "a", 0, &r);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_TRUE(to_listed(&r, "c") && to_listed(&r, "f"));
	tsu_list_free(&r.list);
	to_scan("a", "a", 0, &r); /* the allowed root itself */
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_TRUE(to_listed(&r, "b/f"));
	tsu_list_free(&r.list);
	to_scan("a/b", "/", 0, &r);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_TRUE(to_listed(&r, "f"));
	tsu_list_free(&r.list);
}

/* A link in the root's path fails the scan, naming the path and the link; nothing is listed. */
static void test_root_through_link(void)
{
	static const struct {
		const char *root, *allowed, *link, *what;
	} cases[] = {
		{"ln/b", NULL, "/ln", "symbolic link"},   /* a parent became a link */
		{"a/lnb", NULL, "/a/lnb", "symbolic link"}, /* the root became a link */
		{"a/lnb", "a", "/a/lnb", "symbolic link"}, /* the same, beneath its allowed root */
		{"ln/b", "ln", "/ln", "allowed root"},     /* the allowed root became a link */
		{"out", "a", NULL, "no longer resolves beneath the allowed root"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct to_run r;
		to_scan(cases[i].root, cases[i].allowed, 0, &r);
		CU_ASSERT_EQUAL(r.outcome, SCANNER_FAILED);
		CU_ASSERT_EQUAL(r.list.n, 0);
		bool ok = strstr(r.err.msg, cases[i].what) && strstr(r.err.msg, to_t);
		if (cases[i].link) {
			char link[512];
			to_path(link, sizeof(link), cases[i].link + 1);
			ok = ok && strstr(r.err.msg, link);
		}
		if (!ok)
			fprintf(stderr, "\n  case %zu: %s\n", i, r.err.msg);
		CU_ASSERT_TRUE(ok);
		tsu_list_free(&r.list);
	}
}

/* A followed link re-pointed out of the root between its check and its open is refused. */
static void test_follow_repointed(void)
{
	struct to_run r;
	to_scan("f", NULL, SCANNER_FOLLOW_SYMLINKS, &r);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_TRUE(to_listed(&r, "link/in-file"));
	CU_ASSERT_EQUAL(r.nerr, 0);
	tsu_list_free(&r.list);

	to_path(to_repoint.link, sizeof(to_repoint.link), "f/link");
	to_path(to_repoint.outside, sizeof(to_repoint.outside), "out");
	to_repoint.fired = 0;
	to_repoint.armed = true;
	to_scan("f", NULL, SCANNER_FOLLOW_SYMLINKS, &r);
	to_repoint.armed = false;
	CU_ASSERT_EQUAL(to_repoint.fired, 1);
	CU_ASSERT_EQUAL(r.outcome, SCANNER_DONE);
	CU_ASSERT_FALSE(to_listed(&r, "link/out-file"));
	CU_ASSERT_FALSE(to_listed(&r, "link/in-file"));
	CU_ASSERT_TRUE(to_listed(&r, "sub/in-file"));
	CU_ASSERT_EQUAL(r.nerr, 1);
	CU_ASSERT_TRUE(strcmp(r.errors[0].path, "link") == 0 && strcmp(r.errors[0].op, "open") == 0 &&
		       strstr(r.errors[0].detail, "re-pointed"));
	tsu_list_free(&r.list);
	/* Put it back for the other pass. */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", to_repoint.link);
	CU_ASSERT_FATAL(symlink("sub", tmp) == 0 && rename(tmp, to_repoint.link) == 0);
}

/* Descriptors this process has open now. */
static long to_open_fds(void)
{
	long n = 0;
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/*
 * With so few descriptors that no parent is kept open, every directory is opened by path from
 * the root (through the followed link too): the listing is the same, without an error.
 */
static void test_by_path(void)
{
	for (unsigned flags = 0; flags <= SCANNER_FOLLOW_SYMLINKS; flags += SCANNER_FOLLOW_SYMLINKS) {
		struct to_run kept, by_path;
		to_scan("chain", NULL, flags, &kept);
		struct rlimit old, low;
		CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
		low = old;
		/* The budget's reserve (3 a worker + 16) leaves nothing to keep directories open. */
		low.rlim_cur = (rlim_t)to_open_fds() + 20;
		CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
		to_scan("chain", NULL, flags, &by_path);
		CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &old) == 0);
		CU_ASSERT_EQUAL(kept.outcome, SCANNER_DONE);
		CU_ASSERT_EQUAL(by_path.outcome, SCANNER_DONE);
		CU_ASSERT_EQUAL(kept.nerr, 0);
		CU_ASSERT_EQUAL(by_path.nerr, 0);
		CU_ASSERT_EQUAL(kept.list.n, by_path.list.n);
		for (size_t i = 0; i < kept.list.n; i++)
			CU_ASSERT_TRUE(to_listed(&by_path, kept.list.paths[i]));
		/* 20 levels, a file each, and the link: followed, it repeats what level 11 holds: its
		 * file and levels 12 to 20 (9 directories, 9 files). */
		CU_ASSERT_EQUAL(kept.list.n, flags ? 41 + 19 : 41);
		CU_ASSERT_EQUAL(to_listed(&kept, "d/d/d/d/d/d/d/d/d/d/l/d/d/d/d/d/d/d/d/d/file"),
				flags != 0);
		tsu_list_free(&kept.list);
		tsu_list_free(&by_path.list);
	}
}

/* ---------------------------------------------------------------- the two passes */

/* Makes openat2() fail with ENOSYS in this process and its children. 0, or -1 (no seccomp). */
static int to_block_openat2(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return 0;
}

/* Runs this program again with openat2 blocked; its exit status (0: passed; 77: no seccomp). */
static int to_run_without_openat2(const char *self)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execl(self, self, "--no-openat2", (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	to_no_openat2 = argc > 1 && strcmp(argv[1], "--no-openat2") == 0;
	if (to_no_openat2 && to_block_openat2() < 0) {
		fprintf(stderr, "no seccomp filter here (%s): the pass without openat2 is skipped\n",
			strerror(errno));
		return 77;
	}
	to_make_tree();
	to_store = tsu_open(to_store_dir, 256ull << 20);
	static const struct unit_test tests[] = {
		{"openat2 as this pass expects", test_openat2_as_expected},
		{"the fallback walk refuses links and escapes", test_walk},
		{"roots open, beneath their allowed root", test_root_plain},
		{"a link in the root's path fails the scan", test_root_through_link},
		{"a followed link re-pointed after its check is refused", test_follow_repointed},
		{"directories opened by path list the same", test_by_path},
		{NULL, NULL},
	};
	int rc = unit_run(to_no_openat2 ? "scan_open (openat2 blocked)" : "scan_open", tests);
	store_close(to_store);
	tsu_rmrf(to_dir);
	if (!to_no_openat2) {
		int child = to_run_without_openat2("/proc/self/exe");
		if (child != 0 && child != 77)
			rc = rc ? rc : 1;
	}
	return rc;
}
