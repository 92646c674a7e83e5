/* job_events.c: the event bus of scans: a bounded ring of events and cursors (see job_events.h). */
#include "service/job/job_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

/*
 * The ring holds the events with sequence numbers [head - count, head) in slots[seq % cap]. All
 * fields are under `lock`; `cond` (CLOCK_MONOTONIC) wakes jobev_wait() on each publish and on
 * close.
 */
struct jobev_bus {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool lock_ok, cond_ok;
	struct jobev *slots;
	size_t cap, max_bytes;
	uint64_t head;  /**< the next sequence number; the first event is 1 */
	size_t count;   /**< events held */
	size_t bytes;   /**< their data bytes */
	bool closed;
	uint64_t published, lost, evicted;
};

static const char *const jobev_names[JOBEV_KIND_COUNT] = {
	"created", "started", "progress", "slow_dir", "finished", "deleted",
};

const char *jobev_kind_name(enum jobev_kind kind)
{
	return (unsigned)kind < JOBEV_KIND_COUNT ? jobev_names[kind] : "unknown";
}

void jobev_clear(struct jobev *e)
{
	if (!e)
		return;
	free(e->data);
	memset(e, 0, sizeof(*e));
}

int jobev_create(struct jobev_bus **out, const struct jobev_opts *opts, struct errbuf *err)
{
	*out = NULL;
	struct jobev_bus *b = calloc(1, sizeof(*b));
	if (!b)
		return errbuf_errno(err, ENOMEM, "creating the event bus");
	b->cap = opts && opts->max_events ? opts->max_events : JOBEV_MAX_EVENTS_DEFAULT;
	b->max_bytes = opts && opts->max_bytes ? opts->max_bytes : JOBEV_MAX_BYTES_DEFAULT;
	b->head = 1;
	int rc = ENOMEM;
	if (!(b->slots = calloc(b->cap, sizeof(*b->slots))))
		goto fail;
	if ((rc = pthread_mutex_init(&b->lock, NULL)) != 0)
		goto fail;
	b->lock_ok = true;
	if ((rc = clock_cond_init(&b->cond)) != 0)
		goto fail;
	b->cond_ok = true;
	*out = b;
	return 0;
fail:
	jobev_destroy(b);
	return errbuf_errno(err, rc, "creating the event bus (%zu events)",
			    opts && opts->max_events ? opts->max_events : JOBEV_MAX_EVENTS_DEFAULT);
}

void jobev_destroy(struct jobev_bus *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->slots && i < b->cap; i++)
		free(b->slots[i].data);
	free(b->slots);
	if (b->cond_ok)
		pthread_cond_destroy(&b->cond);
	if (b->lock_ok)
		pthread_mutex_destroy(&b->lock);
	free(b);
}

/* Evicts the oldest event. Under the lock, count > 0. */
static void jobev_evict_locked(struct jobev_bus *b)
{
	struct jobev *e = &b->slots[(b->head - b->count) % b->cap];
	b->bytes -= e->len;
	jobev_clear(e);
	b->count--;
	b->evicted++;
}

uint64_t jobev_publish(struct jobev_bus *b, enum jobev_kind kind, uint64_t scan_id,
		       const char *data, size_t len)
{
	if (!b)
		return 0;
	/* The copy is made before the lock: the lock is held for pointer moves only. */
	char *copy = len <= b->max_bytes ? malloc(len + 1) : NULL;
	if (copy) {
		memcpy(copy, data, len);
		copy[len] = '\0';
	}
	pthread_mutex_lock(&b->lock);
	if (!copy) {
		b->lost++;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	while (b->count > 0 && (b->count == b->cap || b->bytes + len > b->max_bytes))
		jobev_evict_locked(b);
	uint64_t seq = b->head++;
	b->slots[seq % b->cap] = (struct jobev){.seq = seq, .kind = kind, .scan_id = scan_id,
						.data = copy, .len = len};
	b->count++;
	b->bytes += len;
	b->published++;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return seq;
}

uint64_t jobev_head(struct jobev_bus *b)
{
	pthread_mutex_lock(&b->lock);
	uint64_t h = b->head;
	pthread_mutex_unlock(&b->lock);
	return h;
}

static bool jobev_takes(const struct jobev_filter *f, const struct jobev *e)
{
	if (!f)
		return true;
	if (f->scan_id && e->scan_id != f->scan_id)
		return false;
	return !f->kinds || (f->kinds & (1u << e->kind));
}

/*
 * Under the lock: moves *cursor to the first event the filter takes (or the head). Returns the
 * number of events missed when the cursor was behind the oldest kept (it is then moved to the
 * oldest and nothing else is done), else 0.
 */
static uint64_t jobev_seek_locked(struct jobev_bus *b, const struct jobev_filter *f,
				  uint64_t *cursor)
{
	uint64_t oldest = b->head - b->count;
	if (*cursor < oldest) {
		uint64_t missed = oldest - *cursor;
		*cursor = oldest;
		return missed;
	}
	if (*cursor > b->head)
		*cursor = b->head; /* a cursor from the future (a client's Last-Event-ID) */
	while (*cursor < b->head && !jobev_takes(f, &b->slots[*cursor % b->cap]))
		(*cursor)++;
	return 0;
}

int jobev_next(struct jobev_bus *b, const struct jobev_filter *f, uint64_t *cursor,
	       struct jobev *out, uint64_t *missed)
{
	memset(out, 0, sizeof(*out));
	*missed = 0;
	pthread_mutex_lock(&b->lock);
	uint64_t lag = jobev_seek_locked(b, f, cursor);
	if (lag) {
		pthread_mutex_unlock(&b->lock);
		*missed = lag;
		return JOBEV_LAGGED;
	}
	if (*cursor == b->head) {
		pthread_mutex_unlock(&b->lock);
		return JOBEV_NONE;
	}
	const struct jobev *e = &b->slots[*cursor % b->cap];
	char *copy = malloc(e->len + 1);
	if (!copy) {
		pthread_mutex_unlock(&b->lock);
		return -ENOMEM;
	}
	memcpy(copy, e->data, e->len + 1);
	*out = (struct jobev){.seq = e->seq, .kind = e->kind, .scan_id = e->scan_id, .data = copy,
			      .len = e->len};
	*cursor = e->seq + 1;
	pthread_mutex_unlock(&b->lock);
	return JOBEV_EVENT;
}

bool jobev_pending(struct jobev_bus *b, const struct jobev_filter *f, uint64_t *cursor)
{
	pthread_mutex_lock(&b->lock);
	uint64_t before = *cursor;
	uint64_t lag = jobev_seek_locked(b, f, cursor);
	if (lag)
		*cursor = before; /* jobev_next() must see the lag to report it */
	bool any = lag || *cursor < b->head;
	pthread_mutex_unlock(&b->lock);
	return any;
}

int jobev_wait(struct jobev_bus *b, uint64_t cursor, int64_t deadline_ns)
{
	struct timespec ts = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
	int ret = 0;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		if (b->closed) {
			ret = -ESHUTDOWN;
			break;
		}
		if (b->head > cursor) {
			ret = 1;
			break;
		}
		if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT) {
			ret = b->closed ? -ESHUTDOWN : b->head > cursor ? 1 : 0;
			break;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void jobev_close(struct jobev_bus *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->closed = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void jobev_counts(struct jobev_bus *b, struct jobev_counts *out)
{
	pthread_mutex_lock(&b->lock);
	*out = (struct jobev_counts){.published = b->published, .lost = b->lost,
				     .evicted = b->evicted, .events = b->count, .bytes = b->bytes};
	pthread_mutex_unlock(&b->lock);
}
