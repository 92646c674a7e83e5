/* test_gitview.c: the view git against git itself, on repositories git builds
 * (tests/integration/gitview_repos.bash): the listing is `git ls-files -co --exclude-standard`
 * less deleted and sparse paths, plus the directories holding them; each entry's git state is
 * what git says (`modified` exactly where `git diff --name-only` names it, `untracked` where
 * `git ls-files -o` does, `repo` for submodules and nested repositories); deleted tracked files
 * are counted; recurse_repos lists a submodule as `git -C SUB` does; the index formats libgit2
 * cannot read and files outside the allowed root are refused. git runs with HOME empty and no
 * system configuration. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service/scan/gitconfig.h"
#include "service/scan/scanner.h"
#include "store/store_codec.h"
#include "tests/unit/test_store_util.h"
#include "tests/unit/unit.h"

static char tg_tmp[256];     /* the scratch directory: store, repositories */
static char tg_repos[512];   /* canonical path of the repositories */
static struct store *tg_store;
static bool tg_have_git;

/* One listed entry. */
struct tg_entry {
	char *path;
	enum entry_type type;
	unsigned git;
};

struct tg_run {
	struct tg_entry *v;
	size_t n, cap;
	enum scanner_outcome outcome;
	struct errbuf err;
	uint64_t deleted, ignored_files, ignored_dirs;
};

static void tg_run_free(struct tg_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int tg_collect(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct tg_run *r = ctx;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			return -ENOMEM;
	}
	r->v[r->n++] = (struct tg_entry){.path = strndup(path, len), .type = e->type, .git = e->git};
	return 0;
}

/* Scans `root` (absolute) in the view git with `flags`, 2 workers; fills `r`. */
static void tg_scan(const char *root, const char *allowed, unsigned flags, struct tg_run *r)
{
	memset(r, 0, sizeof(*r));
	uint64_t id = tsu_scan(tg_store, SCAN_RUNNING, root);
	struct scanner_opts o = {.root = root, .allowed_root = allowed, .workers = 2, .max_depth = -1,
				 .flags = flags, .view = SCANNER_VIEW_GIT, .scan_id = id,
				 .log_tag = "gitview"};
	struct scanner *sc = NULL;
	errbuf_clear(&r->err);
	int rc = scanner_create(&sc, &o, tg_store, &r->err);
	r->outcome = rc < 0 ? SCANNER_FAILED : scanner_run(sc, &r->err);
	struct scanner_stats st = {0};
	if (sc && scanner_stats(sc, &st) == 0) {
		r->deleted = st.git_deleted;
		r->ignored_files = st.ignored_files;
		r->ignored_dirs = st.ignored_dirs;
	}
	scanner_stats_clear(&st);
	scanner_destroy(sc);
	struct errbuf err = {0};
	(void)store_flush(tg_store, id, &err);
	struct store_pos pos, next;
	bool more = true, first = true;
	while (more && store_walk(tg_store, id, NULL, first ? NULL : &pos, 1000, tg_collect, r,
				  &next, &more, &err) == 0) {
		pos = next;
		first = false;
	}
}

/* Output lines of `cmd` run by bash in `dir`, git's environment set, as one sorted string. */
static char *tg_sh(const char *dir, const char *cmd)
{
	/* bash, not sh: the script goes through a file. */
	char script[600], run[700];
	snprintf(script, sizeof(script), "%s/cmd.bash", tg_tmp);
	FILE *f = fopen(script, "w");
	if (!f)
		return NULL;
	fprintf(f, "cd '%s' && export HOME='%s/home' GIT_CONFIG_NOSYSTEM=1 LC_ALL=C && "
		   "{ %s ; } | LC_ALL=C sort -u\n", dir, tg_repos, cmd);
	fclose(f);
	snprintf(run, sizeof(run), "bash '%s'", script);
	FILE *p = popen(run, "r");
	if (!p)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, m);
	pclose(p);
	fclose(m);
	return out;
}

