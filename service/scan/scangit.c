/* scangit.c: the view git: per directory, what git lists, and the git state of each entry.
 *
 * The scan walks the work tree as in the other views; per directory, one pass over its sorted
 * names decides with the repository's index (gitview.c) and the ignore rules:
 *   - `.git` is never listed; a path of the index outside the sparse checkout neither;
 *   - a tracked path (in the index) is kept, ignored or not; a directory holding tracked paths
 *     is entered, and when ignored only its tracked paths are kept (git cannot re-include an
 *     untracked path below an ignored directory);
 *   - a submodule (a gitlink) or a directory holding `.git` is one entry, git state "repo",
 *     entered under its own index and rules only with recurse_repos;
 *   - an untracked path is kept unless ignored (then recorded as skipped); an untracked
 *     directory is kept only when it holds something git would list (a probe reads it until the
 *     first such path), as git lists files, not empty directories.
 * The git state of a tracked file is git's: its stat data against the index's decides, and
 * where it cannot (different stat data, or a racily clean entry: modified in or after the
 * second the index was written) the content's blob id is compared with the index's, so
 * `modified` is exactly what `git diff --name-only` names for files without clean filters.
 * Tracked paths missing from the work tree are counted (git_deleted), not listed.
 */
#include "service/scan/scan_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---------------------------------------------------------------- setup */

int scangit_setup(struct scanner *sc, struct errbuf *err)
{
	struct gitview_above above;
	int rc = gitview_open_main(&sc->repo, &above, sc->root, sc->allowed_root, err);
	if (rc < 0)
		return rc;
	struct ignore_stack *s = NULL;
	if (sc->repo->exclude) {
		s = ignore_stack_push(NULL, sc->repo->exclude);
		sc->repo->exclude = NULL; /* the stack owns it (freed with it even on failure) */
		if (!s)
			goto nomem;
	}
	for (size_t i = 0; i < above.n; i++) {
		struct ignore_stack *up = ignore_stack_push(s, above.rules[i]);
		above.rules[i] = NULL;
		ignore_stack_unref(s);
		if (!(s = up))
			goto nomem;
	}
	gitview_above_free(&above);
	sc->base_ign = s;
	return 0;
nomem:
	ignore_stack_unref(s);
	gitview_above_free(&above);
	return errbuf_errno(err, ENOMEM, "building the ignore rules of %s", sc->repo->top);
}

void scangit_enter(struct scan_worker *w, struct scan_item *it)
{
	struct scanner *sc = w->sc;
	it->flags &= ~(unsigned)SCAN_ITEM_GIT_NEWREPO;
	gitview_unref(it->repo);
	it->repo = NULL;
	size_t rlen = strlen(sc->root);
	char *abs = malloc(rlen + 1 + it->path_len + 1);
	if (!abs) {
		scandir_nomem(sc, it, "opening a nested repository");
		return;
	}
	memcpy(abs, sc->root, rlen);
	abs[rlen] = '/';
	memcpy(abs + rlen + 1, it->path, it->path_len + 1);
	struct errbuf err;
	errbuf_clear(&err);
	struct gitview_repo *r = NULL;
	int rc = gitview_open_nested(&r, abs, it->path, it->path_len, sc->allowed_root, &err);
	free(abs);
	if (rc < 0) {
		/* Not checked out (no .git): nothing to list. Otherwise say why it is not listed. */
		if (rc != -ENOENT)
			scan_record_error(sc, it->path, it->path_len, "open", -rc, err.msg);
		return;
	}
	/* Its own rules only: the option patterns, its info/exclude, then its .gitignore files. */
	struct ignore_stack *ign = ignore_stack_ref(sc->opt_ign);
	if (r->exclude) {
		struct ignore_stack *s = ignore_stack_push(ign, r->exclude);
		r->exclude = NULL;
		ignore_stack_unref(ign);
		if (!(ign = s)) {
			gitview_unref(r);
			scandir_nomem(sc, it, "building the rules of a nested repository");
			return;
		}
	}
	ignore_stack_unref(it->ign);
	it->ign = ign;
	it->repo = r;
}

