/* reply.c: queuing answers: JSON bodies, RFC 9457 problem details, entity tags, times. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"

void api_jw_time(struct jsonw *w, const char *key, int64_t ns)
{
	jsonw_key(w, key);
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (ns == 0 || !jsonw_time(w, sec, (uint32_t)frac))
		jsonw_null(w);
}

const char *api_status_title(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static enum MHD_Result api_reply_v(struct api_req *req, unsigned status, const char *ctype,
				   char *body, size_t len, va_list ap)
{
	struct MHD_Response *resp;
	if (body)
		resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		LOG_EV(LOG_ERROR, "creating an HTTP response failed", LOG_STR("url", req->url));
		return MHD_NO;
	}
	/*
	 * A header that cannot be added (out of memory) must not leave silently: a JSON body without
	 * its Content-Type, a page without its Link. Such an answer is dropped like one that could
	 * not be created at all (libmicrohttpd closes the connection).
	 */
	bool ok = !ctype || MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES;
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *value = va_arg(ap, const char *);
		if (value && ok)
			ok = MHD_add_response_header(resp, name, value) == MHD_YES;
	}
	if (!ok || MHD_add_response_header(resp, "X-Request-Id", req->request_id) != MHD_YES) {
		MHD_destroy_response(resp); /* frees body */
		LOG_EV(LOG_ERROR, "creating an HTTP response failed", LOG_STR("url", req->url),
		       LOG_STR("error", "out of memory adding its headers"));
		return MHD_NO;
	}
	api_cors_headers(req, resp);
	req->status = status;
	enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result api_reply(struct api_req *req, unsigned status, const char *content_type,
			  char *body, size_t len, ...)
{
	va_list ap;
	va_start(ap, len);
	enum MHD_Result r = api_reply_v(req, status, content_type, body, len, ap);
	va_end(ap);
	return r;
}

enum MHD_Result api_reply_page(struct api_req *req, struct jsonw *w, bool more, char *tok,
				char *link, const char *what)
{
	if (more && (!tok || !link)) {
		free(tok);
		free(link);
		jsonw_free(w);
		return api_problem(req, 500, "out of memory while paging %s", what);
	}
	if (more) {
		jsonw_key(w, "next_page_token");
		jsonw_str(w, tok);
	}
	jsonw_obj_end(w);
	enum MHD_Result res = api_reply_jw(req, 200, w, "Link", link, (const char *)NULL);
	free(tok);
	free(link);
	return res;
}

enum MHD_Result api_reply_jw(struct api_req *req, unsigned status, struct jsonw *w, ...)
{
	size_t len = 0;
	char *body = jsonw_take(w, &len);
	if (!body)
		return api_problem(req, 500, "out of memory while building the answer to %s %s",
				   req->method, req->url);
	va_list ap;
	va_start(ap, w);
	enum MHD_Result r = api_reply_v(req, status, "application/json", body, len, ap);
	va_end(ap);
	return r;
}

static enum MHD_Result api_problem_v(struct api_req *req, unsigned status,
				     const char *const *headers, const char *fmt, va_list ap)
{
	char detail[1536];
	vsnprintf(detail, sizeof(detail), fmt, ap);
	/* Details may quote user input: keep the JSON valid whatever it was. */
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "type");
	jsonw_str(&w, "about:blank");
	jsonw_key(&w, "title");
	jsonw_str(&w, api_status_title(status));
	jsonw_key(&w, "status");
	jsonw_u64(&w, status);
	if (utf8_valid(detail, strlen(detail))) {
		jsonw_key(&w, "detail");
		jsonw_str(&w, detail);
	} else {
		jsonw_key(&w, "detail");
		jsonw_str(&w, "the request named bytes that are not valid UTF-8");
	}
	/* The same id as the X-Request-Id header and the log lines, for reports by users. */
	jsonw_key(&w, "request_id");
	jsonw_str(&w, req->request_id);
	jsonw_obj_end(&w);
	size_t len = 0;
	char *body = jsonw_take(&w, &len);
	if (!body)
		return MHD_NO;
	if (status >= 500)
		LOG_EV(LOG_ERROR, "request failed", LOG_STR("method", req->method),
		       LOG_BYTES("path", req->url, strlen(req->url)), LOG_U64("status", status),
		       LOG_STR("detail", detail), LOG_STR("request_id", req->request_id));
	const char *h[8] = {NULL};
	for (size_t i = 0; headers && headers[i] && i + 1 < 7; i += 2) {
		h[i] = headers[i];
		h[i + 1] = headers[i + 1];
	}
	return api_reply(req, status, "application/problem+json", body, len, h[0], h[1], h[2], h[3],
			 h[4], h[5], (const char *)NULL);
}

enum MHD_Result api_problem(struct api_req *req, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = api_problem_v(req, status, NULL, fmt, ap);
	va_end(ap);
	return r;
}

enum MHD_Result api_problem_h(struct api_req *req, unsigned status, const char *const *headers,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = api_problem_v(req, status, headers, fmt, ap);
	va_end(ap);
	return r;
}

/* The opaque part of an entity tag ("..." after an optional W/), or NULL when malformed. */
static const char *api_etag_opaque(const char *p, size_t n, size_t *olen)
{
	if (n >= 2 && p[0] == 'W' && p[1] == '/')
		p += 2, n -= 2;
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return NULL;
	*olen = n - 2;
	return p + 1;
}

bool api_etag_matches(struct api_req *req, const char *etag)
{
	const char *inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (!inm)
		return false;
	size_t elen = 0;
	const char *eo = api_etag_opaque(etag, strlen(etag), &elen);
	if (!eo)
		return false;
	/* A comma-separated list of entity tags, or "*"; commas cannot occur inside our tags. */
	for (const char *p = inm; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = strchrnul(p, ',');
		size_t n = (size_t)(e - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		size_t olen = 0;
		const char *o = n ? api_etag_opaque(p, n, &olen) : NULL;
		if ((n == 1 && p[0] == '*') || (o && olen == elen && memcmp(o, eo, elen) == 0))
			return true;
		p = e;
	}
	return false;
}
