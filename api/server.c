/* server.c: the HTTP daemon: request life cycle, start and clean shutdown (routes: router.c). */
#include "api/server.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/conns.h"
#include "api/guard.h"
#include "api/listen.h"
#include "base/clock.h"
#include "base/encode.h"
#include "base/log.h"
#include "base/random.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "service/scan/scanner.h"

/*
 * Design. libmicrohttpd runs a pool of polling threads on epoll, each serving many connections;
 * a handler must therefore never block for long: scans run on the job manager's threads,
 * deletions on its deleter thread, and requests that wait for a scan are suspended (wait.c).
 * Idle connections are closed after API_CONN_TIMEOUT seconds (without the option MHD 0.9.75
 * keeps them forever); a request must arrive whole within --request-timeout, however busy its
 * client keeps the line (conns.c); at most --max-connections are open at once, and at most
 * --max-connections-per-client from one address, so one client cannot starve the others.
 *
 * A request goes: first call (headers) → route lookup, 404/405, and for JSON bodies the
 * Content-Type (415) and Content-Length (413) checks; then body chunks, kept up to 1 MiB;
 * then the handler. MHD_OPTION_NOTIFY_COMPLETED counts the answer (by route label and status
 * class, with its duration: metrics.c), logs one line, and frees the request. Every answer
 * carries the request's X-Request-Id (reply.c), as do problem bodies and the log line.
 *
 * Event streams (events.c) are responses whose content comes from the job manager's event bus;
 * a stream with nothing to send suspends its connection, so it holds no thread.
 *
 * Shutdown on SIGTERM/SIGINT: stop accepting (quiesce), say not ready, interrupt the scans
 * (jobq_shutdown, which publishes their `finished`), end the event streams and resume the
 * suspended requests (MHD_stop_daemon() must never see a suspended connection), stop the
 * daemon, close the store.
 */

#define API_CONN_TIMEOUT 10

/* application/json, any parameters (charset) allowed. */
static bool api_ctype_json(const char *ct)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * X-Request-Id: the client's own when it is 1..API_REQUEST_ID_MAX characters of [A-Za-z0-9._-]
 * (anything else could forge log lines or headers), otherwise 16 random bytes in hex.
 */
static void api_request_id(struct api_req *req)
{
	const char *in = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = in ? strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") : 0;
	if (in && n > 0 && n <= API_REQUEST_ID_MAX && in[n] == '\0') {
		memcpy(req->request_id, in, n + 1);
		return;
	}
	unsigned char r[16];
	if (random_fill(r, sizeof(r)) < 0) {
		/* No entropy to be had: still unique within the process (time and address). */
		uint64_t a = (uint64_t)clock_mono_ns();
		uint64_t b = (uint64_t)(uintptr_t)req ^ (uint64_t)clock_wall_ns();
		for (int i = 0; i < 8; i++) {
			r[i] = (unsigned char)(a >> (8 * i));
			r[8 + i] = (unsigned char)(b >> (8 * i));
		}
	}
	encode_hex(r, sizeof(r), req->request_id, ENCODE_HEX_LOWER);
}

static struct api_req *api_req_new(struct api_ctx *ctx)
{
	struct api_req *req = calloc(1, sizeof(*req));
	if (req) {
		req->ctx = ctx;
		req->start_ns = clock_mono_ns();
	}
	return req;
}

/*
 * Called with the request line's URI before libmicrohttpd decodes it: the only place that sees
 * %00 and %2F in the path (decoded, "/scans/1%00/x" would route as "/scans/1" and "/scans%2F1"
 * as "/scans/1"). The request is made here and answered 400 at its first access call.
 */
static void *api_uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	struct api_req *req = api_req_new(cls);
	if (!req)
		return NULL;
	size_t n = strcspn(uri, "?");
	for (size_t i = 0; i + 2 < n; i++) {
		if (uri[i] != '%')
			continue;
		char hi = uri[i + 1], lo = uri[i + 2];
		if ((hi == '0' && lo == '0') || (hi == '2' && (lo == 'f' || lo == 'F')))
			req->encoded_separator = true;
	}
	return req;
}

/* The checks against forged browser requests (guard.h); 0, or -1 with the answer queued. */
static int api_guard(struct api_req *req, enum MHD_Result *res)
{
	struct MHD_Connection *c = req->conn;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct api_guard_req gr = {
		.method = req->method,
		.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
		.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
		/* A JSON route checks its own body's type (415 with its own words). */
		.content_type = req->route && !req->route->json_body ? ct : NULL,
	};
	struct api_guard_verdict v;
	api_guard_check(&req->ctx->guard, &gr, &v);
	if (v.status == 0)
		return 0;
	*res = api_problem(req, v.status, "%s", v.detail);
	return -1;
}

