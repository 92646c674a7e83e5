/* gitview.c: finding and reading the repository of the view git (see gitview.h).
 *
 * Discovery is git's: from the root up, the first directory holding `.git` (a directory with a
 * HEAD, or a gitfile "gitdir: PATH", which linked worktrees and submodules use) is the top of
 * the work tree. A linked worktree's git directory names its common directory in `commondir`;
 * info/exclude is read from there, the index from the git directory itself.
 *
 * Confinement: each file is opened by its real path, only when that lies inside the allowed
 * root, without following a link at the last step, and the descriptor's own path (/proc) is
 * checked again, so nothing swapped in after the check is read. libgit2 never opens a path of
 * the repository: it parses a copy of the index held in a memfd, read through that descriptor.
 */
#include "service/scan/gitview.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dynlib.h"

/* ---------------------------------------------------------------- paths */

/* Whether canonical `path` is `dir` or below it (dir NULL: anywhere). */
static bool gitview_inside(const char *path, const char *dir)
{
	if (!dir)
		return true;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* "a" + "/" + "b" into a new string; NULL when out of memory. */
static char *gitview_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool slash = la && a[la - 1] != '/';
	char *p = malloc(la + slash + lb + 1);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	if (slash)
		p[la] = '/';
	memcpy(p + la + slash, b, lb + 1);
	return p;
}

/* The path of open descriptor `fd` (/proc), into buf[cap]. 0 or -1. */
static int gitview_fd_path(int fd, char *buf, size_t cap)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, cap - 1);
	if (n < 0 || (size_t)n >= cap - 1)
		return -1;
	buf[n] = '\0';
	return 0;
}

/** How gitview_read() treats the last component. */
enum gitview_read_flags {
	GITVIEW_NO_LINK = 1u << 0, /**< a symbolic link reads as absent (git's rule for .gitignore) */
};

/*
 * Reads the regular file at `path` whole into *text (malloc'ed, NUL-terminated), within
 * `allowed`. `what` names the file in messages ("the index"). 0; -ENOENT (absent, or not a
 * regular file: no message); -EPERM when it lies outside the allowed root; another error.
 * *st (when not NULL) gets its fstat. *fd_out (when not NULL) keeps the descriptor open.
 */
