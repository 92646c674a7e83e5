/* scanq.c: a mutex-protected LIFO with an outstanding-work count (see scanq.h). */
#include "service/scan/scanq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct scanq {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct scanq_item *head;
	uint64_t waiting;     /* items in the list */
	uint64_t outstanding; /* items pushed and not yet retired */
	uint64_t peak;
	bool cancelled;
};

int scanq_create(struct scanq **out, struct errbuf *err)
{
	struct scanq *q = calloc(1, sizeof(*q));
	if (!q)
		return errbuf_errno(err, ENOMEM, "allocating the directory queue");
	int rc = pthread_mutex_init(&q->lock, NULL);
	if (rc) {
		free(q);
		return errbuf_errno(err, rc, "creating the directory queue's mutex");
	}
	rc = pthread_cond_init(&q->wake, NULL);
	if (rc) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return errbuf_errno(err, rc, "creating the directory queue's condition variable");
	}
	*out = q;
	return 0;
}

void scanq_destroy(struct scanq *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void scanq_push(struct scanq *q, struct scanq_item *item)
{
	pthread_mutex_lock(&q->lock);
	item->next = q->head;
	q->head = item;
	q->outstanding++;
	if (++q->waiting > q->peak)
		q->peak = q->waiting;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

struct scanq_item *scanq_pop(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	while (!q->head && q->outstanding > 0 && !q->cancelled)
		pthread_cond_wait(&q->wake, &q->lock);
	struct scanq_item *item = NULL;
	if (!q->cancelled && q->head) {
		item = q->head;
		q->head = item->next;
		q->waiting--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void scanq_retire(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	if (--q->outstanding == 0)
		pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void scanq_cancel(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	q->cancelled = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

struct scanq_item *scanq_drain(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	struct scanq_item *item = q->head;
	if (item) {
		q->head = item->next;
		q->waiting--;
		q->outstanding--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

uint64_t scanq_outstanding(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t n = q->outstanding;
	pthread_mutex_unlock(&q->lock);
	return n;
}

uint64_t scanq_peak(struct scanq *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t n = q->peak;
	pthread_mutex_unlock(&q->lock);
	return n;
}
