/* api.h: what the api/ files share: the server context, the request, replies and route handlers. */
#ifndef LEINDEX_API_API_H
#define LEINDEX_API_API_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/auth.h"
#include "api/conns.h"
#include "api/entry_json.h"
#include "api/guard.h"
#include "api/jsonw.h"
#include "api/mhd.h"
#include "api/router.h"
#include "api/scan_filter.h"
#include "api/scan_doc.h"
#include "api/token.h"
#include "api/server.h"
#include "service/job/job.h"
#include "store/store.h"

/** Largest request body accepted (413 above). */
#define API_BODY_MAX (1024 * 1024)
/** Longest ?wait= in seconds. */
#define API_WAIT_MAX 60
/** How long POST /scans/{id}/cancel waits for a running scan to stop before answering. */
#define API_CANCEL_WAIT_MS 5000

/** Longest X-Request-Id echoed back; a longer one, or one with other bytes, is replaced. */
#define API_REQUEST_ID_MAX 128
/** Buckets of the request duration histogram (the last is +Inf): see api_duration_bounds. */
#define API_DURATION_BUCKETS 16
/** Room for route labels of the metrics: the distinct path patterns, then "other". */
#define API_ROUTE_LABELS 32

struct api_waiters;
struct api_events;

/** The counters of one route label, updated by every HTTP thread (atomics only). */
struct api_route_counters {
	/** Answers by status class: [1] 1xx ... [5] 5xx. */
	atomic_uint_fast64_t by_class[6];
	/** Answers per duration bucket (not cumulative), and their summed duration. */
	atomic_uint_fast64_t duration[API_DURATION_BUCKETS];
	atomic_uint_fast64_t duration_ns;
};

/** The HTTP figures of /metrics and /stats (metrics.c). */
struct api_metrics {
	/**
	 * Route labels: the distinct path patterns of the routing table in its order, then "other"
	 * for paths that match none. Set by api_metrics_init() before the daemon starts, then only
	 * read.
	 */
	const char *labels[API_ROUTE_LABELS];
	unsigned label_count;
	struct api_route_counters routes[API_ROUTE_LABELS];
};

/**
 * The server: built by api_serve(), shared read-only by every HTTP thread except for the atomic
 * fields.
 */
struct api_ctx {
	const struct api_server_opts *cfg;
	struct store *store;
	struct jobq *jobq;
	struct api_waiters *waiters;
	/** What the job manager publishes (job_events.h), read by the event streams. */
	struct jobev_bus *bus;
	/** The event streams (events.c). */
	struct api_events *events;
	struct api_token_key key;
	/** Resolved allowed roots (realpath), or none. */
	char **allow_roots;
	size_t allow_root_count;
	int64_t started_ns;
	atomic_bool shutting_down;
	/** Requests by route and status class, and their durations. */
	struct api_metrics metrics;
	/** What the checks against forged browser requests need to know (guard.h). */
	struct api_guard_server guard;
	/** The request deadline of every open connection (conns.c). */
	struct api_conns *conns;
	/** The tokens in force (auth.c); access control is off without --token-file. */
	struct api_auth *auth;
};

/** One request, from its headers to its completion (MHD's con_cls). */
struct api_req {
	struct api_ctx *ctx;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const struct api_route *route;
	/** The {id} of the route, when it has one. */
	uint64_t id;
	bool id_ok;
	/** The raw path held %00 or %2F (400: decoding them would change the route). */
	bool encoded_separator;
	/** The body read so far (POST). */
	char *body;
	size_t body_len, body_cap;
	bool body_too_large;
	/** Suspended for ?wait (or a cancel): the time it gives up, CLOCK_MONOTONIC ns. */
	bool suspended;
	bool resumed;
	int64_t wait_deadline_ns;
	/** Next suspended request (wait.c's list). */
	struct api_req *wait_next;
	/** The status of the answer queued, for the counters. */
	unsigned status;
	/** Its route label in ctx->metrics (the path's pattern, or "other"). */
	unsigned label;
	/** When its headers arrived (CLOCK_MONOTONIC ns). */
	int64_t start_ns;
	/** The ID of the request's token (never the token), empty without one. */
	char token_id[API_AUTH_ID_MAX + 1];
	/** X-Request-Id: the client's when it was acceptable, else generated. */
	char request_id[API_REQUEST_ID_MAX + 1];
};