static int tg_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of `r` (under `prefix`, cut from their paths) that `keep` selects, one a line. */
static char *tg_ours(const struct tg_run *r, const char *prefix, bool (*keep)(const struct tg_entry *))
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	/* The walk is depth-first, not bytewise: sort like `sort` (LC_ALL=C) does. */
	size_t pl = strlen(prefix);
	char **v = calloc(r->n + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (strncmp(r->v[i].path, prefix, pl) == 0 && r->v[i].path[pl] && keep(&r->v[i]))
			v[k++] = r->v[i].path + pl;
	qsort(v, k, sizeof(*v), tg_strcmp);
	for (size_t i = 0; i < k; i++)
		fprintf(m, "%s\n", v[i]);
	free(v);
	fclose(m);
	return out;
}

static bool tg_is_listed(const struct tg_entry *e)
{
	return e->type != ENTRY_DIR || e->git == ENTRY_GIT_REPO;
}
static bool tg_is_dir(const struct tg_entry *e)
{
	return e->type == ENTRY_DIR && e->git != ENTRY_GIT_REPO;
}
static bool tg_is_modified(const struct tg_entry *e)
{
	return e->git == ENTRY_GIT_MODIFIED;
}
static bool tg_is_untracked(const struct tg_entry *e)
{
	return e->git == ENTRY_GIT_UNTRACKED;
}
static bool tg_is_repo(const struct tg_entry *e)
{
	return e->git == ENTRY_GIT_REPO;
}

/* Asserts `ours` equals `want`, printing both when they differ. */
static void tg_same(const char *what, const char *repo, char *want, char *ours)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ours);
	CU_ASSERT_STRING_EQUAL(ours, want);
	if (strcmp(ours, want) != 0)
		fprintf(stderr, "\n%s of %s differ:\n--- git:\n%s--- leindexd:\n%s", what, repo, want,
			ours);
	free(want);
	free(ours);
}

/* What git lists: ls-files -co less deleted and sparse paths ("x/" of a nested repo as "x"). */
#define TG_GIT_LISTED                                                                         \
	"u=$(mktemp -d); git ls-files -co --exclude-standard | sed 's#/$##' | sort -u >$u/co; "   \
	"git ls-files -d | sort -u >$u/d; git ls-files -t | sed -n 's/^S //p' | sort -u >$u/s; " \
	"comm -23 $u/co $u/d | comm -23 - $u/s; rm -rf $u"

/* Compares the entries of `r` below `prefix` with what git says of repository `dir`. */
static void tg_compare(const char *dir, const struct tg_run *r, const char *prefix)
{
	tg_same("the listing", dir, tg_sh(dir, TG_GIT_LISTED), tg_ours(r, prefix, tg_is_listed));
	tg_same("the directories", dir,
		tg_sh(dir, "{ " TG_GIT_LISTED "; } | while read -r p; do while [[ $p == */* ]]; "
			   "do p=${p%/*}; echo \"$p\"; done; done"),
		tg_ours(r, prefix, tg_is_dir));
	tg_same("the modified files", dir,
		tg_sh(dir, "t=$(mktemp -d); git diff --name-only --relative | sort -u >$t/m; { " TG_GIT_LISTED
			   "; } >$t/l; git ls-files -s | awk '$1==160000{print $4}' | sort -u >$t/g; "
			   "comm -12 $t/m $t/l | comm -23 - $t/g; rm -rf $t"),
		tg_ours(r, prefix, tg_is_modified));
	tg_same("the untracked files", dir,
		tg_sh(dir, "git ls-files -o --exclude-standard | grep -v '/$' || true"),
		tg_ours(r, prefix, tg_is_untracked));
	tg_same("the repositories", dir,
		tg_sh(dir, "{ git ls-files -o --exclude-standard | sed -n 's#/$##p'; "
			   "git ls-files -s | awk '$1==160000{print $4}' | while read -r p; do "
			   "[ -d \"$p\" ] && echo \"$p\"; done; }"),
		tg_ours(r, prefix, tg_is_repo));
}

/* The number of tracked files git says are deleted, outside the sparse set. */
static uint64_t tg_git_deleted(const char *dir)
{
	char *s = tg_sh(dir, "t=$(mktemp -d); git ls-files -d | sort -u >$t/d; git ls-files -t | "
			     "sed -n 's/^S //p' | sort -u >$t/s; comm -23 $t/d $t/s; rm -rf $t");
	uint64_t n = 0;
	for (char *p = s; p && *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static const struct tg_entry *tg_find(const struct tg_run *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].path, path) == 0)
			return &r->v[i];
	return NULL;
}

