/* events.c: Server-Sent Events: GET /scans/{id}/events and GET /events, without a thread each. */
#include "api/api.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

/*
 * Design. A stream is an MHD response whose content comes from a callback (api_stream_read())
 * called on the connection's MHD pool thread whenever the socket can take more. The callback
 * copies the next event out of the job manager's event bus (job_events.h) into the stream's
 * one-event buffer and hands it over; when the bus has nothing new for the stream, it suspends
 * the connection (MHD_suspend_connection(), allowed from a content reader) and returns 0. A
 * suspended connection costs no thread and is not polled: 200 idle streams are 200 small
 * structs. One hub thread ("api-events") waits on the bus (jobev_wait()) and on the streams'
 * keep-alive deadlines, and resumes each suspended stream that has an event to read, a comment
 * line due (every API_EVENTS_KEEPALIVE_S, so proxies and clients see an idle stream alive), or
 * the server stopping.
 *
 * No wake-up is lost: a stream suspends itself under the hub's lock after jobev_pending() said
 * nothing is there, and the hub thread checks the suspended streams under the same lock after
 * every change of the bus's head; a publish between the two makes the hub's next wait return at
 * once.
 *
 * Memory is bounded per stream whatever the client does: a stream holds one rendered event at a
 * time and reads the bus only when its socket took the previous one. A client that reads slower
 * than events come falls behind in the bus, which drops what it cannot keep: the stream then
 * sends a `dropped` event saying how many it missed and goes on (a scan's own stream re-reads
 * the scan, so a `finished` it missed still ends it). A client that stops reading is closed by
 * libmicrohttpd's idle timeout.
 *
 * Shutdown (api_events_stop(), before MHD_stop_daemon(), which must never see a suspended
 * connection): no stream may suspend any more, every suspended one is resumed; each then sends
 * what the bus still holds for it (the `finished` of scans the shutdown interrupted) and ends.
 * The hub waits a moment for them to end, then MHD closes what is left.
 *
 * Lock order: hub lock, then the bus's (a leaf); a reader suspends its connection under the hub
 * lock (libmicrohttpd's lock of that connection's thread inside it), while the hub resumes
 * connections only after letting go of its lock, since libmicrohttpd may hold its lock while
 * it frees a response (api_stream_free() takes the hub lock). The reader takes the jobq's lock
 * (a view) without the hub lock.
 */

/** Seconds of silence after which a stream gets a comment line. */
#define API_EVENTS_KEEPALIVE_S 15
/** How long api_events_stop() waits for the resumed streams to end. */
#define API_EVENTS_STOP_GRACE_NS (2 * 1000000000LL)

struct api_stream {
	struct api_events *hub;
	struct MHD_Connection *conn;
	/** The scan of GET /scans/{id}/events, or 0 for GET /events. */
	uint64_t scan_id;
	struct jobev_filter filter;
	uint64_t cursor;
	/** The rendered bytes not yet handed to MHD: out[off..len). */
	char *out;
	size_t len, off, cap;
	/** The last event is rendered: end the stream once it is out. */
	bool closing;
	/** Under the hub lock: suspended by the reader, resumed by the hub. */
	bool suspended;
	/** Under the hub lock: when bytes were last handed over (CLOCK_MONOTONIC). */
	int64_t last_write_ns;
	/** Under the hub lock: the list of every stream. */
	struct api_stream *prev, *next;
	bool linked;
	/** The hub's list of streams to resume once it let go of its lock. */
	struct api_stream *resume_next;
};

struct api_events {
	struct api_ctx *ctx;
	struct jobev_bus *bus;
	pthread_mutex_t lock;
	pthread_cond_t gone_cond; /**< a stream left the list (api_events_stop() waits) */
	bool lock_ok, cond_ok;
	/* Under the lock. */
	struct api_stream *head;
	size_t count;
	bool stopping;
	pthread_t thread;
	bool started;
};

/* ---------------------------------------------------------------- rendering */

