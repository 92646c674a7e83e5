/* cors.c: CORS for browser dashboards (opt-in by --cors-origin) and OPTIONS on every route. */
#include "api/api.h"

#include <string.h>

/*
 * Design. CORS is off unless --cors-origin names origins ("*" allows any). An allowed Origin
 * gets Access-Control-Allow-Origin on every answer, with the headers a dashboard needs to read
 * exposed; any other origin gets no CORS header at all, so the browser keeps the answer from its
 * page. The answers vary with Origin, so they say so (Vary) whenever specific origins are set,
 * for caches in between.
 *
 * OPTIONS is answered on every route, whether or not CORS is on: 204 with Allow (RFC 9110
 * 9.3.7). A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
 * origin also gets the methods of the route, the request headers a client may send, and how
 * long the browser may cache the answer.
 */

/** Headers a script may read from an answer. */
#define API_CORS_EXPOSE "Location, Link, ETag, Retry-After, X-Request-Id"
/** Request headers a script may send besides the CORS-safelisted ones. */
#define API_CORS_ALLOW_HEADERS "Content-Type, If-None-Match, X-Request-Id"
/** Seconds a browser may cache a preflight answer. */
#define API_CORS_MAX_AGE "600"

/* The Origin of the request when --cors-origin allows it (*any: allowed through "*"), or NULL. */
static const char *api_cors_allowed(struct api_req *req, bool *any)
{
	const struct api_server_opts *cfg = req->ctx->cfg;
	*any = false;
	if (!cfg->cors_origin_count)
		return NULL;
	const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return NULL;
	for (size_t i = 0; i < cfg->cors_origin_count; i++) {
		if (strcmp(cfg->cors_origins[i], "*") == 0) {
			*any = true;
			return origin;
		}
		if (strcmp(cfg->cors_origins[i], origin) == 0)
			return origin;
	}
	return NULL;
}

/* Whether --cors-origin names specific origins (so answers vary with Origin). */
static bool api_cors_varies(const struct api_server_opts *cfg)
{
	for (size_t i = 0; i < cfg->cors_origin_count; i++)
		if (strcmp(cfg->cors_origins[i], "*") != 0)
			return true;
	return false;
}

void api_cors_headers(struct api_req *req, struct MHD_Response *resp)
{
	const struct api_server_opts *cfg = req->ctx->cfg;
	if (!cfg->cors_origin_count)
		return;
	if (api_cors_varies(cfg))
		MHD_add_response_header(resp, "Vary", "Origin");
	bool any;
	const char *origin = api_cors_allowed(req, &any);
	if (!origin)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", any ? "*" : origin);
	if (strcmp(req->method, "OPTIONS") != 0)
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", API_CORS_EXPOSE);
}

enum MHD_Result api_options(struct api_req *req)
{
	char allow[64];
	api_route_allow(req->route->pattern, allow, sizeof(allow));
	bool any;
	const char *origin = api_cors_allowed(req, &any);
	const char *preflight = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							    "Access-Control-Request-Method");
	if (!origin || !preflight)
		return api_reply(req, 204, NULL, NULL, 0, "Allow", allow, (const char *)NULL);
	/* api_reply() adds Access-Control-Allow-Origin and Vary through api_cors_headers(). */
	return api_reply(req, 204, NULL, NULL, 0, "Allow", allow,
			 "Access-Control-Allow-Methods", allow,
			 "Access-Control-Allow-Headers", API_CORS_ALLOW_HEADERS,
			 "Access-Control-Max-Age", API_CORS_MAX_AGE, (const char *)NULL);
}
