/* failalloc.c: an LD_PRELOAD shim that fails one chosen allocation of a process, as curl's
 * runtests.pl -t does, to replay the error paths of the real binary.
 *
 * Every call of malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc, strdup and strndup made by the program or by the libraries it uses (glibc's
 * own internal allocations included: fopen, qsort, pthread_create's TLS...) is counted while the
 * shim is armed, from every thread; the Nth counted one fails with ENOMEM and returns NULL. Only
 * that one fails: the calls after it succeed, so each run replays one failure and what the
 * program does about it. Calls the shim makes itself (logging) are not counted.
 *
 * Environment:
 *   LEINDEX_FAILALLOC_AT=N    fail the Nth counted allocation (1-based); 0 or unset: count only.
 *   LEINDEX_FAILALLOC_ARM=start|signal
 *                             start (default): count from the start of the process.
 *                             signal: count nothing until SIGUSR2. Each SIGUSR2 ends the episode
 *                             counted so far (logging its count), reads N from the file named by
 *                             LEINDEX_FAILALLOC_CTL (when set; decimal, 0 = count only), resets
 *                             the count and arms again. A long-lived server is so re-armed for
 *                             each step of a sweep without restarting.
 *   LEINDEX_FAILALLOC_WARM=sha256
 *                             before counting, compute one SHA-256 with the program's libcrypto
 *                             (uncounted). OpenSSL's one-time initialisation (configuration,
 *                             error strings, the default provider) makes some 4,700 allocations
 *                             at the first digest, and OpenSSL itself absorbs their failure; a
 *                             sweep warmed so targets leindexd's own ~300 of a small scan.
 *   LEINDEX_FAILALLOC_LOG=F   append what happens to file F (one "failalloc:" line per event,
 *                             the failed call's backtrace, and at exit the count), so a test
 *                             knows whether the failure fired and where.
 *
 * The real allocator is the next one in the lookup order (dlsym(RTLD_NEXT)): glibc's, or the
 * AddressSanitizer runtime's when the program is an ASan build (then run it with
 * ASAN_OPTIONS=verify_asan_link_order=0 and this shim alone in LD_PRELOAD, so that the shim comes
 * before libasan and forwards to it: ASan still checks every block). strdup and strndup are
 * implemented here on top of malloc, so that they count once and ASan's interceptors of them do
 * not bypass the count. dlsym itself may allocate before the real functions are known: those few
 * early calls are served from a small static arena that free() recognises and ignores.
 *
 * Allocations a new thread makes before its start routine runs (the runtime's set-up) are not
 * counted: see fa_user_thread.
 *
 * The state is process-wide on purpose (a preloaded shim has no other place for it); it is
 * updated with atomics, and the signal handler only touches atomics and async-signal-safe calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FA_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#define FA_EXPORT __attribute__((visibility("default")))

typedef void *(*fa_malloc_fn)(size_t);
typedef void *(*fa_calloc_fn)(size_t, size_t);
typedef void *(*fa_realloc_fn)(void *, size_t);
typedef void (*fa_free_fn)(void *);
typedef int (*fa_posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*fa_memalign_fn)(size_t, size_t);

static struct {
	fa_malloc_fn malloc;
	fa_calloc_fn calloc;
	fa_realloc_fn realloc;
	fa_free_fn free;
	fa_posix_memalign_fn posix_memalign;
	fa_memalign_fn memalign;
	fa_memalign_fn aligned_alloc;
	fa_malloc_fn valloc;
	fa_malloc_fn pvalloc;
} fa_real;

static atomic_int fa_resolved; /* 0 no, 1 resolving, 2 done */
static atomic_bool fa_armed;
static atomic_ulong fa_nth;    /* the call to fail, 0 = none */
static atomic_ulong fa_calls;  /* counted calls in this episode */
static atomic_ulong fa_failed; /* failures injected in this episode */
static int fa_log_fd = -1;
static const char *fa_ctl_path;
static FA_TLS int fa_inside;    /* >0 while the shim itself runs: its allocations are not counted */
static FA_TLS int fa_resolving; /* >0 while this thread looks up the real functions */
/*
 * Whether this thread runs the program's code: set in the main thread by the constructor and in
 * each thread the program creates once its start routine begins. Before that, a new thread runs
 * the runtime's set-up (ASan's thread start calls pthread_getattr_np(), which allocates, and
 * aborts on failure): those allocations are the sanitizer's, not the program's, and not counted.
 */