/* Connections open and close: the request deadline keeps its records (conns.c). */
static void api_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	struct api_ctx *ctx = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			api_conns_opened(ctx->conns, ci->connect_fd, socket_context);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		api_conns_closed(ctx->conns, socket_context);
	}
}

/* The record of the request deadline of the connection of `req`, or NULL. */
static void *api_conn_rec(struct api_req *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/*
 * Access control (auth.h): who may call the route. A path without a route is refused like a
 * route that needs a token (401), so that nobody without one learns which paths exist.
 * Returns 0 to go on, or -1 with 401 or 403 queued in *res.
 */
static int api_authorize(struct api_req *req, enum MHD_Result *res)
{
	struct api_ctx *ctx = req->ctx;
	if (!api_auth_enabled(ctx->auth))
		return 0;
	enum api_access need = req->route ? req->route->access : API_ACCESS_READ;
	if (need == API_ACCESS_METRICS)
		need = ctx->cfg->metrics_auth ? API_ACCESS_READ : API_ACCESS_OPEN;
	if (need == API_ACCESS_OPEN || strcmp(req->method, "OPTIONS") == 0)
		return 0;
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	enum api_auth_scope scope;
	enum api_auth_result r = api_auth_check(ctx->auth, h, &scope, req->token_id);
	if (r != API_AUTH_OK) {
		const char *hdr[] = {"WWW-Authenticate",
				     r == API_AUTH_MISSING ? "Bearer realm=\"leindexd\""
							   : "Bearer realm=\"leindexd\", error=\"invalid_token\"",
				     NULL};
		*res = api_problem_h(req, 401, hdr, "%s",
				     r == API_AUTH_MISSING
					     ? "this server requires a token: send Authorization: Bearer TOKEN"
					     : "the token is not one of this server's (see --token-file)");
		return -1;
	}
	if (need == API_ACCESS_WRITE && scope != API_AUTH_WRITE) {
		*res = api_problem(req, 403, "token '%s' may read only; %s needs a token of scope write",
				   req->token_id, req->method);
		return -1;
	}
	return 0;
}

/*
 * The first call of a request: its headers are in. Finds the route and checks what can be
 * checked before the body. Returns 0 to go on, or -1 with the answer queued in *res.
 */
static int api_request_start(struct api_req *req, struct MHD_Connection *conn, const char *url,
			     const char *method, enum MHD_Result *res)
{
	req->conn = conn;
	req->method = method;
	req->url = url;
	api_request_id(req);
	struct api_route_match m;
	unsigned st = api_router_find(url, method, &m);
	req->label = api_metrics_label(&req->ctx->metrics, m.pattern);
	req->route = m.route;
	req->id = m.id;
	req->id_ok = m.id_ok;
	if (req->encoded_separator) {
		*res = api_problem(req, 400, "the path holds an encoded NUL (%%00) or slash (%%2F), "
				   "which would change the route it names; query values may hold them");
		return -1;
	}
	if (api_guard(req, res) < 0 || api_authorize(req, res) < 0)
		return -1;
	const char *shown = utf8_valid(url, strlen(url)) ? url : NULL;
	if (st == 404) {
		*res = api_problem(req, 404, "there is no route %s; the routes are listed in /openapi.yaml",
				   shown ? shown : "(not UTF-8)");
		return -1;
	}
	if (st == 405) {
		const char *h[] = {"Allow", m.allow, NULL};
		*res = api_problem_h(req, 405, h, "%s does not take %s; it takes %s",
				     shown ? shown : "this route", method, m.allow);
		return -1;
	}
	if (!req->route->json_body)
		return 0;
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct && !api_ctype_json(ct)) {
		*res = api_problem(req, 415, "the body must be JSON sent as Content-Type "
				   "application/json (curl --json does that), not '%.100s'", ct);
		return -1;
	}
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
		*res = api_problem(req, 413, "the body is %s bytes; at most %d bytes are accepted", cl,
				   API_BODY_MAX);
		return -1;
	}
	return 0;
}