/* Makes room for `n` more bytes in the stream's buffer. */
static int api_stream_room(struct api_stream *s, size_t n)
{
	if (s->len + n <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 1024;
	while (cap < s->len + n)
		cap *= 2;
	char *b = realloc(s->out, cap);
	if (!b)
		return -ENOMEM;
	s->out = b;
	s->cap = cap;
	return 0;
}

/* Appends one event: its name, its id (0: none), its data (one line of JSON). */
static int api_stream_put(struct api_stream *s, const char *name, uint64_t id, const char *data,
			  size_t len)
{
	char head[96];
	int hn = id ? snprintf(head, sizeof(head), "event: %s\nid: %" PRIu64 "\ndata: ", name, id)
		    : snprintf(head, sizeof(head), "event: %s\ndata: ", name);
	if (api_stream_room(s, (size_t)hn + len + 2) < 0)
		return -ENOMEM;
	memcpy(s->out + s->len, head, (size_t)hn);
	memcpy(s->out + s->len + hn, data, len);
	memcpy(s->out + s->len + hn + len, "\n\n", 2);
	s->len += (size_t)hn + len + 2;
	return 0;
}

static int api_stream_comment(struct api_stream *s, const char *text)
{
	size_t n = strlen(text);
	if (api_stream_room(s, n) < 0)
		return -ENOMEM;
	memcpy(s->out + s->len, text, n);
	s->len += n;
	return 0;
}

/* The event a scan's stream names a bus event by. */
static const char *api_stream_name(const struct api_stream *s, enum jobev_kind kind)
{
	if (s->scan_id && kind == JOBEV_STARTED)
		return "state";
	return jobev_kind_name(kind);
}

/*
 * Renders scan s->scan_id as it is now: `finished` (and closing) when it is finished, `deleted`
 * when it is gone, else `state` (only when `with_state`). 0 or -ENOMEM.
 */
static int api_stream_scan_now(struct api_stream *s, bool with_state)
{
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(s->hub->ctx->jobq, s->scan_id, 0, &v, &err);
	if (rc == -ENOENT) {
		char d[96];
		int n = snprintf(d, sizeof(d), "{\"scan_id\":%" PRIu64 ",\"state\":\"deleted\"}", s->scan_id);
		s->closing = true;
		jobq_view_clear(&v);
		return api_stream_put(s, "deleted", 0, d, (size_t)n);
	}
	if (rc < 0) {
		jobq_view_clear(&v);
		return rc;
	}
	bool fin = scan_state_finished(v.state);
	if (fin || with_state) {
		char *doc = jobq_view_doc(&v);
		rc = doc ? api_stream_put(s, fin ? "finished" : "state", 0, doc, strlen(doc)) : -ENOMEM;
		free(doc);
		s->closing = fin;
	}
	jobq_view_clear(&v);
	return rc;
}

/*
 * Renders what comes next for the stream into its buffer: 1 when something was rendered, 0 when
 * there is nothing (the caller suspends or ends), -ENOMEM.
 */
static int api_stream_fill(struct api_stream *s)
{
	s->len = s->off = 0;
	struct jobev e;
	uint64_t missed = 0;
	int st = jobev_next(s->hub->bus, &s->filter, &s->cursor, &e, &missed);
	if (st < 0)
		return st;
	if (st == JOBEV_LAGGED) {
		char d[64];
		int n = snprintf(d, sizeof(d), "{\"missed\":%" PRIu64 "}", missed);
		int rc = api_stream_put(s, "dropped", 0, d, (size_t)n);
		/* Its scan may have finished among what was missed: look again. */
		if (rc == 0 && s->scan_id)
			rc = api_stream_scan_now(s, false);
		return rc < 0 ? rc : 1;
	}
	if (st == JOBEV_NONE)
		return 0;
	int rc = api_stream_put(s, api_stream_name(s, e.kind), e.seq, e.data, e.len);
	if (s->scan_id && (e.kind == JOBEV_FINISHED || e.kind == JOBEV_DELETED))
		s->closing = true;
	jobev_clear(&e);
	return rc < 0 ? rc : 1;
}

/* ---------------------------------------------------------------- the reader */

/* Under the hub lock: whether the stream has a comment line due. */
static bool api_stream_keepalive_due(const struct api_stream *s, int64_t now)
{
	return now - s->last_write_ns >= (int64_t)API_EVENTS_KEEPALIVE_S * 1000000000;
}

static ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct api_stream *s = cls;
	struct api_events *h = s->hub;
	for (;;) {
		if (s->off < s->len) {
			size_t n = s->len - s->off < max ? s->len - s->off : max;
			memcpy(buf, s->out + s->off, n);
			s->off += n;
			pthread_mutex_lock(&h->lock);
			s->last_write_ns = clock_mono_ns();
			pthread_mutex_unlock(&h->lock);
			return (ssize_t)n;
		}
		if (s->closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		int rc = api_stream_fill(s);
		if (rc < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* cut: the client sees no final event */
		if (rc > 0)
			continue;
		pthread_mutex_lock(&h->lock);
		int64_t now = clock_mono_ns();
		if (h->stopping) {
			/* Everything the bus held for it is sent: the server is going away. */
			pthread_mutex_unlock(&h->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (api_stream_keepalive_due(s, now)) {
			pthread_mutex_unlock(&h->lock);
			s->len = s->off = 0;
			if (api_stream_comment(s, ": keep-alive\n\n") < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}
		if (jobev_pending(h->bus, &s->filter, &s->cursor)) {
			pthread_mutex_unlock(&h->lock);
			continue;
		}
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
}

/* MHD frees the response: the stream leaves the hub. Never suspended here (see the design). */
static void api_stream_free(void *cls)
{
	struct api_stream *s = cls;
	struct api_events *h = s->hub;
	pthread_mutex_lock(&h->lock);
	if (s->linked) {
		if (s->prev)
			s->prev->next = s->next;
		else
			h->head = s->next;
		if (s->next)
			s->next->prev = s->prev;
		h->count--;
		pthread_cond_broadcast(&h->gone_cond);
	}
	pthread_mutex_unlock(&h->lock);
	free(s->out);
	free(s);
}

/* ---------------------------------------------------------------- the hub thread */

/*
 * Resumes the streams of a list made by api_events_sweep_locked(), without the hub lock:
 * MHD_resume_connection() takes libmicrohttpd's own lock, which its threads may hold while they
 * free a response (api_stream_free() takes the hub lock). A stream taken off `suspended` stays
 * suspended in MHD until resumed here, so MHD cannot free it meanwhile.
 */
static void api_events_resume(struct api_stream *list)
{
	while (list) {
		struct api_stream *s = list;
		list = s->resume_next; /* read before the resume: s may be freed after it */
		s->resume_next = NULL;
		MHD_resume_connection(s->conn);
	}
}

/*
 * Under the lock: takes the suspended streams that are due (an event, a keep-alive, the stop)
 * off `suspended` into *resume, and returns the next keep-alive deadline.
 */
static int64_t api_events_sweep_locked(struct api_events *h, int64_t now,
				       struct api_stream **resume)
{
	int64_t next = now + (int64_t)API_EVENTS_KEEPALIVE_S * 1000000000;
	for (struct api_stream *s = h->head; s; s = s->next) {
		if (!s->suspended)
			continue;
		if (h->stopping || api_stream_keepalive_due(s, now) ||
		    jobev_pending(h->bus, &s->filter, &s->cursor)) {
			s->suspended = false;
			s->resume_next = *resume;
			*resume = s;
			continue;
		}
		int64_t due = s->last_write_ns + (int64_t)API_EVENTS_KEEPALIVE_S * 1000000000;
		if (due < next)
			next = due;
	}
	return next;
}

static void *api_events_main(void *arg)
{
	struct api_events *h = arg;
	uint64_t seen = jobev_head(h->bus);
	int64_t deadline = clock_mono_ns();
	for (;;) {
		int w = jobev_wait(h->bus, seen, deadline);
		/* Read the head before the sweep: a publish during it wakes the next wait. */
		seen = jobev_head(h->bus);
		struct api_stream *resume = NULL;
		pthread_mutex_lock(&h->lock);
		bool stop = h->stopping || w == -ESHUTDOWN;
		if (stop)
			h->stopping = true;
		deadline = api_events_sweep_locked(h, clock_mono_ns(), &resume);
		pthread_mutex_unlock(&h->lock);
		api_events_resume(resume);
		if (stop)
			return NULL;
	}
}

int api_events_create(struct api_events **out, struct api_ctx *ctx, struct jobev_bus *bus,
		      struct errbuf *err)
{
	*out = NULL;
	struct api_events *h = calloc(1, sizeof(*h));
	if (!h)
		return errbuf_errno(err, ENOMEM, "creating the event streams");
	h->ctx = ctx;
	h->bus = bus;
	int rc;
	if ((rc = pthread_mutex_init(&h->lock, NULL)) != 0)
		goto fail;
	h->lock_ok = true;
	if ((rc = clock_cond_init(&h->gone_cond)) != 0)
		goto fail;
	h->cond_ok = true;
	if ((rc = pthread_create(&h->thread, NULL, api_events_main, h)) != 0)
		goto fail;
	h->started = true;
	pthread_setname_np(h->thread, "api-events");
	*out = h;
	return 0;
fail:
	api_events_destroy(h);
	return errbuf_errno(err, rc, "creating the event streams");
}

void api_events_stop(struct api_events *h)
{
	if (!h || !h->started)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_mutex_unlock(&h->lock);
	/* Wakes the hub thread, which resumes every suspended stream and exits. */
	jobev_close(h->bus);
	pthread_join(h->thread, NULL);
	h->started = false;
	/* Give the resumed streams a moment to send their last events and end. */
	struct timespec ts = clock_deadline(API_EVENTS_STOP_GRACE_NS);
	pthread_mutex_lock(&h->lock);
	size_t left = h->count;
	while (h->count > 0 &&
	       pthread_cond_timedwait(&h->gone_cond, &h->lock, &ts) != ETIMEDOUT) {
	}
	/*
	 * Nothing may stay suspended for MHD_stop_daemon(). None should be (stopping is set, so no
	 * stream suspends after the hub's last sweep); this is the belt to those braces.
	 */
	struct api_stream *resume = NULL;
	api_events_sweep_locked(h, clock_mono_ns(), &resume);
	size_t open = h->count;
	pthread_mutex_unlock(&h->lock);
	api_events_resume(resume);
	if (left)
		LOG_EV(LOG_INFO, "event streams ended", LOG_U64("streams", left),
		       LOG_U64("still_open", open));
}

void api_events_destroy(struct api_events *h)
{
	if (!h)
		return;
	api_events_stop(h);
	if (h->cond_ok)
		pthread_cond_destroy(&h->gone_cond);
	if (h->lock_ok)
		pthread_mutex_destroy(&h->lock);
	free(h);
}

/* ---------------------------------------------------------------- the routes */

/* Queues the stream's response (taking `s`): 200 text/event-stream, or 503 when stopping. */
static enum MHD_Result api_stream_start(struct api_req *req, struct api_stream *s)
{
	struct api_events *h = req->ctx->events;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 16 * 1024, api_stream_read, s, api_stream_free);
	if (!resp) {
		free(s->out);
		free(s);
		return api_problem(req, 500, "out of memory starting an event stream");
	}
	bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") == MHD_YES &&
		  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") == MHD_YES &&
		  MHD_add_response_header(resp, "X-Accel-Buffering", "no") == MHD_YES &&
		  MHD_add_response_header(resp, "X-Request-Id", req->request_id) == MHD_YES;
	pthread_mutex_lock(&h->lock);
	bool stopping = h->stopping;
	if (ok && !stopping) {
		s->last_write_ns = clock_mono_ns();
		s->next = h->head;
		if (h->head)
			h->head->prev = s;
		h->head = s;
		h->count++;
		s->linked = true;
	}
	pthread_mutex_unlock(&h->lock);
	if (!ok || stopping) {
		MHD_destroy_response(resp); /* frees s */
		if (stopping)
			return api_problem(req, 503, "the server is shutting down");
		return api_problem(req, 500, "out of memory starting an event stream");
	}
	api_cors_headers(req, resp);
	req->status = 200;
	enum MHD_Result r = MHD_queue_response(req->conn, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

static struct api_stream *api_stream_new(struct api_req *req, uint64_t scan_id, unsigned kinds)
{
	struct api_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hub = req->ctx->events;
	s->conn = req->conn;
	s->scan_id = scan_id;
	s->filter = (struct jobev_filter){.scan_id = scan_id, .kinds = kinds};
	/* Before anything about the scan is read: what happens after is in the bus. */
	s->cursor = jobev_head(s->hub->bus);
	return s;
}

enum MHD_Result api_scan_events(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	unsigned kinds = 1u << JOBEV_STARTED | 1u << JOBEV_PROGRESS | 1u << JOBEV_SLOW_DIR |
			 1u << JOBEV_FINISHED | 1u << JOBEV_DELETED;
	struct api_stream *s = api_stream_new(req, req->id, kinds);
	if (!s)
		return api_problem(req, 500, "out of memory starting an event stream");
	/* The scan as it is: a finished one gets `finished` at once and the stream ends. */
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, req->id, 0, &v, &err);
	jobq_view_clear(&v);
	if (rc == -ENOENT || rc < 0) {
		free(s);
		if (rc == -ENOENT)
			return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
		return api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
	}
	if (api_stream_comment(s, "retry: 2000\n\n") < 0 || api_stream_scan_now(s, true) < 0) {
		free(s->out);
		free(s);
		return api_problem(req, 500, "out of memory starting an event stream");
	}
	return api_stream_start(req, s);
}

enum MHD_Result api_events_all(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	unsigned kinds = 1u << JOBEV_CREATED | 1u << JOBEV_STARTED | 1u << JOBEV_PROGRESS |
			 1u << JOBEV_FINISHED | 1u << JOBEV_DELETED;
	struct api_stream *s = api_stream_new(req, 0, kinds);
	if (!s)
		return api_problem(req, 500, "out of memory starting an event stream");
	/* A client reconnecting after event N (EventSource sends Last-Event-ID) gets N+1 on. */
	const char *last = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");
	unsigned long long id = 0;
	if (last && api_query_uint(last, strlen(last), 1, UINT64_MAX - 1, &id) == 0)
		s->cursor = (uint64_t)id + 1;
	if (api_stream_comment(s, "retry: 2000\n\n") < 0) {
		free(s);
		return api_problem(req, 500, "out of memory starting an event stream");
	}
	return api_stream_start(req, s);
}