static FA_TLS bool fa_user_thread;

/* ------------------------------------------------------------ bootstrap arena (before dlsym) */

static _Alignas(max_align_t) char fa_arena[64 * 1024];
static atomic_size_t fa_arena_used;

static void *fa_arena_alloc(size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	size_t at = atomic_fetch_add(&fa_arena_used, need);
	if (at + need > sizeof(fa_arena))
		return NULL;
	return fa_arena + at;
}

static bool fa_in_arena(const void *p)
{
	return (const char *)p >= fa_arena && (const char *)p < fa_arena + sizeof(fa_arena);
}

static void fa_resolve(void)
{
	int want = 0;
	if (!atomic_compare_exchange_strong(&fa_resolved, &want, 1)) {
		while (atomic_load(&fa_resolved) != 2)
			; /* another thread resolves: only at start, a few microseconds */
		return;
	}
	fa_resolving++;
	fa_real.malloc = (fa_malloc_fn)dlsym(RTLD_NEXT, "malloc");
	fa_real.calloc = (fa_calloc_fn)dlsym(RTLD_NEXT, "calloc");
	fa_real.realloc = (fa_realloc_fn)dlsym(RTLD_NEXT, "realloc");
	fa_real.free = (fa_free_fn)dlsym(RTLD_NEXT, "free");
	fa_real.posix_memalign = (fa_posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
	fa_real.memalign = (fa_memalign_fn)dlsym(RTLD_NEXT, "memalign");
	fa_real.aligned_alloc = (fa_memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
	fa_real.valloc = (fa_malloc_fn)dlsym(RTLD_NEXT, "valloc");
	fa_real.pvalloc = (fa_malloc_fn)dlsym(RTLD_NEXT, "pvalloc");
	fa_resolving--;
	atomic_store(&fa_resolved, 2);
}

/* True while the real functions are not known yet (the caller then uses the arena). */
static bool fa_bootstrapping(void)
{
	if (atomic_load(&fa_resolved) == 2)
		return false;
	if (fa_resolving)
		return true; /* dlsym allocating while we resolve */
	fa_resolve();
	return false;
}

/* ------------------------------------------------------------ logging (async-signal-safe) */

static void fa_put(char *buf, size_t *len, size_t cap, const char *s)
{
	while (*s && *len < cap)
		buf[(*len)++] = *s++;
}

static void fa_put_u(char *buf, size_t *len, size_t cap, unsigned long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0 && *len < cap)
		buf[(*len)++] = tmp[--n];
}

static void fa_write(const char *buf, size_t len)
{
	if (fa_log_fd < 0)
		return;
	while (len > 0) {
		ssize_t w = write(fa_log_fd, buf, len);
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

/* "failalloc: pid P: WHAT N" plus an optional " (FN of SIZE bytes)". */
static void fa_log_event(const char *what, unsigned long n, const char *fn, size_t size)
{
	char buf[256];
	size_t len = 0;
	fa_put(buf, &len, sizeof(buf), "failalloc: pid ");
	fa_put_u(buf, &len, sizeof(buf), (unsigned long)getpid());
	fa_put(buf, &len, sizeof(buf), ": ");
	fa_put(buf, &len, sizeof(buf), what);
	fa_put(buf, &len, sizeof(buf), " ");
	fa_put_u(buf, &len, sizeof(buf), n);
	if (fn) {
		fa_put(buf, &len, sizeof(buf), " (");
		fa_put(buf, &len, sizeof(buf), fn);
		fa_put(buf, &len, sizeof(buf), " of ");
		fa_put_u(buf, &len, sizeof(buf), size);
		fa_put(buf, &len, sizeof(buf), " bytes)");
	}
	fa_put(buf, &len, sizeof(buf), "\n");
	fa_write(buf, len);
}

/* ------------------------------------------------------------ the decision */

/* Whether this allocation is the one to fail; counts it when armed. */
static bool fa_fail(const char *fn, size_t size)
{
	if (fa_inside || !fa_user_thread || !atomic_load_explicit(&fa_armed, memory_order_relaxed))
		return false;
	unsigned long n = atomic_fetch_add(&fa_calls, 1) + 1;
	unsigned long nth = atomic_load(&fa_nth);
	if (nth == 0 || n != nth)
		return false;
	atomic_fetch_add(&fa_failed, 1);
	fa_inside++;
	fa_log_event("failing allocation", n, fn, size);
	if (fa_log_fd >= 0) {
		void *frames[48];
		int depth = backtrace(frames, 48);
		backtrace_symbols_fd(frames, depth, fa_log_fd);
	}
	fa_inside--;
	errno = ENOMEM;
	return true;
}

/* ------------------------------------------------------------ set-up and SIGUSR2 */

static unsigned long fa_parse_u(const char *s)
{
	unsigned long v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

/* SIGUSR2: the episode so far ends; the next one fails the Nth call the control file names. */
static void fa_on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	atomic_store(&fa_armed, false);
	fa_log_event("episode counted", atomic_load(&fa_calls), NULL, 0);
	unsigned long nth = atomic_load(&fa_nth);
	if (fa_ctl_path) {
		char buf[32] = {0};
		int fd = open(fa_ctl_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (r > 0)
				nth = fa_parse_u(buf);
		}
	}
	atomic_store(&fa_nth, nth);
	atomic_store(&fa_calls, 0);
	atomic_store(&fa_failed, 0);
	fa_log_event("armed to fail allocation", nth, NULL, 0);
	atomic_store(&fa_armed, true);
	errno = saved;
}

/*
 * LEINDEX_FAILALLOC_WARM=sha256: one digest through the program's libcrypto, looked up in the
 * global scope (nothing is called when the program does not link it).
 */
static void fa_warm_sha256(void)
{
	void *(*ctx_new)(void) = (void *(*)(void))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_new");
	const void *(*sha256)(void) = (const void *(*)(void))dlsym(RTLD_DEFAULT, "EVP_sha256");
	int (*init)(void *, const void *, void *) =
		(int (*)(void *, const void *, void *))dlsym(RTLD_DEFAULT, "EVP_DigestInit_ex");
	int (*update)(void *, const void *, size_t) =
		(int (*)(void *, const void *, size_t))dlsym(RTLD_DEFAULT, "EVP_DigestUpdate");
	int (*final)(void *, unsigned char *, unsigned *) =
		(int (*)(void *, unsigned char *, unsigned *))dlsym(RTLD_DEFAULT, "EVP_DigestFinal_ex");
	void (*ctx_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_free");
	if (!ctx_new || !sha256 || !init || !update || !final || !ctx_free)
		return;
	void *ctx = ctx_new();
	unsigned char md[64];
	unsigned len = 0;
	if (ctx && init(ctx, sha256(), NULL) == 1 && update(ctx, "warm", 4) == 1)
		final(ctx, md, &len);
	ctx_free(ctx);
}

__attribute__((constructor)) static void fa_init(void)
{
	fa_user_thread = true;
	fa_bootstrapping(); /* resolves the real functions if no allocation did yet */
	fa_inside++;
	const char *log = getenv("LEINDEX_FAILALLOC_LOG");
	if (log && *log)
		fa_log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	fa_ctl_path = getenv("LEINDEX_FAILALLOC_CTL");
	atomic_store(&fa_nth, fa_parse_u(getenv("LEINDEX_FAILALLOC_AT")));
	/* backtrace() loads libgcc_s on its first call, which allocates: do it now, uncounted. */
	void *frame[2];
	backtrace(frame, 2);
	const char *warm = getenv("LEINDEX_FAILALLOC_WARM");
	if (warm && strcmp(warm, "sha256") == 0)
		fa_warm_sha256();
	const char *arm = getenv("LEINDEX_FAILALLOC_ARM");
	if (arm && strcmp(arm, "signal") == 0) {
		struct sigaction sa = {.sa_handler = fa_on_signal, .sa_flags = SA_RESTART};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
	} else {
		atomic_store(&fa_armed, true);
	}
	fa_inside--;
}

__attribute__((destructor)) static void fa_fini(void)
{
	fa_inside++;
	if (atomic_load(&fa_armed))
		fa_log_event("exit counted", atomic_load(&fa_calls), NULL, 0);
	fa_inside--;
}

/* ------------------------------------------------------------ threads */

struct fa_start {
	void *(*fn)(void *);
	void *arg;
};

static void *fa_thread_main(void *p)
{
	struct fa_start st = *(struct fa_start *)p;
	fa_inside++;
	free(p);
	fa_inside--;
	fa_user_thread = true;
	return st.fn(st.arg);
}

/* Marks the program's threads (see fa_user_thread); the creation itself is counted as usual. */
FA_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
			RTLD_NEXT, "pthread_create");
	fa_inside++;
	struct fa_start *st = malloc(sizeof(*st));
	fa_inside--;
	if (!st)
		return EAGAIN;
	st->fn = fn;
	st->arg = arg;
	int rc = real(th, attr, fa_thread_main, st);
	if (rc != 0) {
		fa_inside++;
		free(st);
		fa_inside--;
	}
	return rc;
}

/* ------------------------------------------------------------ the interposed functions */

FA_EXPORT void *malloc(size_t n)
{
	if (fa_bootstrapping())
		return fa_arena_alloc(n);
	if (fa_fail("malloc", n))
		return NULL;
	return fa_real.malloc(n);
}

FA_EXPORT void *calloc(size_t n, size_t m)
{
	if (fa_bootstrapping()) {
		if (m && n > SIZE_MAX / m)
			return NULL;
		return fa_arena_alloc(n * m); /* static storage: zeroed */
	}
	if (fa_fail("calloc", n * m))
		return NULL;
	return fa_real.calloc(n, m);
}

FA_EXPORT void free(void *p)
{
	if (!p || fa_in_arena(p))
		return;
	if (fa_bootstrapping())
		return; /* cannot happen: only arena blocks exist before resolution */
	fa_real.free(p);
}

FA_EXPORT void *realloc(void *p, size_t n)
{
	if (fa_bootstrapping())
		return NULL;
	if (fa_in_arena(p)) {
		/* A block of the arena: its size is unknown, copy what the arena holds past it. */
		size_t left = (size_t)(fa_arena + sizeof(fa_arena) - (char *)p);
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < left ? n : left);
		return q;
	}
	/* realloc(p, 0) frees: not an allocation that can fail. */
	if ((p == NULL || n > 0) && fa_fail("realloc", n))
		return NULL;
	return fa_real.realloc(p, n);
}

FA_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * m);
}

FA_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (fa_bootstrapping())
		return ENOMEM;
	if (fa_fail("posix_memalign", n))
		return ENOMEM;
	return fa_real.posix_memalign(out, align, n);
}

FA_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (fa_bootstrapping() || fa_fail("aligned_alloc", n))
		return NULL;
	return fa_real.aligned_alloc(align, n);
}

FA_EXPORT void *memalign(size_t align, size_t n)
{
	if (fa_bootstrapping() || fa_fail("memalign", n))
		return NULL;
	return fa_real.memalign(align, n);
}

FA_EXPORT void *valloc(size_t n)
{
	if (fa_bootstrapping() || fa_fail("valloc", n))
		return NULL;
	return fa_real.valloc(n);
}

FA_EXPORT void *pvalloc(size_t n)
{
	if (fa_bootstrapping() || fa_fail("pvalloc", n))
		return NULL;
	return fa_real.pvalloc(n);
}

FA_EXPORT char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

FA_EXPORT char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}
