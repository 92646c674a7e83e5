/* scandir.c: reading one directory: open, list, filter, stat, hash, store, queue subdirectories.
 *
 * Per directory, in passes over one buffer of getdents64 records, so nothing is allocated per
 * entry: (0) open it (from its parent's descriptor while the budget keeps one open) and, when
 * following links, put its (dev, ino) on the chain of ancestors that loops are checked against,
 * (1) list every name, (2) sort the names bytewise (the store wants them in key order, and the
 * API's depth-first order is built from it), (3) read this directory's .gitignore
 * (scanignore.c) and drop ignored names, (4) statx each kept name once, relative to the
 * directory's descriptor, encoding it straight into the worker's store batch (passes 3 and 4
 * are scanentry.c; a directory of SCAN_SPLIT_MIN names or more is shared out in slices
 * instead: scansplit.c), (5) hand the batch to the store, which gives the directory its id, and
 * queue the subdirectories under that id.
 *
 * A failure of one path (open, stat, read, a loop) is recorded as an error of that path and the
 * scan goes on; running out of memory, or the store failing, fails the scan with a message.
 *
 * Confinement: a directory is opened from its parent's descriptor by its name with O_NOFOLLOW,
 * or by its path beneath the root's descriptor with openat2(RESOLVE_BENEATH), never by an
 * absolute path. A directory reached through a followed link is read only if the directory
 * opened is the one the link led to when it was checked (its device and inode): a link
 * re-pointed in between is refused. Every per-entry loop checks for cancellation.
 */
#include "service/scan/scan_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* The getdents64 record, as the kernel writes it (glibc's struct dirent64 is the same). */
struct scandir_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Paths longer than this are opened in pieces, each under PATH_MAX. */
#define SCANDIR_PATH_PIECE 3072

int scandir_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*buf, ncap * elem);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/*
 * Opens a directory by its path relative to the root, for items whose parent descriptor was not
 * kept: beneath the root's descriptor, through no symbolic link unless following (scanfd.c).
 * Paths past PATH_MAX (the deep corpus reaches 13,000 bytes) are walked in pieces.
 */
static int scandir_open_by_path(struct scanner *sc, const char *path, size_t len, bool follow)
{
	unsigned how = SCANFD_BENEATH | (follow ? 0 : SCANFD_NO_SYMLINKS);
	int base = sc->root_fd, owned = -1;
	char piece[SCANDIR_PATH_PIECE + 1];
	while (len > SCANDIR_PATH_PIECE) {
		size_t cut = SCANDIR_PATH_PIECE;
		while (cut > 0 && path[cut] != '/')
			cut--;
		if (cut == 0) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(piece, path, cut);
		piece[cut] = '\0';
		int fd = scanfd_open_dir(sc, base, piece, how);
		if (fd < 0)
			goto fail;
		scanfd_close(sc, owned);
		base = owned = fd;
		path += cut + 1;
		len -= cut + 1;
	}
	int fd = scanfd_open_dir(sc, base, path, how);
	int saved = errno;
	scanfd_close(sc, owned);
	errno = saved;
	return fd;
fail:
	saved = errno;
	scanfd_close(sc, owned);
	errno = saved;
	return -1;
}

static int scandir_open(struct scanner *sc, struct scan_item *it)
{
	if (it->path_len == 0)
		return scanfd_openat(sc, sc->root_fd, ".", O_RDONLY | O_DIRECTORY);
	bool follow = it->flags & SCAN_ITEM_VIA_SYMLINK;
	if (it->parent) {
		int flags = O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW);
		bool by_path = false;
		int fd = scanfd_open_child(sc, it->parent, it->path + it->name_off, flags, &by_path);
		if (!by_path)
			return fd;
	}
	return scandir_open_by_path(sc, it->path, it->path_len,
				    (sc->opts.flags & SCANNER_FOLLOW_SYMLINKS) != 0);
}

