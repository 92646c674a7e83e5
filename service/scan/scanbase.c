/* scanbase.c: comparing what a scan reads with its baseline scan (reuse of hashes and dirs). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/log.h"

#include "service/scan/scan_internal.h"
#include "store/store_codec.h"

const struct store_dirents *scanbase_load(struct scan_worker *w, const struct scan_item *it,
					  bool lazy)
{
	struct scanner *sc = w->sc;
	if (!atomic_load_explicit(&sc->reuse, memory_order_relaxed))
		return NULL;
	struct errbuf err;
	errbuf_clear(&err);
	/* The root is found by its path; every other directory by the dir_id its parent's entries
	 * gave (0: not in the baseline, read without a lookup). */
	uint64_t baseline = (uint64_t)sc->opts.baseline;
	w->base.lazy = lazy;
	int rc = it->path_len == 0
			 ? store_dir_entries(sc->store, baseline, it->path, it->path_len, &w->base, &err)
			 : store_dir_entries_id(sc->store, baseline, it->base_dir, &w->base, &err);
	if (rc < 0) {
		/* The baseline deleted under the scan, or unreadable: from now on everything is read
		 * and hashed (the result stays exact), the stats say so (baseline_fallback). */
		if (atomic_exchange(&sc->reuse, false))
			LOG_EV(LOG_WARN, "the baseline cannot be read: nothing more is reused",
			       LOG_STR("scan", sc->log_tag), LOG_U64("baseline", (uint64_t)sc->opts.baseline),
			       LOG_STR("error", err.msg));
		return NULL;
	}
	return w->base.found ? &w->base : NULL;
}

size_t scanbase_start(const struct store_dirents *base, const struct scan_name *first)
{
	return base ? store_dirents_lower_bound(base, first->name, first->len) : 0;
}

const struct entry *scanbase_match(const struct store_dirents *base, size_t *j,
				   const struct scan_name *nm)
{
	if (!base)
		return NULL;
	while (*j < base->n) {
		const struct entry *b = &base->e[*j];
		int c = store_name_cmp(b->name, b->name_len, nm->name, nm->len);
		if (c > 0)
			return NULL;
		++*j;
		if (c == 0)
			return b;
	}
	return NULL;
}

bool scanbase_hash_reusable(const struct entry *e, const struct entry *b, int64_t started_ns)
{
	if (!b || !(b->flags & ENTRY_HAS_HASH) || !(b->flags & ENTRY_HAS_STAT) ||
	    !(e->flags & ENTRY_HAS_STAT) || b->type != ENTRY_FILE || e->type != ENTRY_FILE)
		return false;
	if (e->dev == 0 || e->dev != b->dev || e->ino != b->ino || e->size != b->size ||
	    e->mtime_sec != b->mtime_sec || e->mtime_nsec != b->mtime_nsec ||
	    e->ctime_sec != b->ctime_sec || e->ctime_nsec != b->ctime_nsec)
		return false;
	/* Racy: changed within a tick of the baseline's start, the stat may hide a new content. */
	int64_t s_sec = started_ns / 1000000000, s_nsec = started_ns % 1000000000;
	int64_t m_sec = e->mtime_sec + SCANBASE_RACY_NS / 1000000000;
	return m_sec < s_sec || (m_sec == s_sec && (int64_t)e->mtime_nsec <= s_nsec);
}

/* scanbase_same_file() of the entry `name`, stat-ed as `at` in `fd`. */
static bool scanbase_same_stat(int fd, const char *at, const char *name,
			       const struct store_dirents *base)
{
	size_t len = strlen(name);
	size_t j = store_dirents_lower_bound(base, name, len);
	const struct entry *b = j < base->n && base->e[j].name_len == len &&
					memcmp(base->e[j].name, name, len) == 0
				? &base->e[j] : NULL;
	struct entry whole; /* a lazy read has only the type of a file: decode it (else changed) */
	if (b && base->lazy && b->type != ENTRY_DIR)
		b = store_dirents_decode(base, j, &whole) == 0 ? &whole : NULL;
	struct statx sx;
	if (statx(fd, at, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  STATX_TYPE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME, &sx) != 0)
		return b == NULL && errno == ENOENT;
	return b && (b->flags & ENTRY_HAS_STAT) &&
	       b->dev == makedev(sx.stx_dev_major, sx.stx_dev_minor) && b->ino == sx.stx_ino &&
	       b->size == sx.stx_size && b->mtime_sec == sx.stx_mtime.tv_sec &&
	       b->mtime_nsec == sx.stx_mtime.tv_nsec && b->ctime_sec == sx.stx_ctime.tv_sec &&
	       b->ctime_nsec == sx.stx_ctime.tv_nsec;
}