static int gitview_read(const char *path, const char *allowed, const char *what, unsigned flags,
			char **text, size_t *len, struct stat *st, struct errbuf *err)
{
	*text = NULL;
	*len = 0;
	struct stat lst;
	if ((flags & GITVIEW_NO_LINK) && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
		return -ENOENT;
	char real[PATH_MAX], opened[PATH_MAX];
	if (!realpath(path, real)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -ENOENT;
		return errbuf_errno(err, errno, "resolving %s %s", what, path);
	}
	if (!gitview_inside(real, allowed))
		return errbuf_set(err, -EPERM, "%s %s lies outside the allowed root %s (%s)", what,
				  path, allowed, real);
	int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : errbuf_errno(err, errno, "opening %s %s", what, real);
	int rc = 0;
	struct stat fst;
	if (fstat(fd, &fst) < 0) {
		rc = errbuf_errno(err, errno, "stat of %s %s", what, real);
		goto out;
	}
	if (!S_ISREG(fst.st_mode)) {
		rc = -ENOENT;
		goto out;
	}
	if (allowed && (gitview_fd_path(fd, opened, sizeof(opened)) < 0 ||
			!gitview_inside(opened, allowed))) {
		rc = errbuf_set(err, -EPERM, "%s %s was moved outside the allowed root %s while it "
				"was opened", what, path, allowed);
		goto out;
	}
	if (st)
		*st = fst;
	size_t cap = (size_t)fst.st_size + 1;
	char *buf = malloc(cap);
	if (!buf) {
		rc = errbuf_errno(err, ENOMEM, "reading %s %s", what, real);
		goto out;
	}
	size_t used = 0;
	for (;;) {
		if (used + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				rc = errbuf_errno(err, ENOMEM, "reading %s %s", what, real);
				goto out;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			rc = errbuf_errno(err, errno, "reading %s %s", what, real);
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*text = buf;
	*len = used;
out:
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- discovery */

/* Where a repository is: canonical paths, owned. */
struct gitview_where {
	char *top, *gitdir, *commondir;
};

static void gitview_where_free(struct gitview_where *w)
{
	free(w->top);
	free(w->gitdir);
	free(w->commondir);
	memset(w, 0, sizeof(*w));
}

/* A path named in a file (gitdir:, commondir), relative to `base`: canonical, in `allowed`. */
static int gitview_resolve(const char *base, const char *named, const char *allowed,
			   const char *what, const char *file, char **out, struct errbuf *err)
{
	char *joined = named[0] == '/' ? strdup(named) : gitview_join(base, named);
	if (!joined)
		return errbuf_errno(err, ENOMEM, "reading %s", file);
	char real[PATH_MAX];
	if (!realpath(joined, real)) {
		int e = errno;
		int rc = errbuf_errno(err, e, "%s names %s %s, which cannot be resolved", file, what,
				      joined);
		free(joined);
		return rc == -ENOENT ? -ENOTDIR : rc;
	}
	if (!gitview_inside(real, allowed)) {
		int rc = errbuf_set(err, -EPERM, "%s names %s %s, which lies outside the allowed "
				    "root %s: not read", file, what, joined, allowed);
		free(joined);
		return rc;
	}
	free(joined);
	return (*out = strdup(real)) ? 0 : errbuf_errno(err, ENOMEM, "reading %s", file);
}

/* Follows the gitfile `dotgit` ("gitdir: PATH") of work tree `dir` into w->gitdir. */
static int gitview_gitfile(const char *dir, const char *dotgit, const char *allowed,
			   struct gitview_where *w, struct errbuf *err)
{
	char *text;
	size_t len;
	int rc = gitview_read(dotgit, allowed, "the gitfile", 0, &text, &len, NULL, err);
	if (rc == -ENOENT)
		return errbuf_set(err, -ENOTDIR, "%s is not a regular file", dotgit);
	if (rc < 0)
		return rc;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (strncmp(text, "gitdir: ", 8) != 0 || len == 8 || strlen(text) != len) {
		free(text);
		return errbuf_set(err, -ENOTDIR, "%s is not a gitfile (\"gitdir: PATH\")", dotgit);
	}
	rc = gitview_resolve(dir, text + 8, allowed, "the git directory", dotgit, &w->gitdir, err);
	free(text);
	return rc;
}

/* The common directory of w->gitdir (its `commondir` file, or itself) into w->commondir. */
static int gitview_commondir(const char *allowed, struct gitview_where *w, struct errbuf *err)
{
	char *file = gitview_join(w->gitdir, "commondir");
	if (!file)
		return errbuf_errno(err, ENOMEM, "reading the git directory %s", w->gitdir);
	char *text;
	size_t len;
	int rc = gitview_read(file, allowed, "the commondir file", 0, &text, &len, NULL, err);
	if (rc == -ENOENT) {
		free(file);
		return (w->commondir = strdup(w->gitdir)) ? 0
			: errbuf_errno(err, ENOMEM, "reading the git directory %s", w->gitdir);
	}
	if (rc == 0) {
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		rc = gitview_resolve(w->gitdir, text, allowed, "the common directory", file,
				     &w->commondir, err);
		free(text);
	}
	free(file);
	return rc;
}

/* Whether directory `dir` holds `.git` (a directory with HEAD, or a file): 1 dir, 2 file, 0. */
static int gitview_dotgit(const char *dir, char **dotgit)
{
	*dotgit = gitview_join(dir, ".git");
	if (!*dotgit)
		return -ENOMEM;
	struct stat st;
	if (lstat(*dotgit, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return 2;
	if (!S_ISDIR(st.st_mode))
		return 0;
	char *head = gitview_join(*dotgit, "HEAD");
	if (!head)
		return -ENOMEM;
	int ok = lstat(head, &st) == 0;
	free(head);
	return ok ? 1 : 0;
}

/* The repository whose work tree has its top at `dir`, which holds .git (kind 1 or 2). */
static int gitview_locate_at(const char *dir, char *dotgit, int kind, const char *allowed,
			     struct gitview_where *w, struct errbuf *err)
{
	if (!gitview_inside(dir, allowed))
		return errbuf_set(err, -EPERM, "the repository %s lies outside the allowed root %s: "
				  "its index and excludes cannot be read", dotgit, allowed);
	if (!(w->top = strdup(dir)))
		return errbuf_errno(err, ENOMEM, "locating the repository of %s", dir);
	int rc;
	if (kind == 1) {
		char real[PATH_MAX];
		if (!realpath(dotgit, real) || !gitview_inside(real, allowed))
			return errbuf_set(err, -EPERM, "the git directory %s lies outside the allowed "
					  "root %s", dotgit, allowed ? allowed : "/");
		rc = (w->gitdir = strdup(real)) ? 0 : errbuf_errno(err, ENOMEM, "locating %s", dotgit);
	} else {
		rc = gitview_gitfile(dir, dotgit, allowed, w, err);
	}
	return rc < 0 ? rc : gitview_commondir(allowed, w, err);
}

/* Finds the repository of canonical `root`: its top is `root` or the nearest ancestor. */
static int gitview_locate(const char *root, const char *allowed, struct gitview_where *w,
			  struct errbuf *err)
{
	char *dir = strdup(root);
	if (!dir)
		return errbuf_errno(err, ENOMEM, "locating the repository of %s", root);
	int rc;
	for (;;) {
		char *dotgit;
		int kind = gitview_dotgit(dir, &dotgit);
		if (kind < 0) {
			free(dotgit);
			rc = errbuf_errno(err, ENOMEM, "locating the repository of %s", root);
			break;
		}
		if (kind > 0) {
			rc = gitview_locate_at(dir, dotgit, kind, allowed, w, err);
			free(dotgit);
			break;
		}
		free(dotgit);
		char *slash = strrchr(dir, '/');
		if (!slash || (slash == dir && dir[1] == '\0')) {
			rc = errbuf_set(err, -ENOTDIR, "%s is not inside a git work tree (no .git in "
					"it or any directory above it): the view \"git\" lists a "
					"repository", root);
			break;
		}
		slash[slash == dir ? 1 : 0] = '\0';
	}
	free(dir);
	if (rc < 0)
		gitview_where_free(w);
	return rc;
}

/* ---------------------------------------------------------------- the index */

/*
 * libgit2, opened the first time an index is read (base/dynlib.h: a scan of another view never
 * loads it), with the service's settings: no owner check, no global or system configuration.
 * Run once per process (pthread_once): libgit2 stays loaded and initialized for the process's
 * life, since its initialization costs more (10 ms) than parsing a small index. The table is
 * written there and only read after.
 */
static struct {
	__typeof__(git_libgit2_init) *init;
	__typeof__(git_libgit2_opts) *opts;
	__typeof__(git_error_last) *error_last;
	__typeof__(git_index_open) *index_open;
	__typeof__(git_index_free) *index_free;
	__typeof__(git_index_entrycount) *index_entrycount;
	__typeof__(git_index_get_byindex) *index_get_byindex;
} gitview_lg;
static struct errbuf gitview_lg_err;
static int gitview_lg_rc;

static void gitview_libgit2_once(void)
{
	const struct dynlib_sym syms[] = {
		{"git_libgit2_init", (void **)&gitview_lg.init},
		{"git_libgit2_opts", (void **)&gitview_lg.opts},
		{"git_error_last", (void **)&gitview_lg.error_last},
		{"git_index_open", (void **)&gitview_lg.index_open},
		{"git_index_free", (void **)&gitview_lg.index_free},
		{"git_index_entrycount", (void **)&gitview_lg.index_entrycount},
		{"git_index_get_byindex", (void **)&gitview_lg.index_get_byindex},
	};
	errbuf_clear(&gitview_lg_err);
	gitview_lg_rc = dynlib_open(LEINDEX_LIBGIT2_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
				    &gitview_lg_err);
	if (gitview_lg_rc < 0)
		return;
	gitview_lg.init();
	gitview_lg.opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	static const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
				     GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		gitview_lg.opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
}

/* Loads and sets up libgit2 once; 0, or < 0 with what could not be loaded. Thread-safe. */
static int gitview_libgit2_setup(struct errbuf *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, gitview_libgit2_once);
	if (gitview_lg_rc < 0)
		return errbuf_set(err, gitview_lg_rc, "the view git needs libgit2: %s",
				  gitview_lg_err.msg);
	return 0;
}

/* The message for an index libgit2 refuses: which extension, and what to run. */
static int gitview_index_error(const char *path, const char *top, struct errbuf *err)
{
	const git_error *ge = gitview_lg.error_last();
	const char *msg = ge && ge->message ? ge->message : "unknown error";
	if (strstr(msg, "'link'"))
		return errbuf_set(err, -ENOTSUP, "the index %s is a split index (extension 'link'), "
				  "which libgit2 1.5 cannot read: run `git update-index "
				  "--no-split-index` in %s", path, top);
	if (strstr(msg, "'sdir'"))
		return errbuf_set(err, -ENOTSUP, "the index %s is a sparse index (extension 'sdir'), "
				  "which libgit2 1.5 cannot read: run `git sparse-checkout init "
				  "--no-sparse-index` in %s", path, top);
	return errbuf_set(err, -EIO, "reading the index %s: %s", path, msg);
}

/* Copies the entries of `idx` into r->ents, one per path (a conflict's stages merged). */
static int gitview_copy_entries(struct gitview_repo *r, git_index *idx, struct errbuf *err)
{
	size_t count = gitview_lg.index_entrycount(idx), bytes = 0;
	for (size_t i = 0; i < count; i++)
		bytes += strlen(gitview_lg.index_get_byindex(idx, i)->path) + 1;
	r->ents = calloc(count ? count : 1, sizeof(*r->ents));
	r->arena = malloc(bytes ? bytes : 1);
	if (!r->ents || !r->arena)
		return errbuf_errno(err, ENOMEM, "copying the index of %s", r->top);
	char *a = r->arena;
	for (size_t i = 0; i < count; i++) {
		const git_index_entry *e = gitview_lg.index_get_byindex(idx, i);
		size_t len = strlen(e->path);
		struct gitview_ent *prev = r->n ? &r->ents[r->n - 1] : NULL;
		if (prev && prev->len == len && memcmp(prev->path, e->path, len) == 0) {
			prev->flags |= GITVIEW_UNMERGED; /* another stage of the same path */
			continue;
		}
		memcpy(a, e->path, len + 1);
		struct gitview_ent *g = &r->ents[r->n++];
		*g = (struct gitview_ent){
			.path = a, .len = (uint32_t)len, .mode = e->mode,
			.mtime_sec = (uint32_t)e->mtime.seconds, .mtime_nsec = e->mtime.nanoseconds,
			.ctime_sec = (uint32_t)e->ctime.seconds, .ctime_nsec = e->ctime.nanoseconds,
			.ino = e->ino, .uid = e->uid, .gid = e->gid, .size = e->file_size};
		memcpy(g->oid, e->id.id, sizeof(g->oid));
		if (e->flags_extended & GIT_INDEX_ENTRY_SKIP_WORKTREE)
			g->flags |= GITVIEW_SKIP_WORKTREE;
		if (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD)
			g->flags |= GITVIEW_INTENT_TO_ADD;
		if (GIT_INDEX_ENTRY_STAGE(e) != 0)
			g->flags |= GITVIEW_UNMERGED;
		if ((e->mode & 0170000) == 0160000)
			g->flags |= GITVIEW_GITLINK;
		a += len + 1;
	}
	return 0;
}

/* Reads the index of r->gitdir: through a confined descriptor, parsed by libgit2 from a copy. */
static int gitview_read_index(struct gitview_repo *r, const char *allowed, struct errbuf *err)
{
	char *path = gitview_join(r->gitdir, "index");
	if (!path)
		return errbuf_errno(err, ENOMEM, "reading the index of %s", r->top);
	char *text;
	size_t len;
	struct stat st;
	int rc = gitview_read(path, allowed, "the index", 0, &text, &len, &st, err);
	if (rc == -ENOENT) { /* a repository with nothing added yet */
		free(path);
		r->ents = calloc(1, sizeof(*r->ents));
		return r->ents ? 0 : errbuf_errno(err, ENOMEM, "reading the index of %s", r->top);
	}
	if (rc < 0) {
		free(path);
		return rc;
	}
	r->index_sec = st.st_mtim.tv_sec;
	r->index_nsec = (uint32_t)st.st_mtim.tv_nsec;
	int mfd = memfd_create("leindex-index", MFD_CLOEXEC);
	if (mfd < 0 || write(mfd, text, len) != (ssize_t)len) {
		rc = errbuf_errno(err, errno, "copying the index %s", path);
		goto out;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	git_index *idx = NULL;
	if ((rc = gitview_libgit2_setup(err)) < 0)
		goto out;
	if (gitview_lg.index_open(&idx, proc) < 0)
		rc = gitview_index_error(path, r->top, err);
	else
		rc = gitview_copy_entries(r, idx, err);
	gitview_lg.index_free(idx);
out:
	if (mfd >= 0)
		close(mfd);
	free(text);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- excludes */

/* Parses `text` as ignore rules at `base` with `lead`, labelled. NULL rules: none (empty). */
static int gitview_rules(const char *text, size_t len, const char *base, const char *lead,
			 size_t lead_len, enum ignore_source kind, const char *label,
			 struct ignore_rules **out, struct errbuf *err)
{
	*out = NULL;
	struct ignore_rules *r;
	int rc = ignore_rules_parse(&r, text, len, base, strlen(base), err);
	if (rc < 0)
		return rc;
	if (ignore_rules_count(r) == 0) {
		ignore_rules_destroy(r);
		return 0;
	}
	if (ignore_rules_set_source(r, kind, label) < 0 ||
	    (lead_len && ignore_rules_set_lead(r, lead, lead_len) < 0)) {
		ignore_rules_destroy(r);
		return errbuf_errno(err, ENOMEM, "reading %s", label);
	}
	*out = r;
	return 0;
}

/* The common directory's info/exclude, for paths from the scan root (base / lead as given). */
/* The repository's config file (in the common directory): r->config, git's defaults without one. */
static int gitview_read_config(struct gitview_repo *r, const char *commondir, const char *allowed,
			       struct errbuf *err)
{
	gitconfig_defaults(&r->config);
	char *path = gitview_join(commondir, "config");
	if (!path)
		return errbuf_errno(err, ENOMEM, "reading the config of %s", r->top);
	char *text = NULL;
	size_t len = 0;
	int rc = gitview_read(path, allowed, "the repository's config", 0, &text, &len, NULL, err);
	free(path);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	gitconfig_parse(text, len, &r->config);
	free(text);
	return 0;
}

static int gitview_read_exclude(struct gitview_repo *r, const char *commondir, const char *allowed,
				const char *base, char **text, size_t *len, struct errbuf *err)
{
	char *path = gitview_join(commondir, "info/exclude");
	if (!path)
		return errbuf_errno(err, ENOMEM, "reading the excludes of %s", r->top);
	int rc = gitview_read(path, allowed, "the excludes file", 0, text, len, NULL, err);
	free(path);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	return gitview_rules(*text, *len, base, r->lead, r->lead_len, IGNORE_SRC_EXCLUDE,
			     "info/exclude", &r->exclude, err);
}

void gitview_above_free(struct gitview_above *above)
{
	if (!above)
		return;
	for (size_t i = 0; i < above->n; i++)
		ignore_rules_destroy(above->rules[i]);
	free(above->rules);
	above->rules = NULL;
	above->n = 0;
}

/*
 * The .gitignore files of the directories from the top down to the root's parent: into
 * `above` (rules with a lead, for the scan), and into `check` (rules by their path from the
 * top) to find whether a directory down to the root is ignored.
 */
static int gitview_read_above(struct gitview_repo *r, const char *allowed,
			      struct gitview_above *above, struct ignore_stack **check,
			      struct errbuf *err)
{
	size_t lead_len = r->lead_len;
	above->rules = calloc(lead_len + 2, sizeof(*above->rules)); /* at most a file per level */
	if (!above->rules)
		return errbuf_errno(err, ENOMEM, "reading the .gitignore files above the root");
	size_t depth = 1; /* levels from the root up to the directory read */
	for (size_t i = 0; i < lead_len; i++)
		depth += r->lead[i] == '/';
	for (size_t at = 0;;) { /* `at`: length of the directory's path from the top */
		char dir[PATH_MAX], label[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s%s%.*s", r->top, at ? "/" : "", (int)at, r->lead);
		char *path = gitview_join(dir, ".gitignore");
		char *text = NULL;
		size_t len = 0;
		int rc = path ? gitview_read(path, allowed, "the .gitignore file", GITVIEW_NO_LINK,
					     &text, &len, NULL, err)
			      : errbuf_errno(err, ENOMEM, "reading .gitignore files");
		free(path);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		label[0] = '\0';
		for (size_t k = 0; k < depth; k++)
			strcat(label, "../");
		strcat(label, ".gitignore");
		struct ignore_rules *led = NULL, *plain = NULL;
		const char *rest = r->lead + at + (at ? 1 : 0);
		char base[PATH_MAX];
		snprintf(base, sizeof(base), "%.*s", (int)at, r->lead);
		if (rc == 0 && ((rc = gitview_rules(text, len, "", rest, strlen(rest), IGNORE_SRC_FILE,
						    label, &led, err)) < 0 ||
				(rc = gitview_rules(text, len, base, NULL, 0, IGNORE_SRC_FILE, label,
						    &plain, err)) < 0)) {
			free(text);
			ignore_rules_destroy(led);
			return rc;
		}
		free(text);
		if (led)
			above->rules[above->n++] = led;
		/* Is the next directory down (up to the root itself) ignored? */
		const char *slash = memchr(rest, '/', strlen(rest));
		size_t next = slash ? (size_t)(slash - r->lead) : lead_len;
		if (plain) {
			struct ignore_stack *s = ignore_stack_push(*check, plain);
			ignore_stack_unref(*check);
			if (!(*check = s))
				return errbuf_errno(err, ENOMEM, "reading .gitignore files");
		}
		if (ignore_stack_excluded(*check, r->lead, next, true))
			r->root_excluded = true;
		if (next == lead_len)
			return 0;
		at = next;
		depth--;
	}
}

/* ---------------------------------------------------------------- opening */

struct gitview_repo *gitview_ref(struct gitview_repo *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void gitview_unref(struct gitview_repo *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->ents);
	free(r->arena);
	ignore_rules_destroy(r->exclude);
	free(r->lead);
	free(r->top);
	free(r->gitdir);
	free(r);
}

/* A new repository at `w` (taking its paths), its index read. */
static int gitview_new(struct gitview_repo **out, struct gitview_where *w, const char *allowed,
		       struct errbuf *err)
{
	struct gitview_repo *r = calloc(1, sizeof(*r));
	if (!r) {
		gitview_where_free(w);
		return errbuf_errno(err, ENOMEM, "reading the repository");
	}
	atomic_init(&r->refs, 1);
	r->top = w->top;
	r->gitdir = w->gitdir;
	w->top = w->gitdir = NULL;
	int rc = gitview_read_index(r, allowed, err);
	if (rc < 0) {
		gitview_unref(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* The root's path from the top; refused when it is inside the git directory. */
static int gitview_set_lead(struct gitview_repo *r, const char *root, struct errbuf *err)
{
	const char *rest = root + strlen(r->top);
	if (*rest == '/')
		rest++;
	for (const char *p = rest; *p;) {
		const char *e = strchrnul(p, '/');
		if (e - p == 4 && memcmp(p, ".git", 4) == 0)
			return errbuf_set(err, -ENOTDIR, "%s is inside the git directory of %s, not "
					  "in its work tree", root, r->top);
		p = *e ? e + 1 : e;
	}
	r->lead_len = strlen(rest);
	if (r->lead_len && !(r->lead = strdup(rest)))
		return errbuf_errno(err, ENOMEM, "reading the repository of %s", root);
	return 0;
}

int gitview_open_main(struct gitview_repo **out, struct gitview_above *above, const char *root,
		      const char *allowed_root, struct errbuf *err)
{
	*out = NULL;
	memset(above, 0, sizeof(*above));
	struct gitview_where w = {0};
	int rc = gitview_locate(root, allowed_root, &w, err);
	if (rc < 0)
		return rc;
	char *commondir = w.commondir;
	w.commondir = NULL;
	struct gitview_repo *r = NULL;
	if ((rc = gitview_new(&r, &w, allowed_root, err)) < 0)
		goto out;
	if ((rc = gitview_set_lead(r, root, err)) < 0 ||
	    (rc = gitview_read_config(r, commondir, allowed_root, err)) < 0)
		goto out;
	/* info/exclude twice: for the scan (with the lead), and to check the dirs down to the root. */
	char *text = NULL;
	size_t len = 0;
	if ((rc = gitview_read_exclude(r, commondir, allowed_root, "", &text, &len, err)) < 0)
		goto out;
	struct ignore_stack *check = NULL;
	if (r->lead_len) {
		struct ignore_rules *plain = NULL;
		if (text && (rc = gitview_rules(text, len, "", NULL, 0, IGNORE_SRC_EXCLUDE,
						"info/exclude", &plain, err)) < 0) {
			free(text);
			goto out;
		}
		if (plain && !(check = ignore_stack_push(NULL, plain))) {
			free(text);
			rc = errbuf_errno(err, ENOMEM, "reading the excludes of %s", r->top);
			goto out;
		}
		rc = gitview_read_above(r, allowed_root, above, &check, err);
		ignore_stack_unref(check);
	}
	free(text);
out:
	free(commondir);
	if (rc < 0) {
		gitview_unref(r);
		gitview_above_free(above);
		return rc;
	}
	*out = r;
	return 0;
}

int gitview_open_nested(struct gitview_repo **out, const char *abs, const char *rel,
			size_t rel_len, const char *allowed_root, struct errbuf *err)
{
	*out = NULL;
	char *dotgit;
	int kind = gitview_dotgit(abs, &dotgit);
	if (kind <= 0) {
		free(dotgit);
		return kind < 0 ? errbuf_errno(err, ENOMEM, "reading %s", abs) : -ENOENT;
	}
	struct gitview_where w = {0};
	int rc = gitview_locate_at(abs, dotgit, kind, allowed_root, &w, err);
	free(dotgit);
	if (rc < 0) {
		gitview_where_free(&w);
		return rc;
	}
	char *commondir = w.commondir;
	w.commondir = NULL;
	struct gitview_repo *r = NULL;
	char *base = strndup(rel, rel_len), *text = NULL;
	size_t len = 0;
	if (!base)
		rc = errbuf_errno(err, ENOMEM, "reading %s", abs);
	else if ((rc = gitview_new(&r, &w, allowed_root, err)) == 0 &&
		 (rc = gitview_read_config(r, commondir, allowed_root, err)) == 0)
		rc = gitview_read_exclude(r, commondir, allowed_root, base, &text, &len, err);
	free(text);
	free(base);
	free(commondir);
	if (rc < 0) {
		gitview_unref(r);
		return rc;
	}
	r->sub_off = rel_len + 1;
	*out = r;
	return 0;
}

int gitview_check(const char *root, const char *allowed_root, struct errbuf *err)
{
	struct gitview_repo *r;
	struct gitview_above above;
	int rc = gitview_open_main(&r, &above, root, allowed_root, err);
	if (rc == 0) {
		gitview_unref(r);
		gitview_above_free(&above);
	}
	return rc;
}