/* The sort key of a name: its first 8 bytes as a big-endian number, zero-padded. */
static uint64_t scandir_prefix(const char *name, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | (i < len ? (unsigned char)name[i] : 0);
	return v;
}

/*
 * Indexes the names of the `used` bytes of getdents64 records in w->dents, "." and ".." aside.
 * 0, -ENOMEM, or -ECANCELED.
 */
static int scandir_index_names(struct scan_worker *w, size_t used, size_t *count)
{
	size_t n = 0;
	for (size_t off = 0; off < used;) {
		if (scan_cancelled(w->sc))
			return -ECANCELED;
		struct scandir_dirent64 *d = (struct scandir_dirent64 *)(w->dents + off);
		off += d->d_reclen;
		const char *nm = d->d_name;
		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
			continue;
		void *names = w->names;
		if (scandir_grow(&names, &w->names_cap, n + 1, sizeof(*w->names)) < 0)
			return -ENOMEM;
		w->names = names;
		size_t len = strlen(nm);
		w->names[n] = (struct scan_name){.prefix = scandir_prefix(nm, len), .name = nm,
						 .len = (uint32_t)len, .dtype = d->d_type};
		n++;
	}
	*count = n;
	return 0;
}

/*
 * Reads every record of the open directory into w->dents and indexes the names. When getdents64
 * fails part way, the names read before the failure are kept (*count of them) and -errno is
 * returned; -ENOMEM and -ECANCELED leave *count 0.
 */