static void tg_path(char *buf, size_t cap, const char *rel)
{
	snprintf(buf, cap, "%s/%s", tg_repos, rel);
}

/* ---------------------------------------------------------------- the cases */

static void test_main_repo(void)
{
	if (!tg_have_git) {
		unit_skip("git is not installed");
		return;
	}
	char root[PATH_MAX];
	tg_path(root, sizeof(root), "main");
	struct tg_run r;
	tg_scan(root, NULL, 0, &r);
	CU_ASSERT_EQUAL_FATAL(r.outcome, SCANNER_DONE);
	tg_compare(root, &r, "");
	CU_ASSERT_EQUAL(r.deleted, tg_git_deleted(root));
	CU_ASSERT_EQUAL(r.deleted, 3); /* src/lost.c, lib/gone/a, lib/gone/b */
	/* The cases the rules alone got wrong, by name. */
	const struct tg_entry *e;
	CU_ASSERT(((e = tg_find(&r, "docs/INSTALL"))) && e->git == ENTRY_GIT_TRACKED);
	CU_ASSERT(((e = tg_find(&r, "Cargo.lock"))) && e->git == ENTRY_GIT_TRACKED);
	CU_ASSERT(((e = tg_find(&r, "mods/sub"))) && e->git == ENTRY_GIT_REPO && e->type == ENTRY_DIR);
	CU_ASSERT(((e = tg_find(&r, "mods/notout"))) && e->git == ENTRY_GIT_REPO);
	CU_ASSERT(((e = tg_find(&r, "nested"))) && e->git == ENTRY_GIT_REPO);
	CU_ASSERT_PTR_NULL(tg_find(&r, "mods/sub/sfile"));
	CU_ASSERT_PTR_NULL(tg_find(&r, "nested/nf"));
	CU_ASSERT_PTR_NULL(tg_find(&r, "odd/.git"));
	CU_ASSERT_PTR_NULL(tg_find(&r, "odd"));
	CU_ASSERT_PTR_NULL(tg_find(&r, ".git"));
	CU_ASSERT_PTR_NULL(tg_find(&r, "empty"));
	CU_ASSERT_PTR_NULL(tg_find(&r, "ignored_only"));
	CU_ASSERT(((e = tg_find(&r, "src/racy.c"))) && e->git == ENTRY_GIT_MODIFIED);
	CU_ASSERT(((e = tg_find(&r, "src/clean_racy.c"))) && e->git == ENTRY_GIT_TRACKED);
	CU_ASSERT(((e = tg_find(&r, "src/run.sh"))) && e->git == ENTRY_GIT_MODIFIED);
	CU_ASSERT(((e = tg_find(&r, "link2"))) && e->git == ENTRY_GIT_MODIFIED);
	CU_ASSERT(((e = tg_find(&r, "link"))) && e->git == ENTRY_GIT_TRACKED);
	CU_ASSERT(((e = tg_find(&r, "src/new.c"))) && e->git == ENTRY_GIT_UNTRACKED);
	/* Skipped by a rule: the pruned build/, src/a.o, debug.log (ignored_only/ is not listed:
	 * it holds nothing git lists, which is no rule's doing). */
	CU_ASSERT_EQUAL(r.ignored_dirs, 1);
	CU_ASSERT_EQUAL(r.ignored_files, 2);
	tg_run_free(&r);

	/* A root below the top: git ls-files run there, the rules above it applied. */
	tg_path(root, sizeof(root), "main/src");
	tg_scan(root, NULL, 0, &r);
	CU_ASSERT_EQUAL_FATAL(r.outcome, SCANNER_DONE);
	tg_compare(root, &r, "");
	tg_run_free(&r);
}

