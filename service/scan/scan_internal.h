/* scan_internal.h: the scanner's state, shared by scanner.c (the pool) and scandir.c (one dir). */
#ifndef LEINDEX_SCAN_INTERNAL_H
#define LEINDEX_SCAN_INTERNAL_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/clock.h"
#include "service/scan/gitview.h"
#include "service/scan/ignore.h"
#include "service/scan/scanner.h"
#include "service/scan/scanq.h"
#include "store/store_dirread.h"

/*
 * An open directory whose subdirectories wait in the queue: each child holds a reference, and
 * the child that drops the last one closes the descriptor. How many are open at once is capped
 * per scan (scanner.handle_budget); past the cap a directory is closed after reading and its
 * children are opened by path from the root instead, so descriptors stay bounded whatever the
 * depth or width of the tree. When the process runs out of descriptors, every open handle is
 * closed at once (spilled, scanfd.c): its fd becomes -1 and its children open by path.
 */
struct scan_handle {
	atomic_uint refs;
	/* The descriptor, or -1 once spilled. Read under scanner.handle_lock (shared), closed
	 * under it (exclusive) by a spill, or by the last reference's holder. */
	int fd;
	/* The scan's list of open handles (scanner.handles), under scanner.fd_lock. */
	struct scan_handle *prev, *next;
};

/*
 * The chain of (dev, ino) from the root to a directory, for loop detection when following links.
 * A directory adds its own node when it is read, from fstat() of the descriptor it opened; a
 * directory whose fstat() failed adds none, and its children share its parent's chain, so loops
 * below it are still caught (a loop back to that very directory one level later).
 */
struct scan_anc {
	atomic_uint refs;
	struct scan_anc *parent;
	dev_t dev;
	ino_t ino;
};

/* Flags of a queued directory. */
enum scan_item_flags {
	/*
	 * Reached through a followed symlink: opened without O_NOFOLLOW, and read only if the
	 * directory opened is the one checked (scan_item.dev, .ino).
	 */
	SCAN_ITEM_VIA_SYMLINK = 1u << 0,
	/* View git: an ignored directory entered for its tracked files: nothing untracked in it. */
	SCAN_ITEM_GIT_EXCLUDED = 1u << 1,
	/* View git, recurse_repos: the top of a nested repository, read when the item is. */
	SCAN_ITEM_GIT_NEWREPO = 1u << 2,
	/* reuse dirs: the directory's (dev, ino, mtime, ctime) equal its baseline entry's. */
	SCAN_ITEM_BASE_SAME = 1u << 3,
	/* reuse dirs: an ignore file above changed: the whole subtree is read again. */
	SCAN_ITEM_NO_REUSE = 1u << 4,
};

struct scan_split;

/*
 * One directory to read: the queue's unit of work. Freed by the worker that retires it. An item
 * with `split` set is instead an invitation to help with the slices of a large directory.
 */
struct scan_item {
	struct scanq_item node;
	/* A large directory being read in slices, or NULL. A reference. */
	struct scan_split *split;
	/* The parent's open descriptor, or NULL: open by path from the root. A reference. */
	struct scan_handle *parent;
	/* The rules that apply to this directory's entries, before its own .gitignore. A reference. */
	struct ignore_stack *ign;
	/* View git: the repository the directory belongs to (NULL: list nothing). A reference. */
	struct gitview_repo *repo;
	/*
	 * Follow mode: the chain of this directory's ancestors (NULL for the root). scandir_process()
	 * puts the directory's own node on top once it is open, so while it is read the chain
	 * includes the directory itself. A reference.
	 */
	struct scan_anc *anc;
	/* The store's dir_id of the parent directory (0 for the root). */
	uint64_t parent_id;
	/* With a baseline: this directory's dir_id in it (0: not in it; the root resolves its own). */
	uint64_t base_dir;
	/* Depth of this directory's entries (0 for the root's). */
	int depth;
	unsigned flags;
	/* SCAN_ITEM_VIA_SYMLINK: the identity of the directory the link led to when checked. */
	dev_t dev;
	ino_t ino;
	/* Offset of the last component in path (the name under the parent). */
	size_t name_off;
	size_t path_len;
	/* Path relative to the root, NUL-terminated; "" for the root. */
	char path[];
};

