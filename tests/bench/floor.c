/* floor.c: the kernel floor of a tree walk: openat + getdents64 + statx of every entry, no output.
 *
 * DESIGN. The benchmark compares leindexd with bfs, find and fd; this program says how fast any
 * of them could be on this machine, by doing only the system calls every walker must make and
 * nothing else (no path strings, no formatting, no output, no store). N threads (default 2)
 * share one LIFO stack of open directory descriptors under one mutex. A worker pops a
 * descriptor, reads it with getdents64, statx()es every name relative to it (so paths of any
 * length work: the deep tree is far over PATH_MAX), opens each subdirectory with openat and
 * pushes the new descriptor, then closes the one it read. LIFO order keeps the number of open
 * descriptors near depth x fan-out instead of the width of a breadth-first frontier; the soft
 * RLIMIT_NOFILE is raised to the hard one for the rest. `pending` counts directories queued or
 * being read (Redis bio.c's rule: a job is pending until retired), so the walk is over when it
 * drops to zero with the stack empty.
 *
 * It prints one line, "entries N errors M", N counting the root like `find DIR -printf x | wc -c`.
 * Options: -j N threads, -S skip statx (getdents64 + openat only; d_type decides what to enter).
 * Built by tests/bench/run.sh with `cc -O2 -pthread`; not part of leindexd.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLOOR_BUF_SIZE (64 * 1024)
#define FLOOR_MAX_THREADS 64

/* Linux's struct linux_dirent64, which glibc does not declare. */
struct floor_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The walk's shared state: one per run, passed to every worker (no globals). */
struct floor_walk {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int *stack;       /* open directory descriptors, under lock */
	size_t len, cap;  /* under lock */
	size_t pending;   /* directories queued or being read, under lock */
	int failed;       /* an allocation failed: stop, under lock */
	int do_stat;
	atomic_uint_fast64_t entries, errors;
};

/* Pushes fd; takes ownership. Returns -1 (and closes fd) when the stack cannot grow. */
static int floor_push(struct floor_walk *w, int fd)
{
	pthread_mutex_lock(&w->lock);
	if (w->len == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		int *stack = realloc(w->stack, cap * sizeof(*stack));
		if (!stack) {
			w->failed = 1;
			pthread_cond_broadcast(&w->cond);
			pthread_mutex_unlock(&w->lock);
			close(fd);
			fprintf(stderr, "floor: realloc of the directory stack to %zu failed\n", cap);
			return -1;
		}
		w->stack = stack;
		w->cap = cap;
	}
	w->stack[w->len++] = fd;
	w->pending++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Pops a descriptor, waiting while others may still push; -1 when the walk is over. */
static int floor_pop(struct floor_walk *w)
{
	int fd = -1;
	pthread_mutex_lock(&w->lock);
	while (w->len == 0 && w->pending > 0 && !w->failed)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->len > 0 && !w->failed)
		fd = w->stack[--w->len];
	pthread_mutex_unlock(&w->lock);
	return fd;
}

/* Retires one directory; wakes everyone when it was the last. */
static void floor_retire(struct floor_walk *w)
{
	pthread_mutex_lock(&w->lock);
	if (--w->pending == 0)
		pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Reads one directory: statx each name, open and push each subdirectory. Closes fd. */
static void floor_read_dir(struct floor_walk *w, int fd, char *buf)
{
	for (;;) {
		ssize_t n = getdents64(fd, buf, FLOOR_BUF_SIZE);
		if (n < 0) {
			w->errors++;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct floor_dirent64 *d = (struct floor_dirent64 *)(buf + off);
			off += d->d_reclen;
			const char *name = d->d_name;
			if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
				continue;
			w->entries++;
			int is_dir = d->d_type == DT_DIR;
			if (w->do_stat || d->d_type == DT_UNKNOWN) {
				struct statx stx;
				if (statx(fd, name, AT_SYMLINK_NOFOLLOW,
					  STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME,
					  &stx) != 0) {
					w->errors++;
					continue;
				}
				is_dir = S_ISDIR(stx.stx_mode);
			}
			if (!is_dir)
				continue;
			int sub = openat(fd, name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (sub < 0) {
				w->errors++;
				continue;
			}
			if (floor_push(w, sub) != 0)
				break;
		}
	}
	close(fd);
}

static void *floor_worker(void *arg)
{
	struct floor_walk *w = arg;
	char *buf = malloc(FLOOR_BUF_SIZE);
	if (!buf) {
		fprintf(stderr, "floor: malloc of a %d-byte getdents64 buffer failed\n",
			FLOOR_BUF_SIZE);
		pthread_mutex_lock(&w->lock);
		w->failed = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		return NULL;
	}
	int fd;
	while ((fd = floor_pop(w)) >= 0) {
		floor_read_dir(w, fd, buf);
		floor_retire(w);
	}
	free(buf);
	return NULL;
}

/* More descriptors than the default soft limit may be open at once in a wide, deep tree. */
static void floor_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "floor: setrlimit(RLIMIT_NOFILE): %s (going on)\n",
				strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct floor_walk w = { .do_stat = 1 };
	unsigned threads = 2;
	int opt;
	while ((opt = getopt(argc, argv, "j:sS")) != -1) {
		switch (opt) {
		case 'j':
			threads = (unsigned)strtoul(optarg, NULL, 10);
			if (threads < 1 || threads > FLOOR_MAX_THREADS) {
				fprintf(stderr, "floor: -j %s: want 1..%d threads\n", optarg,
					FLOOR_MAX_THREADS);
				return 2;
			}
			break;
		case 's':
			w.do_stat = 1;
			break;
		case 'S':
			w.do_stat = 0;
			break;
		default:
			fprintf(stderr, "usage: floor [-j THREADS] [-s|-S] DIR\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: floor [-j THREADS] [-s|-S] DIR\n");
		return 2;
	}
	const char *root = argv[optind];
	floor_raise_nofile();

	int rc = 1;
	pthread_t tids[FLOOR_MAX_THREADS];
	unsigned started = 0;
	if (pthread_mutex_init(&w.lock, NULL) != 0 || pthread_cond_init(&w.cond, NULL) != 0) {
		fprintf(stderr, "floor: pthread mutex/cond init failed\n");
		return 1;
	}
	struct statx stx;
	if (statx(AT_FDCWD, root, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, &stx) != 0) {
		fprintf(stderr, "floor: statx(%s): %s\n", root, strerror(errno));
		goto out;
	}
	w.entries = 1;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "floor: open(%s): %s\n", root, strerror(errno));
		goto out;
	}
	if (floor_push(&w, fd) != 0)
		goto out;
	for (; started < threads; started++) {
		int e = pthread_create(&tids[started], NULL, floor_worker, &w);
		if (e != 0) {
			fprintf(stderr, "floor: pthread_create of worker %u: %s\n", started,
				strerror(e));
			break;
		}
	}
	if (started == 0) {
		/* Nobody will pop the root: drain it here so nothing leaks. */
		close(w.stack[--w.len]);
		goto out;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (w.failed) {
		while (w.len > 0)
			close(w.stack[--w.len]);
		goto out;
	}
	printf("entries %llu errors %llu\n", (unsigned long long)w.entries,
	       (unsigned long long)w.errors);
	rc = w.errors ? 1 : 0;
out:
	free(w.stack);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc;
}
