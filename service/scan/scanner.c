/* scanner.c: a scan's worker pool, its life cycle and its counters.
 *
 * Design
 * ------
 * A scan is `workers` threads around one scanq (a LIFO of directories plus a count of
 * outstanding ones). A worker pops a directory, reads it (scandir.c), hands its sorted entries
 * to the store, pushes its subdirectories and retires it. No thread waits on queued work:
 * waiting happens in scanq_pop(), holding nothing, and in the one exception, the owner of a
 * large directory read in slices waits only for slices other workers are reading at that moment
 * (scansplit.c). So no shape of tree can deadlock the pool (workers=1 on a 1,000-level chain
 * included). The scan ends when the outstanding count reaches zero, detected by the retiring
 * worker, not by polling.
 *
 * State shared between threads is the queue, the scanner's atomic counters, and the fields under
 * scanner.lock (failure, slowest directory, worker exits). Each worker owns its buffers and its
 * counters (written by it alone, read by anyone through relaxed atomics), so a directory costs
 * no allocation per entry once the buffers are warm: its queue item, and when following links
 * its loop-check node.
 *
 * The thread that calls scanner_run() opens the root (without following any symbolic link, and
 * beneath its allowed root when it has one: scanfd.c), starts the pool, logs progress every 5 s
 * until the workers have exited, then joins them.
 */
#include "service/scan/scan_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define SCAN_PROGRESS_EVERY_NS (5ull * 1000000000ull)

const double scanner_latency_bounds[SCANNER_LATENCY_BUCKETS - 1] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1, 10,
};


static double scan_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t scan_load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

