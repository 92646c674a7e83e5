/* test_ignore_git.c: the ignore matcher against git itself, on built trees and the corpora. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "service/scan/ignore.h"
#include "tests/unit/unit.h"

/*
 * Each check builds (or takes) a tree, lists its untracked, non-ignored files with
 * `git ls-files -z -co --exclude-standard` (HOME and XDG_CONFIG_HOME an empty directory, no
 * system config, so only .gitignore files and .git/info/exclude count), and compares with a
 * plain recursive walk that asks ignore_stack_excluded() about every entry and never enters an
 * excluded directory, as the scanner does. Like git, the walk skips every ".git", reports a
 * directory holding a ".git" directory as "dir/" (a nested repository) and lists regular files
 * and symlinks only. Without git, the checks are skipped.
 */

/** A growable list of NUL-terminated paths. */
struct paths {
	char **v;
	size_t n, cap;
};

static void paths_add(struct paths *p, const char *s, size_t len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v) {
			perror("realloc");
			abort();
		}
	}
	char *c = malloc(len + 1);
	if (!c) {
		perror("malloc");
		abort();
	}
	memcpy(c, s, len);
	c[len] = '\0';
	p->v[p->n++] = c;
}

static void paths_free(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (struct paths){0};
}

static int paths_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* snprintf() that stops the test program when the text does not fit. */
static int xsnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "test_ignore_git: a path does not fit in %zu bytes\n", size);
		abort();
	}
	return n;
}

static char test_home[4096];
static char test_tmp[4096];
static bool test_have_git;
/* Entries the walks found excluded and kept, so the fuzz can show it exercised both. */
static size_t test_walk_excluded, test_walk_kept;

/* Runs git with `args` in `dir`; its stdout goes to *out (NUL-separated). 0 or -1. */
static int run_git(const char *dir, const char *const *args, char **out, size_t *out_len)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		if (chdir(dir) < 0)
			_exit(126);
		const char *argv[16] = {"git"};
		size_t i = 1;
		for (; args[i - 1] && i < 15; i++)
			argv[i] = args[i - 1];
		argv[i] = NULL;
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (len == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		ssize_t r = read(fds[0], buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(buf);
		return -1;
	}
	if (out) {
		*out = buf;
		*out_len = len;
	} else {
		free(buf);
	}
	return 0;
}