/* What one directory is read with; shared read-only by the workers of its slices. */
struct scan_pass {
	struct scan_item *it;
	int fd;
	/* The rules for its entries (its own .gitignore included), or NULL. */
	struct ignore_stack *ign;
	struct scan_name *names;
	/* With a baseline: the same directory's entries in it (sorted like names), or NULL. */
	const struct store_dirents *base;
};

/* A subdirectory to queue: a name of the pass, and for a followed link what it led to. */
struct scan_sub {
	uint32_t idx;
	bool via_link;
	/* View git: SCAN_ITEM_GIT_* flags of the child; SCAN_ITEM_BASE_SAME (reuse dirs). */
	uint8_t gflags;
	dev_t dev;
	ino_t ino;
	/* The baseline's dir_id of the same directory (0: none). */
	uint64_t base_dir;
};

/* What reading names [lo, hi) of a directory found. */
struct scan_found {
	struct store_batch *batch;
	/* The subdirectories to queue, in name order. */
	struct scan_sub *subdirs;
	size_t nsub, subdirs_cap;
	uint64_t counts[4], bytes;
	/* The paths a rule skipped, with the rule (made on the first one), for the store. */
	struct store_skips *skips;
};

/* One name read from a directory, pointing into the worker's dirent buffer. */
struct scan_name {
	/* The first 8 bytes of the name, big-endian, zero-padded: most comparisons stop here. */
	uint64_t prefix;
	const char *name;
	uint32_t len;
	uint8_t dtype;
	/* Set by the ignore pass: skip the entry altogether. */
	bool skip;
	/* View git (set by the ignore pass): enum scangit_name, SCAN_ITEM_GIT_* of a directory,
	 * and the index entry of a tracked path. */
	uint8_t git, gflags;
	uint32_t gidx;
};

/* What the view git's pass found of a name (scan_name.git). */
enum scangit_name {
	SCANGIT_NONE = 0,
	SCANGIT_TRACKED,   /* in the index: compare with the work tree (scangit_status()) */
	SCANGIT_UNTRACKED, /* not ignored, not in the index */
	SCANGIT_REPO,      /* a submodule or nested repository */
};

/* A worker's counters: written by its own thread only, read by anyone (relaxed atomics). */
struct scan_worker_counters {
	_Atomic uint64_t dirs, entries, busy_ns;
	_Atomic uint64_t scandir_ns, stat_ns, ignore_ns, symlink_ns, hash_ns, store_ns;
	_Atomic uint64_t scandir_calls, slow_scandirs;
	_Atomic uint64_t latency[SCANNER_LATENCY_BUCKETS], latency_ns;
};

/* One thread of the pool with its reusable buffers (no allocation per entry once warm). */
struct scan_worker {
	struct scanner *sc;
	unsigned index;
	pthread_t thread;
	bool started;
	struct scan_worker_counters c;
	/* getdents64 output of the current directory; names point into it. */
	char *dents;
	size_t dents_cap;
	struct scan_name *names;
	size_t names_cap;
	/* What the current directory holds: its batch, its subdirectories, its counts. */
	struct scan_found found;
	/* Relative path being built for the current entry. */
	char *path;
	size_t path_cap;
	char *link;      /* readlink buffer, PATH_MAX + 1 */
	/* View git: paths from the repository's top (the directory's, and an entry's). */
	char *gpath;
	size_t gpath_cap;
	unsigned char *readbuf; /* hashing buffer */
	EVP_MD_CTX *md;
	/* With a baseline: the baseline's entries of the directory being read (scanbase.c). */
	struct store_dirents base;
	/* scanio_dir_start(): whether this directory's sleeps are counted, and those before it;
	 * directories read while the gate is open, to sample one in SCANIO_SAMPLE. */
	bool io_measured;
	long io_blocks;
	unsigned io_tick;
};

struct scanner {
	struct scanner_opts opts;
	char *root;
	char *allowed_root; /* copy of opts.allowed_root, or NULL */
	/* The path of the root as opened (/proc), for the inside-the-root check of followed links */
	char *root_real;
	size_t root_real_len;
	char **ignore; /* copies of opts.ignore */
	char *log_tag;
	struct store *store;
	struct scanq *q;
	int root_fd;
	dev_t root_dev;
	struct ignore_stack *base_ign;
	/* View git: the root's repository, and the `ignore` option rules alone (nested repos). */
	struct gitview_repo *repo;
	struct ignore_stack *opt_ign;

