/* server.c: the HTTP daemon: routing table, request life cycle, start and clean shutdown. */
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
#include <sys/random.h>
#include <unistd.h>

#include "api/api.h"
#include "api/listen.h"
#include "base/log.h"
#include "service/scan/scanner.h"

/*
 * Design. libmicrohttpd runs a pool of polling threads on epoll, each serving many connections;
 * a handler must therefore never block for long: scans run on the job manager's threads,
 * deletions on its deleter thread, and requests that wait for a scan are suspended (wait.c).
 * Idle connections are closed after API_CONN_TIMEOUT seconds (without the option MHD 0.9.75
 * keeps them forever), and at most API_CONN_LIMIT are open at once.
 *
 * A request goes: first call (headers) → route lookup, 404/405, and for JSON bodies the
 * Content-Type (415) and Content-Length (413) checks; then body chunks, kept up to 1 MiB;
 * then the handler. MHD_OPTION_NOTIFY_COMPLETED counts the answer (by route label and status
 * class, with its duration: metrics.c), logs one line, and frees the request. Every answer
 * carries the request's X-Request-Id (reply.c), as do problem bodies and the log line.
 *
 * Shutdown on SIGTERM/SIGINT: stop accepting (quiesce), say not ready, interrupt the scans
 * (jobq_shutdown), resume suspended requests, stop the daemon, close the store.
 */

#define API_CONN_TIMEOUT 10
#define API_CONN_LIMIT 512

static const struct api_route api_routes[] = {
	{"/scans", "POST", api_scans_post, true},
	{"/scans", "GET", api_scans_list, false},
	{"/scans/{id}", "GET", api_scan_get, false},
	{"/scans/{id}", "DELETE", api_scan_delete, false},
	{"/scans/{id}/cancel", "POST", api_scan_cancel, false},
	{"/scans/{id}/entries", "GET", api_scan_entries, false},
	{"/scans/{id}/errors", "GET", api_scan_errors, false},
	{"/scans/{id}/stats", "GET", api_scan_stats, false},
	{"/stats", "GET", api_stats, false},
	{"/healthz", "GET", api_healthz, false},
	{"/readyz", "GET", api_readyz, false},
	{"/openapi.yaml", "GET", api_openapi, false},
	{"/metrics", "GET", api_metrics_get, false},
	/* OPTIONS on every path: Allow, and CORS preflights (cors.c). */
	{"/scans", "OPTIONS", api_options, false},
	{"/scans/{id}", "OPTIONS", api_options, false},
	{"/scans/{id}/cancel", "OPTIONS", api_options, false},
	{"/scans/{id}/entries", "OPTIONS", api_options, false},
	{"/scans/{id}/errors", "OPTIONS", api_options, false},
	{"/scans/{id}/stats", "OPTIONS", api_options, false},
	{"/stats", "OPTIONS", api_options, false},
	{"/healthz", "OPTIONS", api_options, false},
	{"/readyz", "OPTIONS", api_options, false},
	{"/openapi.yaml", "OPTIONS", api_options, false},
	{"/metrics", "OPTIONS", api_options, false},
};
#define API_ROUTE_COUNT (sizeof(api_routes) / sizeof(api_routes[0]))

/* Whether `url` fits `pattern`; the {id} segment goes to *id / *id_ok. */
static bool api_route_fits(const char *pattern, const char *url, uint64_t *id, bool *id_ok)
{
	const char *p = pattern, *u = url;
	while (*p && *u) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *e = strchrnul(u, '/');
			size_t n = (size_t)(e - u);
			if (n == 0)
				return false;
			uint64_t v = 0;
			bool ok = n <= 20 && u[0] != '0';
			for (size_t i = 0; ok && i < n; i++) {
				unsigned d = (unsigned)(u[i] - '0');
				if (d > 9 || v > (UINT64_MAX - d) / 10)
					ok = false;
				else
					v = v * 10 + d;
			}
			*id = v;
			*id_ok = ok && v > 0;
			p += 4;
			u = e;
			continue;
		}
		if (*p != *u)
			return false;
		p++, u++;
	}
	return *p == '\0' && *u == '\0';
}

void api_route_allow(const char *pattern, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
		if (strcmp(api_routes[i].pattern, pattern) != 0)
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", api_routes[i].method);
	}
}