/* A chunk of the body: kept for JSON routes up to API_BODY_MAX, ignored for the others. */
static enum MHD_Result api_request_body(struct api_req *req, const char *data, size_t *size)
{
	size_t n = *size;
	*size = 0;
	if (!req->route || !req->route->json_body || req->body_too_large)
		return MHD_YES;
	if (req->body_len + n > API_BODY_MAX) {
		req->body_too_large = true;
		free(req->body);
		req->body = NULL;
		req->body_len = req->body_cap = 0;
		return MHD_YES;
	}
	if (req->body_len + n > req->body_cap) {
		size_t cap = req->body_cap ? req->body_cap : 4096;
		while (cap < req->body_len + n)
			cap *= 2;
		char *b = realloc(req->body, cap);
		if (!b)
			return MHD_NO;
		req->body = b;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	return MHD_YES;
}

/* The request is whole: the last checks of its body, then its handler. */
static enum MHD_Result api_request_run(struct api_req *req)
{
	if (req->route->json_body) {
		if (req->body_too_large)
			return api_problem(req, 413, "the body is over %d bytes; send a smaller JSON object",
					   API_BODY_MAX);
		const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ct && req->body_len > 0)
			return api_problem(req, 415, "the body must be JSON sent as Content-Type "
					   "application/json (curl --json does that); no Content-Type was given");
	}
	const char *url = req->url;
	if (strstr(req->route->pattern, "{id}") && !req->id_ok)
		return api_problem(req, 404, "scan '%.40s' does not exist: ids are positive integers",
				   utf8_valid(url, strlen(url)) ? strrchr(url, '/') ? url + 7 : url : "?");
	return req->route->handler(req);
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct api_ctx *ctx = cls;
	struct api_req *req = *con_cls;
	if (!req || !req->method) {
		/* Made by api_uri_seen() unless it ran out of memory. */
		if (!req && !(req = api_req_new(ctx)))
			return MHD_NO;
		*con_cls = req;
		enum MHD_Result res;
		if (api_request_start(req, conn, url, method, &res) == 0)
			return MHD_YES;
		api_conns_request_whole(ctx->conns, api_conn_rec(req));
		return res;
	}
	if (*upload_data_size)
		return api_request_body(req, upload_data, upload_data_size);
	api_conns_request_whole(ctx->conns, api_conn_rec(req));
	if (!req->route)
		return MHD_NO; /* an answer was queued at the first call already */
	return api_request_run(req);
}

/*
 * One line per request: info, but debug for the probes and the scrapes, which would flood the
 * log at one line every few seconds and say nothing.
 */
