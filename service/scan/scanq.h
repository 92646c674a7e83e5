/* scanq.h: the queue of directories that a scan's workers share. */
#ifndef LEINDEX_SCANQ_H
#define LEINDEX_SCANQ_H

#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"

/*
 * A LIFO of work items plus a count of outstanding items: pushed and not yet retired, whether
 * waiting or being worked on. Workers pop (blocking), work, push what they found, then retire the
 * item with scanq_retire(). The scan is over when the count reaches zero: the retiring worker
 * wakes everyone and every scanq_pop() returns NULL. Nobody holds anything while waiting, so the
 * pool can never deadlock on its own children, whatever the depth or the number of workers.
 *
 * LIFO keeps the queue short (depth-first) and the parent directories' descriptors few.
 * All functions are thread-safe. The queue never owns items' memory: the caller does.
 */

/** Embed this in a work item; the queue links items through it. */
struct scanq_item {
	struct scanq_item *next;
};

struct scanq;

int scanq_create(struct scanq **out, struct errbuf *err);

/** Frees the queue; items still in it are the caller's (pop them with scanq_drain()). */
void scanq_destroy(struct scanq *q);

/** Adds an item; counts it as outstanding until retired. */
void scanq_push(struct scanq *q, struct scanq_item *item);

/**
 * Takes the newest item, blocking while the queue is empty but work is outstanding. NULL: the
 * work is over or the queue was cancelled.
 */
struct scanq_item *scanq_pop(struct scanq *q);

/** Marks a popped item's work finished (after its children were pushed). */
void scanq_retire(struct scanq *q);

/** Ends the scan early: every scanq_pop() returns NULL from now on. */
void scanq_cancel(struct scanq *q);

/** After the workers stopped: removes one leftover item (NULL when empty), for freeing. */
struct scanq_item *scanq_drain(struct scanq *q);

/** Items waiting plus items being worked on. */
uint64_t scanq_outstanding(struct scanq *q);

/** The most items ever waiting at once. */
uint64_t scanq_peak(struct scanq *q);

#endif