/* ---------------------------------------------------------------- paths */

/* Puts the path from the repository's top of entry `name` of `it` (or of `it` itself when
 * name is NULL) into w->gpath at offset `at`; returns its length, or SIZE_MAX (no memory). */
static size_t scangit_rel(struct scan_worker *w, const struct scan_item *it,
			  const struct gitview_repo *r, const char *name, size_t len)
{
	const char *dir = it->path;
	size_t dlen = it->path_len;
	if (r->sub_off) {
		dir = dlen >= r->sub_off ? it->path + r->sub_off : "";
		dlen = dlen >= r->sub_off ? dlen - r->sub_off : 0;
	}
	size_t need = r->lead_len + 1 + dlen + 1 + len + 1;
	void *p = w->gpath;
	if (scandir_grow(&p, &w->gpath_cap, need, 1) < 0)
		return SIZE_MAX;
	w->gpath = p;
	size_t n = 0;
	if (r->lead_len) {
		memcpy(w->gpath, r->lead, r->lead_len);
		n = r->lead_len;
	}
	if (dlen) {
		if (n)
			w->gpath[n++] = '/';
		memcpy(w->gpath + n, dir, dlen);
		n += dlen;
	}
	if (name) {
		if (n)
			w->gpath[n++] = '/';
		memcpy(w->gpath + n, name, len);
		n += len;
	}
	w->gpath[n] = '\0';
	return n;
}

/*
 * Whether `rel` (from directory fd `dirfd`) exists, without following any symbolic link in it
 * (the kernel's RESOLVE_NO_SYMLINKS, beneath the directory): a tracked path beyond a link is
 * not in the work tree, and the check cannot look outside.
 */
static bool scangit_exists(int dirfd, const char *rel)
{
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0) {
		close((int)fd);
		return true;
	}
	if (errno != ENOSYS && errno != EPERM)
		return false;
	struct stat st; /* no openat2 (before Linux 5.6, or filtered): lstat */
	return fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---------------------------------------------------------------- directories */

/* Whether an index entry in [lo, hi) outside no sparse set is present below `dirfd`; `skip`
 * bytes of each path lead to the directory. */
static bool scangit_tracked_present(const struct gitview_repo *r, int dirfd, size_t lo, size_t hi,
				    size_t skip)
{
	for (size_t i = lo; i < hi; i++)
		if (!(r->ents[i].flags & GITVIEW_SKIP_WORKTREE) &&
		    scangit_exists(dirfd, r->ents[i].path + skip))
			return true;
	return false;
}

/* Whether [lo, hi) holds an entry in the sparse set. */
static bool scangit_any_tracked(const struct gitview_repo *r, size_t lo, size_t hi)
{
	for (size_t i = lo; i < hi; i++)
		if (!(r->ents[i].flags & GITVIEW_SKIP_WORKTREE))
			return true;
	return false;
}

/*
 * Whether directory `name` of `dirfd` is a nested repository, as git tells one: it holds `.git`,
 * a directory with a HEAD, or a gitfile ("gitdir: PATH") leading to one. A gitfile leading out
 * of the allowed root is not followed further: it counts as a repository, read by nobody.
 */