/*
 * Finds the route; 0, or the status to answer (404, 405 with `allow` filled). The metrics label
 * is the path's pattern whatever the method, "other" when no path fits.
 */
static unsigned api_route_find(struct api_req *req, char *allow, size_t cap)
{
	allow[0] = '\0';
	bool path_found = false;
	req->label = api_metrics_label(&req->ctx->metrics, NULL);
	for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
		uint64_t id = 0;
		bool id_ok = false;
		if (!api_route_fits(api_routes[i].pattern, req->url, &id, &id_ok))
			continue;
		if (!path_found)
			req->label = api_metrics_label(&req->ctx->metrics, api_routes[i].pattern);
		path_found = true;
		if (strcmp(api_routes[i].method, req->method) == 0) {
			req->route = &api_routes[i];
			req->id = id;
			req->id_ok = id_ok;
			return 0;
		}
		size_t l = strlen(allow);
		snprintf(allow + l, cap - l, "%s%s", l ? ", " : "", api_routes[i].method);
	}
	return path_found ? 405 : 404;
}

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
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t k = getrandom(r + got, sizeof(r) - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got < sizeof(r)) {
		/* No entropy to be had: still unique within the process (time and address). */
		uint64_t a = (uint64_t)api_mono_ns(), b = (uint64_t)(uintptr_t)req ^ (uint64_t)api_real_ns();
		for (int i = 0; i < 8; i++) {
			r[i] = (unsigned char)(a >> (8 * i));
			r[8 + i] = (unsigned char)(b >> (8 * i));
		}
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(r); i++) {
		req->request_id[2 * i] = hex[r[i] >> 4];
		req->request_id[2 * i + 1] = hex[r[i] & 15];
	}
	req->request_id[2 * sizeof(r)] = '\0';
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct api_ctx *ctx = cls;
	struct api_req *req = *con_cls;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->ctx = ctx;
		req->conn = conn;
		req->method = method;
		req->url = url;
		req->start_ns = api_mono_ns();
		*con_cls = req;
		api_request_id(req);
		char allow[64];
		unsigned st = api_route_find(req, allow, sizeof(allow));
		if (st == 404)
			return api_problem(req, 404, "there is no route %s; the routes are listed in /openapi.yaml",
					   jsonw_utf8_valid(url, strlen(url)) ? url : "(not UTF-8)");
		if (st == 405) {
			const char *h[] = {"Allow", allow, NULL};
			return api_problem_h(req, 405, h, "%s does not take %s; it takes %s",
					     jsonw_utf8_valid(url, strlen(url)) ? url : "this route", method, allow);
		}
		if (req->route->json_body) {
			const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								     MHD_HTTP_HEADER_CONTENT_TYPE);
			if (ct && !api_ctype_json(ct))
				return api_problem(req, 415, "the body must be JSON sent as Content-Type "
						   "application/json (curl --json does that), not '%.100s'", ct);
			const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								     MHD_HTTP_HEADER_CONTENT_LENGTH);
			if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX)
				return api_problem(req, 413, "the body is %s bytes; at most %d bytes are accepted",
						   cl, API_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!req->route || !req->route->json_body || req->body_too_large)
			return MHD_YES; /* bodies of other routes are ignored */
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
		memcpy(req->body + req->body_len, upload_data, n);
		req->body_len += n;
		return MHD_YES;
	}
	if (!req->route)
		return MHD_NO; /* an answer was queued at the first call already */
	if (req->route->json_body) {
		if (req->body_too_large)
			return api_problem(req, 413, "the body is over %d bytes; send a smaller JSON object",
					   API_BODY_MAX);
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ct && req->body_len > 0)
			return api_problem(req, 415, "the body must be JSON sent as Content-Type "
					   "application/json (curl --json does that); no Content-Type was given");
	}
	if (strstr(req->route->pattern, "{id}") && !req->id_ok)
		return api_problem(req, 404, "scan '%.40s' does not exist: ids are positive integers",
				   jsonw_utf8_valid(url, strlen(url)) ? strrchr(url, '/') ? url + 7 : url : "?");
	return req->route->handler(req);
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
	struct log_field f[10];
	size_t n = 0;
	f[n++] = LOG_STR("method", req->method);
	f[n++] = LOG_STR("route", route);
	f[n++] = LOG_BYTES("path", req->url, strlen(req->url));
	if (req->route && req->id_ok)
		f[n++] = LOG_U64("scan_id", req->id);
	f[n++] = LOG_U64("status", req->status);
	f[n++] = LOG_DBL("seconds", (double)ns / 1e9);
	f[n++] = LOG_STR("request_id", req->request_id);
	if (!completed)
		f[n++] = LOG_STR("completed", "no: the connection closed before the answer was sent");
	f[n] = LOG_END;
	log_event(level, "request", f);
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct api_ctx *ctx = cls;
	struct api_req *req = *con_cls;
	if (!req)
		return;
	int64_t ns = api_mono_ns() - req->start_ns;
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

