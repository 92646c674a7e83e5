/* scanfd.c: the descriptors of a scan: opening paths so that the kernel keeps them inside what
 * was checked, and waiting for descriptors when the process has none left.
 *
 * Design
 * ------
 * Confinement. A path that was checked (the root accepted by POST /scans, a directory below the
 * root) is opened with openat2(): RESOLVE_NO_SYMLINKS when no component may be a symbolic link
 * (the root, whose accepted path is canonical: a symlink there now means it was swapped after
 * the check), RESOLVE_BENEATH when resolution must stay below a directory's descriptor (the
 * allowed root, the scan root). Where the kernel has no openat2() (ENOSYS: before 5.6, or a
 * seccomp filter), the same guarantees come from a walk of one openat() per component, each with
 * O_NOFOLLOW, or, when links are followed, each checked through /proc to resolve below the scan
 * root. Never a plain open() of the whole path.
 *
 * Starvation. Every open of the scan goes through scanfd_openat(), scanfd_open_dir() or
 * scanfd_open_child(), and every close through scanfd_close(), which bumps a generation counter.
 * An open that fails with EMFILE or ENFILE first spills the directories kept open for their
 * children (scan_handle): their descriptors are closed, and their children will open by path
 * from the root. Without that, every descriptor could sit in handles whose children wait in the
 * queue, while each worker waits for a descriptor to open one of them: no progress ever. The
 * budget of handles then drops to half of those spilled. Then the open waits until the scan
 * closes a descriptor (or 50 ms pass: the descriptors may be held outside the scan) and tries
 * again, for as long as some busy worker is not waiting (it will close what it holds). Only when
 * every busy worker has waited for SCANFD_GIVE_UP_NS with nothing closed (each holds a directory
 * and waits for one more descriptor: the limit cannot hold the pool's working set) does one of
 * them give up, and its open fails as before; what it then closes lets the others go on. (The
 * owner of a large directory waiting for the slices others read counts as waiting too.) At start
 * the budget of kept directories is sized from RLIMIT_NOFILE and the descriptors already open,
 * so a low limit (prlimit --nofile=64) is met by keeping fewer directories open, not by failing
 * them.
 *
 * A handle's descriptor is used to open a child under handle_lock shared, and spilled under it
 * exclusive, so it is never closed (and its number reused) while a child is opened from it.
 *
 * Thread-safe: the scanner's fields used here are atomics, or fd_lock/fd_freed.
 */
#include "service/scan/scan_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long a wait for a descriptor lasts before the open is tried again anyway. */
#define SCANFD_WAIT_SLICE_NS (50ull * 1000000ull)
/* How long every busy worker must have waited, nothing closed, before one of them gives up. */
#define SCANFD_GIVE_UP_NS (1000ull * 1000000ull)
/* Descriptors a worker may hold at once: a directory, a file, and a step of a path walk. */
#define SCANFD_PER_WORKER 3
/* Descriptors left to the rest of the process (the store, the log, a connection or two). */
#define SCANFD_SPARE 16

static bool scanfd_starved(int e)
{
	return e == EMFILE || e == ENFILE;
}

void scanfd_close(struct scanner *sc, int fd)
{
	if (fd < 0)
		return;
	close(fd);
	atomic_fetch_add(&sc->fd_gen, 1);
	if (atomic_load(&sc->fd_waiters) > 0) {
		pthread_mutex_lock(&sc->fd_lock);
		pthread_cond_broadcast(&sc->fd_freed);
		pthread_mutex_unlock(&sc->fd_lock);
	}
}

struct scan_handle *scanfd_handle_new(struct scanner *sc, int fd, unsigned refs)
{
	struct scan_handle *h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	atomic_init(&h->refs, refs);
	h->fd = fd;
	h->prev = NULL;
	pthread_mutex_lock(&sc->fd_lock);
	h->next = sc->handles;
	if (h->next)
		h->next->prev = h;
	sc->handles = h;
	pthread_mutex_unlock(&sc->fd_lock);
	return h;
}