struct scan_anc *scan_anc_ref(struct scan_anc *a)
{
	if (a)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

void scan_anc_unref(struct scan_anc *a)
{
	while (a && atomic_fetch_sub(&a->refs, 1) == 1) {
		struct scan_anc *parent = a->parent;
		free(a);
		a = parent;
	}
}

void scan_item_free(struct scanner *sc, struct scan_item *it)
{
	if (!it)
		return;
	scan_handle_unref(sc, it->parent);
	scansplit_unref(it->split);
	ignore_stack_unref(it->ign);
	gitview_unref(it->repo);
	scan_anc_unref(it->anc);
	free(it);
}

void scan_fail(struct scanner *sc, const struct errbuf *err)
{
	pthread_mutex_lock(&sc->lock);
	if (!sc->failed) {
		sc->failed = true;
		sc->failure = *err;
	}
	pthread_mutex_unlock(&sc->lock);
	scanq_cancel(sc->q);
}

void scan_record_error(struct scanner *sc, const char *path, size_t len, const char *op, int errnum,
		       const char *detail)
{
	atomic_fetch_add_explicit(&sc->n_errors, 1, memory_order_relaxed);
	if (log_enabled(LOG_DEBUG))
		LOG_EV(LOG_DEBUG, "scan error", LOG_STR("scan", sc->log_tag),
		       LOG_BYTES("path", path, len), LOG_STR("op", op),
		       LOG_STR("error", detail ? detail : strerror(errnum)));
	struct errbuf err;
	errbuf_clear(&err);
	if (store_put_error_detail(sc->store, sc->opts.scan_id, path, len, op, errnum, detail,
				   &err) < 0)
		scan_fail(sc, &err);
}

int scan_record_skip(struct scanner *sc, struct scan_found *out, const char *path, size_t len,
		     enum entry_type type, const struct ignore_why *why)
{
	struct errbuf err;
	errbuf_clear(&err);
	if (!out->skips && store_skips_create(&out->skips, &err) < 0) {
		scan_fail(sc, &err);
		return -ENOMEM;
	}
	enum ignore_source kind;
	const char *label = ignore_rules_source(why->rules, &kind);
	char small[512], *pat = small;
	size_t plen = ignore_why_pattern(why, small, sizeof(small));
	if (plen >= sizeof(small)) { /* a long pattern line: rare */
		if (!(pat = malloc(plen + 1))) {
			errbuf_errno(&err, ENOMEM, "recording the skipped path %.*s", (int)len, path);
			scan_fail(sc, &err);
			return -ENOMEM;
		}
		ignore_why_pattern(why, pat, plen + 1);
	}
	static const enum store_skip_source sources[] = {
		[IGNORE_SRC_FILE] = STORE_SKIP_GITIGNORE, [IGNORE_SRC_EXCLUDE] = STORE_SKIP_EXCLUDE,
		[IGNORE_SRC_OPTION] = STORE_SKIP_OPTION};
	struct store_skip rec = {
		.path = path, .path_len = len, .type = type, .source = sources[kind],
		.source_path = label, .source_len = strlen(label), .line = ignore_why_line(why),
		.pattern = pat, .pattern_len = plen,
		.seq = atomic_fetch_add_explicit(&sc->skip_seq, 1, memory_order_relaxed)};
	int rc = store_skips_add(out->skips, &rec, &err);
	if (pat != small)
		free(pat);
	if (rc < 0) {
		scan_fail(sc, &err);
		return rc;
	}
	atomic_fetch_add_explicit(type == ENTRY_DIR ? &sc->n_ignored_dirs : &sc->n_ignored_files, 1,
				  memory_order_relaxed);
	if (kind != IGNORE_SRC_OPTION && ignore_rules_mark_used(why->rules))
		atomic_fetch_add_explicit(&sc->n_ignore_sources, 1, memory_order_relaxed);
	return 0;
}

static void scanner_free_workers(struct scanner *sc)
{
	for (unsigned i = 0; sc->workers && i < sc->nthreads; i++) {
		struct scan_worker *w = &sc->workers[i];
		free(w->dents);
		free(w->names);
		free(w->found.subdirs);
		free(w->path);
		free(w->link);
		free(w->gpath);
		free(w->readbuf);
		EVP_MD_CTX_free(w->md);
		store_dirents_free(&w->base);
		store_batch_destroy(w->found.batch);
		store_skips_destroy(w->found.skips);
	}
	free(sc->workers);
	sc->workers = NULL;
}

void scanner_destroy(struct scanner *sc)
{
	if (!sc)
		return;
	if (sc->q) {
		struct scanq_item *left;
		while ((left = scanq_drain(sc->q)))
			scan_item_free(sc, (struct scan_item *)left);
		scanq_destroy(sc->q);
	}
	scanner_free_workers(sc);
	ignore_stack_unref(sc->base_ign);
	ignore_stack_unref(sc->opt_ign);
	gitview_unref(sc->repo);
	if (sc->root_fd >= 0)
		close(sc->root_fd);
	for (size_t i = 0; sc->ignore && i < sc->opts.ignore_count; i++)
		free(sc->ignore[i]);
	free(sc->ignore);
	free(sc->root);
	free(sc->allowed_root);
	free(sc->root_real);
	free(sc->log_tag);
	free(sc->slowest_path);
	free(sc->stats_buf);
	free(sc->stats_slowest);
	pthread_cond_destroy(&sc->io_gate);
	pthread_mutex_destroy(&sc->io_lock);
	pthread_rwlock_destroy(&sc->handle_lock);
	pthread_cond_destroy(&sc->fd_freed);
	pthread_mutex_destroy(&sc->fd_lock);
	pthread_cond_destroy(&sc->workers_exit);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static int scanner_init_worker(struct scanner *sc, struct scan_worker *w, unsigned index,
			       struct errbuf *err)
{
	w->sc = sc;
	w->index = index;
	w->dents_cap = 64 * 1024;
	w->dents = malloc(w->dents_cap);
	w->path_cap = 4096;
	w->path = malloc(w->path_cap);
	w->link = malloc(PATH_MAX + 1);
	if (!w->dents || !w->path || !w->link)
		return errbuf_errno(err, ENOMEM, "allocating buffers of scan worker %u", index);
	if ((sc->opts.flags & SCANNER_HASH) || sc->opts.view == SCANNER_VIEW_GIT) {
		w->readbuf = malloc(SCAN_HASH_BUF_SIZE);
		w->md = EVP_MD_CTX_new();
		if (!w->readbuf || !w->md)
			return errbuf_errno(err, ENOMEM, "allocating the hashing state of worker %u",
					    index);
	}
	return store_batch_create(&w->found.batch, err);
}

static int scanner_copy_opts(struct scanner *sc, const struct scanner_opts *opts,
			     struct errbuf *err)
{
	sc->opts = *opts;
	atomic_init(&sc->reuse, opts->baseline > 0 && !opts->baseline_mismatch);
	if (sc->opts.workers == 0)
		sc->opts.workers = scanner_default_workers();
	if (sc->opts.slow_threshold_ms == 0)
		sc->opts.slow_threshold_ms = SCANNER_SLOW_MS_DEFAULT;
	sc->root = strdup(opts->root);
	sc->log_tag = strdup(opts->log_tag ? opts->log_tag : "scan");
	if (!sc->root || !sc->log_tag)
		return errbuf_errno(err, ENOMEM, "copying the scan options");
	if (opts->allowed_root && !(sc->allowed_root = strdup(opts->allowed_root)))
		return errbuf_errno(err, ENOMEM, "copying the scan options");
	if (opts->ignore_count > 0) {
		sc->ignore = calloc(opts->ignore_count, sizeof(*sc->ignore));
		if (!sc->ignore)
			return errbuf_errno(err, ENOMEM, "copying the ignore patterns");
		for (size_t i = 0; i < opts->ignore_count; i++) {
			sc->ignore[i] = strdup(opts->ignore[i]);
			if (!sc->ignore[i])
				return errbuf_errno(err, ENOMEM, "copying the ignore patterns");
		}
	}
	sc->opts.root = sc->root;
	sc->opts.allowed_root = sc->allowed_root;
	sc->opts.log_tag = sc->log_tag;
	sc->opts.ignore = (const char *const *)sc->ignore;
	return 0;
}

/* The scanner's mutexes and condition variables, all or none (the caller frees sc). */
static int scanner_init_sync(struct scanner *sc, struct errbuf *err)
{
	int rc = pthread_mutex_init(&sc->lock, NULL);
	if (rc)
		return errbuf_errno(err, rc, "creating the scanner's mutex");
	if ((rc = clock_cond_init(&sc->workers_exit)))
		goto no_exit_cond;
	if ((rc = pthread_mutex_init(&sc->fd_lock, NULL)))
		goto no_fd_lock;
	if ((rc = clock_cond_init(&sc->fd_freed)))
		goto no_fd_cond;
	/* Writers first: a spill must not wait behind a stream of child opens. */
	pthread_rwlockattr_t attr;
	if ((rc = pthread_rwlockattr_init(&attr)))
		goto no_handle_lock;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&sc->handle_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc)
		goto no_handle_lock;
	if ((rc = pthread_mutex_init(&sc->io_lock, NULL)))
		goto no_io_lock;
	if ((rc = clock_cond_init(&sc->io_gate)))
		goto no_io_gate;
	return 0;
no_io_gate:
	pthread_mutex_destroy(&sc->io_lock);
no_io_lock:
	pthread_rwlock_destroy(&sc->handle_lock);
no_handle_lock:
	pthread_cond_destroy(&sc->fd_freed);
no_fd_cond:
	pthread_mutex_destroy(&sc->fd_lock);
no_fd_lock:
	pthread_cond_destroy(&sc->workers_exit);
no_exit_cond:
	pthread_mutex_destroy(&sc->lock);
	return errbuf_errno(err, rc, "creating the scanner's condition variables");
}

int scanner_precheck(const struct scanner_opts *opts, struct errbuf *err)
{
	if (opts->view != SCANNER_VIEW_GIT)
		return 0;
	return gitview_check(opts->root, opts->allowed_root, err);
}

int scanner_create(struct scanner **out, const struct scanner_opts *opts, struct store *store,
		   struct errbuf *err)
{
	if (!opts->root || opts->root[0] != '/')
		return errbuf_set(err, -EINVAL, "the scan root must be an absolute path");
	if (opts->workers > SCANNER_WORKERS_MAX)
		return errbuf_set(err, -EINVAL, "workers must be between 1 and %d, not %u",
				  SCANNER_WORKERS_MAX, opts->workers);
	if (opts->io_depth > SCANNER_IO_DEPTH_MAX)
		return errbuf_set(err, -EINVAL, "io_depth must be between 0 and %d, not %u",
				  SCANNER_IO_DEPTH_MAX, opts->io_depth);
	struct scanner *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return errbuf_errno(err, ENOMEM, "allocating a scanner");
	sc->root_fd = -1;
	int rc = scanner_init_sync(sc, err);
	if (rc < 0) {
		free(sc);
		return rc;
	}
	sc->store = store;
	if ((rc = scanner_copy_opts(sc, opts, err)) < 0)
		goto fail;
	if ((rc = scanq_create(&sc->q, err)) < 0)
		goto fail;
	sc->nworkers = sc->opts.workers;
	sc->nio = sc->opts.io_depth;
	sc->nthreads = sc->nworkers + sc->nio;
	/* Tests run the I/O threads on a warm cache this way: the gate never closes. */
	const char *forced = getenv("LEINDEX_SCAN_IO");
	sc->io_forced = sc->nio > 0 && forced && strcmp(forced, "open") == 0;
	sc->workers = calloc(sc->nthreads, sizeof(*sc->workers));
	sc->stats_buf = calloc(sc->nworkers, sizeof(*sc->stats_buf));
	if (!sc->workers || !sc->stats_buf) {
		rc = errbuf_errno(err, ENOMEM, "allocating %u scan workers and %u I/O threads",
				  sc->nworkers, sc->nio);
		goto fail;
	}
	for (unsigned i = 0; i < sc->nthreads; i++)
		if ((rc = scanner_init_worker(sc, &sc->workers[i], i, err)) < 0)
			goto fail;
	/* Enough descriptors for a deep LIFO walk per thread; scanner_run() fits it to the limit. */
	atomic_init(&sc->handle_budget, 64 + 16 * (int)sc->nthreads);
	*out = sc;
	return 0;
fail:
	scanner_destroy(sc);
	return rc;
}

void scanner_cancel(struct scanner *sc)
{
	atomic_store(&sc->cancelled, true);
	scanq_cancel(sc->q);
	scanio_finish(sc);
}

void scanner_progress(const struct scanner *sc, struct scanner_progress *out)
{
	struct scanner *m = (struct scanner *)sc;
	out->dirs = scan_load(&m->n_dirs);
	out->files = scan_load(&m->n_files);
	out->symlinks = scan_load(&m->n_symlinks);
	out->other = scan_load(&m->n_other);
	out->bytes = scan_load(&m->n_bytes);
	out->errors = scan_load(&m->n_errors);
	out->queued_dirs = scanq_outstanding(m->q);
}

int scanner_stats(struct scanner *sc, struct scanner_stats *out)
{
	memset(out, 0, sizeof(*out));
	/* Everything handed out is the caller's own copy: concurrent callers share no buffer. */
	struct scanner_worker_stats *per = calloc(sc->nworkers ? sc->nworkers : 1, sizeof(*per));
	if (!per)
		return -ENOMEM;
	out->workers = sc->nworkers;
	out->per_worker = per;
	out->io_threads = sc->nio;
	out->io_wakeups = scan_load(&sc->io_wakeups);
	for (unsigned i = 0; i < sc->nthreads; i++) {
		struct scan_worker_counters *c = &sc->workers[i].c;
		out->scandir_calls += scan_load(&c->scandir_calls);
		out->slow_scandirs += scan_load(&c->slow_scandirs);
		out->scandir_seconds += scan_seconds(scan_load(&c->scandir_ns));
		for (unsigned b = 0; b < SCANNER_LATENCY_BUCKETS; b++)
			out->scandir_latency[b] += scan_load(&c->latency[b]);
		out->scandir_latency_sum += scan_seconds(scan_load(&c->latency_ns));
		out->stat_seconds += scan_seconds(scan_load(&c->stat_ns));
		out->ignore_match_seconds += scan_seconds(scan_load(&c->ignore_ns));
		out->symlink_check_seconds += scan_seconds(scan_load(&c->symlink_ns));
		out->hash_seconds += scan_seconds(scan_load(&c->hash_ns));
		out->store_seconds += scan_seconds(scan_load(&c->store_ns));
		if (i >= sc->nworkers) { /* an I/O thread */
			uint64_t dirs = scan_load(&c->dirs), entries = scan_load(&c->entries);
			out->io_dirs += dirs;
			out->io_entries += entries;
			out->io_threads_ran += dirs + entries > 0;
			continue;
		}
		per[i].dirs = scan_load(&c->dirs);
		per[i].entries = scan_load(&c->entries);
		per[i].busy_seconds = scan_seconds(scan_load(&c->busy_ns));
	}
	out->queue_peak = scanq_peak(sc->q);
	out->ignored_files = scan_load(&sc->n_ignored_files);
	out->ignored_dirs = scan_load(&sc->n_ignored_dirs);
	out->ignore_sources = scan_load(&sc->n_ignore_sources);
	out->git_deleted = scan_load(&sc->n_git_deleted);
	out->dirs_reused = scan_load(&sc->n_dirs_reused);
	out->dirs_read = scan_load(&sc->n_dirs_read);
	out->hashes_reused = scan_load(&sc->n_hashes_reused);
	out->hashes_computed = scan_load(&sc->n_hashes_computed);
	out->baseline_mismatch = sc->opts.baseline > 0 && !atomic_load(&sc->reuse);
	int rc = 0;
	pthread_mutex_lock(&sc->lock);
	uint64_t end = sc->end_ns ? sc->end_ns : (sc->start_ns ? (uint64_t)clock_mono_ns() : 0);
	out->wall_seconds = sc->start_ns ? scan_seconds(end - sc->start_ns) : 0;
	out->slowest_scandir_seconds = scan_seconds(sc->slowest_ns);
	/* A copy: the live path may be replaced by a slower directory meanwhile. */
	if (sc->slowest_path) {
		out->slowest_scandir_path = malloc(sc->slowest_len + 1);
		if (out->slowest_scandir_path) {
			memcpy(out->slowest_scandir_path, sc->slowest_path, sc->slowest_len + 1);
			out->slowest_scandir_len = sc->slowest_len;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&sc->lock);
	if (rc < 0)
		scanner_stats_clear(out);
	return rc;
}

void scanner_stats_clear(struct scanner_stats *st)
{
	if (!st)
		return;
	free(st->slowest_scandir_path);
	free(st->per_worker);
	memset(st, 0, sizeof(*st));
}

static void *scanner_worker_main(void *arg)
{
	struct scan_worker *w = arg;
	struct scanner *sc = w->sc;
	bool io = scan_worker_is_io(w);
	struct scanq_item *node;
	/* An I/O thread sleeps on the gate before each directory (scanio.c). */
	while ((!io || scanio_wait_gate(sc)) && (node = scanq_pop(sc->q))) {
		struct scan_item *it = (struct scan_item *)node;
		atomic_fetch_add(&sc->busy_workers, 1);
		if (it->split)
			scansplit_help(w, it->split);
		else
			scandir_process(w, it);
		scan_item_free(sc, it);
		atomic_fetch_sub(&sc->busy_workers, 1);
		scanq_retire(sc->q);
	}
	/* A worker's pop returned NULL: the scan is over or cancelled; the I/O threads too. */
	if (!io)
		scanio_finish(sc);
	pthread_mutex_lock(&sc->lock);
	sc->workers_running--;
	pthread_cond_broadcast(&sc->workers_exit);
	pthread_mutex_unlock(&sc->lock);
	return NULL;
}

/*
 * The rules that apply at the root: the root repository's .git/info/exclude below every
 * .gitignore, and the `ignore` option patterns above all of them, as git ranks its command-line
 * --exclude.
 */
static int scanner_root_rules(struct scanner *sc, struct errbuf *err)
{
	if (sc->opts.view == SCANNER_VIEW_GIT) {
		int rc = scangit_setup(sc, err);
		if (rc < 0)
			return rc;
		/* Nested repositories (recurse_repos) get the option patterns alone. */
		struct ignore_rules *own;
		if (sc->opts.ignore_count &&
		    ((rc = ignore_rules_from_patterns(&own, sc->opts.ignore, sc->opts.ignore_count,
						      err)) < 0 ||
		     !(sc->opt_ign = ignore_stack_push_override(NULL, own))))
			return rc < 0 ? rc : errbuf_errno(err, ENOMEM, "building the ignore rules");
	}
	if (sc->opts.view == SCANNER_VIEW_GITIGNORE) {
		/* It counts only when the root is a repository's top (.git is a directory there). */
		struct ignore_rules *exclude = scanignore_load(sc, sc->root_fd, "", 0,
							       ".git/info/exclude",
							       IGNORE_SRC_EXCLUDE);
		if (exclude && !(sc->base_ign = ignore_stack_push(NULL, exclude)))
			return errbuf_errno(err, ENOMEM, "building the ignore rules");
	}
	if (sc->opts.ignore_count == 0)
		return 0;
	struct ignore_rules *rules;
	int rc = ignore_rules_from_patterns(&rules, sc->opts.ignore, sc->opts.ignore_count, err);
	if (rc < 0)
		return rc; /* err names the pattern */
	struct ignore_stack *below = sc->base_ign;
	sc->base_ign = ignore_stack_push_override(below, rules);
	ignore_stack_unref(below);
	if (!sc->base_ign)
		return errbuf_errno(err, ENOMEM, "building the ignore rules");
	return 0;
}

/* The part of `root` below `allowed` ("" for `allowed` itself), or NULL when not below it. */
static const char *scanner_below(const char *root, const char *allowed)
{
	size_t n = strlen(allowed);
	while (n > 1 && allowed[n - 1] == '/')
		n--;
	if (n == 1 && allowed[0] == '/')
		return root[0] == '/' ? root + 1 : NULL;
	if (strncmp(root, allowed, n) != 0 || (root[n] != '\0' && root[n] != '/'))
		return NULL;
	return root[n] == '/' ? root + n + 1 : root + n;
}

/* The first component of absolute `path` that is a symbolic link now, into buf; "" if none. */
static void scanner_find_link(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (const char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		size_t n = (size_t)(p - path);
		struct stat st;
		if (n < cap) {
			memcpy(buf, path, n);
			buf[n] = '\0';
			if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode))
				return;
		}
		if (*p == '\0')
			break;
	}
	buf[0] = '\0';
}

