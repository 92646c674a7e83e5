/* router.c: the routing table and its lookup (see router.h). */
#include "api/router.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"

const struct api_route api_routes[] = {
	{"/scans", "POST", api_scans_post, true, API_ACCESS_WRITE},
	{"/scans", "GET", api_scans_list, false, API_ACCESS_READ},
	{"/scans/{id}", "GET", api_scan_get, false, API_ACCESS_READ},
	{"/scans/{id}", "DELETE", api_scan_delete, false, API_ACCESS_WRITE},
	{"/scans/{id}/cancel", "POST", api_scan_cancel, false, API_ACCESS_WRITE},
	{"/scans/{id}/entries", "GET", api_scan_entries, false, API_ACCESS_READ},
	{"/scans/{id}/errors", "GET", api_scan_errors, false, API_ACCESS_READ},
	{"/scans/{id}/skipped", "GET", api_scan_skipped, false, API_ACCESS_READ},
	{"/scans/{id}/entry", "GET", api_scan_entry, false, API_ACCESS_READ},
	{"/scans/{id}/top", "GET", api_scan_top, false, API_ACCESS_READ},
	{"/scans/{id}/tree", "GET", api_scan_tree, false, API_ACCESS_READ},
	{"/scans/{id}/stats", "GET", api_scan_stats, false, API_ACCESS_READ},
	{"/scans/{id}/events", "GET", api_scan_events, false, API_ACCESS_READ},
	{"/scans/{id}/progress", "GET", api_scan_progress, false, API_ACCESS_READ},
	{"/events", "GET", api_events_all, false, API_ACCESS_READ},
	{"/scans/{id}/diff", "GET", api_scan_diff, false, API_ACCESS_READ},
	{"/stats", "GET", api_stats, false, API_ACCESS_READ},
	{"/healthz", "GET", api_healthz, false, API_ACCESS_OPEN},
	{"/readyz", "GET", api_readyz, false, API_ACCESS_OPEN},
	{"/openapi.yaml", "GET", api_openapi, false, API_ACCESS_OPEN},
	{"/metrics", "GET", api_metrics_get, false, API_ACCESS_METRICS},
	{"/roots", "GET", api_roots, false, API_ACCESS_READ},
	/* The status page holds no data: open, like the contract (ui.c). */
	{"/ui", "GET", api_ui, false, API_ACCESS_OPEN},
	{"/ui/", "GET", api_ui, false, API_ACCESS_OPEN},
	{"/ui/app.js", "GET", api_ui, false, API_ACCESS_OPEN},
	{"/ui/app.css", "GET", api_ui, false, API_ACCESS_OPEN},
	{"/ui/icon.svg", "GET", api_ui, false, API_ACCESS_OPEN},
	/* OPTIONS on every path: Allow, and CORS preflights (cors.c). */
	{"/scans", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/cancel", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/entries", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/errors", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/skipped", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/entry", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/top", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/tree", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/stats", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/events", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/progress", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/events", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/scans/{id}/diff", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/stats", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/healthz", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/readyz", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/openapi.yaml", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/metrics", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/roots", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/ui", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/ui/", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/ui/app.js", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/ui/app.css", "OPTIONS", api_options, false, API_ACCESS_OPEN},
	{"/ui/icon.svg", "OPTIONS", api_options, false, API_ACCESS_OPEN},
};
const size_t api_route_count = sizeof(api_routes) / sizeof(api_routes[0]);

/* Parses an {id} segment of n bytes: a positive decimal without a leading zero. */
static bool api_router_id(const char *u, size_t n, uint64_t *id)
{
	uint64_t v = 0;
	if (n > 20 || u[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(u[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*id = v;
	return v > 0;
}

/* Whether `url` fits `pattern`; the {id} segment goes to *id / *id_ok. */
static bool api_router_fits(const char *pattern, const char *url, uint64_t *id, bool *id_ok)
{
	const char *p = pattern, *u = url;
	while (*p && *u) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *e = strchrnul(u, '/');
			if (e == u)
				return false;
			*id_ok = api_router_id(u, (size_t)(e - u), id);
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

/* Appends a method to a comma-separated list. */
static void api_router_add(char *buf, size_t cap, const char *method)
{
	size_t l = strlen(buf);
	if (l < cap)
		snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", method);
}

void api_route_allow(const char *pattern, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < api_route_count; i++) {
		if (strcmp(api_routes[i].pattern, pattern) != 0)
			continue;
		api_router_add(buf, cap, api_routes[i].method);
		if (strcmp(api_routes[i].method, "GET") == 0)
			api_router_add(buf, cap, "HEAD");
	}
}

unsigned api_router_find(const char *url, const char *method, struct api_route_match *m)
{
	memset(m, 0, sizeof(*m));
	/* HEAD is GET without the body (RFC 9110 9.3.2); libmicrohttpd leaves the body out. */
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	for (size_t i = 0; i < api_route_count; i++) {
		uint64_t id = 0;
		bool id_ok = false;
		if (!api_router_fits(api_routes[i].pattern, url, &id, &id_ok))
			continue;
		if (!m->pattern)
			m->pattern = api_routes[i].pattern;
		if (strcmp(api_routes[i].method, want) == 0) {
			m->route = &api_routes[i];
			m->id = id;
			m->id_ok = id_ok;
			return 0;
		}
	}
	if (!m->pattern)
		return 404;
	api_route_allow(m->pattern, m->allow, sizeof(m->allow));
	return 405;
}