int api_serve(const struct api_server_opts *cfg)
{
	/*
	 * A shell starts background commands with SIGINT ignored, and an ignored signal is dropped
	 * while sigwait() has it unblocked: take the default back so both signals always reach us.
	 */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* Before any thread starts, so they all inherit the mask and only sigwait() sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

	int ret = 1;
	struct errbuf err;
	errbuf_clear(&err);
	struct api_ctx *ctx = calloc(1, sizeof(*ctx));
	struct MHD_Daemon *d = NULL;
	if (!ctx) {
		log_event(LOG_ERROR, "starting the server: out of memory", NULL);
		return 1;
	}
	ctx->cfg = cfg;
	ctx->started_ns = api_real_ns();
	api_metrics_init(&ctx->metrics, api_routes, API_ROUTE_COUNT);
	struct store_opts so = {.dir = cfg->data_dir, .map_size = cfg->map_size};
	if (store_open(&ctx->store, &so, &err) < 0)
		goto out;
	if (api_token_key_load(&ctx->key, store_dir(ctx->store), &err) < 0)
		goto out;
	if (api_ctx_roots(ctx, cfg, &err) < 0)
		goto out;
	if (api_waiters_create(&ctx->waiters, ctx, &err) < 0)
		goto out;
	struct jobq_opts jo = {.store = ctx->store, .max_running = cfg->max_running ? cfg->max_running : JOBQ_MAX_RUNNING_DEFAULT,
			       .max_queued = cfg->max_queued, .on_finish = api_waiters_notify,
			       .on_finish_ctx = ctx->waiters};
	if (jobq_create(&ctx->jobq, &jo, &err) < 0)
		goto out;

	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	if (api_listen_addr(cfg->listen, &ss, &sslen, &err) < 0)
		goto out;
	unsigned pool = 2 * scanner_default_workers();
	pool = pool < 4 ? 4 : pool > 32 ? 32 : pool;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	d = MHD_start_daemon(flags, port, NULL, NULL, api_access, ctx,
			     MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_THREAD_POOL_SIZE, pool,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT,
			     MHD_OPTION_NOTIFY_COMPLETED, api_completed, ctx,
			     MHD_OPTION_END);
	if (!d) {
		errbuf_set(&err, -EADDRINUSE, "listening on %s failed (address in use or not available; "
			   "the reason is logged above)", cfg->listen);
		goto out;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	LOG_EV(LOG_INFO, "serving", LOG_STR("listen", cfg->listen),
	       LOG_U64("port", di ? di->port : port), LOG_STR("data_dir", store_dir(ctx->store)),
	       LOG_U64("http_threads", pool), LOG_U64("max_running", jo.max_running),
	       LOG_U64("max_queued", jo.max_queued));

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	int64_t t0 = api_mono_ns();
	LOG_EV(LOG_INFO, "stopping", LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	atomic_store(&ctx->shutting_down, true);
	MHD_socket lfd = MHD_quiesce_daemon(d);
	jobq_shutdown(ctx->jobq);
	api_waiters_stop(ctx->waiters);
	MHD_stop_daemon(d);
	d = NULL;
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	ret = 0;
	LOG_EV(LOG_INFO, "stopped", LOG_DBL("seconds", (double)(api_mono_ns() - t0) / 1e9));
out:
	if (ret != 0)
		LOG_EV(LOG_ERROR, "the server could not start", LOG_STR("error", err.msg));
	if (d) {
		api_waiters_stop(ctx->waiters);
		MHD_stop_daemon(d);
	}
	jobq_destroy(ctx->jobq);
	api_waiters_destroy(ctx->waiters);
	store_close(ctx->store);
	api_ctx_free_roots(ctx);
	free(ctx);
	return ret;
}