/* Says why `path` (the scan root, or its allowed root: `what`) could not be opened. */
static int scanner_root_error(struct scanner *sc, int e, const char *what, const char *path,
			      struct errbuf *err)
{
	if (e == ELOOP) {
		char link[PATH_MAX];
		scanner_find_link(path, link, sizeof(link));
		return errbuf_set(err, -ELOOP,
				  "opening %s %s: %s is a symbolic link, and scan roots are opened "
				  "without following links (was the path changed after it was "
				  "checked?)", what, path, link[0] ? link : "a component of the path");
	}
	if (e == EXDEV)
		return errbuf_set(err, -EXDEV, "opening %s %s: it no longer resolves beneath the "
				  "allowed root %s", what, path, sc->allowed_root);
	return errbuf_errno(err, e, "opening %s %s", what, path);
}

/*
 * Opens the root without following any symbolic link: the accepted path is canonical, so a link
 * in it now was put there after the check. With an allowed root, opens that (canonical since
 * startup) the same way, then the root beneath its descriptor.
 */
static int scanner_open_root_fd(struct scanner *sc, struct errbuf *err)
{
	if (!sc->allowed_root) {
		sc->root_fd = scanfd_open_dir(sc, AT_FDCWD, sc->root, SCANFD_NO_SYMLINKS);
		return sc->root_fd < 0 ? scanner_root_error(sc, errno, "the scan root", sc->root, err)
				       : 0;
	}
	const char *below = scanner_below(sc->root, sc->allowed_root);
	if (!below)
		return scanner_root_error(sc, EXDEV, "the scan root", sc->root, err);
	int afd = scanfd_open_dir(sc, AT_FDCWD, sc->allowed_root, SCANFD_NO_SYMLINKS);
	if (afd < 0)
		return scanner_root_error(sc, errno, "the allowed root (--allow-root)",
					  sc->allowed_root, err);
	if (below[0] == '\0') {
		sc->root_fd = afd;
		return 0;
	}
	sc->root_fd = scanfd_open_dir(sc, afd, below, SCANFD_NO_SYMLINKS | SCANFD_BENEATH);
	int e = errno;
	scanfd_close(sc, afd);
	return sc->root_fd < 0 ? scanner_root_error(sc, e, "the scan root", sc->root, err) : 0;
}