/* git's list; `excludes` (NULL-terminated, may be NULL) go to --exclude, like the `ignore` option. */
static int git_list(const char *dir, const char *const *excludes, struct paths *p)
{
	const char *args[16] = {"ls-files", "-z", "-co", "--exclude-standard"};
	char opts[8][300];
	size_t na = 4;
	for (size_t i = 0; excludes && excludes[i] && i < 8; i++) {
		xsnprintf(opts[i], sizeof(opts[i]), "--exclude=%s", excludes[i]);
		args[na++] = opts[i];
	}
	args[na] = NULL;
	char *out;
	size_t len;
	if (run_git(dir, args, &out, &len) < 0)
		return -1;
	for (size_t i = 0; i < len;) {
		size_t n = strnlen(out + i, len - i);
		paths_add(p, out + i, n);
		i += n + 1;
	}
	free(out);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/** One matcher query made by the walk, kept for the benchmark. */
struct query {
	char *path;
	size_t len;
	bool is_dir;
	struct ignore_stack *stack;
};

struct queries {
	struct query *v;
	size_t n, cap;
};

/* Pushes the .gitignore in `abs` (a directory at `rel`), if any, onto `stack` (a new reference). */
static struct ignore_stack *push_gitignore(struct ignore_stack *stack, const char *abs,
					   const char *rel, size_t rel_len)
{
	char path[8192];
	xsnprintf(path, sizeof(path), "%s/.gitignore", abs);
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return ignore_stack_ref(stack);
	struct ignore_rules *rules;
	struct errbuf err = {0};
	struct ignore_stack *next = NULL;
	if (ignore_rules_parse(&rules, text, len, rel, rel_len, &err) == 0)
		next = ignore_stack_push(stack, rules);
	else
		fprintf(stderr, "\n  %s\n", err.msg);
	free(text);
	CU_ASSERT_PTR_NOT_NULL(next);
	return next;
}

static void walk(const char *abs, const char *rel, size_t rel_len, struct ignore_stack *parent,
		 struct paths *out, struct queries *qs)
{
	struct ignore_stack *stack = push_gitignore(parent, abs, rel, rel_len);
	DIR *d = opendir(abs);
	if (!d) {
		ignore_stack_unref(stack);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".git"))
			continue;
		char cabs[8192], crel[8192];
		xsnprintf(cabs, sizeof(cabs), "%s/%s", abs, name);
		int n = xsnprintf(crel, sizeof(crel), "%s%s%s", rel, rel_len ? "/" : "", name);
		struct stat st;
		if (lstat(cabs, &st) < 0)
			continue;
		bool is_dir = S_ISDIR(st.st_mode);
		if (qs) {
			if (qs->n == qs->cap) {
				qs->cap = qs->cap ? qs->cap * 2 : 4096;
				qs->v = realloc(qs->v, qs->cap * sizeof(*qs->v));
				if (!qs->v)
					abort();
			}
			qs->v[qs->n++] = (struct query){strdup(crel), (size_t)n, is_dir,
							ignore_stack_ref(stack)};
		}
		if (ignore_stack_excluded(stack, crel, (size_t)n, is_dir)) {
			test_walk_excluded++;
			continue;
		}
		test_walk_kept++;
		if (is_dir) {
			char gitdir[8192];
			struct stat gst;
			xsnprintf(gitdir, sizeof(gitdir), "%s/.git", cabs);
			if (lstat(gitdir, &gst) == 0 && S_ISDIR(gst.st_mode)) {
				crel[n] = '/';
				paths_add(out, crel, (size_t)n + 1);
				continue;
			}
			walk(cabs, crel, (size_t)n, stack, out, qs);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			paths_add(out, crel, (size_t)n);
		}
	}
	closedir(d);
	ignore_stack_unref(stack);
}

/* The walk from the root, with .git/info/exclude at the bottom of the stack. */
static void walk_root(const char *root, const char *const *excludes, struct paths *out,
		      struct queries *qs)
{
	char path[8192];
	xsnprintf(path, sizeof(path), "%s/.git/info/exclude", root);
	size_t len;
	char *text = read_file(path, &len);
	struct ignore_stack *stack = NULL;
	if (excludes) {
		size_t n = 0;
		while (excludes[n])
			n++;
		struct ignore_rules *rules;
		CU_ASSERT_EQUAL_FATAL(ignore_rules_from_patterns(&rules, excludes, n, NULL), 0);
		stack = ignore_stack_push_override(NULL, rules);
		CU_ASSERT_PTR_NOT_NULL_FATAL(stack);
	}
	if (text) {
		struct ignore_rules *rules;
		CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, text, len, "", 0, NULL), 0);
		struct ignore_stack *next = ignore_stack_push(stack, rules);
		ignore_stack_unref(stack);
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		stack = next;
		free(text);
	}
	walk(root, "", 0, stack, out, qs);
	ignore_stack_unref(stack);
}