static void api_log_request(struct api_req *req, int64_t ns, bool completed)
{
	const char *route = req->ctx->metrics.labels[req->label];
	bool quiet = strcmp(route, "/healthz") == 0 || strcmp(route, "/readyz") == 0 ||
		     strcmp(route, "/metrics") == 0;
	enum log_level level = quiet ? LOG_DEBUG : LOG_INFO;
	if (!log_enabled(level))
		return;
	struct log_field f[12];
	size_t n = 0;
	f[n++] = LOG_STR("method", req->method);
	f[n++] = LOG_STR("route", route);
	f[n++] = LOG_BYTES("path", req->url, strlen(req->url));
	if (req->route && req->id_ok)
		f[n++] = LOG_U64("scan_id", req->id);
	f[n++] = LOG_U64("status", req->status);
	f[n++] = LOG_DBL("seconds", (double)ns / 1e9);
	f[n++] = LOG_STR("request_id", req->request_id);
	if (req->token_id[0])
		f[n++] = LOG_STR("token_id", req->token_id);
	if (!completed)
		f[n++] = LOG_STR("completed", "no: the connection closed before the answer was sent");
	f[n] = LOG_END;
	log_event(level, "request", f);
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_ctx *ctx = cls;
	struct api_req *req = *con_cls;
	if (!req)
		return;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	api_conns_answered(ctx->conns, ci ? ci->socket_context : NULL);
	if (!req->method) {
		/* libmicrohttpd answered the request itself (a malformed header): nothing to count. */
		free(req);
		*con_cls = NULL;
		return;
	}
	int64_t ns = clock_mono_ns() - req->start_ns;
	api_metrics_count(&ctx->metrics, req->label, req->status, ns);
	api_log_request(req, ns, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	LOG_EV(LOG_WARN, "libmicrohttpd", LOG_STR("detail", msg));
}

static void api_ctx_free_roots(struct api_ctx *ctx)
{
	for (size_t i = 0; i < ctx->allow_root_count; i++)
		free(ctx->allow_roots[i]);
	free(ctx->allow_roots);
	ctx->allow_roots = NULL;
	ctx->allow_root_count = 0;
}

static int api_ctx_roots(struct api_ctx *ctx, const struct api_server_opts *cfg, struct errbuf *err)
{
	if (!cfg->allow_root_count)
		return 0;
	ctx->allow_roots = calloc(cfg->allow_root_count, sizeof(char *));
	if (!ctx->allow_roots)
		return errbuf_errno(err, ENOMEM, "reading --allow-root");
	for (size_t i = 0; i < cfg->allow_root_count; i++) {
		char buf[PATH_MAX];
		if (api_root_resolve(cfg->allow_roots[i], buf, sizeof(buf)) < 0)
			return errbuf_set(err, -EINVAL, "--allow-root '%s' is not an absolute path",
					  cfg->allow_roots[i]);
		ctx->allow_roots[i] = strdup(buf);
		if (!ctx->allow_roots[i])
			return errbuf_errno(err, ENOMEM, "reading --allow-root");
		ctx->allow_root_count++;
	}
	return 0;
}

/* The startup line: where, with what limits, which roots, and whether tokens are in force. */
static void api_log_serving(struct api_ctx *ctx, unsigned port, unsigned pool)
{
	const struct api_server_opts *cfg = ctx->cfg;
	struct strbuf roots;
	strbuf_init(&roots);
	for (size_t i = 0; i < ctx->allow_root_count; i++) {
		if (i)
			strbuf_putc(&roots, ':');
		strbuf_puts(&roots, ctx->allow_roots[i]);
	}
	LOG_EV(LOG_INFO, "serving", LOG_STR("listen", cfg->listen), LOG_U64("port", port),
	       LOG_STR("data_dir", store_dir(ctx->store)), LOG_U64("http_threads", pool),
	       LOG_U64("max_running", cfg->max_running), LOG_U64("max_queued", cfg->max_queued),
	       LOG_STR("allowed_roots", ctx->allow_root_count ? (roots.oom ? "(out of memory)" : roots.buf)
							      : "any absolute path"),
	       LOG_STR("auth", api_auth_enabled(ctx->auth) ? cfg->token_file : "off"),
	       LOG_U64("max_connections", cfg->max_connections),
	       LOG_U64("max_connections_per_client", cfg->max_connections_per_client),
	       LOG_U64("request_timeout_seconds", cfg->request_timeout_s));
	strbuf_free(&roots);
}

/* Waits for SIGTERM or SIGINT, re-reading the token file on each SIGHUP; returns the signal. */
static int api_wait_stop(struct api_ctx *ctx, const sigset_t *sigs)
{
	for (;;) {
		int sig = 0;
		if (sigwait(sigs, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			return sig;
		if (sig != SIGHUP || !api_auth_enabled(ctx->auth))
			continue;
		struct errbuf err;
		errbuf_clear(&err);
		if (api_auth_reload(ctx->auth, &err) < 0)
			LOG_EV(LOG_ERROR, "re-reading the token file failed; the tokens in force stay",
			       LOG_STR("error", err.msg));
		else
			LOG_EV(LOG_INFO, "token file re-read", LOG_STR("file", ctx->cfg->token_file),
			       LOG_U64("tokens", api_auth_count(ctx->auth)));
	}
}

/* Opens the store and starts what serves requests but the daemon: jobs, events, waiters. */
static int api_ctx_start(struct api_ctx *ctx, const struct api_server_opts *cfg, struct errbuf *err)
{
	ctx->cfg = cfg;
	ctx->started_ns = clock_wall_ns();
	api_metrics_init(&ctx->metrics, api_routes, api_route_count);
	struct store_opts so = {.dir = cfg->data_dir, .map_size = cfg->map_size};
	if (store_open(&ctx->store, &so, err) < 0 ||
	    api_token_key_load(&ctx->key, store_dir(ctx->store), err) < 0 ||
	    api_ctx_roots(ctx, cfg, err) < 0 || api_waiters_create(&ctx->waiters, ctx, err) < 0 ||
	    jobev_create(&ctx->bus, NULL, err) < 0)
		return -1;
	struct jobq_opts jo = {.store = ctx->store,
			       .max_running = cfg->max_running ? cfg->max_running
							       : JOBQ_MAX_RUNNING_DEFAULT,
			       .max_queued = cfg->max_queued, .keep_scans = cfg->keep_scans,
			       .on_finish = api_waiters_notify, .on_finish_ctx = ctx->waiters,
			       .events = ctx->bus};
	if (jobq_create(&ctx->jobq, &jo, err) < 0 ||
	    api_events_create(&ctx->events, ctx, ctx->bus, err) < 0 ||
	    api_conns_create(&ctx->conns, (int64_t)cfg->request_timeout_s * 1000000000, err) < 0 ||
	    api_auth_create(&ctx->auth, cfg->token_file, err) < 0)
		return -1;
	return 0;
}

/* Refuses a listener anyone could reach when no token file guards it (--insecure-no-auth aside). */
static int api_check_exposure(struct api_ctx *ctx, const struct api_server_opts *cfg,
			      const struct sockaddr_storage *ss, struct errbuf *err)
{
	if (!cfg->token_file && !cfg->insecure_no_auth && !api_guard_addr_is_loopback(ss))
		return errbuf_set(err, -EPERM, "--listen %s is not a loopback address and no "
				  "--token-file is given: anyone who reaches it could read and scan; "
				  "give --token-file FILE (leindexd token new makes tokens), or "
				  "--insecure-no-auth to serve without", cfg->listen);
	ctx->guard = (struct api_guard_server){.loopback = api_guard_addr_is_loopback(ss),
					       .cors_origins = cfg->cors_origins,
					       .cors_origin_count = cfg->cors_origin_count};
	return 0;
}

/* Starts libmicrohttpd on `ss`; NULL with a message. *pool: its thread pool's size. */
static struct MHD_Daemon *api_daemon_start(struct api_ctx *ctx, const struct sockaddr_storage *ss,
					   unsigned *pool, struct errbuf *err)
{
	const struct api_server_opts *cfg = ctx->cfg;
	unsigned n = 2 * scanner_default_workers();
	*pool = n < 4 ? 4 : n > 32 ? 32 : n;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = ss->ss_family == AF_INET6
				? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
				: ntohs(((const struct sockaddr_in *)ss)->sin_port);
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, port, NULL, NULL, api_access, ctx, MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log,
		NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
		MHD_OPTION_THREAD_POOL_SIZE, *pool, MHD_OPTION_CONNECTION_LIMIT,
		cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		cfg->max_connections_per_client, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)API_CONN_TIMEOUT, MHD_OPTION_NOTIFY_CONNECTION, api_conn_notify, ctx,
		MHD_OPTION_NOTIFY_COMPLETED, api_completed, ctx, MHD_OPTION_URI_LOG_CALLBACK,
		api_uri_seen, ctx, MHD_OPTION_END);
	if (!d)
		errbuf_set(err, -EADDRINUSE, "listening on %s failed (address in use or not "
			   "available; the reason is logged above)", cfg->listen);
	return d;
}

/*
 * Stops serving in order: no new connections, scans stopped and recorded, then every suspended
 * connection resumed (an API rule of MHD) before the daemon stops.
 */
static void api_daemon_stop(struct api_ctx *ctx, struct MHD_Daemon *d)
{
	atomic_store(&ctx->shutting_down, true);
	MHD_socket lfd = MHD_quiesce_daemon(d);
	jobq_shutdown(ctx->jobq);
	api_events_stop(ctx->events);
	api_waiters_stop(ctx->waiters);
	MHD_stop_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
}

/* Frees what api_ctx_start() made (any of it NULL). */
static void api_ctx_free(struct api_ctx *ctx)
{
	api_events_destroy(ctx->events);
	jobq_destroy(ctx->jobq);
	jobev_destroy(ctx->bus);
	api_waiters_destroy(ctx->waiters);
	api_conns_destroy(ctx->conns);
	api_auth_destroy(ctx->auth);
	store_close(ctx->store);
	api_ctx_free_roots(ctx);
	free(ctx);
}

int api_serve(const struct api_server_opts *cfg)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP); /* re-read the token file */
	/* Before any thread starts, so they all inherit the mask and only sigwait() sees them. */
	signals_take(&sigs);
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

	api_scans_json_init();
	struct errbuf err;
	errbuf_clear(&err);
	struct api_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		log_event(LOG_ERROR, "starting the server: out of memory", NULL);
		return 1;
	}
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_Daemon *d = NULL;
	unsigned pool = 0;
	if (mhd_load(&err) < 0 || api_ctx_start(ctx, cfg, &err) < 0 ||
	    api_listen_addr(cfg->listen, &ss, &sslen, &err) < 0 ||
	    api_check_exposure(ctx, cfg, &ss, &err) < 0 ||
	    !(d = api_daemon_start(ctx, &ss, &pool, &err))) {
		LOG_EV(LOG_ERROR, "the server could not start", LOG_STR("error", err.msg));
		api_ctx_free(ctx);
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	api_log_serving(ctx, di ? di->port : 0, pool);
	int sig = api_wait_stop(ctx, &sigs);
	int64_t t0 = clock_mono_ns();
	LOG_EV(LOG_INFO, "stopping", LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	api_daemon_stop(ctx, d);
	LOG_EV(LOG_INFO, "stopped", LOG_DBL("seconds", (double)(clock_mono_ns() - t0) / 1e9));
	api_ctx_free(ctx);
	return 0;
}