	atomic_bool cancelled;
	_Atomic uint64_t n_dirs, n_files, n_symlinks, n_other, n_bytes, n_errors;
	/* Paths a rule skipped (directories pruned, the rest), the ignore files that skipped any,
	 * and the numbering of skip records (store_skip.seq). */
	_Atomic uint64_t n_ignored_files, n_ignored_dirs, n_ignore_sources, skip_seq;
	/* View git: tracked files missing from the work tree (counted, not listed). */
	_Atomic uint64_t n_git_deleted;
	/* With a baseline (scanbase.c): what was reused, what was read or hashed again. */
	_Atomic uint64_t n_dirs_reused, n_dirs_read, n_hashes_reused, n_hashes_computed;
	/* reuse dirs applies: unchanged directories are not read (no view git, no followed links,
	 * the root's info/exclude unchanged since the baseline). */
	bool reuse_dirs;
	/* Entries are compared with the baseline's (a baseline whose options list alike); cleared
	 * for the rest of the scan when the baseline cannot be read (deleted meanwhile). */
	atomic_bool reuse;
	/* Directories kept open for their children, and how many may be (scanfd.c sizes it). */
	atomic_int open_handles;
	atomic_int handle_budget;
	/*
	 * Descriptor starvation (scanfd.c): closes so far; busy workers that wait (for a
	 * descriptor, or for the slices of their directory that others read); workers busy with an
	 * item (not waiting in the queue); when an open last gave up.
	 */
	_Atomic uint64_t fd_gen;
	atomic_uint fd_waiters, busy_workers;
	_Atomic uint64_t fd_gave_up_ns;
	pthread_mutex_t fd_lock; /* guards fd_freed's waits and the list of open handles */
	pthread_cond_t fd_freed; /* CLOCK_MONOTONIC; broadcast by scanfd_close() to waiters */
	struct scan_handle *handles;
	/* Shared while a handle's fd is used to open a child, exclusive to spill them all. */
	pthread_rwlock_t handle_lock;

	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t workers_exit;
	unsigned workers_running;
	bool failed;
	struct errbuf failure;
	char *slowest_path;
	size_t slowest_len;
	uint64_t slowest_ns;
	uint64_t start_ns, end_ns;

	/*
	 * The elastic I/O threads (scanio.c): sc->workers holds the nworkers CPU workers, then nio
	 * I/O threads, nthreads in all. The I/O threads sleep on io_gate until reads are found to
	 * block (io_score, fed by every directory read), and then pop and read directories exactly
	 * as the workers do, until a run of fast directories closes the gate again.
	 */
	unsigned nio, nthreads;
	/* LEINDEX_SCAN_IO=open (tests): the gate is open from the start and never closes. */
	bool io_forced;
	atomic_int io_score;
	atomic_bool io_open;
	_Atomic uint64_t io_wakeups;
	pthread_mutex_t io_lock; /* guards io_done, io_started and the waits on io_gate */
	pthread_cond_t io_gate;  /* broadcast when the gate opens and when the scan is over */
	bool io_done;
	/* The I/O threads were started (scanio_start()): the first time the gate opened. */
	bool io_started;

	struct scan_worker *workers;
	unsigned nworkers;
	struct scanner_worker_stats *stats_buf;
	char *stats_slowest; /* copy handed out by scanner_stats() */
};

/* Whether the scan was cancelled: checked between entries of every per-entry loop. */
static inline bool scan_cancelled(struct scanner *sc)
{
	return atomic_load_explicit(&sc->cancelled, memory_order_relaxed);
}

/* ---------------------------------------------------------------- descriptors (scanfd.c) */

/* How scanfd_open_dir() resolves a path. */
enum scanfd_how {
	/* No component may be a symbolic link (ELOOP). */
	SCANFD_NO_SYMLINKS = 1u << 0,
	/* Resolution must stay beneath the directory it starts from (EXDEV): no absolute path,
	 * no ".." above it, no link out of it. */
	SCANFD_BENEATH = 1u << 1,
};

/*
 * Opens directory `path` relative to `dirfd` (or AT_FDCWD) for reading, resolved as `how`
 * (enum scanfd_how) says: openat2(), or where the kernel lacks it a walk of one checked openat()
 * per component. Waits for a descriptor when the process has none left. The descriptor, or -1
 * with errno (ELOOP: a symbolic link where none may be; EXDEV: out of `dirfd`).
 */