/* Compares git's list with the walk's; prints up to 10 differences. Returns their number. */
static size_t compare_with_git(const char *root, const char *const *excludes, const char *label)
{
	struct paths want = {0}, got = {0};
	if (git_list(root, excludes, &want) < 0) {
		fprintf(stderr, "\n  %s: git ls-files failed in %s", label, root);
		CU_FAIL("git ls-files failed");
		return 1;
	}
	walk_root(root, excludes, &got, NULL);
	if (want.n)
		qsort(want.v, want.n, sizeof(*want.v), paths_cmp);
	if (got.n)
		qsort(got.v, got.n, sizeof(*got.v), paths_cmp);
	size_t i = 0, j = 0, diffs = 0;
	while (i < want.n || j < got.n) {
		int c = i == want.n ? 1 : j == got.n ? -1 : strcmp(want.v[i], got.v[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (diffs++ < 10)
			fprintf(stderr, "\n  %s: %s \"%s\"", label,
				c < 0 ? "git lists, we exclude" : "we list, git excludes",
				c < 0 ? want.v[i] : got.v[j]);
		if (c < 0)
			i++;
		else
			j++;
	}
	paths_free(&want);
	paths_free(&got);
	return diffs;
}

/* ---------------------------------------------------------------------------------------- */
/* Building trees                                                                           */
/* ---------------------------------------------------------------------------------------- */

static void make_parents(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fprintf(stderr, "\n  mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
}

/* Creates root/rel with `text` (or a directory when rel ends in '/'). */
static void put(const char *root, const char *rel, const char *text)
{
	char path[8192];
	xsnprintf(path, sizeof(path), "%s/%s", root, rel);
	make_parents(path);
	size_t n = strlen(path);
	if (path[n - 1] == '/')
		return;
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "\n  fopen %s: %s", path, strerror(errno));
		CU_FAIL("cannot create a test file");
		return;
	}
	fputs(text ? text : "", f);
	fclose(f);
}

static int new_repo(char *root, size_t size, const char *label)
{
	static unsigned seq;
	xsnprintf(root, size, "%s/%s-%u", test_tmp, label, seq++);
	if (mkdir(root, 0755) < 0)
		return -1;
	static const char *const args[] = {"init", "-q", ".", NULL};
	return run_git(root, args, NULL, NULL);
}

static void remove_tree(const char *root)
{
	static const char *const args[] = {"--version", NULL};
	(void)args;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", root, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/** A hand-built scenario: files ("x/" is an empty directory) and ignore files. */
struct scenario {
	const char *name;
	const char *files[40];
	const char *ignores[6][2]; /**< {path of the file, its text}; ".git/info/exclude" too */
	const char *excludes[4];   /**< the `ignore` option, compared with git's --exclude */
};

static const struct scenario test_scenarios[] = {
	{"nested precedence and re-inclusion",
	 {"a.o", "a.c", "keep.o", "sub/a.o", "sub/keep.o", "sub/x/keep.o", "sub/build/out",
	  "build/out", "sub/sub2/build/y", "logs/keep.txt", "logs/x.txt", NULL},
	 {{".gitignore", "*.o\n!keep.o\nbuild/\nlogs/\n!logs/keep.txt\n"},
	  {"sub/.gitignore", "keep.o\n!build/\n"},
	  {"sub/sub2/.gitignore", "!keep.o\n"}}, {NULL}},
	{"anchoring and ** forms",
	 {"top", "x/top", "doc/frotz", "x/doc/frotz", "a/b", "a/x/b", "a/x/y/b", "q/a/b",
	  "abc/x", "abc/y/z", "abcd/x", "m/foo", "m/n/foo", "foox/y/bar", "foo/bar", "gen/a/x.c",
	  "x/generated/y.c", "x/generated/d/z.c", NULL},
	 {{".gitignore", "/top\ndoc/frotz\na/**/b\nabc/**\n**/foo\nfoo**/bar\n**/generated/**\n"}}, {NULL}},
	{"escapes, spaces, comments, CRLF",
	 {"#hash", "!bang", "esc ", "esc", "sp", "tab\t", "*star", "xstar", "crlf.tmp", "last",
	  "#comment", NULL},
	 {{".gitignore", "\\#hash\r\n\\!bang\r\nesc\\ \nsp   \ntab\t\n\\*star\n#comment\n"
			 "crlf.tmp\r\nlast\r"}}, {NULL}},
	{"classes and wildcards",
	 {"1.log", "a.log", "file7.txt", "fileX.txt", "bb.c", "ab.c", "ay", "xy", "Ab", "ab",
	  "q.c", "qq.c", "d/[x]", "d/x", NULL},
	 {{".gitignore", "[[:digit:]]*.log\nfile[0-9].txt\n[!a]?.c\n[^x]y\n[[:upper:]][[:lower:]]\n"
			 "?.c\n\\[x]\n"}}, {NULL}},
	{"info/exclude and dir-only",
	 {"a.swp", "keep.swp", "d/b.swp", "out/x", "out2", "z/out/y", NULL},
	 {{".git/info/exclude", "*.swp\nout/\nout2/\n"}, {".gitignore", "!keep.swp\n"}}, {NULL}},
	{"ignore all but",
	 {"d/a.txt", "d/b.keep", "d/dir/c.keep", "d/dir/c.txt", "e/x", NULL},
	 {{"d/.gitignore", "*\n!*.keep\n!*/\n"}}, {NULL}},
	{"option patterns win over every file",
	 {"a.log", "keep.log", "sub/b.log", "sub/x.tmp", "sub/y.tmp", "t.tmp", "d/e/f", "d/g", NULL},
	 {{".gitignore", "!*.log\n*.tmp\n"}, {"sub/.gitignore", "!x.tmp\n*.log\n"},
	  {".git/info/exclude", "d/\n"}},
	 {"*.log", "!keep.log", "!t.tmp", "e/"}},
	{"non-UTF-8 and bytes",
	 {"\xff-x", "d/\xff", "x\xff", "caf\xc3\xa9", NULL},
	 {{".gitignore", "\xff*\ncaf\xc3\xa9\n"}}, {NULL}},
};

static void test_scenarios_vs_git(void)
{
	if (!test_have_git) {
		fprintf(stderr, "\n  git not found: skipped");
		return;
	}
	size_t n = sizeof(test_scenarios) / sizeof(test_scenarios[0]);
	for (size_t i = 0; i < n; i++) {
		const struct scenario *s = &test_scenarios[i];
		char root[4096];
		CU_ASSERT_EQUAL_FATAL(new_repo(root, sizeof(root), "scenario"), 0);
		for (int f = 0; s->files[f]; f++)
			put(root, s->files[f], "x\n");
		for (int f = 0; f < 6 && s->ignores[f][0]; f++)
			put(root, s->ignores[f][0], s->ignores[f][1]);
		CU_ASSERT_EQUAL(compare_with_git(root, s->excludes[0] ? s->excludes : NULL, s->name), 0);
		remove_tree(root);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Random trees and patterns against git                                                    */
/* ---------------------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char *const fuzz_names[] = {
	"a", "b", "ab", "ba", "a.o", "b.c", "x.log", "foo", "bar", "A", "[a]", "a*", "q?", "#h",
	"!b", "sp ", "a b", ".x", "aa", "foo.c",
};

static const char *const fuzz_tokens[] = {
	"a", "b", "ab", "o", ".", ".o", ".c", "foo", "bar", "x", "A", "aa", "x.log", "*", "*", "*",
	"*", "**", "?", "[ab]", "[!a]", "[^b]", "[a-c]", "[[:lower:]]", "\\*", "\\[", "\\[a]",
	"/", "/", "/", "#", " ", "\\ ", "!", "[[:space:]]",
};

static void fuzz_pattern(uint64_t *rng, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	if (rng_next(rng) % 4 == 0)
		len += (size_t)xsnprintf(buf + len, size - len, "!");
	if (rng_next(rng) % 5 == 0)
		len += (size_t)xsnprintf(buf + len, size - len, "/");
	int ntok = 1 + (int)(rng_next(rng) % 3);
	for (int t = 0; t < ntok && len < size - 16; t++) {
		const char *tok = fuzz_tokens[rng_next(rng) % (sizeof(fuzz_tokens) / sizeof(*fuzz_tokens))];
		len += (size_t)xsnprintf(buf + len, size - len, "%s", tok);
	}
	if (rng_next(rng) % 4 == 0)
		xsnprintf(buf + len, size - len, "/");
}

static void fuzz_tree(uint64_t *rng, const char *root, const char *rel, int depth)
{
	int n = 2 + (int)(rng_next(rng) % 4);
	for (int i = 0; i < n; i++) {
		const char *name = fuzz_names[rng_next(rng) % (sizeof(fuzz_names) / sizeof(*fuzz_names))];
		char crel[1024];
		xsnprintf(crel, sizeof(crel), "%s%s", rel, name);
		char path[8192];
		struct stat st;
		xsnprintf(path, sizeof(path), "%s/%s", root, crel);
		bool exists = lstat(path, &st) == 0;
		if (depth < 3 && rng_next(rng) % 3 == 0) {
			if (exists && !S_ISDIR(st.st_mode))
				continue; /* already a file */
			char dir[1024];
			xsnprintf(dir, sizeof(dir), "%s/", crel);
			fuzz_tree(rng, root, dir, depth + 1);
			continue;
		}
		if (exists)
			continue; /* already a directory */
		put(root, crel, "x\n");
	}
	/* Some directories get a .gitignore: up to 12 random patterns at the root (an indexed set), up
	 * to 5 below. */
	if (depth == 0 || rng_next(rng) % 2 == 0) {
		char text[2048];
		size_t len = 0;
		int np = 1 + (int)(rng_next(rng) % (depth == 0 ? 12 : 5));
		for (int i = 0; i < np; i++) {
			char pat[128];
			fuzz_pattern(rng, pat, sizeof(pat));
			len += (size_t)xsnprintf(text + len, sizeof(text) - len, "%s\n", pat);
		}
		char gi[1024];
		xsnprintf(gi, sizeof(gi), "%s.gitignore", rel);
		put(root, gi, text);
	}
}

static void test_random_vs_git(void)
{
	if (!test_have_git) {
		fprintf(stderr, "\n  git not found: skipped");
		return;
	}
	/* LEINDEX_FUZZ_ROUNDS and LEINDEX_FUZZ_SEED run longer or other campaigns by hand. */
	const char *env_rounds = getenv("LEINDEX_FUZZ_ROUNDS"), *env_seed = getenv("LEINDEX_FUZZ_SEED");
	uint64_t rng = env_seed ? strtoull(env_seed, NULL, 0) | 1 : 0x9e3779b97f4a7c15ull;
	test_walk_excluded = test_walk_kept = 0;
	size_t rounds = env_rounds ? strtoul(env_rounds, NULL, 0) : (size_t)unit_rounds(250), failed = 0;
	for (size_t r = 0; r < rounds; r++) {
		char root[4096];
		CU_ASSERT_EQUAL_FATAL(new_repo(root, sizeof(root), "fuzz"), 0);
		fuzz_tree(&rng, root, "", 0);
		if (rng_next(&rng) % 3 == 0) {
			char pat[128], text[160];
			fuzz_pattern(&rng, pat, sizeof(pat));
			xsnprintf(text, sizeof(text), "%s\n", pat);
			put(root, ".git/info/exclude", text);
		}
		/* Sometimes option patterns too; git's --exclude does not trim or skip comments. */
		char ex[3][128];
		const char *excludes[4] = {NULL};
		if (rng_next(&rng) % 3 == 0) {
			int ne = 1 + (int)(rng_next(&rng) % 3), k = 0;
			for (int e = 0; e < ne; e++) {
				fuzz_pattern(&rng, ex[k], sizeof(ex[k]));
				size_t l = strlen(ex[k]);
				if (ex[k][0] != '#' && ex[k][l - 1] != ' ')
					excludes[k] = ex[k], k++;
			}
		}
		char label[64];
		xsnprintf(label, sizeof(label), "fuzz round %zu", r);
		size_t d = compare_with_git(root, excludes[0] ? excludes : NULL, label);
		if (d) {
			failed++;
			fprintf(stderr, "\n  (tree kept at %s)", root);
		} else {
			remove_tree(root);
		}
	}
	fprintf(stderr, "\n  %zu rounds: %zu entries excluded, %zu kept", rounds, test_walk_excluded,
		test_walk_kept);
	CU_ASSERT(test_walk_excluded > rounds && test_walk_kept > rounds);
	CU_ASSERT_EQUAL(failed, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Corpora                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void corpus_check(const char *name)
{
	char root[4096];
	const char *base = getenv("LEINDEX_CORPUS_TREES");
	xsnprintf(root, sizeof(root), "%s/%s", base ? base : "/tmp/corpora", name);
	struct stat st;
	if (!test_have_git || stat(root, &st) < 0) {
		/* it_scan_gitignore compares the corpora with git through the binary in every run. */
		unit_skip("no built corpus tree (shared/corpora/make-all.sh DIR, then "
			  "LEINDEX_CORPUS_TREES=DIR) or no git");
		return;
	}
	CU_ASSERT_EQUAL(compare_with_git(root, NULL, name), 0);
}

static void test_corpus_nasty(void)
{
	corpus_check("nasty");
}

static void test_corpus_kernel_like(void)
{
	corpus_check("kernel-like");
}

static void test_corpus_salsa_like(void)
{
	corpus_check("salsa-like");
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_passes = 7;

/*
 * The micro-benchmark: every query a walk of corpus `name` makes (for kernel-like, 85,000
 * entries under 165 .gitignore files), replayed from memory, best of several passes on one core.
 */
static void bench_tree(const char *name, size_t min_queries)
{
	char root[4096];
	const char *base = getenv("LEINDEX_CORPUS_TREES");
	xsnprintf(root, sizeof(root), "%s/%s", base ? base : "/tmp/corpora", name);
	struct stat st;
	if (stat(root, &st) < 0) {
		unit_skip("no built corpus tree (LEINDEX_CORPUS_TREES=DIR)");
		return;
	}
	struct paths listed = {0};
	struct queries qs = {0};
	walk_root(root, NULL, &listed, &qs);
	double best = 1e9;
	size_t excluded = 0;
	for (int pass = 0; pass < bench_passes; pass++) {
		size_t ex = 0;
		double t0 = now_seconds();
		for (size_t i = 0; i < qs.n; i++)
			ex += ignore_stack_excluded(qs.v[i].stack, qs.v[i].path, qs.v[i].len,
						    qs.v[i].is_dir);
		double t = now_seconds() - t0;
		if (t < best)
			best = t;
		excluded = ex;
	}
	fprintf(stderr, "\n  %s: %zu queries, %zu excluded, %zu files listed: best pass %.2f ms "
			"(%.1f ns/query)",
		name, qs.n, excluded, listed.n, best * 1e3, best * 1e9 / (double)(qs.n ? qs.n : 1));
	CU_ASSERT(qs.n >= min_queries);
	for (size_t i = 0; i < qs.n; i++) {
		free(qs.v[i].path);
		ignore_stack_unref(qs.v[i].stack);
	}
	free(qs.v);
	paths_free(&listed);
}

static void test_bench_corpora(void)
{
	bench_tree("kernel-like", 80000);
	bench_tree("salsa-like", 500);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "bench")) {
		/* `test_ignore_git bench N`: only the benchmark, N passes (for profiling). */
		bench_passes = atoi(argv[2]);
		static const struct unit_test bench[] = {
			{"benchmark on the corpora", test_bench_corpora},
			{NULL, NULL},
		};
		return unit_run("ignore_git_bench", bench);
	}
	/* git sees no user or system configuration: only the tree's own ignore files count. */
	const char *tmp = getenv("TMPDIR");
	xsnprintf(test_tmp, sizeof(test_tmp), "%s/leindex-ignore-git-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(test_tmp)) {
		perror("mkdtemp");
		return 2;
	}
	xsnprintf(test_home, sizeof(test_home), "%s/home", test_tmp);
	if (mkdir(test_home, 0700) < 0) {
		perror("mkdir home");
		return 2;
	}
	setenv("HOME", test_home, 1);
	setenv("XDG_CONFIG_HOME", test_home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_OPTIONAL_LOCKS", "0", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	unsetenv("GIT_CONFIG_GLOBAL");
	static const char *const version[] = {"--version", NULL};
	test_have_git = run_git(test_tmp, version, NULL, NULL) == 0;

	static const struct unit_test tests[] = {
		{"scenarios vs git", test_scenarios_vs_git},
		{"random trees and patterns vs git", test_random_vs_git},
		{"corpus nasty vs git", test_corpus_nasty},
		{"corpus kernel-like vs git", test_corpus_kernel_like},
		{"corpus salsa-like vs git", test_corpus_salsa_like},
		{"benchmark on the corpora", test_bench_corpora},
		{NULL, NULL},
	};
	int rc = unit_run("ignore_git", tests);
	if (rc == 0)
		remove_tree(test_tmp);
	return rc;
}