static int scandir_list(struct scan_worker *w, int fd, size_t *count)
{
	size_t used = 0;
	int rc = 0;
	*count = 0;
	for (;;) {
		if (w->dents_cap - used < 32 * 1024) {
			void *buf = w->dents;
			if (scandir_grow(&buf, &w->dents_cap, w->dents_cap * 2, 1) < 0)
				return -ENOMEM;
			w->dents = buf;
		}
		if (scan_cancelled(w->sc))
			return -ECANCELED;
		ssize_t got = getdents64(fd, w->dents + used, w->dents_cap - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	int irc = scandir_index_names(w, used, count);
	if (irc < 0)
		*count = 0;
	return irc < 0 ? irc : rc;
}

static int scandir_name_cmp(const void *a, const void *b)
{
	const struct scan_name *x = a, *y = b;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Puts "<dir path>/<name>" into w->path; returns its length, or 0 on allocation failure. */
size_t scandir_entry_path(struct scan_worker *w, const struct scan_item *it, const char *name,
			  size_t len)
{
	size_t need = it->path_len + 1 + len + 1;
	void *p = w->path;
	if (scandir_grow(&p, &w->path_cap, need, 1) < 0)
		return 0;
	w->path = p;
	size_t n = 0;
	if (it->path_len) {
		memcpy(w->path, it->path, it->path_len);
		w->path[it->path_len] = '/';
		n = it->path_len + 1;
	}
	memcpy(w->path + n, name, len);
	n += len;
	w->path[n] = '\0';
	return n;
}

/* Records an error of the entry `name` of `it`. */
void scandir_error(struct scan_worker *w, const struct scan_item *it, const char *name, size_t len,
		   const char *op, int errnum)
{
	size_t n = scandir_entry_path(w, it, name, len);
	if (n == 0) /* no memory for the entry's path: name the directory, at least */
		scan_record_error(w->sc, it->path, it->path_len, op, errnum, NULL);
	else
		scan_record_error(w->sc, w->path, n, op, errnum, NULL);
}

/* The rules for the entries of `it`: its parent's, with its own .gitignore on top (a reference). */
static struct ignore_stack *scandir_rules(struct scan_worker *w, struct scan_item *it, int fd)
{
	if (w->sc->opts.view == SCANNER_VIEW_ALL ||
	    (w->sc->opts.view == SCANNER_VIEW_GIT && !it->repo))
		return ignore_stack_ref(it->ign);
	struct ignore_rules *rules = scanignore_load(w->sc, fd, it->path, it->path_len, ".gitignore",
							     IGNORE_SRC_FILE);
	if (!rules)
		return ignore_stack_ref(it->ign);
	struct ignore_stack *stack = ignore_stack_push(it->ign, rules);
	if (!stack) {
		scandir_error(w, it, ".gitignore", 10, "parse", ENOMEM);
		return ignore_stack_ref(it->ign);
	}
	return stack;
}

/* Fails the scan for want of memory while reading `it`, saying for what; returns -ENOMEM. */
int scandir_nomem(struct scanner *sc, const struct scan_item *it, const char *what)
{
	struct errbuf err;
	errbuf_errno(&err, ENOMEM, "%s in %s/%s", what, sc->root, it->path);
	scan_fail(sc, &err);
	return -ENOMEM;
}

/* A queue item for the subdirectory `nm` of `it`, or NULL when out of memory. */
static struct scan_item *scandir_child(const struct scan_item *it, const struct scan_name *nm,
				       const struct scan_sub *sub)
{
	size_t plen = it->path_len ? it->path_len + 1 + nm->len : nm->len;
	struct scan_item *c = malloc(sizeof(*c) + plen + 1);
	if (!c)
		return NULL;
	*c = (struct scan_item){.depth = it->depth + 1, .path_len = plen,
				.flags = (sub->via_link ? SCAN_ITEM_VIA_SYMLINK : 0) | sub->gflags |
					 (it->flags & SCAN_ITEM_NO_REUSE),
				.dev = sub->dev, .ino = sub->ino, .base_dir = sub->base_dir};
	size_t off = 0;
	if (it->path_len) {
		memcpy(c->path, it->path, it->path_len);
		c->path[it->path_len] = '/';
		off = it->path_len + 1;
	}
	c->name_off = off;
	memcpy(c->path + off, nm->name, nm->len);
	c->path[plen] = '\0';
	return c;
}

/*
 * Queues the subdirectories found in `it`, sharing its descriptor while the budget allows. Stops
 * when the scan is cancelled (0) or memory runs out (-ENOMEM, the scan failed).
 */
static int scandir_queue_children(struct scan_worker *w, struct scan_item *it, int *fd,
				  struct ignore_stack *ign, uint64_t dir_id)
{
	size_t nsub = w->found.nsub;
	struct scanner *sc = w->sc;
	struct scan_handle *h = NULL;
	if (nsub > 0 &&
	    atomic_fetch_add(&sc->open_handles, 1) < atomic_load(&sc->handle_budget)) {
		h = scanfd_handle_new(sc, *fd, (unsigned)nsub);
		if (h)
			*fd = -1;
	}
	if (!h)
		atomic_fetch_sub(&sc->open_handles, nsub > 0 ? 1 : 0);
	for (size_t k = 0; k < nsub; k++) {
		const struct scan_sub *sub = &w->found.subdirs[k];
		struct scan_item *c = scan_cancelled(sc) ? NULL
				      : scandir_child(it, &w->names[sub->idx], sub);
		if (!c) {
			/* Release the references the remaining children would have dropped. */
			for (size_t r = k; r < nsub && h; r++)
				scan_handle_unref(sc, h);
			if (scan_cancelled(sc))
				return 0;
			struct errbuf err;
			errbuf_errno(&err, ENOMEM, "queueing the subdirectories of %s/%s", sc->root,
				     it->path);
			scan_fail(sc, &err);
			return -ENOMEM;
		}
		c->parent = h;
		c->ign = ignore_stack_ref(ign);
		/* A nested repository's own is read with it (scangit_enter()). */
		c->repo = (c->flags & SCAN_ITEM_GIT_NEWREPO) ? NULL : gitview_ref(it->repo);
		/* The child puts its own node on top when it is read (scandir_enter_anc()). */
		c->anc = scan_anc_ref(it->anc);
		c->parent_id = dir_id;
		scanq_push(sc->q, &c->node);
	}
	return 0;
}

/*
 * After a huge directory, gives its buffers back: one 200,000-name directory must not keep tens
 * of megabytes per worker for the rest of the scan.
 */
static void scandir_shrink(struct scan_worker *w)
{
	enum { KEEP_DENTS = 256 * 1024, KEEP_NAMES = 8192 };
	if (w->dents_cap > KEEP_DENTS) {
		char *small = realloc(w->dents, KEEP_DENTS);
		if (small) {
			w->dents = small;
			w->dents_cap = KEEP_DENTS;
		}
	}
	if (w->names_cap > KEEP_NAMES) {
		struct scan_name *small = realloc(w->names, KEEP_NAMES * sizeof(*small));
		if (small) {
			w->names = small;
			w->names_cap = KEEP_NAMES;
		}
	}
}

/* Opens the directory of `it`: its descriptor, or -1 after recording why (the root: failing). */
static int scandir_open_item(struct scanner *sc, struct scan_item *it)
{
	int fd = scandir_open(sc, it);
	int e = errno;
	/* The parent descriptor is no longer needed by this child. */
	scan_handle_unref(sc, it->parent);
	it->parent = NULL;
	if (fd >= 0)
		return fd;
	if (it->path_len == 0) {
		struct errbuf err;
		errbuf_errno(&err, e, "opening the scan root %s", sc->root);
		scan_fail(sc, &err);
	} else {
		scan_record_error(sc, it->path, it->path_len, "open", e, NULL);
	}
	return -1;
}

/*
 * Follow mode: checks that a directory reached through a followed link is the one checked when
 * the link was read, then puts the directory's own (dev, ino), from the descriptor just opened,
 * on top of its chain of ancestors, so that a link among its entries back to it or above is
 * caught. 0; 1 when the directory must not be read (recorded); -1 when out of memory (the scan
 * failed).
 */
static int scandir_enter_checked(struct scanner *sc, struct scan_item *it, int fd)
{
	if (!(sc->opts.flags & SCANNER_FOLLOW_SYMLINKS))
		return 0;
	bool via_link = it->flags & SCAN_ITEM_VIA_SYMLINK;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		if (via_link) {
			/* Unknown identity: it cannot be told to be the directory checked. */
			scan_record_error(sc, it->path, it->path_len, "open", e,
					  "the directory a followed link led to could not be "
					  "identified, so it was not read");
			return 1;
		}
		/*
		 * Left out of the chain, the directory is still read, and its children still see
		 * every ancestor above it: a loop back to it is caught one level further down,
		 * where it is read again under its other name and its fstat() succeeds.
		 */
		scan_record_error(sc, it->path, it->path_len, "stat", e, NULL);
		return 0;
	}
	if (via_link && (st.st_dev != it->dev || st.st_ino != it->ino)) {
		scan_record_error(sc, it->path, it->path_len, "open", EXDEV,
				  "the link was re-pointed after it was checked: not followed (it "
				  "could lead out of the root)");
		return 1;
	}
	struct scan_anc *a = malloc(sizeof(*a));
	if (!a) {
		scandir_nomem(sc, it, "allocating the loop check");
		return -1;
	}
	atomic_init(&a->refs, 1);
	a->parent = it->anc; /* the item's reference moves to the new node */
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	it->anc = a;
	return 0;
}

/*
 * Lists and sorts the names of the open directory into w->names. -1 when the scan failed (out
 * of memory, or the root unreadable) or was cancelled. A directory that fails part way keeps the
 * names read before the failure, which is recorded: the user gets what could be read, and why
 * the rest is missing.
 */
static int scandir_read_names(struct scan_worker *w, struct scan_item *it, int fd, uint64_t t0,
			      size_t *count)
{
	struct scanner *sc = w->sc;
	int rc = scandir_list(w, fd, count);
	atomic_fetch_add_explicit(&w->c.scandir_calls, 1, memory_order_relaxed);
	if (rc == -ECANCELED)
		return -1;
	if (rc < 0 && (rc == -ENOMEM || it->path_len == 0)) {
		struct errbuf err;
		errbuf_errno(&err, -rc, "reading directory %s/%s", sc->root, it->path);
		scan_fail(sc, &err);
		return -1;
	}
	if (rc < 0)
		scan_record_error(sc, it->path, it->path_len, "read", -rc, NULL);
	atomic_fetch_add_explicit(&w->c.scandir_ns, (uint64_t)clock_mono_ns() - t0,
				  memory_order_relaxed);
	if (*count > 1)
		qsort(w->names, *count, sizeof(*w->names), scandir_name_cmp);
	return 0;
}

/* Filters, stats and encodes the `count` names into w->found: in slices when the dir is large. */
static int scandir_read_entries(struct scan_worker *w, struct scan_item *it, int fd,
				struct ignore_stack *ign, size_t count)
{
	struct scan_pass pass = {.it = it, .fd = fd, .ign = ign, .names = w->names,
				 .base = scanbase_load(w, it, false)};
	/* reuse dirs: a changed .gitignore changes what is listed anywhere below: none of the
	 * subtree is reused (the flag passes on to the children). */
	if (w->sc->reuse_dirs && pass.base && w->sc->opts.view == SCANNER_VIEW_GITIGNORE &&
	    !scanbase_same_file(fd, ".gitignore", pass.base))
		it->flags |= SCAN_ITEM_NO_REUSE;
	struct scan_found *found = &w->found;
	found->nsub = 0;
	memset(found->counts, 0, sizeof(found->counts));
	found->bytes = 0;
	if (count >= SCAN_SPLIT_MIN && w->sc->nworkers + scanio_active(w->sc) > 1)
		return scansplit_run(w, &pass, count);
	return scanentry_range(w, &pass, 0, count, found);
}

/* Hands w->found to the store, adds its counts to the scan's and queues the subdirectories. */
static void scandir_store(struct scan_worker *w, struct scan_item *it, int *fd,
			  struct ignore_stack *ign)
{
	struct scanner *sc = w->sc;
	struct scan_found *found = &w->found;
	uint64_t t0 = (uint64_t)clock_mono_ns();
	struct errbuf err;
	errbuf_clear(&err);
	uint64_t dir_id = 0;
	if (store_put_dir(sc->store, sc->opts.scan_id, it->parent_id, it->path + it->name_off,
			  it->path_len - it->name_off, found->batch, &dir_id, &err) < 0) {
		scan_fail(sc, &err);
		return;
	}
	atomic_fetch_add_explicit(&w->c.store_ns, (uint64_t)clock_mono_ns() - t0,
				  memory_order_relaxed);
	const uint64_t *counts = found->counts;
	atomic_fetch_add_explicit(&sc->n_files, counts[ENTRY_FILE], memory_order_relaxed);
	atomic_fetch_add_explicit(&sc->n_dirs, counts[ENTRY_DIR], memory_order_relaxed);
	atomic_fetch_add_explicit(&sc->n_symlinks, counts[ENTRY_SYMLINK], memory_order_relaxed);
	atomic_fetch_add_explicit(&sc->n_other, counts[ENTRY_OTHER], memory_order_relaxed);
	atomic_fetch_add_explicit(&sc->n_bytes, found->bytes, memory_order_relaxed);
	if (!atomic_load_explicit(&sc->cancelled, memory_order_relaxed))
		scandir_queue_children(w, it, fd, ign, dir_id);
}

/* Counts a directory read in `spent` ns (open to stat) in the worker's latency figures. */
static void scandir_account(struct scan_worker *w, const struct scan_item *it, size_t count,
			    uint64_t spent)
{
	struct scanner *sc = w->sc;
	scanio_note(w, spent, count);
	unsigned bucket = 0;
	while (bucket < SCANNER_LATENCY_BUCKETS - 1 &&
	       (double)spent / 1e9 > scanner_latency_bounds[bucket])
		bucket++;
	atomic_fetch_add_explicit(&w->c.latency[bucket], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->c.latency_ns, spent, memory_order_relaxed);
	if (spent > (uint64_t)sc->opts.slow_threshold_ms * 1000000ull) {
		atomic_fetch_add_explicit(&w->c.slow_scandirs, 1, memory_order_relaxed);
		LOG_EV(LOG_WARN, "slow directory", LOG_STR("scan", sc->log_tag),
		       LOG_BYTES("path", it->path, it->path_len), LOG_U64("entries", count),
		       LOG_DBL("seconds", (double)spent / 1e9));
		if (sc->opts.on_slow_dir)
			sc->opts.on_slow_dir(sc->opts.on_slow_dir_ctx, sc->opts.scan_id,
					     it->path_len ? it->path : ".", it->path_len ? it->path_len : 1,
					     count, (double)spent / 1e9);
	}
	pthread_mutex_lock(&sc->lock);
	if (spent > sc->slowest_ns) {
		char *copy = malloc(it->path_len + 1);
		if (copy) { /* without memory, the slowest directory is only not updated */
			memcpy(copy, it->path, it->path_len + 1);
			free(sc->slowest_path);
			sc->slowest_path = copy;
			sc->slowest_len = it->path_len;
			sc->slowest_ns = spent;
		}
	}
	pthread_mutex_unlock(&sc->lock);
}

void scandir_process(struct scan_worker *w, struct scan_item *it)
{
	struct scanner *sc = w->sc;
	scanio_dir_start(w);
	uint64_t t0 = (uint64_t)clock_mono_ns();
	/* reuse dirs: an unchanged directory is listed from the baseline, not read; one without
	 * subdirectories is not even opened. */
	bool leaf = false;
	const struct store_dirents *base = scanbase_reuse_base(w, it, &leaf);
	int fd = -1;
	if (leaf) {
		scan_handle_unref(sc, it->parent);
		it->parent = NULL;
	} else if ((fd = scandir_open_item(sc, it)) < 0) {
		return;
	} else if (scandir_enter_checked(sc, it, fd) != 0) {
		scanfd_close(sc, fd);
		return;
	}
	size_t count = 0;
	struct ignore_stack *ign = NULL;
	int rc = -1, reused = 0;
	if (base) {
		ign = leaf ? ignore_stack_ref(it->ign) : scandir_rules(w, it, fd);
		if ((reused = scanentry_reuse_dir(w, it, fd, base, leaf)) != 0)
			rc = reused > 0 ? 0 : -1;
		if (reused > 0)
			count = w->base.n;
	}
	if (reused == 0) {
		if (scandir_read_names(w, it, fd, t0, &count) < 0) {
			scanfd_close(sc, fd);
			return;
		}
		bool git = sc->opts.view == SCANNER_VIEW_GIT;
		if (git && (it->flags & SCAN_ITEM_GIT_NEWREPO))
			scangit_enter(w, it);
		if (!ign) /* loaded already when a reuse was tried */
			ign = scandir_rules(w, it, fd);
		rc = scandir_read_entries(w, it, fd, ign, count);
		if (rc == 0 && git)
			scangit_count_deleted(w, it, count);
	}
	uint64_t t1 = (uint64_t)clock_mono_ns();
	if (rc == 0)
		scandir_store(w, it, &fd, ign);
	for (size_t i = 0; i < count; i++) {
		w->names[i].skip = false;
		w->names[i].git = w->names[i].gflags = 0;
	}
	scandir_shrink(w);
	ignore_stack_unref(ign);
	scanfd_close(sc, fd);
	atomic_fetch_add_explicit(&w->c.dirs, 1, memory_order_relaxed);
	if (sc->opts.baseline > 0)
		atomic_fetch_add_explicit(reused > 0 ? &sc->n_dirs_reused : &sc->n_dirs_read, 1,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&w->c.busy_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
	scandir_account(w, it, count, t1 - t0);
}