int scanfd_open_dir(struct scanner *sc, int dirfd, const char *path, unsigned how);

/*
 * The walk behind scanfd_open_dir() (exposed for its tests): one openat() per component with
 * O_NOFOLLOW under SCANFD_NO_SYMLINKS; with SCANFD_BENEATH alone, links are followed and each
 * step must lie at or below `inside` (canonical; per /proc). `flags` are the last step's.
 */
int scanfd_walk(int dirfd, const char *path, int flags, unsigned how, const char *inside);

/* openat() that waits for a descriptor when the process has none left (O_CLOEXEC is added). */
int scanfd_openat(struct scanner *sc, int dirfd, const char *name, int flags);

/* Closes a descriptor of the scan and wakes the opens waiting for one (-1 is ignored). */
void scanfd_close(struct scanner *sc, int fd);

/* Keeps directory `fd` open for `refs` children (the handle owns fd). NULL when out of memory. */
struct scan_handle *scanfd_handle_new(struct scanner *sc, int fd, unsigned refs);

/*
 * Opens directory `name` in the directory kept open as `h` (flags as openat; O_CLOEXEC added).
 * The descriptor, or -1 with errno; -1 with *by_path set when the handle was spilled or the
 * process is out of descriptors (then every handle is spilled): open it by path instead.
 */
int scanfd_open_child(struct scanner *sc, struct scan_handle *h, const char *name, int flags,
		      bool *by_path);

/* Closes every open handle's descriptor (their children open by path from now on). */
void scanfd_spill(struct scanner *sc);

/* Whether the file open as `fd` lies at or below the canonical path real[0..real_len) (/proc). */
bool scanfd_inside(int fd, const char *real, size_t real_len);

/*
 * Sizes the budget of directories kept open for their children from RLIMIT_NOFILE and the
 * descriptors already open, leaving room for every worker's own. Called once the root is open.
 */
void scanfd_size_budget(struct scanner *sc);

/* ---------------------------------------------------------------- I/O threads (scanio.c) */

/* Whether worker `w` is one of the I/O threads (not a CPU worker). */
static inline bool scan_worker_is_io(const struct scan_worker *w)
{
	return w->index >= w->sc->nworkers;
}

/*
 * Feeds the gate with one directory read in `spent` ns holding `count` names: a read slow for
 * its size counts towards opening the gate, a fast one towards closing it. Thread-safe; a
 * relaxed load and nothing else for a fast directory while the gate is closed.
 */
void scanio_note(struct scan_worker *w, uint64_t spent, size_t count);

/* Before a directory is read: while the gate is open, notes the thread's sleeps so far. */
void scanio_dir_start(struct scan_worker *w);

/*
 * Around a wait that is not on the device (the owner of a split directory waiting for its
 * helpers): the sleeps in between are left out of the directory's. begin returns what end takes.
 */
long scanio_sleeps_begin(struct scan_worker *w);
void scanio_sleeps_end(struct scan_worker *w, long begun);

/*
 * An I/O thread, before each pop: sleeps until the gate is open or the scan is over. true: go
 * and pop; false: the scan is over (or cancelled), exit.
 */
bool scanio_wait_gate(struct scanner *sc);

/* The scan is over or cancelled: wakes the sleeping I/O threads for good. Thread-safe. */
void scanio_finish(struct scanner *sc);

/* The I/O threads that may help right now (0 while the gate is closed). */
unsigned scanio_active(struct scanner *sc);

/* Logs once, at the start of a scan, which I/O path runs. */
void scanio_log_path(struct scanner *sc);

/* Starts the I/O threads, once (the first time the gate opens, or at the start when forced). */
void scanio_start(struct scanner *sc);

/*
 * Starts threads [from, to) of sc->workers (scanner.c), counting each in workers_running before
 * it runs. How many started; *first_rc is the error of the one that did not (0 if all did).
 */
unsigned scanner_start_threads(struct scanner *sc, unsigned from, unsigned to, int *first_rc);

/* Bytes read per call while hashing: cancellation is checked between reads. */
#define SCAN_HASH_BUF_SIZE (256u * 1024u)

/* Reads one queued directory: lists, filters, stats, stores it and queues its subdirectories. */
void scandir_process(struct scan_worker *w, struct scan_item *it);