static void test_recurse(void)
{
	if (!tg_have_git) {
		unit_skip("git is not installed");
		return;
	}
	char root[PATH_MAX], sub[PATH_MAX];
	tg_path(root, sizeof(root), "main");
	struct tg_run r;
	tg_scan(root, NULL, SCANNER_RECURSE_REPOS, &r);
	CU_ASSERT_EQUAL_FATAL(r.outcome, SCANNER_DONE);
	/* Each repository as git -C lists it, under its own rules only (x.tmp ignored there). */
	tg_path(sub, sizeof(sub), "main/mods/sub");
	tg_compare(sub, &r, "mods/sub/");
	tg_path(sub, sizeof(sub), "main/nested");
	tg_compare(sub, &r, "nested/");
	CU_ASSERT_PTR_NULL(tg_find(&r, "mods/sub/x.tmp"));
	CU_ASSERT_PTR_NOT_NULL(tg_find(&r, "mods/sub/y"));
	CU_ASSERT_PTR_NOT_NULL(tg_find(&r, "nested/nf"));
	/* The superproject's listing is unchanged around them. */
	const struct tg_entry *e = tg_find(&r, "src/main.c");
	CU_ASSERT(e && e->git == ENTRY_GIT_MODIFIED);
	tg_run_free(&r);
}

static void test_worktree_and_sparse(void)
{
	if (!tg_have_git) {
		unit_skip("git is not installed");
		return;
	}
	char root[PATH_MAX];
	struct tg_run r;
	tg_path(root, sizeof(root), "wt");
	tg_scan(root, NULL, 0, &r);
	CU_ASSERT_EQUAL_FATAL(r.outcome, SCANNER_DONE);
	tg_compare(root, &r, "");
	CU_ASSERT_PTR_NULL(tg_find(&r, "wt_excluded")); /* the common dir's info/exclude */
	CU_ASSERT_PTR_NOT_NULL(tg_find(&r, "wt_new"));
	CU_ASSERT_PTR_NULL(tg_find(&r, ".git")); /* the gitfile */
	tg_run_free(&r);

	tg_path(root, sizeof(root), "sparse");
	tg_scan(root, NULL, 0, &r);
	CU_ASSERT_EQUAL_FATAL(r.outcome, SCANNER_DONE);
	tg_compare(root, &r, "");
	CU_ASSERT_EQUAL(r.deleted, 0); /* outside the sparse set: neither listed nor deleted */
	CU_ASSERT_PTR_NULL(tg_find(&r, "c/z"));
	CU_ASSERT_PTR_NOT_NULL(tg_find(&r, "a/b/y"));
	tg_run_free(&r);
}

static void test_refused(void)
{
	if (!tg_have_git) {
		unit_skip("git is not installed");
		return;
	}
	struct {
		const char *root, *allowed, *want;
		int rc;
	} cases[] = {
		{"split", NULL, "split index (extension 'link')", -ENOTSUP},
		{"split", NULL, "git update-index --no-split-index", -ENOTSUP},
		{"sparseidx", NULL, "sparse index (extension 'sdir')", -ENOTSUP},
		{"norepo", NULL, "is not inside a git work tree", -ENOTDIR},
		{"planted/dir", "planted", "outside the allowed root", -EPERM},
		{"main/.git", NULL, "is inside the git directory", -ENOTDIR},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char root[PATH_MAX], allowed[PATH_MAX];
		tg_path(root, sizeof(root), cases[i].root);
		if (cases[i].allowed)
			tg_path(allowed, sizeof(allowed), cases[i].allowed);
		struct scanner_opts o = {.root = root, .allowed_root = cases[i].allowed ? allowed : NULL,
					 .view = SCANNER_VIEW_GIT};
		struct errbuf err;
		errbuf_clear(&err);
		int rc = scanner_precheck(&o, &err);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].want));
		if (rc != cases[i].rc || !strstr(err.msg, cases[i].want))
			fprintf(stderr, "\n%s: %d %s\n", cases[i].root, rc, err.msg);
		/* And the scan itself fails the same way (the repository may change after the check). */
		struct tg_run r;
		tg_scan(root, o.allowed_root, 0, &r);
		CU_ASSERT_EQUAL(r.outcome, SCANNER_FAILED);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, cases[i].want));
		tg_run_free(&r);
	}
	/* Without a restriction, the planted gitfile is simply followed. */
	char root[PATH_MAX];
	tg_path(root, sizeof(root), "planted/dir");
	struct scanner_opts o = {.root = root, .view = SCANNER_VIEW_GIT};
	struct errbuf err;
	CU_ASSERT_EQUAL(scanner_precheck(&o, &err), 0);
}

