/* scanio.c: the elastic I/O threads: more directory reads in flight while they wait on the device.
 *
 * Design
 * ------
 * Warm, a scan is CPU-bound: `workers` threads (one per CPU) are the fastest. Cold (the first
 * scan after a boot, a fresh mount, a network or virtual disk), every open, getdents and statx
 * waits on the device, and a device answers many requests in flight sooner than one at a time,
 * whatever the number of CPUs: 16 threads read a cold tree twice as fast as 2 on 2 CPUs. So a
 * scan also starts `io_depth` I/O threads that run the very same code as the workers
 * (scandir_process(): the same confinement, the same results) on the same queue, but sleep on a
 * gate while reads do not block. io_uring would keep requests in flight without threads, but the
 * seccomp profiles we are deployed under (Docker's default, Kubernetes' RuntimeDefault, systemd's
 * @system-service) refuse it; threads work everywhere.
 *
 *   workers (CPU)   ──pop──▶ scanq ◀──pop── I/O threads (asleep while the gate is closed)
 *        │                                        ▲
 *        └── scanio_note(time, names) ──▶ score ──┘ opens / closes the gate
 *
 * The gate is fed by every directory read (scandir_account()): one that took at least
 * SCANIO_SLOW_DIR_NS and SCANIO_SLOW_ENTRY_NS per name (warm, here: 4 µs per name at the median,
 * 34 µs at the 99th percentile; cold: 28 µs at the median) adds SCANIO_SLOW_WEIGHT to a score, a
 * fast one takes 1 off; the gate opens at SCANIO_OPEN_SCORE (a few slow directories close
 * together; a lone one, a thread preempted on a busy machine, does not) and closes when the
 * score is back to 0 (a run of fast directories). Time is the test while the gate is closed,
 * since it costs nothing (a clock read the latency figures take anyway). Once it is open, more
 * threads than CPUs make every read slower without any wait on the device, so time would keep
 * the gate open on a warm cache: then a directory is slow when reading it put the thread to
 * sleep (voluntary context switches, getrusage(RUSAGE_THREAD): two calls of ~1.5 µs, paid only
 * while the gate is open, for one directory in SCANIO_SAMPLE; the others leave the score as it
 * is).
 *
 * Nothing changes in how work is shared (scanq.h): an I/O thread holds nothing while it sleeps
 * on the gate or waits in scanq_pop(), so more threads cannot deadlock the pool; the descriptor
 * budget counts them (scanfd.c); the first worker whose pop returns NULL (the scan is over or
 * cancelled) wakes them for good (scanio_finish()). They are created the first time the gate
 * opens (by the worker that opens it): a warm scan never creates them.
 */
#include "service/scan/scan_internal.h"

#include <string.h>
#include <sys/resource.h>

#include "base/log.h"

/* A directory read faster than this is never slow (noise of the clock and of the scheduler). */
#define SCANIO_SLOW_DIR_NS 100000u
/* ...and one reading slower than this per name (plus one, for the open) waited on the device. */
#define SCANIO_SLOW_ENTRY_NS 20000u
/* With the gate open: reading the directory put the thread to sleep at least this often. */
#define SCANIO_BLOCKED_MIN 1
#define SCANIO_SLOW_WEIGHT 4
#define SCANIO_OPEN_SCORE 12
#define SCANIO_MAX_SCORE 64
/* With the gate open, one directory in this many is measured (two getrusage calls): cold, on a
 * virtual machine, a system call is dear, and these were one in nine of the scan's. */
#define SCANIO_SAMPLE 4u

/* Under io_lock: starts the I/O threads unless started already or the scan is over. */
static void scanio_start_locked(struct scanner *sc)
{
	if (sc->io_started || sc->io_done)
		return;
	sc->io_started = true;
	int rc;
	unsigned n = scanner_start_threads(sc, sc->nworkers, sc->nthreads, &rc);
	if (n < sc->nio) /* fewer threads in flight; the scan goes on */
		LOG_EV(LOG_WARN, "scan io", LOG_STR("scan", sc->log_tag),
		       LOG_U64("io_threads", n), LOG_U64("asked", sc->nio),
		       LOG_STR("error", strerror(rc)));
}

void scanio_start(struct scanner *sc)
{
	pthread_mutex_lock(&sc->io_lock);
	scanio_start_locked(sc);
	pthread_mutex_unlock(&sc->io_lock);
}