/* Grows *buf of *cap elements of `elem` bytes to hold `need` (doubling). 0 or -ENOMEM. */
int scandir_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* Puts "<dir path>/<name>" into w->path; returns its length, or 0 on allocation failure. */
size_t scandir_entry_path(struct scan_worker *w, const struct scan_item *it, const char *name,
			  size_t len);

/* Records an error of the entry `name` of `it` (or of `it` when its path can't be built). */
void scandir_error(struct scan_worker *w, const struct scan_item *it, const char *name, size_t len,
		   const char *op, int errnum);

/* Fails the scan for want of memory while reading `it`, saying for what; returns -ENOMEM. */
int scandir_nomem(struct scanner *sc, const struct scan_item *it, const char *what);

/*
 * Filters names [lo, hi) of a pass through the ignore rules and stats, classifies and encodes
 * the kept ones into out->batch. Names must be handed out in order. 0, -ECANCELED when the scan
 * was cancelled part way (what was found is to be dropped), or negative when the scan failed (it
 * was told). (scanentry.c)
 */
int scanentry_range(struct scan_worker *w, const struct scan_pass *pass, size_t lo, size_t hi,
		    struct scan_found *out);

/* Directories with at least this many names are read in slices by every idle worker. */
#define SCAN_SPLIT_MIN 8192

/*
 * Reads the names of a large directory in slices, inviting the idle workers through the queue,
 * and merges what they found, in order, into w->found. The calling worker takes slices itself
 * and then waits only for slices other workers are already reading, never for queued work.
 */
int scansplit_run(struct scan_worker *w, const struct scan_pass *pass, size_t count);

/* A worker that popped an invitation: reads slices until none is left. */
void scansplit_help(struct scan_worker *w, struct scan_split *split);

/* Drops a reference to a split; the last one frees it. */
void scansplit_unref(struct scan_split *split);

/*
 * Records an error of `path` (relative) in the store and the counters; fails the scan if it
 * can't. `detail` (NULL: none) is a message saying what failed and where, kept with the record
 * and shown instead of the errno's text (the ignore parser's "line 12: ...").
 */
void scan_record_error(struct scanner *sc, const char *path, size_t len, const char *op, int errnum,
		       const char *detail);

/* Stops the scan as failed with the message in `err` (first failure wins). */
void scan_fail(struct scanner *sc, const struct errbuf *err);

/*
 * Reads and parses the ignore file `name` (".gitignore", ".git/info/exclude": `kind` says which,
 * for the rules' source label) of the directory
 * open as `dirfd`, whose path relative to the root is dir[0..dir_len). Returns its rules (the
 * caller owns them), or NULL when the file is absent or holds no pattern, or could not be used:
 * then the reason is recorded as an error of the file's path (open, read, parse) and the scan
 * goes on without it. Thread-safe. (scanignore.c)
 */
struct ignore_rules *scanignore_load(struct scanner *sc, int dirfd, const char *dir,
				     size_t dir_len, const char *name, enum ignore_source kind);

/*
 * Records that the rule `why` skipped the entry at path[0..len) (relative to the root) of type
 * `type`: a skip record into out->skips (handed to the store by scanentry_range()) and the
 * counters. 0, or -ENOMEM (the scan failed).
 */
int scan_record_skip(struct scanner *sc, struct scan_found *out, const char *path, size_t len,
		     enum entry_type type, const struct ignore_why *why);

/* ---------------------------------------------------------------- the view git (scangit.c) */

/*
 * At the start of a scan of view git: reads the root's repository (gitview_open_main()) into
 * sc->repo and builds sc->base_ign (info/exclude, the .gitignore files above the root, the
 * option patterns) and sc->opt_ign. Fails the scan with the message when it cannot.
 */
int scangit_setup(struct scanner *sc, struct errbuf *err);

/* Before a directory is read: a nested repository's top (SCAN_ITEM_GIT_NEWREPO) is opened. */
void scangit_enter(struct scan_worker *w, struct scan_item *it);

/*
 * Pass 3 of the view git for names [lo, hi): keeps what git lists, skips the rest (recording
 * what a rule skipped), and marks each kept name's git state. Returns as scanentry's filter.
 */
int scangit_filter(struct scan_worker *w, const struct scan_pass *pass, size_t lo, size_t hi,
		   struct scan_found *out);