/* The path of the root as opened, for the inside-the-root check of followed links. */
static int scanner_root_real(struct scanner *sc, struct errbuf *err)
{
	char proc[64], real[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", sc->root_fd);
	ssize_t n = readlink(proc, real, sizeof(real) - 1);
	/* Without /proc: the root's own path, canonical since it was opened without links. */
	sc->root_real = n > 0 ? strndup(real, (size_t)n) : strdup(sc->root);
	if (!sc->root_real)
		return errbuf_errno(err, ENOMEM, "resolving the scan root %s", sc->root);
	sc->root_real_len = strlen(sc->root_real);
	return 0;
}

/* Opens the root, learns its device and, when following links, its path as opened. */
static int scanner_open_root(struct scanner *sc, struct errbuf *err)
{
	int rc = scanner_open_root_fd(sc, err);
	if (rc < 0)
		return rc;
	struct stat st;
	if (fstat(sc->root_fd, &st) < 0)
		return errbuf_errno(err, errno, "stat of the scan root %s", sc->root);
	sc->root_dev = st.st_dev;
	if ((sc->opts.flags & SCANNER_FOLLOW_SYMLINKS) && (rc = scanner_root_real(sc, err)) < 0)
		return rc;
	scanfd_size_budget(sc);
	if ((rc = scanner_root_rules(sc, err)) < 0)
		return rc;
	scanbase_setup(sc);
	scanio_log_path(sc);
	return 0;
}

/* Queues the root directory, the scan's first item. */
static int scanner_queue_root(struct scanner *sc, struct errbuf *err)
{
	struct scan_item *root = calloc(1, sizeof(*root) + 1);
	if (!root)
		return errbuf_errno(err, ENOMEM, "allocating the root's queue item");
	/* Its loop-detection node is made when it is read, like any directory's (scandir.c). */
	root->ign = ignore_stack_ref(sc->base_ign);
	root->repo = gitview_ref(sc->repo);
	if (sc->repo && sc->repo->root_excluded)
		root->flags |= SCAN_ITEM_GIT_EXCLUDED;
	scanq_push(sc->q, &root->node);
	return 0;
}

static void scanner_log_progress(struct scanner *sc)
{
	struct scanner_progress p;
	scanner_progress(sc, &p);
	LOG_EV(LOG_INFO, "scan progress", LOG_STR("scan", sc->log_tag), LOG_U64("dirs", p.dirs),
	       LOG_U64("files", p.files), LOG_U64("errors", p.errors),
	       LOG_U64("queued_dirs", p.queued_dirs),
	       LOG_DBL("seconds", scan_seconds((uint64_t)clock_mono_ns() - sc->start_ns)));
}

static void scanner_log_summary(struct scanner *sc, enum scanner_outcome outcome,
				const struct errbuf *err)
{
	static const char *const names[] = {"completed", "cancelled", "failed"};
	struct scanner_progress p;
	scanner_progress(sc, &p);
	pthread_mutex_lock(&sc->lock);
	double wall = scan_seconds(sc->end_ns - sc->start_ns);
	pthread_mutex_unlock(&sc->lock);
	LOG_EV(outcome == SCANNER_FAILED ? LOG_ERROR : LOG_INFO, "scan finished",
	       LOG_STR("scan", sc->log_tag), LOG_U64("scan_id", sc->opts.scan_id),
	       LOG_STR("outcome", names[outcome]),
	       LOG_U64("entries", p.dirs + p.files + p.symlinks + p.other), LOG_U64("dirs", p.dirs),
	       LOG_U64("files", p.files), LOG_U64("bytes", p.bytes), LOG_U64("errors", p.errors),
	       LOG_DBL("seconds", wall),
	       LOG_STR("error", outcome == SCANNER_FAILED && err ? err->msg : ""));
}

/* Waits for the workers to exit, logging progress every 5 s meanwhile, then joins them. */
static void scanner_wait_workers(struct scanner *sc)
{
	pthread_mutex_lock(&sc->lock);
	while (sc->workers_running > 0) {
		/* workers_exit waits on CLOCK_MONOTONIC: a step of the wall clock does not stall it. */
		struct timespec until = clock_deadline(SCAN_PROGRESS_EVERY_NS);
		int rc = pthread_cond_timedwait(&sc->workers_exit, &sc->lock, &until);
		if (rc == ETIMEDOUT && sc->workers_running > 0) {
			pthread_mutex_unlock(&sc->lock);
			scanner_log_progress(sc);
			pthread_mutex_lock(&sc->lock);
		}
	}
	pthread_mutex_unlock(&sc->lock);
	for (unsigned i = 0; i < sc->nthreads; i++)
		if (sc->workers[i].started)
			pthread_join(sc->workers[i].thread, NULL);
}

unsigned scanner_start_threads(struct scanner *sc, unsigned from, unsigned to, int *first_rc)
{
	unsigned started = 0;
	*first_rc = 0;
	for (unsigned i = from; i < to; i++) {
		struct scan_worker *w = &sc->workers[i];
		/* Counted before it runs: the scan cannot be seen over while it starts. */
		pthread_mutex_lock(&sc->lock);
		sc->workers_running++;
		pthread_mutex_unlock(&sc->lock);
		int rc = pthread_create(&w->thread, NULL, scanner_worker_main, w);
		pthread_mutex_lock(&sc->lock);
		if (rc)
			sc->workers_running--;
		else
			w->started = true; /* read by scanner_wait_workers() once none runs */
		pthread_mutex_unlock(&sc->lock);
		if (rc) {
			*first_rc = rc;
			break;
		}
		started++;
		char name[16];
		if (i < sc->nworkers)
			snprintf(name, sizeof(name), "scan-%u", i);
		else
			snprintf(name, sizeof(name), "scan-io-%u", i - sc->nworkers);
		pthread_setname_np(w->thread, name);
	}
	return started;
}

/*
 * Starts the workers; the I/O threads too when forced on, else the first time the gate opens
 * (scanio.c): a warm scan never creates them.
 */
static int scanner_start_workers(struct scanner *sc, struct errbuf *err)
{
	int rc;
	/* Fewer workers than asked still finish the scan; none does not. */
	if (scanner_start_threads(sc, 0, sc->nworkers, &rc) == 0)
		return errbuf_errno(err, rc, "starting scan worker threads");
	if (sc->io_forced)
		scanio_start(sc);
	return 0;
}

enum scanner_outcome scanner_run(struct scanner *sc, struct errbuf *err)
{
	pthread_mutex_lock(&sc->lock);
	sc->start_ns = (uint64_t)clock_mono_ns();
	pthread_mutex_unlock(&sc->lock);
	if (scanner_open_root(sc, err) < 0 || scanner_queue_root(sc, err) < 0 ||
	    scanner_start_workers(sc, err) < 0) {
		/* No worker runs: a queued root is freed by scanner_destroy(). */
		pthread_mutex_lock(&sc->lock);
		sc->end_ns = (uint64_t)clock_mono_ns();
		pthread_mutex_unlock(&sc->lock);
		return SCANNER_FAILED;
	}
	scanner_wait_workers(sc);
	pthread_mutex_lock(&sc->lock);
	sc->end_ns = (uint64_t)clock_mono_ns();
	bool failed = sc->failed;
	if (failed && err)
		*err = sc->failure;
	pthread_mutex_unlock(&sc->lock);
	enum scanner_outcome outcome = failed ? SCANNER_FAILED
				       : atomic_load(&sc->cancelled) ? SCANNER_CANCELLED : SCANNER_DONE;
	/* Everything the workers handed over must be committed before the scan counts as done. */
	if (outcome == SCANNER_DONE && store_flush(sc->store, sc->opts.scan_id, err) < 0)
		outcome = SCANNER_FAILED;
	scanner_log_summary(sc, outcome, err);
	return outcome;
}