static void scanio_open_gate(struct scanner *sc)
{
	pthread_mutex_lock(&sc->io_lock);
	scanio_start_locked(sc);
	if (!atomic_load(&sc->io_open)) {
		atomic_store(&sc->io_open, true);
		atomic_fetch_add_explicit(&sc->io_wakeups, 1, memory_order_relaxed);
		pthread_cond_broadcast(&sc->io_gate);
	}
	pthread_mutex_unlock(&sc->io_lock);
}

/* Voluntary context switches of the calling thread so far (it slept: on I/O, or a lock). */
static long scanio_blocks(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

void scanio_dir_start(struct scan_worker *w)
{
	struct scanner *sc = w->sc;
	w->io_measured = sc->nio > 0 && !sc->io_forced &&
			 atomic_load_explicit(&sc->io_open, memory_order_relaxed) &&
			 w->io_tick++ % SCANIO_SAMPLE == 0;
	if (w->io_measured)
		w->io_blocks = scanio_blocks();
}

long scanio_sleeps_begin(struct scan_worker *w)
{
	return w->io_measured ? scanio_blocks() : 0;
}

void scanio_sleeps_end(struct scan_worker *w, long begun)
{
	if (w->io_measured)
		w->io_blocks += scanio_blocks() - begun;
}

void scanio_note(struct scan_worker *w, uint64_t spent, size_t count)
{
	struct scanner *sc = w->sc;
	if (sc->nio == 0 || sc->io_forced)
		return;
	bool slow = spent >= SCANIO_SLOW_DIR_NS &&
		    spent >= ((uint64_t)count + 1) * SCANIO_SLOW_ENTRY_NS;
	/* With more threads than CPUs, time says little: did the reads put the thread to sleep?
	 * Asked of one directory in SCANIO_SAMPLE; the others say nothing while the gate is open. */
	if (!w->io_measured && atomic_load_explicit(&sc->io_open, memory_order_relaxed))
		return;
	if (w->io_measured)
		slow = spent >= SCANIO_SLOW_DIR_NS &&
		       scanio_blocks() - w->io_blocks >= SCANIO_BLOCKED_MIN;
	if (slow) {
		int s = atomic_fetch_add(&sc->io_score, SCANIO_SLOW_WEIGHT) + SCANIO_SLOW_WEIGHT;
		if (s > SCANIO_MAX_SCORE) /* racy but bounded: concurrent adds overshoot a little */
			atomic_store(&sc->io_score, SCANIO_MAX_SCORE);
		if (s >= SCANIO_OPEN_SCORE && !atomic_load_explicit(&sc->io_open, memory_order_relaxed))
			scanio_open_gate(sc);
		return;
	}
	int s = atomic_load_explicit(&sc->io_score, memory_order_relaxed);
	while (s > 0 && !atomic_compare_exchange_weak(&sc->io_score, &s, s - 1))
		;
	/* Closed without a lock: a sleeping thread only checks it again when woken. */
	if (s == 1 && atomic_load_explicit(&sc->io_open, memory_order_relaxed))
		atomic_store(&sc->io_open, false);
}

bool scanio_wait_gate(struct scanner *sc)
{
	if (atomic_load(&sc->io_open) || sc->io_forced)
		return !scan_cancelled(sc);
	pthread_mutex_lock(&sc->io_lock);
	while (!sc->io_done && !atomic_load(&sc->io_open))
		pthread_cond_wait(&sc->io_gate, &sc->io_lock);
	bool go = !sc->io_done;
	pthread_mutex_unlock(&sc->io_lock);
	return go && !scan_cancelled(sc);
}

void scanio_finish(struct scanner *sc)
{
	pthread_mutex_lock(&sc->io_lock);
	sc->io_done = true;
	pthread_cond_broadcast(&sc->io_gate);
	pthread_mutex_unlock(&sc->io_lock);
}

unsigned scanio_active(struct scanner *sc)
{
	return sc->io_forced || atomic_load_explicit(&sc->io_open, memory_order_relaxed) ? sc->nio
											 : 0;
}

void scanio_log_path(struct scanner *sc)
{
	if (sc->nio == 0)
		LOG_EV(LOG_INFO, "scan io", LOG_STR("scan", sc->log_tag),
		       LOG_STR("path", "workers only (io_depth 0): no I/O threads"),
		       LOG_U64("workers", sc->nworkers));
	else
		LOG_EV(LOG_INFO, "scan io", LOG_STR("scan", sc->log_tag),
		       LOG_STR("path", sc->io_forced ? "I/O threads always on (LEINDEX_SCAN_IO=open)"
						     : "I/O threads on demand, woken while reads "
						       "wait on the device"),
		       LOG_U64("workers", sc->nworkers), LOG_U64("io_threads", sc->nio));
}