/* The git state of a kept name, once stat-ed into `e` (entry.git). */
void scangit_status(struct scan_worker *w, const struct scan_pass *pass, const struct scan_name *nm,
		    struct entry *e);

/* After a directory's names were filtered: counts its tracked paths missing from the work tree. */
void scangit_count_deleted(struct scan_worker *w, struct scan_item *it, size_t count);

/* ---------------------------------------------------------------- the baseline (scanbase.c) */

/*
 * Loads the baseline's entries of the directory of `it` into w->base: &w->base, or NULL when the
 * scan has no usable baseline or the directory is not in it. A baseline that cannot be read (it
 * was deleted meanwhile) turns reuse off for the rest of the scan, logged once. `lazy`: only
 * subdirectories are decoded (store_dirents.lazy), for a directory taken over from it.
 */
const struct store_dirents *scanbase_load(struct scan_worker *w, const struct scan_item *it,
					  bool lazy);

/*
 * The merge-join of a slice of names with the baseline's entries: *j starts at
 * scanbase_start(); each call with the next name (in order) advances it and returns the
 * baseline's entry of that name, or NULL.
 */
size_t scanbase_start(const struct store_dirents *base, const struct scan_name *first);
const struct entry *scanbase_match(const struct store_dirents *base, size_t *j,
				   const struct scan_name *nm);

/*
 * Whether the SHA-256 of regular file `e` (just stat-ed) may be copied from the baseline's entry
 * `b` of the same name: both stat-ed, `b` hashed, (dev, ino, size, mtime, ctime) equal, and the
 * mtime older than the baseline's start by at least SCANBASE_RACY_NS (git's racy-timestamp
 * rule: a file changed in the same tick as the baseline hashed it could keep its stat).
 */
bool scanbase_hash_reusable(const struct entry *e, const struct entry *b, int64_t started_ns);

/*
 * reuse dirs: lists directory `it` from the baseline's entries `base` (w->base, from
 * scanbase_reuse_base()) instead of reading it, when its .gitignore is unchanged too (checked
 * here in `fd` unless `leaf`: then scanbase_reuse_base() checked it, and fd is -1); fills
 * w->found and w->names (the names point into w->base) as a read would. 1 when done so; 0 when
 * the directory must be read (its .gitignore changed: it->flags gets SCAN_ITEM_NO_REUSE); -1
 * when the scan failed or was cancelled. (scanentry.c)
 */
int scanentry_reuse_dir(struct scan_worker *w, struct scan_item *it, int fd,
			const struct store_dirents *base, bool leaf);

/*
 * reuse dirs: the baseline's entries of `it` (w->base) when it is unchanged (SCAN_ITEM_BASE_SAME
 * and not SCAN_ITEM_NO_REUSE), else NULL. *leaf is set when the directory need not even be
 * opened: no subdirectory to stat, nothing to hash that the baseline did not, and its .gitignore
 * (stat-ed by path from the root) unchanged.
 */
const struct store_dirents *scanbase_reuse_base(struct scan_worker *w, struct scan_item *it,
						bool *leaf);

/*
 * Once the root is open: decides sc->reuse_dirs. Directories are reused with `reuse: dirs` and a
 * usable baseline, except in the view git (its index would have to be compared too) and when
 * following links, and not at all when the root's .git/info/exclude changed at or after the
 * baseline's start (by its ctime): its rules apply everywhere.
 */
void scanbase_setup(struct scanner *sc);

/* Whether baseline entry `b` describes the same ignore file `name` in `fd` now (or both none). */
bool scanbase_same_file(int fd, const char *name, const struct store_dirents *base);

/* The margin of the racy rule: file system timestamps come from a coarse clock (ticks). */
#define SCANBASE_RACY_NS 1000000000LL

/* Frees a queued item and drops its references. */
void scan_item_free(struct scanner *sc, struct scan_item *it);

/* Drops one reference of a handle, closing its descriptor on the last. */
void scan_handle_unref(struct scanner *sc, struct scan_handle *h);

/* Takes one reference of an ancestor chain node (NULL is fine and returns NULL). */
struct scan_anc *scan_anc_ref(struct scan_anc *a);

/* Drops one reference of an ancestor chain node (NULL is fine). */
void scan_anc_unref(struct scan_anc *a);

#endif