/* Takes `h` off the list of open handles. fd_lock held. */
static void scanfd_handle_unlink(struct scanner *sc, struct scan_handle *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		sc->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

void scan_handle_unref(struct scanner *sc, struct scan_handle *h)
{
	if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	/* The last reference: no child uses fd any more; a spill may have closed it already. */
	pthread_mutex_lock(&sc->fd_lock);
	int fd = h->fd;
	if (fd >= 0) {
		scanfd_handle_unlink(sc, h);
		atomic_fetch_sub(&sc->open_handles, 1);
	}
	pthread_mutex_unlock(&sc->fd_lock);
	scanfd_close(sc, fd);
	free(h);
}

void scanfd_spill(struct scanner *sc)
{
	pthread_rwlock_wrlock(&sc->handle_lock);
	pthread_mutex_lock(&sc->fd_lock);
	int n = 0;
	while (sc->handles) {
		struct scan_handle *h = sc->handles;
		scanfd_handle_unlink(sc, h);
		close(h->fd);
		h->fd = -1;
		n++;
	}
	if (n > 0) {
		atomic_fetch_sub(&sc->open_handles, n);
		/* Keep at most half as many from now on. */
		int budget = atomic_load(&sc->handle_budget);
		if (budget > n / 2)
			atomic_store(&sc->handle_budget, n / 2);
		atomic_fetch_add(&sc->fd_gen, 1);
		pthread_cond_broadcast(&sc->fd_freed);
	}
	pthread_mutex_unlock(&sc->fd_lock);
	pthread_rwlock_unlock(&sc->handle_lock);
}

int scanfd_open_child(struct scanner *sc, struct scan_handle *h, const char *name, int flags,
		      bool *by_path)
{
	pthread_rwlock_rdlock(&sc->handle_lock);
	int pfd = h->fd;
	int fd = pfd >= 0 ? openat(pfd, name, flags | O_CLOEXEC) : -1;
	int e = errno;
	pthread_rwlock_unlock(&sc->handle_lock);
	/* Never wait while holding handle_lock: a spill needs it. */
	*by_path = pfd < 0 || (fd < 0 && scanfd_starved(e));
	if (fd < 0 && *by_path && pfd >= 0)
		scanfd_spill(sc);
	errno = e;
	return fd;
}

/*
 * Whether this waiter, starved since `since` with every busy worker waiting too, is the one to
 * give up: at most one a SCANFD_GIVE_UP_NS per scan, so the others keep waiting for what the
 * one that gave up will close.
 */
static bool scanfd_give_up(struct scanner *sc, uint64_t since, uint64_t now)
{
	if (now - since < SCANFD_GIVE_UP_NS)
		return false;
	uint64_t last = atomic_load(&sc->fd_gave_up_ns);
	return (last == 0 || now - last >= SCANFD_GIVE_UP_NS) &&
	       atomic_compare_exchange_strong(&sc->fd_gave_up_ns, &last, now);
}

/*
 * After an open failed with `e`: whether to try again. `gen` is the close generation read before
 * the failed open, `*since` when this open last saw progress (0: not yet). errno is kept.
 */
static bool scanfd_wait(struct scanner *sc, int e, uint64_t gen, uint64_t *since)
{
	if (!scanfd_starved(e) || scan_cancelled(sc))
		return false;
	if (*since == 0)
		*since = (uint64_t)clock_mono_ns();
	/* Descriptors kept for children that wait in the queue may be all there is: free them. */
	scanfd_spill(sc);
	pthread_mutex_lock(&sc->fd_lock);
	atomic_fetch_add(&sc->fd_waiters, 1);
	struct timespec until = clock_deadline(SCANFD_WAIT_SLICE_NS);
	while (atomic_load(&sc->fd_gen) == gen && !scan_cancelled(sc))
		if (pthread_cond_timedwait(&sc->fd_freed, &sc->fd_lock, &until) == ETIMEDOUT)
			break;
	/* Every busy worker waits for a descriptor (this one too, if a worker): none will close one. */
	bool stuck = atomic_load(&sc->fd_waiters) >= atomic_load(&sc->busy_workers);
	atomic_fetch_sub(&sc->fd_waiters, 1);
	pthread_mutex_unlock(&sc->fd_lock);
	uint64_t now = (uint64_t)clock_mono_ns();
	if (atomic_load(&sc->fd_gen) != gen || !stuck)
		*since = now; /* the scan closed one, or a worker is at work and will */
	bool again = !scan_cancelled(sc) && !scanfd_give_up(sc, *since, now);
	errno = e;
	return again;
}

int scanfd_openat(struct scanner *sc, int dirfd, const char *name, int flags)
{
	uint64_t since = 0;
	for (;;) {
		uint64_t gen = atomic_load(&sc->fd_gen);
		int fd = openat(dirfd, name, flags | O_CLOEXEC);
		if (fd >= 0 || !scanfd_wait(sc, errno, gen, &since))
			return fd;
	}
}

/* openat2(), or -1 with errno (ENOSYS where the kernel or a seccomp filter lacks it). */
static int scanfd_openat2(int dirfd, const char *path, int flags, unsigned how)
{
	struct open_how oh = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = ((how & SCANFD_NO_SYMLINKS) ? RESOLVE_NO_SYMLINKS : 0) |
			   ((how & SCANFD_BENEATH) ? RESOLVE_BENEATH : 0),
	};
	return (int)syscall(SYS_openat2, dirfd, path, &oh, sizeof(oh));
}

