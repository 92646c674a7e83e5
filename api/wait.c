/* wait.c: requests suspended until a scan finishes (?wait=, cancel), resumed by one thread. */
#include "api/api.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

/*
 * Design. A handler that must wait (GET /scans/{id}?wait=N, a cancel waiting for the scan to
 * stop) suspends its connection with MHD_suspend_connection() instead of blocking: a blocked
 * handler would stall every other connection of its MHD pool thread, /healthz included. The
 * waiter thread ("api-wait") resumes a request when its scan is finished (the job manager's
 * finish callback wakes it) or its deadline passed; MHD then calls the handler again with
 * req->resumed set, and it answers with the scan as it is.
 *
 * MHD_stop_daemon() must never see a suspended connection, so api_waiters_stop() refuses new
 * suspensions and resumes every one before the daemon stops.
 *
 * Lock order: waiters lock, then the jobq lock (jobq_live()). The jobq calls
 * api_waiters_notify() without its own lock held.
 */

struct api_waiters {
	struct api_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool lock_ok, cond_ok;
	struct api_req *head;
	bool stop, dirty;
	pthread_t thread;
	bool started;
};

/* Under the lock: unlinks and resumes `req`. */
static void api_waiters_resume(struct api_waiters *w, struct api_req **link)
{
	struct api_req *req = *link;
	*link = req->wait_next;
	req->wait_next = NULL;
	req->suspended = false;
	req->resumed = true;
	MHD_resume_connection(req->conn);
	(void)w;
}

static void *api_waiters_main(void *arg)
{
	struct api_waiters *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		int64_t now = clock_mono_ns();
		int64_t next = now + 1000000000; /* a slow poll besides the notifications */
		w->dirty = false;
		for (struct api_req **link = &w->head; *link;) {
			struct api_req *req = *link;
			struct jobq_live live;
			int lv = jobq_live(w->ctx->jobq, req->id, &live);
			if (lv != 1 || scan_state_finished(live.state) || req->wait_deadline_ns <= now) {
				api_waiters_resume(w, link);
				continue;
			}
			if (req->wait_deadline_ns < next)
				next = req->wait_deadline_ns;
			link = &req->wait_next;
		}
		if (w->dirty || w->stop)
			continue;
		struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	while (w->head)
		api_waiters_resume(w, &w->head);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int api_waiters_create(struct api_waiters **out, struct api_ctx *ctx, struct errbuf *err)
{
	*out = NULL;
	struct api_waiters *w = calloc(1, sizeof(*w));
	if (!w)
		return errbuf_errno(err, ENOMEM, "creating the request waiters");
	w->ctx = ctx;
	int rc;
	if ((rc = pthread_mutex_init(&w->lock, NULL)) != 0)
		goto fail;
	w->lock_ok = true;
	if ((rc = clock_cond_init(&w->cond)) != 0)
		goto fail;
	w->cond_ok = true;
	if ((rc = pthread_create(&w->thread, NULL, api_waiters_main, w)) != 0)
		goto fail;
	w->started = true;
	pthread_setname_np(w->thread, "api-wait");
	*out = w;
	return 0;
fail:
	api_waiters_destroy(w);
	return errbuf_errno(err, rc, "creating the request waiters");
}

void api_waiters_stop(struct api_waiters *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void api_waiters_destroy(struct api_waiters *w)
{
	if (!w)
		return;
	api_waiters_stop(w);
	if (w->cond_ok)
		pthread_cond_destroy(&w->cond);
	if (w->lock_ok)
		pthread_mutex_destroy(&w->lock);
	free(w);
}

void api_waiters_notify(void *arg, uint64_t id)
{
	(void)id;
	struct api_waiters *w = arg;
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->dirty = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int api_waiters_suspend(struct api_waiters *w, struct api_req *req, int64_t deadline_ns)
{
	pthread_mutex_lock(&w->lock);
	if (w->stop || !w->started) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	req->wait_deadline_ns = deadline_ns;
	req->wait_next = w->head;
	w->head = req;
	req->suspended = true;
	MHD_suspend_connection(req->conn);
	w->dirty = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}
