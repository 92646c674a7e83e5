/* job_events.h: the event bus of scans (created, started, progress, ...): bounded, thread-safe. */
#ifndef LEINDEX_JOB_EVENTS_H
#define LEINDEX_JOB_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"

/*
 * Design. The job manager publishes what happens to scans (jobev_publish()); the HTTP event
 * streams (api/events.c) read it. Events go into one ring, each with a sequence number (1, 2,
 * ...) and its data, a JSON object text copied in. The ring keeps at most max_events events and
 * max_bytes bytes of data: publishing past either bound evicts the oldest. Readers hold nothing
 * in the bus: each keeps a cursor, the sequence number of the next event it wants, and copies
 * events out under the lock. A reader whose cursor fell behind the oldest event kept learns how
 * many it missed (JOBEV_LAGGED) and goes on from the oldest. So the memory of the bus is bounded
 * whatever the readers do: a slow or stalled reader costs its own lag, never memory.
 *
 * Calling sequence: jobev_create(); jobev_publish() from any thread; jobev_head(), jobev_next(),
 * jobev_pending(), jobev_wait() from any thread; jobev_close() to wake every waiter for good
 * (shutdown); jobev_destroy() once no thread uses the bus.
 *
 * Thread safety: every function but jobev_destroy() is thread-safe. The bus's lock is a leaf:
 * no other lock is taken while it is held and no callback runs under it, so a publisher may hold
 * its own locks (the job manager publishes under jq->lock). Costs: publishing is O(1) plus the
 * copy (and the evictions it causes); jobev_next() and jobev_pending() look at the events
 * between the cursor and the newest, skipping those the filter refuses.
 */

struct jobev_bus;

/** What happened. */
enum jobev_kind {
	JOBEV_CREATED = 0, /**< a scan was submitted (queued) */
	JOBEV_STARTED,     /**< a scan started running */
	JOBEV_PROGRESS,    /**< a running scan's counts (about once a second) */
	JOBEV_SLOW_DIR,    /**< a running scan met directories over its slow threshold */
	JOBEV_FINISHED,    /**< a scan ended (its final record is written) */
	JOBEV_DELETED,     /**< a scan was deleted */
	JOBEV_KIND_COUNT,
};

/** "created", "started", "progress", "slow_dir", "finished", "deleted". */
const char *jobev_kind_name(enum jobev_kind kind);

/** Defaults of struct jobev_opts. */
#define JOBEV_MAX_EVENTS_DEFAULT 4096
#define JOBEV_MAX_BYTES_DEFAULT (4u << 20)

/** Bounds of the bus; 0 fields take the defaults. */
struct jobev_opts {
	size_t max_events;
	size_t max_bytes;
};

/** One event as a reader gets it: `data` is a malloc'ed copy, owned by the reader. */
struct jobev {
	uint64_t seq;
	enum jobev_kind kind;
	uint64_t scan_id;
	char *data;
	size_t len;
};

/** Frees what jobev_next() put in `e` and zeroes it. NULL is fine. */
void jobev_clear(struct jobev *e);

/** What a reader wants: the events of one scan (scan_id != 0) and of some kinds (a mask). */
struct jobev_filter {
	uint64_t scan_id;  /**< 0: every scan */
	unsigned kinds;    /**< bit (1u << kind) per kind wanted; 0: every kind */
};

/** What jobev_next() found. */
enum jobev_status {
	JOBEV_NONE = 0, /**< nothing new that the filter takes; the cursor is at the head */
	JOBEV_EVENT,    /**< an event, copied out; the cursor is past it */
	JOBEV_LAGGED,   /**< events after the cursor were evicted: *missed of them; cursor moved */
};

int jobev_create(struct jobev_bus **out, const struct jobev_opts *opts, struct errbuf *err);

/** Frees the bus and its events. NULL is fine. No thread may use it any more. */
void jobev_destroy(struct jobev_bus *b);

/**
 * Appends an event with a copy of data[0..len) (a JSON object text), evicting the oldest as the
 * bounds need, and wakes the waiters. Returns the event's sequence number, or 0 when it could
 * not be kept (out of memory, or bigger than max_bytes alone): readers then never see it, and
 * jobev_counts() counts it.
 */
uint64_t jobev_publish(struct jobev_bus *b, enum jobev_kind kind, uint64_t scan_id,
		       const char *data, size_t len);

/** The sequence number the next event will have: a new reader starts its cursor here. */
uint64_t jobev_head(struct jobev_bus *b);

/**
 * Reads the first event at or after *cursor that `f` takes (NULL: any). JOBEV_EVENT: `out` is
 * filled and *cursor is past it; JOBEV_NONE: *cursor is the head; JOBEV_LAGGED: *missed events
 * were evicted before the reader got to them, and *cursor is the oldest kept (call again).
 * -ENOMEM when the copy could not be made (the cursor is left on the event).
 */
int jobev_next(struct jobev_bus *b, const struct jobev_filter *f, uint64_t *cursor,
	       struct jobev *out, uint64_t *missed);

/**
 * Whether jobev_next() would give an event or a lag now; moves *cursor past the events `f`
 * refuses, without copying anything (to decide whether a reader should wake).
 */
bool jobev_pending(struct jobev_bus *b, const struct jobev_filter *f, uint64_t *cursor);

/**
 * Waits until an event with a sequence number >= `cursor` exists (1), the CLOCK_MONOTONIC
 * instant `deadline_ns` passes (0), or the bus is closed (-ESHUTDOWN).
 */
int jobev_wait(struct jobev_bus *b, uint64_t cursor, int64_t deadline_ns);

/** Wakes every waiter, now and later (jobev_wait() answers -ESHUTDOWN). Publishing still works. */
void jobev_close(struct jobev_bus *b);

/** Figures of the bus since it was created. */
struct jobev_counts {
	uint64_t published; /**< events kept */
	uint64_t lost;      /**< events that could not be kept (jobev_publish() returned 0) */
	uint64_t evicted;   /**< events pushed out by the bounds */
	size_t events, bytes; /**< held now */
};

void jobev_counts(struct jobev_bus *b, struct jobev_counts *out);

#endif
