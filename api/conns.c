/* conns.c: the request deadline's watchdog (see conns.h). */
#include "api/conns.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/log.h"

/* How often the watchdog looks: a tenth of the deadline, between 50 ms and 1 s. */
#define API_CONNS_TICK_MIN_NS 50000000LL
#define API_CONNS_TICK_MAX_NS 1000000000LL

/** One open connection. */
struct api_conns_rec {
	int fd;
	/** When its current request started to arrive (CLOCK_MONOTONIC), or 0 while it is served. */
	int64_t since_ns;
	/** Shut down already (cut once). */
	bool cut;
	struct api_conns_rec *prev, *next;
};

struct api_conns {
	int64_t deadline_ns, tick_ns;
	pthread_mutex_t lock; /**< guards the list, the records and `stop` */
	pthread_cond_t wake;
	struct api_conns_rec *head;
	bool stop;
	uint64_t cut_total;
	pthread_t thread;
	bool started;
};

/* Shuts down the sockets whose request is late. Under the lock. */
static void api_conns_sweep_locked(struct api_conns *c, int64_t now)
{
	for (struct api_conns_rec *r = c->head; r; r = r->next) {
		if (r->cut || r->since_ns == 0 || now - r->since_ns < c->deadline_ns)
			continue;
		/* The socket is still open: libmicrohttpd closes it only after api_conns_closed(). */
		shutdown(r->fd, SHUT_RDWR);
		r->cut = true;
		c->cut_total++;
		LOG_EV(LOG_WARN, "connection cut: its request was not received in time",
		       LOG_DBL("deadline_seconds", (double)c->deadline_ns / 1e9));
	}
}

static void *api_conns_main(void *arg)
{
	struct api_conns *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct timespec until = clock_deadline(c->tick_ns);
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
		if (!c->stop)
			api_conns_sweep_locked(c, clock_mono_ns());
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int api_conns_create(struct api_conns **out, int64_t deadline_ns, struct errbuf *err)
{
	*out = NULL;
	struct api_conns *c = calloc(1, sizeof(*c));
	if (!c)
		return errbuf_errno(err, ENOMEM, "starting the request deadline");
	c->deadline_ns = deadline_ns;
	c->tick_ns = deadline_ns / 10;
	if (c->tick_ns < API_CONNS_TICK_MIN_NS)
		c->tick_ns = API_CONNS_TICK_MIN_NS;
	if (c->tick_ns > API_CONNS_TICK_MAX_NS)
		c->tick_ns = API_CONNS_TICK_MAX_NS;
	int rc = pthread_mutex_init(&c->lock, NULL);
	if (rc != 0) {
		free(c);
		return errbuf_errno(err, rc, "starting the request deadline");
	}
	rc = clock_cond_init(&c->wake);
	if (rc != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return errbuf_errno(err, rc, "starting the request deadline");
	}
	rc = pthread_create(&c->thread, NULL, api_conns_main, c);
	if (rc != 0) {
		api_conns_destroy(c);
		return errbuf_errno(err, rc, "starting the request deadline's thread");
	}
	c->started = true;
	pthread_setname_np(c->thread, "http-deadline");
	*out = c;
	return 0;
}

void api_conns_destroy(struct api_conns *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	while (c->head) {
		struct api_conns_rec *r = c->head;
		c->head = r->next;
		free(r);
	}
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void api_conns_opened(struct api_conns *c, int fd, void **slot)
{
	struct api_conns_rec *r = calloc(1, sizeof(*r));
	*slot = r;
	if (!r)
		return; /* out of memory: this connection goes untimed, like before */
	r->fd = fd;
	r->since_ns = clock_mono_ns();
	pthread_mutex_lock(&c->lock);
	r->next = c->head;
	if (c->head)
		c->head->prev = r;
	c->head = r;
	pthread_mutex_unlock(&c->lock);
}

void api_conns_closed(struct api_conns *c, void **slot)
{
	struct api_conns_rec *r = *slot;
	if (!r)
		return;
	pthread_mutex_lock(&c->lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	pthread_mutex_unlock(&c->lock);
	free(r);
	*slot = NULL;
}

void api_conns_request_whole(struct api_conns *c, void *rec)
{
	struct api_conns_rec *r = rec;
	if (!r)
		return;
	pthread_mutex_lock(&c->lock);
	r->since_ns = 0;
	pthread_mutex_unlock(&c->lock);
}

void api_conns_answered(struct api_conns *c, void *rec)
{
	struct api_conns_rec *r = rec;
	if (!r)
		return;
	pthread_mutex_lock(&c->lock);
	r->since_ns = clock_mono_ns();
	pthread_mutex_unlock(&c->lock);
}

uint64_t api_conns_cut_count(struct api_conns *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->cut_total;
	pthread_mutex_unlock(&c->lock);
	return n;
}
