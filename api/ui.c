/* ui.c: GET /ui: the status page and its assets, embedded in the binary (see cmake/embed_ui.cmake). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

/*
 * Design. The page is a handful of static files (ui/), turned into byte arrays at build time, so
 * the binary serves it wherever it runs and fetches nothing from elsewhere. The files hold no
 * data: the routes are open (API_ACCESS_OPEN) and the page's own API calls carry the token the
 * user types into it. Every answer says:
 * - Content-Security-Policy: default-src 'self' and nothing inline, so a path or name from a
 *   scanned tree that the page shows can never run as script, and nothing is loaded from another
 *   origin; the page may not be framed (frame-ancestors) nor submit forms natively;
 * - a strong ETag (the content's SHA-256) with Cache-Control: no-cache, so a browser revalidates
 *   (304, no body) and a new binary's page is taken at once;
 * - X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
 * HEAD is served by the router as GET without the body.
 */

/** What every answer of these routes says about what the page may do. */
#define API_UI_CSP \
	"default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The file a path names: /ui and /ui/ are the page itself, /ui/<name> a file of ui/. */
static const struct api_ui_file *api_ui_find(const char *url)
{
	const char *name = NULL;
	if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
		name = "index.html";
	else if (strncmp(url, "/ui/", 4) == 0)
		name = url + 4;
	for (size_t i = 0; name && i < api_ui_file_count; i++)
		if (strcmp(api_ui_files[i].name, name) == 0)
			return &api_ui_files[i];
	return NULL;
}

/* The Content-Type of a file of ui/, by its extension. */
static const char *api_ui_type(const char *name)
{
	static const char *const types[][2] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

enum MHD_Result api_ui(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	const struct api_ui_file *f = api_ui_find(req->url);
	if (!f)
		return api_problem(req, 404, "the status page has no file %.80s; it is at /ui",
				   req->url);
	if (api_etag_matches(req, f->etag))
		return api_reply(req, 304, NULL, NULL, 0, "ETag", f->etag, "Cache-Control", "no-cache",
				 "Content-Security-Policy", API_UI_CSP, (const char *)NULL);
	char *body = malloc(f->len ? f->len : 1);
	if (!body)
		return api_problem(req, 500, "out of memory while serving %s", f->name);
	memcpy(body, f->data, f->len);
	return api_reply(req, 200, api_ui_type(f->name), body, f->len, "ETag", f->etag,
			 "Cache-Control", "no-cache", "Content-Security-Policy", API_UI_CSP,
			 "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer",
			 (const char *)NULL);
}