/* Whether the directory open as `fd` lies at or below `real` (a canonical path), per /proc. */
bool scanfd_inside(int fd, const char *real, size_t real_len)
{
	char proc[64], path[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	if (real_len == 1) /* "/" */
		return path[0] == '/';
	return (size_t)n >= real_len && memcmp(path, real, real_len) == 0 &&
	       ((size_t)n == real_len || path[real_len] == '/');
}

/* One step of the walk: `name` in `cur`, a directory; O_PATH unless `last`. -1 with errno. */
static int scanfd_step(int cur, const char *name, int flags, unsigned how, bool last,
		       const char *inside, size_t inside_len)
{
	bool nofollow = how & SCANFD_NO_SYMLINKS;
	int f = (last ? flags : O_PATH) | O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
	int fd = openat(cur, name, f);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		/* O_NOFOLLOW|O_DIRECTORY says ENOTDIR of a symlink: say what it is. */
		if (nofollow && e == ENOTDIR && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		errno = e;
		return -1;
	}
	if (!nofollow && (how & SCANFD_BENEATH) && !scanfd_inside(fd, inside, inside_len)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

int scanfd_walk(int dirfd, const char *path, int flags, unsigned how, const char *inside)
{
	size_t inside_len = inside ? strlen(inside) : 0;
	if ((how & SCANFD_BENEATH) && (path[0] == '/' || (!(how & SCANFD_NO_SYMLINKS) && !inside)))
		return errno = EXDEV, -1;
	int cur = dirfd, owned = -1;
	if (path[0] == '/') {
		cur = owned = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur < 0)
			return -1;
	}
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		const char *next = end;
		while (*next == '/')
			next++;
		bool last = *next == '\0';
		char name[NAME_MAX + 1];
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (n == 0 || (n == 1 && name[0] == '.'))
			memcpy(name, ".", 2);
		else if (n == 2 && name[0] == '.' && name[1] == '.' && (how & SCANFD_BENEATH)) {
			errno = EXDEV; /* the kernel would check it stays beneath; we refuse it */
			goto fail;
		}
		if (!last && name[0] == '.' && name[1] == '\0') {
			p = next;
			continue;
		}
		int fd = scanfd_step(cur, name, flags, how, last, inside, inside_len);
		if (fd < 0)
			goto fail;
		if (owned >= 0)
			close(owned);
		if (last)
			return fd;
		cur = owned = fd;
		p = next;
	}
fail:;
	int e = errno;
	if (owned >= 0)
		close(owned);
	errno = e;
	return -1;
}

int scanfd_open_dir(struct scanner *sc, int dirfd, const char *path, unsigned how)
{
	/* No O_NOFOLLOW: it makes a final symlink ENOTDIR; RESOLVE_NO_SYMLINKS says ELOOP. */
	const int flags = O_RDONLY | O_DIRECTORY;
	uint64_t since = 0;
	for (;;) {
		uint64_t gen = atomic_load(&sc->fd_gen);
		int fd = scanfd_openat2(dirfd, path, flags, how);
		/* No openat2 here (old kernel, seccomp filter): the same checks, one step at a time. */
		if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
			fd = scanfd_walk(dirfd, path, flags, how, sc->root_real);
		if (fd >= 0 || !scanfd_wait(sc, errno, gen, &since))
			return fd;
	}
}

/* Descriptors open in this process below `limit`, counted by probing (limit is small here). */
static long scanfd_count_open(long limit)
{
	long n = 0;
	for (long fd = 0; fd < limit; fd++)
		if (fcntl((int)fd, F_GETFD) >= 0)
			n++;
	return n;
}

void scanfd_size_budget(struct scanner *sc)
{
	/* The I/O threads (scanio.c) read directories like the workers: each is counted as one. */
	int dflt = 64 + 16 * (int)sc->nthreads;
	long need = (long)SCANFD_PER_WORKER * sc->nthreads + SCANFD_SPARE;
	struct rlimit rl;
	int budget = dflt;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 4 * (rlim_t)(dflt + need)) {
		long limit = (long)rl.rlim_cur;
		/* Half of what is left: several scans may run at once in one server. */
		long spare = (limit - scanfd_count_open(limit) - need) / 2;
		budget = spare < 0 ? 0 : spare < dflt ? (int)spare : dflt;
	}
	atomic_store(&sc->handle_budget, budget);
}
