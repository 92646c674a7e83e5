/* scanentry.c: the entries of one directory: the ignore pass, statx, links followed or not,
 * loops, hashing, and encoding into the batch that goes to the store (passes 3 and 4 of
 * scandir.c). Called for a whole directory, or for one slice of a large one (scansplit.c). */
#include "service/scan/scan_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static enum entry_type scanentry_type_of_mode(mode_t m)
{
	return S_ISREG(m) ? ENTRY_FILE : S_ISDIR(m) ? ENTRY_DIR : S_ISLNK(m) ? ENTRY_SYMLINK : ENTRY_OTHER;
}

static enum entry_type scanentry_type_of_dtype(uint8_t t)
{
	return t == DT_REG ? ENTRY_FILE : t == DT_DIR ? ENTRY_DIR
	       : t == DT_LNK ? ENTRY_SYMLINK : ENTRY_OTHER;
}

/*
 * Pass 3: drops ignored names, recording each with the rule that skipped it. Names whose d_type
 * is unknown are stat-ed to learn if dirs. 0, -ENOMEM (the scan failed: a name left unchecked
 * would be listed although ignored), or -ECANCELED.
 */
static int scanentry_filter(struct scan_worker *w, const struct scan_pass *pass, size_t lo,
			    size_t hi, struct scan_found *out)
{
	struct scan_item *it = pass->it;
	int fd = pass->fd;
	uint64_t t0 = (uint64_t)clock_mono_ns();
	int rc = 0;
	for (size_t i = lo; i < hi && rc == 0; i++) {
		if (scan_cancelled(w->sc)) {
			rc = -ECANCELED;
			break;
		}
		struct scan_name *nm = &pass->names[i];
		bool is_dir = nm->dtype == DT_DIR;
		enum entry_type type = scanentry_type_of_dtype(nm->dtype);
		if (nm->dtype == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(fd, nm->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				is_dir = S_ISDIR(st.st_mode);
				type = scanentry_type_of_mode(st.st_mode);
			}
		}
		size_t n = scandir_entry_path(w, it, nm->name, nm->len);
		struct ignore_why why;
		if (n == 0) {
			rc = scandir_nomem(w->sc, it, "matching the ignore rules");
		} else if (ignore_stack_why(pass->ign, w->path, n, is_dir, &why) == IGNORE_EXCLUDE) {
			nm->skip = true;
			rc = scan_record_skip(w->sc, out, w->path, n, type, &why);
		}
	}
	atomic_fetch_add_explicit(&w->c.ignore_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
	return rc;
}

/* SHA-256 of a regular file, checking for cancellation between reads. */
static void scanentry_hash(struct scan_worker *w, struct scan_item *it, int fd, struct entry *e)
{
	struct scanner *sc = w->sc;
	uint64_t t0 = (uint64_t)clock_mono_ns();
	int hfd = scanfd_openat(sc, fd, e->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (hfd < 0) {
		scandir_error(w, it, e->name, e->name_len, "open", errno);
		goto out;
	}
	if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		scandir_error(w, it, e->name, e->name_len, "hash", EIO);
		goto out;
	}
	for (;;) {
		if (atomic_load_explicit(&sc->cancelled, memory_order_relaxed))
			goto out;
		ssize_t n = read(hfd, w->readbuf, SCAN_HASH_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			scandir_error(w, it, e->name, e->name_len, "read", errno);
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(w->md, w->readbuf, (size_t)n) != 1) {
			scandir_error(w, it, e->name, e->name_len, "hash", EIO);
			goto out;
		}
	}
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(w->md, e->sha256, &mdlen) == 1 && mdlen == 32)
		e->flags |= ENTRY_HAS_HASH;
out:
	scanfd_close(sc, hfd);
	atomic_fetch_add_explicit(&w->c.hash_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
}

static void scanentry_fill_stat(struct entry *e, const struct statx *sx)
{
	e->flags |= ENTRY_HAS_STAT;
	e->type = scanentry_type_of_mode(sx->stx_mode);
	e->mode = sx->stx_mode & 07777;
	e->uid = sx->stx_uid;
	e->gid = sx->stx_gid;
	e->size = sx->stx_size;
	e->ino = sx->stx_ino;
	e->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	e->nlink = sx->stx_nlink;
	e->mtime_sec = sx->stx_mtime.tv_sec;
	e->mtime_nsec = sx->stx_mtime.tv_nsec;
	e->ctime_sec = sx->stx_ctime.tv_sec;
	e->ctime_nsec = sx->stx_ctime.tv_nsec;
}

/* Whether (dev, ino) is the directory itself or one of its ancestors: a loop. */
static bool scanentry_is_ancestor(const struct scan_anc *a, dev_t dev, ino_t ino)
{
	for (; a; a = a->parent)
		if (a->dev == dev && a->ino == ino)
			return true;
	return false;
}

#define SCANENTRY_STATX_MASK \
	(STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_MTIME | \
	 STATX_CTIME | STATX_INO | STATX_SIZE)

/*
 * Resolves the followed link `name` in `fd` once: stats what it leads to into *tx, and says
 * whether that is a directory inside the root (its path as resolved, per /proc). Identity and
 * place come from the same resolution, so a link re-pointed between two looks cannot pass the
 * check with one target and hand over the other's identity. 0 when stat-ed, -1 otherwise.
 */
static int scanentry_resolve_link(struct scanner *sc, int fd, const char *name, struct statx *tx,
				  bool *dir_inside)
{
	*dir_inside = false;
	int pfd = scanfd_openat(sc, fd, name, O_PATH);
	if (pfd < 0)
		return -1;
	int rc = statx(pfd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, SCANENTRY_STATX_MASK, tx);
	if (rc == 0 && S_ISDIR(tx->stx_mode))
		*dir_inside = scanfd_inside(pfd, sc->root_real, sc->root_real_len);
	scanfd_close(sc, pfd);
	return rc;
}

/* Decides whether the entry just stat-ed is a directory to descend into. */
static bool scanentry_should_descend(struct scan_worker *w, struct scan_item *it, int fd,
				     struct entry *e, const struct statx *sx, struct scan_sub *sub,
				     const struct scan_name *nm)
{
	struct scanner *sc = w->sc;
	sub->via_link = false;
	sub->gflags = nm->gflags;
	/* View git: a repository is one entry, entered with recurse_repos only. */
	if (nm->git == SCANGIT_REPO && !(nm->gflags & SCAN_ITEM_GIT_NEWREPO))
		return false;
	if (sc->opts.max_depth >= 0 && it->depth + 1 > sc->opts.max_depth)
		return false;
	if (sc->opts.view != SCANNER_VIEW_ALL && e->name_len == 4 &&
	    memcmp(e->name, ".git", 4) == 0)
		return false;
	bool follow = sc->opts.flags & SCANNER_FOLLOW_SYMLINKS;
	if (e->type == ENTRY_SYMLINK && follow && (e->flags & ENTRY_HAS_STAT)) {
		uint64_t t0 = (uint64_t)clock_mono_ns();
		struct statx tx;
		bool dir = false;
		if (scanentry_resolve_link(sc, fd, e->name, &tx, &dir) == 0) {
			/* find -L: a link is described by what it points to. */
			struct entry keep = *e;
			scanentry_fill_stat(e, &tx);
			e->target = keep.target;
			e->target_len = keep.target_len;
			if (S_ISDIR(tx.stx_mode) && !dir) {
				/* Outside the root: kept as the link it is, not followed. */
				*e = keep;
			}
		}
		atomic_fetch_add_explicit(&w->c.symlink_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
		if (!dir)
			return false;
		/* The child is read only if it opens as this very directory (scandir.c). */
		sub->via_link = true;
		sub->dev = makedev(tx.stx_dev_major, tx.stx_dev_minor);
		sub->ino = tx.stx_ino;
		if (scanentry_is_ancestor(it->anc, sub->dev, sub->ino)) {
			scandir_error(w, it, e->name, e->name_len, "loop", ELOOP);
			return false;
		}
		return true;
	}
	if (e->type != ENTRY_DIR)
		return false;
	if (!(e->flags & ENTRY_HAS_STAT))
		return true; /* could not stat: still try to open it, and report why if it fails */
	dev_t dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	if ((sc->opts.flags & SCANNER_ONE_FILE_SYSTEM) && dev != sc->root_dev)
		return false;
	if (follow && scanentry_is_ancestor(it->anc, dev, sx->stx_ino)) {
		scandir_error(w, it, e->name, e->name_len, "loop", ELOOP);
		return false;
	}
	return true;
}

/* Counts entry `e` and encodes it into out->batch: 0, or negative when the scan failed (told). */
static int scanentry_emit(struct scanner *sc, const struct entry *e, struct scan_found *out)
{
	out->counts[e->type]++;
	if (e->type == ENTRY_FILE)
		out->bytes += e->size;
	struct errbuf err;
	errbuf_clear(&err);
	if (store_batch_add(out->batch, e, &err) < 0) {
		scan_fail(sc, &err);
		return err.code;
	}
	return 0;
}

/* reuse dirs: whether subdirectory `e` of `it` is the baseline's `b`, unchanged. */
static bool scanentry_dir_same(const struct scanner *sc, const struct scan_item *it,
			       const struct entry *e, const struct entry *b)
{
	return sc->reuse_dirs && !(it->flags & SCAN_ITEM_NO_REUSE) && b && e->type == ENTRY_DIR &&
	       b->type == ENTRY_DIR && (e->flags & ENTRY_HAS_STAT) && (b->flags & ENTRY_HAS_STAT) &&
	       e->dev != 0 && e->dev == b->dev && e->ino == b->ino && e->mtime_sec == b->mtime_sec &&
	       e->mtime_nsec == b->mtime_nsec && e->ctime_sec == b->ctime_sec &&
	       e->ctime_nsec == b->ctime_nsec;
}

/*
 * Pass 4 for one name: stat it (and read its link), decide whether to descend, hash it, count it
 * and encode it into out->batch. 0, or negative when the scan failed (it was told).
 */
static int scanentry_stat_one(struct scan_worker *w, const struct scan_pass *pass, size_t i,
			      const struct entry *base, struct scan_found *out)
{
	struct scanner *sc = w->sc;
	struct scan_item *it = pass->it;
	int fd = pass->fd;
	const struct scan_name *nm = &pass->names[i];
	struct entry e = {.name = nm->name, .name_len = nm->len,
			  .type = scanentry_type_of_dtype(nm->dtype)};
	struct statx sx;
	if (statx(fd, nm->name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, SCANENTRY_STATX_MASK, &sx) == 0)
		scanentry_fill_stat(&e, &sx);
	else
		scandir_error(w, it, nm->name, nm->len, "stat", errno);
	if (e.type == ENTRY_SYMLINK) {
		ssize_t n = readlinkat(fd, nm->name, w->link, PATH_MAX);
		if (n >= 0) {
			e.target = w->link;
			e.target_len = (size_t)n;
		} else {
			scandir_error(w, it, nm->name, nm->len, "readlink", errno);
		}
	}
	if (sc->opts.view == SCANNER_VIEW_GIT)
		scangit_status(w, pass, nm, &e);
	struct scan_sub sub = {.idx = (uint32_t)i,
			       .base_dir = base ? pass->base->child[base - pass->base->e] : 0};
	if (scanentry_should_descend(w, it, fd, &e, &sx, &sub, nm)) {
		if (scanentry_dir_same(sc, it, &e, base))
			sub.gflags |= SCAN_ITEM_BASE_SAME;
		void *p = out->subdirs;
		if (scandir_grow(&p, &out->subdirs_cap, out->nsub + 1, sizeof(*out->subdirs)) < 0)
			return scandir_nomem(sc, it, "listing the subdirectories");
		out->subdirs = p;
		out->subdirs[out->nsub++] = sub;
	}
	if ((sc->opts.flags & SCANNER_HASH) && e.type == ENTRY_FILE && (e.flags & ENTRY_HAS_STAT)) {
		if (scanbase_hash_reusable(&e, base, sc->opts.baseline_started_ns)) {
			memcpy(e.sha256, base->sha256, sizeof(e.sha256));
			e.flags |= ENTRY_HAS_HASH;
			atomic_fetch_add_explicit(&sc->n_hashes_reused, 1, memory_order_relaxed);
		} else {
			scanentry_hash(w, it, fd, &e);
			atomic_fetch_add_explicit(&sc->n_hashes_computed, 1, memory_order_relaxed);
		}
	}
	return scanentry_emit(sc, &e, out);
}

/* Pass 4: stat every kept name and encode it into the batch; collects subdirectories to queue. */
static int scanentry_stat_range(struct scan_worker *w, const struct scan_pass *pass, size_t lo,
				size_t hi, struct scan_found *out)
{
	uint64_t t0 = (uint64_t)clock_mono_ns();
	uint64_t hash_before = atomic_load_explicit(&w->c.hash_ns, memory_order_relaxed);
	uint64_t link_before = atomic_load_explicit(&w->c.symlink_ns, memory_order_relaxed);
	uint64_t entries_before = out->counts[0] + out->counts[1] + out->counts[2] + out->counts[3];
	int rc = 0;
	/* The baseline's entries of the directory, merge-joined with the names of the slice. */
	size_t j = lo < hi ? scanbase_start(pass->base, &pass->names[lo]) : 0;
	for (size_t i = lo; i < hi && rc == 0; i++) {
		if (scan_cancelled(w->sc))
			rc = -ECANCELED;
		else if (!pass->names[i].skip)
			rc = scanentry_stat_one(w, pass, i,
						scanbase_match(pass->base, &j, &pass->names[i]), out);
	}
	/* Per worker: the entries this worker stat-ed, its share of a split directory included. */
	atomic_fetch_add_explicit(&w->c.entries, out->counts[0] + out->counts[1] + out->counts[2] +
				  out->counts[3] - entries_before, memory_order_relaxed);
	uint64_t spent = (uint64_t)clock_mono_ns() - t0;
	uint64_t nested = atomic_load_explicit(&w->c.hash_ns, memory_order_relaxed) - hash_before +
			  atomic_load_explicit(&w->c.symlink_ns, memory_order_relaxed) - link_before;
	atomic_fetch_add_explicit(&w->c.stat_ns, spent > nested ? spent - nested : 0,
				  memory_order_relaxed);
	return rc;
}

int scanentry_range(struct scan_worker *w, const struct scan_pass *pass, size_t lo, size_t hi,
		    struct scan_found *out)
{
	int rc = w->sc->opts.view == SCANNER_VIEW_GIT ? scangit_filter(w, pass, lo, hi, out)
		 : pass->ign				 ? scanentry_filter(w, pass, lo, hi, out)
							 : 0;
	if (rc == 0 && store_skips_count(out->skips) > 0) {
		struct errbuf err;
		errbuf_clear(&err);
		if ((rc = store_put_skips(w->sc->store, w->sc->opts.scan_id, out->skips, &err)) < 0)
			scan_fail(w->sc, &err);
	}
	return rc < 0 ? rc : scanentry_stat_range(w, pass, lo, hi, out);
}

/*
 * reuse dirs: whether the baseline's row of `b` (not a directory) is this scan's as it is: its
 * hash kept when this scan hashes, none to drop when it does not, none to compute.
 */
static bool scanentry_row_as_is(const struct scanner *sc, const struct entry *b)
{
	bool has_hash = b->flags & ENTRY_HAS_HASH;
	if (!(sc->opts.flags & SCANNER_HASH))
		return !has_hash;
	return has_hash || b->type != ENTRY_FILE || !(b->flags & ENTRY_HAS_STAT);
}

/* reuse dirs: the baseline's row i copied as stored (scanentry_row_as_is()). */
static int scanentry_reuse_raw(struct scan_worker *w, const struct store_dirents *base, size_t i,
			       struct scan_found *out)
{
	struct scanner *sc = w->sc;
	const struct entry *b = &base->e[i];
	uint64_t bytes;
	struct errbuf err;
	errbuf_clear(&err);
	if (store_batch_add_raw(out->batch, base, i, &bytes, &err) < 0) {
		scan_fail(sc, &err);
		return err.code;
	}
	out->counts[b->type]++;
	out->bytes += bytes;
	if ((sc->opts.flags & SCANNER_HASH) && (b->flags & ENTRY_HAS_HASH))
		atomic_fetch_add_explicit(&sc->n_hashes_reused, 1, memory_order_relaxed);
	return 0;
}

/*
 * reuse dirs, one baseline entry: a subdirectory is stat-ed again, the rest copied (as stored
 * when nothing in it changes). 0 or < 0. *same becomes false when the row written is not equal
 * to the baseline's for a diff.
 */
static int scanentry_reuse_one(struct scan_worker *w, struct scan_item *it, int fd,
			       const struct store_dirents *base, size_t i, struct scan_found *out,
			       bool *same)
{
	struct scanner *sc = w->sc;
	const struct entry *b = &base->e[i];
	if (b->type != ENTRY_DIR && scanentry_row_as_is(sc, b))
		return scanentry_reuse_raw(w, base, i, out);
	struct entry whole;
	if (base->lazy && b->type != ENTRY_DIR) {
		if (store_dirents_decode(base, i, &whole) < 0) {
			struct errbuf err;
			errbuf_set(&err, -EIO, "reading %.*s of the baseline: a damaged row",
				   (int)b->name_len, b->name);
			scan_fail(sc, &err);
			return -EIO;
		}
		b = &whole;
	}
	struct entry e = *b;
	struct statx sx;
	char name[256]; /* e.name, NUL-terminated, when the file is hashed */
	if (b->type == ENTRY_DIR) {
		if (statx(fd, w->names[i].name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
			  SCANENTRY_STATX_MASK, &sx) == 0) {
			e.flags &= ~ENTRY_HAS_STAT;
			scanentry_fill_stat(&e, &sx);
		} else {
			scandir_error(w, it, b->name, b->name_len, "stat", errno);
			e.flags &= ~ENTRY_HAS_STAT;
		}
		struct scan_sub sub = {.idx = (uint32_t)i, .base_dir = w->base.child[i]};
		if (scanentry_should_descend(w, it, fd, &e, &sx, &sub, &w->names[i])) {
			if (scanentry_dir_same(sc, it, &e, b))
				sub.gflags |= SCAN_ITEM_BASE_SAME;
			void *p = out->subdirs;
			if (scandir_grow(&p, &out->subdirs_cap, out->nsub + 1, sizeof(*out->subdirs)) < 0)
				return scandir_nomem(sc, it, "listing the subdirectories");
			out->subdirs = p;
			out->subdirs[out->nsub++] = sub;
		}
	} else if ((sc->opts.flags & SCANNER_HASH) && e.type == ENTRY_FILE &&
		   (e.flags & ENTRY_HAS_STAT)) {
		if (e.flags & ENTRY_HAS_HASH) {
			atomic_fetch_add_explicit(&sc->n_hashes_reused, 1, memory_order_relaxed);
		} else { /* the baseline did not hash: this scan does, by a NUL-terminated name */
			memcpy(name, e.name, e.name_len);
			name[e.name_len] = '\0';
			e.name = name;
			scanentry_hash(w, it, fd, &e);
			atomic_fetch_add_explicit(&sc->n_hashes_computed, 1, memory_order_relaxed);
		}
	} else if (!(sc->opts.flags & SCANNER_HASH)) {
		e.flags &= ~ENTRY_HAS_HASH;
	}
	if (*same && !store_diff_same(b, &e))
		*same = false;
	return scanentry_emit(sc, &e, out);
}

int scanentry_reuse_dir(struct scan_worker *w, struct scan_item *it, int fd,
			const struct store_dirents *base, bool leaf)
{
	struct scanner *sc = w->sc;
	if (!leaf && sc->opts.view == SCANNER_VIEW_GITIGNORE &&
	    !scanbase_same_file(fd, ".gitignore", base)) {
		/* Its rules changed: what is listed below may differ anywhere in the subtree. */
		it->flags |= SCAN_ITEM_NO_REUSE;
		return 0;
	}
	void *p = w->names;
	if (scandir_grow(&p, &w->names_cap, base->n, sizeof(*w->names)) < 0)
	{
		scandir_nomem(sc, it, "listing a directory from the baseline");
		return -1;
	}
	w->names = p;
	struct scan_found *out = &w->found;
	out->nsub = 0;
	memset(out->counts, 0, sizeof(out->counts));
	out->bytes = 0;
	/* One buffer of about the right size, not a page grown by doubling: a reused directory
	 * costs little else (typical values take 30 to 40 bytes, a hash 32 more). */
	size_t bytes = 256;
	for (size_t i = 0; i < base->n; i++) {
		const struct entry *b = &base->e[i];
		w->names[i] = (struct scan_name){.name = b->name, .len = (uint32_t)b->name_len};
		bytes += b->name_len + base->raw_len[i] + 8;
	}
	struct errbuf rerr;
	errbuf_clear(&rerr);
	if (store_batch_bytes(w->found.batch) == 0 &&
	    store_batch_reserve(w->found.batch, bytes, &rerr) < 0) {
		scan_fail(sc, &rerr);
		return -1;
	}
	uint64_t t0 = (uint64_t)clock_mono_ns();
	int rc = 0;
	bool same = store_batch_count(out->batch) == 0;
	for (size_t i = 0; i < base->n && rc == 0; i++)
		rc = scan_cancelled(sc) ? -ECANCELED
					: scanentry_reuse_one(w, it, fd, base, i, out, &same);
	/* Every row as the baseline's: its diff counts need not read the directory again. */
	if (rc == 0 && same && it->base_dir != 0)
		store_batch_mark_copy(out->batch, it->base_dir);
	atomic_fetch_add_explicit(&w->c.entries, base->n, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->c.stat_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
	return rc < 0 ? -1 : 1;
}