bool scanbase_same_file(int fd, const char *name, const struct store_dirents *base)
{
	return scanbase_same_stat(fd, name, name, base);
}

/* scanbase_same_file() for directory `path` below the root, by path from the root's descriptor. */
static bool scanbase_same_file_at(const struct scanner *sc, const char *path, size_t len,
				  const char *name, const struct store_dirents *base)
{
	char buf[PATH_MAX];
	size_t n = strlen(name);
	if (len + 1 + n + 1 > sizeof(buf))
		return false; /* too long to name at once: opened and checked like any other */
	memcpy(buf, path, len);
	buf[len] = '/';
	memcpy(buf + len + 1, name, n + 1);
	/*
	 * Only a stat, and its answer only decides whether to read the directory: a component
	 * swapped for a symbolic link since its parent was stat-ed made the parent changed, so it is
	 * read, and opened under the scan's confinement, anyway.
	 */
	return scanbase_same_stat(sc->root_fd, buf, name, base);
}

const struct store_dirents *scanbase_reuse_base(struct scan_worker *w, struct scan_item *it,
						bool *leaf)
{
	struct scanner *sc = w->sc;
	*leaf = false;
	if (!sc->reuse_dirs || !(it->flags & SCAN_ITEM_BASE_SAME) || (it->flags & SCAN_ITEM_NO_REUSE))
		return NULL;
	const struct store_dirents *base = scanbase_load(w, it, true);
	if (!base || it->path_len == 0)
		return base;
	bool hash = sc->opts.flags & SCANNER_HASH;
	for (size_t i = 0; i < base->n; i++) {
		const struct entry *b = &base->e[i];
		if (b->type == ENTRY_DIR ||
		    (hash && b->type == ENTRY_FILE && (b->flags & ENTRY_HAS_STAT) &&
		     !(b->flags & ENTRY_HAS_HASH)))
			return base;
	}
	*leaf = sc->opts.view != SCANNER_VIEW_GITIGNORE ||
		scanbase_same_file_at(sc, it->path, it->path_len, ".gitignore", base);
	return base;
}

void scanbase_setup(struct scanner *sc)
{
	sc->reuse_dirs = atomic_load(&sc->reuse) && sc->opts.reuse == SCANNER_REUSE_DIRS &&
			 sc->opts.view != SCANNER_VIEW_GIT &&
			 !(sc->opts.flags & SCANNER_FOLLOW_SYMLINKS);
	if (!sc->reuse_dirs || sc->opts.view != SCANNER_VIEW_GITIGNORE)
		return;
	struct statx sx;
	if (statx(sc->root_fd, ".git/info/exclude", AT_NO_AUTOMOUNT, STATX_CTIME, &sx) != 0)
		return; /* none (or unreadable: then its rules are not used either) */
	struct entry e = {.flags = ENTRY_HAS_STAT, .type = ENTRY_FILE, .dev = 1,
			  .mtime_sec = sx.stx_ctime.tv_sec, .mtime_nsec = sx.stx_ctime.tv_nsec};
	struct entry b = e;
	b.flags |= ENTRY_HAS_HASH;
	/* Changed since a tick before the baseline began: the racy rule on its ctime. */
	if (!scanbase_hash_reusable(&e, &b, sc->opts.baseline_started_ns)) {
		sc->reuse_dirs = false;
		LOG_EV(LOG_INFO, ".git/info/exclude changed since the baseline: every directory is read",
		       LOG_STR("scan", sc->log_tag));
	}
}