static bool scangit_holds_dotgit(struct scanner *sc, int dirfd, const char *name)
{
	bool repo = false;
	int dfd = scanfd_openat(sc, dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (dfd < 0)
		return false;
	struct stat st;
	int gfd = -1, tfd = -1;
	if (fstatat(dfd, ".git", &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		repo = faccessat(dfd, ".git/HEAD", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		goto out;
	}
	if (!S_ISREG(st.st_mode) ||
	    (gfd = scanfd_openat(sc, dfd, ".git", O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) < 0)
		goto out;
	char buf[PATH_MAX + 16];
	ssize_t n = read(gfd, buf, sizeof(buf) - 1);
	if (n <= 8)
		goto out;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (strncmp(buf, "gitdir: ", 8) != 0 || strlen(buf) != (size_t)n)
		goto out;
	tfd = scanfd_openat(sc, dfd, buf + 8, O_PATH | O_DIRECTORY);
	if (tfd < 0)
		goto out;
	char real[PATH_MAX], proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
	ssize_t rl = readlink(proc, real, sizeof(real) - 1);
	if (sc->allowed_root && rl > 0) {
		real[rl] = '\0';
		size_t al = strlen(sc->allowed_root);
		if (strncmp(real, sc->allowed_root, al) != 0 || (real[al] != '/' && real[al] != '\0' &&
								 al > 1)) {
			repo = true; /* not looked into */
			goto out;
		}
	}
	repo = faccessat(tfd, "HEAD", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
out:
	scanfd_close(sc, tfd);
	scanfd_close(sc, gfd);
	scanfd_close(sc, dfd);
	return repo;
}

/* A name and its type, for the probe. */
static bool scangit_is_dir(int dirfd, const char *name, unsigned char dtype, enum entry_type *type)
{
	if (dtype == DT_UNKNOWN) {
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			*type = ENTRY_OTHER; /* gone since it was listed: git would not list it */
			return false;
		}
		dtype = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
			: S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
	}
	*type = dtype == DT_DIR ? ENTRY_DIR : dtype == DT_REG ? ENTRY_FILE
		: dtype == DT_LNK ? ENTRY_SYMLINK : ENTRY_OTHER;
	return dtype == DT_DIR;
}

/*
 * Whether the untracked directory `path` (open as `fd`, which this closes) holds a path git
 * would list: a file or link not ignored, or a nested repository. Reads it depth-first until
 * the first one. When it cannot tell (a directory unreadable) the answer is yes: the scan then
 * reads it and records why it could not.
 */
static bool scangit_probe(struct scanner *sc, int fd, const char *path, size_t len,
			  struct ignore_stack *ign)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		scanfd_close(sc, fd);
		return true;
	}
	struct ignore_rules *rules = scanignore_load(sc, fd, path, len, ".gitignore", IGNORE_SRC_FILE);
	struct ignore_stack *stack = rules ? ignore_stack_push(ign, rules) : ignore_stack_ref(ign);
	bool found = !stack && rules; /* no memory for the rules: list it */
	struct dirent *de;
	char *child = NULL;
	while (!found && (de = readdir(d))) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || strcmp(nm, ".git") == 0)
			continue;
		size_t nlen = strlen(nm), clen = len + 1 + nlen;
		char *c = realloc(child, clen + 1);
		if (!c) {
			found = true;
			break;
		}
		child = c;
		memcpy(child, path, len);
		child[len] = '/';
		memcpy(child + len + 1, nm, nlen + 1);
		enum entry_type type;
		bool is_dir = scangit_is_dir(fd, nm, de->d_type, &type);
		if (ignore_stack_excluded(stack, child, clen, is_dir))
			continue;
		if (!is_dir) {
			found = type == ENTRY_FILE || type == ENTRY_SYMLINK;
			continue;
		}
		if (scangit_holds_dotgit(sc, fd, nm)) {
			found = true;
			continue;
		}
		int sub = scanfd_openat(sc, fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		found = sub < 0 || scangit_probe(sc, sub, child, clen, stack);
	}
	free(child);
	ignore_stack_unref(stack);
	closedir(d); /* closes fd */
	atomic_fetch_add(&sc->fd_gen, 1);
	return found;
}

/* ---------------------------------------------------------------- the pass */

/* Decides a directory name (see the top of the file); 0 or -ENOMEM. */
static int scangit_dir(struct scan_worker *w, const struct scan_pass *pass, struct scan_name *nm,
		       size_t n, size_t rel_len, bool excluded, struct scan_found *out)
{
	struct scanner *sc = w->sc;
	const struct gitview_repo *r = pass->it->repo;
	size_t lo, hi;
	gitview_range(r, w->gpath, rel_len, &lo, &hi);
	struct ignore_why why;
	bool ignored = !excluded &&
		       ignore_stack_why(pass->ign, w->path, n, true, &why) == IGNORE_EXCLUDE;
	if (scangit_any_tracked(r, lo, hi)) {
		bool excl = excluded || ignored;
		/* It is listed when it holds a tracked path present, or something untracked. */
		int fd = -1;
		bool listed = scangit_tracked_present(r, pass->fd, lo, hi, rel_len - nm->len);
		if (!listed && !excl &&
		    (fd = scanfd_openat(sc, pass->fd, nm->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) >= 0)
			listed = scangit_probe(sc, fd, w->path, n, pass->ign);
		nm->skip = !listed;
		nm->gflags = excl ? SCAN_ITEM_GIT_EXCLUDED : 0;
		return 0;
	}
	if (excluded) {
		nm->skip = true;
		return 0;
	}
	if (ignored) {
		nm->skip = true;
		return scan_record_skip(sc, out, w->path, n, ENTRY_DIR, &why);
	}
	if (scangit_holds_dotgit(sc, pass->fd, nm->name)) {
		nm->git = SCANGIT_REPO;
		nm->gflags = (sc->opts.flags & SCANNER_RECURSE_REPOS) ? SCAN_ITEM_GIT_NEWREPO : 0;
		return 0;
	}
	int fd = scanfd_openat(sc, pass->fd, nm->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	nm->skip = fd >= 0 && !scangit_probe(sc, fd, w->path, n, pass->ign);
	return 0;
}

/* Decides one name, among the index entries [dlo, dhi) of its directory; 0 or -ENOMEM. */
static int scangit_name(struct scan_worker *w, const struct scan_pass *pass, struct scan_name *nm,
			size_t dlo, size_t dhi, struct scan_found *out)
{
	struct scanner *sc = w->sc;
	struct scan_item *it = pass->it;
	const struct gitview_repo *r = it->repo;
	nm->git = SCANGIT_NONE;
	nm->gflags = 0;
	if (!r || (nm->len == 4 && memcmp(nm->name, ".git", 4) == 0)) {
		nm->skip = true;
		return 0;
	}
	size_t n = scandir_entry_path(w, it, nm->name, nm->len);
	size_t rel_len = scangit_rel(w, it, r, nm->name, nm->len);
	if (n == 0 || rel_len == SIZE_MAX)
		return scandir_nomem(sc, it, "matching the index");
	enum entry_type type;
	bool is_dir = scangit_is_dir(pass->fd, nm->name, nm->dtype, &type);
	bool excluded = it->flags & SCAN_ITEM_GIT_EXCLUDED;
	size_t idx = gitview_find_in(r, dlo, dhi, w->gpath, rel_len);
	if (idx != SIZE_MAX) {
		const struct gitview_ent *g = &r->ents[idx];
		if (g->flags & GITVIEW_SKIP_WORKTREE) {
			nm->skip = true;
			return 0;
		}
		if (g->flags & GITVIEW_GITLINK) {
			nm->skip = !is_dir;
			nm->git = SCANGIT_REPO;
			nm->gflags = (sc->opts.flags & SCANNER_RECURSE_REPOS) ? SCAN_ITEM_GIT_NEWREPO : 0;
			return 0;
		}
		if (!is_dir) {
			nm->git = SCANGIT_TRACKED;
			nm->gidx = (uint32_t)idx;
			return 0;
		}
	}
	if (is_dir)
		return scangit_dir(w, pass, nm, n, rel_len, excluded, out);
	struct ignore_why why;
	if (excluded || (type != ENTRY_FILE && type != ENTRY_SYMLINK)) {
		nm->skip = true; /* git lists no untracked path below an ignored dir, no FIFO */
		return 0;
	}
	if (ignore_stack_why(pass->ign, w->path, n, false, &why) == IGNORE_EXCLUDE) {
		nm->skip = true;
		return scan_record_skip(sc, out, w->path, n, type, &why);
	}
	nm->git = SCANGIT_UNTRACKED;
	return 0;
}

int scangit_filter(struct scan_worker *w, const struct scan_pass *pass, size_t lo, size_t hi,
		   struct scan_found *out)
{
	uint64_t t0 = (uint64_t)clock_mono_ns();
	int rc = 0;
	/* The directory's own entries of the index: each name is looked up among them only. */
	size_t dlo = 0, dhi = 0;
	const struct gitview_repo *r = pass->it->repo;
	if (r) {
		size_t dir_len = scangit_rel(w, pass->it, r, NULL, 0);
		if (dir_len == SIZE_MAX)
			return scandir_nomem(w->sc, pass->it, "matching the index");
		gitview_range(r, w->gpath, dir_len, &dlo, &dhi);
	}
	for (size_t i = lo; i < hi && rc == 0; i++) {
		if (scan_cancelled(w->sc))
			rc = -ECANCELED;
		else
			rc = scangit_name(w, pass, &pass->names[i], dlo, dhi, out);
	}
	atomic_fetch_add_explicit(&w->c.ignore_ns, (uint64_t)clock_mono_ns() - t0,
				  memory_order_relaxed);
	return rc;
}

/* ---------------------------------------------------------------- states */

/* The blob id of the file `name` of `dirfd` (`size` bytes by its stat) into oid. 0 or -1. */
static int scangit_hash_file(struct scan_worker *w, int dirfd, const char *name, uint64_t size,
			     unsigned char oid[20])
{
	int fd = scanfd_openat(w->sc, dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	char head[32];
	int hl = snprintf(head, sizeof(head), "blob %llu", (unsigned long long)size);
	int rc = EVP_DigestInit_ex(w->md, EVP_sha1(), NULL) == 1 &&
			 EVP_DigestUpdate(w->md, head, (size_t)hl + 1) == 1 ? 0 : -1;
	uint64_t got = 0;
	while (rc == 0) {
		ssize_t n = read(fd, w->readbuf, SCAN_HASH_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		got += (uint64_t)n;
		if (EVP_DigestUpdate(w->md, w->readbuf, (size_t)n) != 1)
			rc = -1;
	}
	scanfd_close(w->sc, fd);
	unsigned len = 0;
	if (rc == 0 && (got != size || EVP_DigestFinal_ex(w->md, oid, &len) != 1 || len != 20))
		rc = -1; /* it changed while read: modified, whatever it holds now */
	return rc;
}

/* The blob id of bytes (a link's target) into oid. 0 or -1. */
static int scangit_hash_bytes(struct scan_worker *w, const char *p, size_t n, unsigned char oid[20])
{
	char head[32];
	int hl = snprintf(head, sizeof(head), "blob %zu", n);
	unsigned len = 0;
	return EVP_DigestInit_ex(w->md, EVP_sha1(), NULL) == 1 &&
			       EVP_DigestUpdate(w->md, head, (size_t)hl + 1) == 1 &&
			       EVP_DigestUpdate(w->md, p, n) == 1 &&
			       EVP_DigestFinal_ex(w->md, oid, &len) == 1 && len == 20
		       ? 0 : -1;
}

/* Whether the stat data of `e` is the index entry's (the fields git compares, truncated as the
 * index keeps them), and the entry not racily clean. */
static bool scangit_stat_clean(const struct gitview_repo *r, const struct gitview_ent *g,
			       const struct entry *e)
{
	if ((uint32_t)e->mtime_sec != g->mtime_sec || e->mtime_nsec != g->mtime_nsec ||
	    (uint32_t)e->ctime_sec != g->ctime_sec || e->ctime_nsec != g->ctime_nsec ||
	    (uint32_t)e->ino != g->ino || e->uid != g->uid || e->gid != g->gid ||
	    (uint32_t)e->size != g->size)
		return false;
	/* Racily clean: written in or after the second of the index (git without USE_NSEC). */
	return !(r->index_sec && r->index_sec <= e->mtime_sec);
}

void scangit_status(struct scan_worker *w, const struct scan_pass *pass, const struct scan_name *nm,
		    struct entry *e)
{
	if (nm->git == SCANGIT_UNTRACKED) {
		e->git = ENTRY_GIT_UNTRACKED;
		return;
	}
	if (nm->git == SCANGIT_REPO) {
		e->git = ENTRY_GIT_REPO;
		return;
	}
	if (nm->git != SCANGIT_TRACKED)
		return;
	const struct gitview_repo *r = pass->it->repo;
	const struct gitview_ent *g = &r->ents[nm->gidx];
	e->git = ENTRY_GIT_MODIFIED;
	if ((g->flags & (GITVIEW_INTENT_TO_ADD | GITVIEW_UNMERGED)) || !(e->flags & ENTRY_HAS_STAT))
		return;
	/* core.fileMode false: the executable bit is the index's, whatever the file's says. */
	bool exec = r->config.filemode ? (e->mode & 0100) != 0 : g->mode == 0100755;
	uint32_t want = (g->mode & 0170000) == 0120000 ? 0120000 : exec ? 0100755 : 0100644;
	bool link = e->type == ENTRY_SYMLINK;
	if ((link ? 0120000u : e->type == ENTRY_FILE ? want : 0u) != g->mode)
		return; /* a type or executable bit change: git diff names it */
	if (scangit_stat_clean(r, g, e)) {
		e->git = ENTRY_GIT_TRACKED;
		return;
	}
	if (g->size != 0 && g->size != (uint32_t)e->size)
		return; /* another size: other content (a size 0 may be git's racy smudge) */
	uint64_t t0 = (uint64_t)clock_mono_ns();
	unsigned char oid[20];
	int rc = link ? (e->target ? scangit_hash_bytes(w, e->target, e->target_len, oid) : -1)
		      : scangit_hash_file(w, pass->fd, nm->name, e->size, oid);
	if (rc == 0 && memcmp(oid, g->oid, 20) == 0)
		e->git = ENTRY_GIT_TRACKED;
	atomic_fetch_add_explicit(&w->c.hash_ns, (uint64_t)clock_mono_ns() - t0,
				  memory_order_relaxed);
}

/* ---------------------------------------------------------------- deleted paths */

/* The name of w->names[0..count) equal to name[0..len), or NULL. */
static const struct scan_name *scangit_lookup(const struct scan_worker *w, size_t count,
					      const char *name, size_t len)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct scan_name *m = &w->names[mid];
		size_t ml = m->len;
		int c = memcmp(m->name, name, ml < len ? ml : len);
		if (c == 0)
			c = (ml > len) - (ml < len);
		if (c == 0)
			return m;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void scangit_count_deleted(struct scan_worker *w, struct scan_item *it, size_t count)
{
	const struct gitview_repo *r = it->repo;
	if (!r)
		return;
	size_t rel_len = scangit_rel(w, it, r, NULL, 0);
	if (rel_len == SIZE_MAX)
		return;
	size_t lo, hi, skip = rel_len ? rel_len + 1 : 0;
	gitview_range(r, w->gpath, rel_len, &lo, &hi);
	uint64_t deleted = 0;
	for (size_t i = lo; i < hi;) {
		const struct gitview_ent *g = &r->ents[i];
		const char *name = g->path + skip;
		const char *slash = memchr(name, '/', g->len - skip);
		size_t len = slash ? (size_t)(slash - name) : g->len - skip;
		const struct scan_name *nm = scangit_lookup(w, count, name, len);
		if (!slash) {
			deleted += !(g->flags & GITVIEW_SKIP_WORKTREE) &&
				   (!nm || (nm->dtype == DT_DIR && !(g->flags & GITVIEW_GITLINK)));
			i++;
			continue;
		}
		size_t sub_lo, sub_hi;
		gitview_range(r, g->path, skip + len, &sub_lo, &sub_hi);
		/* A directory read later counts its own; one not kept holds none present. */
		if (!nm || nm->skip || nm->dtype != DT_DIR)
			for (size_t k = sub_lo; k < sub_hi; k++)
				deleted += !(r->ents[k].flags & GITVIEW_SKIP_WORKTREE);
		i = sub_hi > i ? sub_hi : i + 1;
	}
	if (deleted)
		atomic_fetch_add_explicit(&w->sc->n_git_deleted, deleted, memory_order_relaxed);
}