/* core.fileMode as git-config(1) reads it: the last value in [core] wins, anything else is not
 * it. */
static void test_config(void)
{
	static const struct {
		const char *text;
		bool filemode;
	} cases[] = {
		{"", true},
		{"[core]\n\tfilemode = false\n", false},
		{"[core] fileMode=no", false},
		{"[Core]\n\tFILEMODE\n", true},
		{"[core]\nfilemode = off\n[core]\n\tfilemode = true\n", true},
		{"[core]\nfilemode = true\n[user]\n[core]\nfilemode = 0 ; set by clone\n", false},
		{"[core]\nfilemode = \"false\" # quoted\n", false},
		{"[core]\nfilemode = fal\\\nse\n", false},
		{"[core]\nfilemode = 1k\n", true},
		{"[core]\nfilemode =\n", false},
		{"[core \"x\"]\nfilemode = false\n", true},
		{"[core.x]\nfilemode = false\n", true},
		{"[remote \"o\\\"]\"]\nfilemode = false\n", true},
		{"[core]\nfilemodes = false\nfilemode = maybe\nfilemode == false\n", true},
		{"= junk\n\x01\n[core\nfilemode = false\n", true},
		{"= junk\n[core]\r\n  filemode = false  \r\n", false},
		{"\xef\xbb\xbf[core]\nfilemode=false", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gitconfig c;
		gitconfig_defaults(&c);
		gitconfig_parse(cases[i].text, strlen(cases[i].text), &c);
		if (c.filemode != cases[i].filemode)
			fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
		CU_ASSERT_EQUAL(c.filemode, cases[i].filemode);
	}
}

static void test_codec(void)
{
	/* The git state goes through the store; an entry without one encodes as before. */
	struct entry e = tsu_entry("a", ENTRY_FILE, 1), back;
	unsigned char with[256], without[256];
	size_t n0 = store_entry_encode(&e, without);
	e.git = ENTRY_GIT_MODIFIED;
	size_t n1 = store_entry_encode(&e, with);
	CU_ASSERT_EQUAL(n1, n0 + 1);
	CU_ASSERT_EQUAL(memcmp(with + 1, without + 1, n0 - 1), 0);
	CU_ASSERT_EQUAL(store_entry_decode(with, n1, &back), 0);
	CU_ASSERT_EQUAL(back.git, ENTRY_GIT_MODIFIED);
	CU_ASSERT_EQUAL(store_entry_decode(without, n0, &back), 0);
	CU_ASSERT_EQUAL(back.git, ENTRY_GIT_NONE);
	CU_ASSERT_STRING_EQUAL(entry_git_name(ENTRY_GIT_UNTRACKED), "untracked");
	CU_ASSERT_PTR_NULL(entry_git_name(ENTRY_GIT_NONE));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a repository against git ls-files, git diff", test_main_repo},
		{"recurse_repos against git -C SUB", test_recurse},
		{"a linked worktree and a sparse checkout", test_worktree_and_sparse},
		{"split and sparse index, no repository, a planted gitdir", test_refused},
		{"the git state in the store", test_codec},
		{"core.fileMode read as git reads it", test_config},
		{NULL, NULL},
	};
	tg_have_git = system("git --version >/dev/null 2>&1") == 0;
	if (!tsu_tmpdir(tg_tmp))
		return 1;
	tg_store = tsu_open(tg_tmp, 0);
	if (!tg_store)
		return 1;
	if (tg_have_git) {
		/* The builder beside this file's directory: tests/integration/gitview_repos.bash. */
		char cmd[2048], dir[512], src[1024];
		snprintf(src, sizeof(src), "%s", __FILE__);
		char *slash = strrchr(src, '/');
		if (slash)
			*slash = '\0';
		snprintf(dir, sizeof(dir), "%s/repos", tg_tmp);
		snprintf(cmd, sizeof(cmd), "bash '%s/../integration/gitview_repos.bash' '%s' >/dev/null",
			 slash ? src : ".", dir);
		if (system(cmd) != 0 || !realpath(dir, tg_repos)) {
			fprintf(stderr, "test_gitview: building the repositories failed\n");
			return 1;
		}
	}
	int rc = unit_run("gitview", tests);
	store_close(tg_store);
	tsu_rmrf(tg_tmp);
	return rc;
}