/* ---------------------------------------------------------------- replies (reply.c) */

/** Queues `status` with a body it takes ownership of (malloc'ed), and extra headers (name, value pairs, NULL-terminated). */
enum MHD_Result api_reply(struct api_req *req, unsigned status, const char *content_type,
			  char *body, size_t len, ...);
/** Queues the JSON text built in `w` (the writer is reset). 500 when it ran out of memory. */
/**
 * Finishes a page whose list is closed: when `more`, adds next_page_token `tok` and the Link
 * header `link`, then closes the object and answers 200. Takes ownership of `tok` and `link`;
 * when `more` but either is NULL (out of memory) answers 500 saying it was paging `what`.
 */
enum MHD_Result api_reply_page(struct api_req *req, struct jsonw *w, bool more, char *tok,
				char *link, const char *what);
enum MHD_Result api_reply_jw(struct api_req *req, unsigned status, struct jsonw *w, ...);
/** Queues an RFC 9457 problem: `detail` says what was wrong and how to fix it. */
enum MHD_Result api_problem(struct api_req *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** api_problem() with extra headers first (name, value pairs, NULL-terminated). */
enum MHD_Result api_problem_h(struct api_req *req, unsigned status, const char *const *headers,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** The reason phrase of a status. */
const char *api_status_title(unsigned status);
/**
 * Whether the request's If-None-Match names `etag` (a full entity tag such as W/"...") or "*",
 * by weak comparison (RFC 9110 13.1.2).
 */
bool api_etag_matches(struct api_req *req, const char *etag);

/* ---------------------------------------------------------------- CORS (cors.c) */

/**
 * Adds the CORS headers of an answer to `req` when its Origin is allowed (--cors-origin):
 * Access-Control-Allow-Origin, the exposed headers, and Vary: Origin (also for other origins,
 * since the answer depends on it). Nothing when CORS is off.
 */
void api_cors_headers(struct api_req *req, struct MHD_Response *resp);


/* ---------------------------------------------------------------- metrics (metrics.c) */

/** Sets the route labels from the routing table (before any thread uses `m`). */
void api_metrics_init(struct api_metrics *m, const struct api_route *routes, size_t count);
/** The label index of a path pattern; NULL or an unknown one gives "other". */
unsigned api_metrics_label(const struct api_metrics *m, const char *pattern);
/** Counts one answer: its label, status and duration. Thread-safe. */
void api_metrics_count(struct api_metrics *m, unsigned label, unsigned status, int64_t ns);
/** Answers of status class `cls` (1..5) over all routes. */
uint64_t api_metrics_class_total(struct api_metrics *m, unsigned cls);

/* ---------------------------------------------------------------- query strings (query.c) */

/** One query parameter as sent (decoded), binary-safe. */
struct api_param {
	const char *name;
	const char *value; /**< NULL when absent */
	size_t len;
};

/**
 * Collects the query parameters named in `params` (value NULL when absent). Any other name, or a
 * name given twice, queues a 400 and returns -1 (the handler returns *res).
 */
int api_query(struct api_req *req, struct api_param *params, size_t count, enum MHD_Result *res);

/** Room api_query() gives the message of api_query_take(). */
#define API_QUERY_BAD_MAX 160

/**
 * The pure part of api_query(), called with each pair of the query string in order, as
 * libmicrohttpd hands it over (split at '&' and '=', percent-decoded; `value` NULL for a key
 * without '='). `params` must start with every value NULL. A known name not yet given gets the
 * value (borrowed: the pair must outlive `params`; "" for NULL) and 0 is returned; an unknown or
 * repeated name returns -1 with the 400's detail in bad[0..cap) (cap > 0), naming the parameter,
 * and `params` unchanged. Thread-safe on distinct `params`.
 */
int api_query_take(struct api_param *params, size_t count, const char *key, size_t key_len,
		   const char *value, size_t value_len, char *bad, size_t cap);

/**
 * Parses the n bytes at `s` as a decimal in [min, max] with no sign, spaces or leading zeros
 * (at most 19 digits) into *out; -1 (and *out untouched) when it is not one. Pure.
 */
int api_query_uint(const char *s, size_t n, unsigned long long min, unsigned long long max,
		   unsigned long long *out);

/** Parses page_size (default `def`, 1..max); a 400 is queued on a bad value. */
int api_query_page_size(struct api_req *req, const struct api_param *p, unsigned def,
			unsigned max, unsigned *out, enum MHD_Result *res);

/** Appends p[0..n) percent-encoded (RFC 3986: all but the unreserved characters). */
void api_pct_encode(struct strbuf *sb, const char *p, size_t n);

/**
 * The Link header of the page after this one of `path`: <path?query>; rel="next", the query
 * repeating the parameters of `params` that were given (page_token excepted, in their order)
 * then page_token=`tok`, each percent-encoded. A malloc'ed string, or NULL when out of memory.
 */
char *api_link_next(const char *path, const struct api_param *params, size_t count,
		    const char *tok);

/**
 * api_query() for routes that take the entry filters (scan_filter.h) beside their own
 * parameters: each pair goes to `params` when it names one of them, else to the filters (ext=
 * may repeat), else it is refused. Fills and finishes *qf (the caller clears it, also on
 * failure). Returns 0, or -1 with a 400 queued in *res.
 */
int api_query_filters(struct api_req *req, struct api_param *params, size_t count,
		      struct api_filter *qf, enum MHD_Result *res);

/**
 * The Link header of the page after this one of /scans/{id}/`route`: every parameter of the
 * request as given (repeated ones too, page_token excepted), then page_token=`tok`, each
 * percent-encoded. A malloc'ed string, or NULL when out of memory.
 */
char *api_link_filters(struct api_req *req, const char *route, const struct api_param *params,
		       size_t count, const char *tok);

/* ---------------------------------------------------------------- scans (scan_entries.c) */

/**
 * The state of scan req->id (the manager's view), and whether the manager holds it. Returns 0,
 * or -1 with 404 (no such scan) or 500 queued in *res.
 */
int api_scan_state(struct api_req *req, enum scan_state *state, bool *live, enum MHD_Result *res);

/**
 * Checks that scan req->id exists; with `finished`, that it is no longer queued or running
 * (409 saying how to wait, or to read with partial=true). Returns 0, or -1 with an answer
 * queued in *res.
 */
int api_scan_check(struct api_req *req, bool finished, enum MHD_Result *res);

/**
 * After a read of scan req->id answered -ENOENT although it was found before: whether the scan
 * itself is gone (deleted in between) rather than a path within it missing.
 */
bool api_scan_vanished(struct api_req *req);

/* ---------------------------------------------------------------- time */

/** Writes a RFC 3339 UTC time with nine fractional digits (or null when ns == 0). */
void api_jw_time(struct jsonw *w, const char *key, int64_t ns);

/* ---------------------------------------------------------------- waiting (wait.c) */

int api_waiters_create(struct api_waiters **out, struct api_ctx *ctx, struct errbuf *err);
/** Resumes every suspended request and refuses new ones; then joins the waiter thread. */
void api_waiters_stop(struct api_waiters *w);
void api_waiters_destroy(struct api_waiters *w);
/** jobq_finish_cb: wakes the waiters of scan `id`. */
void api_waiters_notify(void *waiters, uint64_t id);
/**
 * Suspends `req` until scan req->id is finished or `deadline_ns` (monotonic) passes; the access
 * handler is then called again with req->resumed set. Returns -1 (and suspends nothing) when
 * the server is stopping: answer at once.
 */
int api_waiters_suspend(struct api_waiters *w, struct api_req *req, int64_t deadline_ns);

/* ---------------------------------------------------------------- streaming (stream.c) */

/** A Content-Encoding of a streamed answer. */
enum api_encoding {
	API_ENC_IDENTITY = 0,
	API_ENC_GZIP,
	API_ENC_ZSTD,
};

/**
 * Where a streamed answer's lines come from: a walk that produces them a chunk at a time, each
 * chunk in a short read transaction of its own, so that a stream of any length holds no
 * transaction open between chunks and keeps one chunk in memory. Routes stream by handing one
 * to api_stream_reply(); /diff and /skipped can do the same.
 */
struct api_stream_src {
	/**
	 * Appends the next lines to `out` (each one JSON text and '\n'; about 64 KiB of them, or
	 * fewer, or none when it examined many entries and none passed) and sets *done after the
	 * last. Returns 0, or a negative error with its message in `err` and the status it amounts
	 * to in *status (404 for a scan deleted meanwhile, 500 otherwise). Called on one thread at a
	 * time, never after it set *done or failed.
	 */
	int (*fill)(void *ctx, struct strbuf *out, bool *done, unsigned *status, struct errbuf *err);
	/** Frees ctx; called once, when the stream ends whichever way (NULL: nothing to free). */
	void (*free)(void *ctx);
	void *ctx;
};

/**
 * Whether application/x-ndjson is the highest-weighted media type `accept` (an Accept header,
 * NULL when absent) names: named with q > 0 and no other range (wildcards included) weighing
 * more. Pure.
 */
bool api_accept_ndjson(const char *accept);

/**
 * The Content-Encoding for an Accept-Encoding header (NULL: identity): zstd or gzip, whichever
 * weighs more (zstd on a tie, '*' standing for both), identity when neither is acceptable. Pure.
 */
enum api_encoding api_accept_encoding(const char *accept_encoding);

/** "identity", "gzip", "zstd". */
const char *api_encoding_name(enum api_encoding enc);

/**
 * Answers 200 with the lines of `src` (taking it: its free() is called whatever happens), as
 * `ctype`, chunked, compressed as the request's Accept-Encoding asks, with the extra `headers`
 * (name, value pairs, NULL-terminated; NULL for none). The first chunk is read before the
 * answer is queued: when it fails, the answer is its problem instead. A later failure ends the
 * stream with a line {"error": {problem}} and no terminating chunk (stream.c).
 */
enum MHD_Result api_stream_reply(struct api_req *req, struct api_stream_src *src,
				 const char *ctype, const char *const *headers);

/* ---------------------------------------------------------------- event streams (events.c) */

/** Starts the hub thread ("api-events") that resumes the streams of `bus` (borrowed). */
int api_events_create(struct api_events **out, struct api_ctx *ctx, struct jobev_bus *bus,
		      struct errbuf *err);
/**
 * Refuses new streams, resumes every suspended one (each sends what the bus still holds for it
 * and ends), waits a moment for them, and joins the hub thread. Call before MHD_stop_daemon(),
 * which must see no suspended connection. Closes the bus for waiters. Idempotent.
 */
void api_events_stop(struct api_events *h);
void api_events_destroy(struct api_events *h);

/* ---------------------------------------------------------------- handlers */

enum MHD_Result api_scans_post(struct api_req *req);
/** Routes jansson's allocations through the check api_scans_post() relies on; call once, before
 * any thread uses jansson. */
void api_scans_json_init(void);
enum MHD_Result api_scans_list(struct api_req *req);
enum MHD_Result api_scan_get(struct api_req *req);
enum MHD_Result api_scan_cancel(struct api_req *req);
enum MHD_Result api_scan_delete(struct api_req *req);
enum MHD_Result api_scan_entries(struct api_req *req);
enum MHD_Result api_scan_errors(struct api_req *req);
enum MHD_Result api_scan_skipped(struct api_req *req);
/** GET /scans/{id}/entry?path=P: one entry (scan_query.c). */
enum MHD_Result api_scan_entry(struct api_req *req);
/** GET /scans/{id}/top?by=size|mtime&limit=N: the largest or newest regular files. */
enum MHD_Result api_scan_top(struct api_req *req);
/** GET /scans/{id}/tree?prefix=P&depth=D: per-directory subtree totals. */
enum MHD_Result api_scan_tree(struct api_req *req);
enum MHD_Result api_scan_stats(struct api_req *req);
/** GET /scans/{id}/events: the scan's state, progress, slow_dir and finished, as SSE. */
enum MHD_Result api_scan_events(struct api_req *req);
/** GET /events: created, started, progress, finished and deleted of every scan, as SSE. */
enum MHD_Result api_events_all(struct api_req *req);
/** GET /scans/{id}/progress: the scan's progress samples (scan_progress.c). */
enum MHD_Result api_scan_progress(struct api_req *req);
/**
 * GET /scans/{id}/diff?against=&change=&page_size=&page_token=: the differences from scan
 * `against` (default: the scan's baseline) to scan {id}, paged or streamed as NDJSON
 * (scan_diff.c).
 */
enum MHD_Result api_scan_diff(struct api_req *req);
enum MHD_Result api_stats(struct api_req *req);
enum MHD_Result api_healthz(struct api_req *req);
enum MHD_Result api_readyz(struct api_req *req);
enum MHD_Result api_openapi(struct api_req *req);
enum MHD_Result api_metrics_get(struct api_req *req);
/** OPTIONS on any route: Allow, and the CORS preflight answer for allowed origins. */
enum MHD_Result api_options(struct api_req *req);
/** GET /roots: the roots scans may start from (roots.c). */
enum MHD_Result api_roots(struct api_req *req);
/** GET /ui, /ui/ and /ui/<file>: the status page and its assets, open to anyone (ui.c). */
enum MHD_Result api_ui(struct api_req *req);

/**
 * Counts the scans by state, the manager's live view overriding the store's (stats.c). The
 * callback of store_scan_list() is handed `each` with every scan that is not deleted, and its
 * state. Returns 0 or a negative error with a message in `err`.
 */
int api_scan_states(struct api_ctx *ctx, uint64_t by_state[SCAN_STATE_COUNT],
		    int (*each)(void *arg, const struct store_scan *scan, enum scan_state state),
		    void *arg, struct errbuf *err);

/**
 * Writes the scan resource of `id` into `w`: its merged view (jobq_view_get()) with its stats. Returns 0,
 * -ENOENT (unknown or deleted), or another negative error with a message in err.
 */
int api_scan_write(struct api_ctx *ctx, uint64_t id, struct jsonw *w, struct errbuf *err);
/**
 * Writes the scan resource of a store record overlaid with the manager's view
 * (jobq_view_overlay()). Returns 0, or -ENOENT (deleted) or -ENOMEM and writes nothing.
 */
int api_scan_write_rec(struct api_ctx *ctx, const struct store_scan *rec, struct jsonw *w);

/**
 * Resolves absolute `path` for the allowed-roots check (scans.c): symlinks and ".." in the longest
 * existing prefix, the rest lexically. 0; -EINVAL when it is not absolute; -ENAMETOOLONG when it
 * or its resolution does not fit `cap` (nothing is dropped to make it fit).
 */
int api_root_resolve(const char *path, char *out, size_t cap);

/** One file of the status page, embedded at build time (cmake/embed_ui.cmake). Immutable. */
struct api_ui_file {
	/** Its name in ui/ ("app.js"), served at /ui/<name>. */
	const char *name;
	/** Its bytes, followed by a NUL that `len` does not count. */
	const unsigned char *data;
	size_t len;
	/** A strong entity tag of its content ("\"<16 hex digits of its SHA-256>\""). */
	const char *etag;
};

/** The files of ui/, in bytewise order of names (the generated ui_assets.c). */
extern const struct api_ui_file api_ui_files[];
extern const size_t api_ui_file_count;

/** The embedded openapi.yaml (openapi.c). */
extern const char api_openapi_text[];
extern const size_t api_openapi_len;

#endif
