/*
 * fuzz_router.c: the routing table (api/router.h): a request's decoded path and its method to a
 * route, 404 or 405. Both are the client's bytes.
 *
 * fuzz-options: -max_len=512 -timeout=5
 *
 * Input: byte 0 modulo 8 picks the method (GET, HEAD, POST, DELETE, OPTIONS, PUT, get, or, for 7,
 * the bytes up to the first NUL); the rest, up to a NUL, is the path. An independent matcher
 * splits the path into segments, "{id}" fitting any non-empty one. Properties:
 *  - at most one pattern of the table fits a path (the table is unambiguous);
 *  - no pattern fits: 404, no route, no pattern; one fits: m->pattern is it, and the answer is 0
 *    exactly when the table has a route of that pattern for the method (HEAD: GET's), else 405;
 *  - 0: the route's pattern and method are those; id_ok says whether the segment is a positive
 *    decimal without sign or leading zero that fits 64 bits, and then the id prints back as the
 *    segment, so the path is the pattern with "{id}" replaced by it;
 *  - 405: no route; Allow is api_route_allow() of the pattern, not cut short, lists OPTIONS,
 *    lists HEAD exactly when it lists GET, does not list the method asked, and every method it
 *    lists routes the same path.
 * LLVMFuzzerInitialize() checks each row of the table routes itself (with {id} = 1).
 */
#include <inttypes.h>
#include <string.h>

#include "api/router.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const fuzz_rt_methods[] = {"GET",     "HEAD", "POST", "DELETE",
					      "OPTIONS", "PUT",  "get"};
#define FUZZ_RT_METHODS (sizeof(fuzz_rt_methods) / sizeof(fuzz_rt_methods[0]))

/*
 * Whether `url` fits `pattern` segment by segment; the {id} segment's bounds go to *seg and
 * *seg_len (NULL when the pattern has none).
 */
static bool fuzz_rt_fits(const char *pattern, const char *url, const char **seg, size_t *seg_len)
{
	*seg = NULL;
	*seg_len = 0;
	const char *p = pattern, *u = url;
	for (;;) {
		if (*p != '/' || *u != '/')
			return *p == '\0' && *u == '\0';
		p++, u++;
		size_t pn = strcspn(p, "/"), un = strcspn(u, "/");
		if (pn == 4 && memcmp(p, "{id}", 4) == 0) {
			if (un == 0)
				return false;
			*seg = u;
			*seg_len = un;
		} else if (pn != un || memcmp(p, u, pn) != 0) {
			return false;
		}
		p += pn, u += un;
	}
}

/* Whether `seg` is a positive decimal without sign or leading zero below 2^64. */
static bool fuzz_rt_id(const char *seg, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || seg[0] == '0')
		return false;
	unsigned __int128 v = 0;
	for (size_t i = 0; i < n; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return false;
		v = v * 10 + (unsigned)(seg[i] - '0');
	}
	if (v > UINT64_MAX)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Whether the comma-separated `list` names `method`. */
static bool fuzz_rt_lists(const char *list, const char *method)
{
	size_t n = strlen(method);
	for (const char *s = list; *s;) {
		size_t k = strcspn(s, ",");
		if (k == n && memcmp(s, method, n) == 0)
			return true;
		s += k;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return false;
}

static void fuzz_rt_ok(const char *url, const char *want, const char *pattern, const char *seg,
		       size_t seg_len, const struct api_route_match *m)
{
	FUZZ_CHECK(m->route && strcmp(m->route->pattern, pattern) == 0 &&
			   strcmp(m->route->method, want) == 0,
		   "'%s' %s: another route", url, want);
	uint64_t id = 0;
	bool id_ok = seg && fuzz_rt_id(seg, seg_len, &id);
	FUZZ_CHECK(m->id_ok == id_ok, "'%s': id_ok %d", url, m->id_ok);
	if (!id_ok)
		return;
	FUZZ_CHECK(m->id == id && id > 0, "'%s': id %" PRIu64, url, m->id);
	char text[24];
	int n = snprintf(text, sizeof(text), "%" PRIu64, m->id);
	FUZZ_CHECK(n > 0 && (size_t)n == seg_len && memcmp(text, seg, seg_len) == 0,
		   "'%s': the id %" PRIu64 " does not print back as its segment", url, m->id);
}

static void fuzz_rt_405(const char *url, const char *method, const char *want, const char *pattern,
			const struct api_route_match *m)
{
	FUZZ_CHECK(!m->route, "405 with a route");
	char full[512];
	api_route_allow(pattern, full, sizeof(full));
	FUZZ_CHECK(m->allow[0] != '\0' && strcmp(m->allow, full) == 0,
		   "'%s': Allow '%s', the pattern takes '%s'", url, m->allow, full);
	FUZZ_CHECK(fuzz_rt_lists(m->allow, "OPTIONS"), "'%s': Allow '%s' without OPTIONS", url,
		   m->allow);
	FUZZ_CHECK(fuzz_rt_lists(m->allow, "GET") == fuzz_rt_lists(m->allow, "HEAD"),
		   "'%s': Allow '%s' has one of GET and HEAD", url, m->allow);
	FUZZ_CHECK(!fuzz_rt_lists(m->allow, want) && !fuzz_rt_lists(m->allow, method),
		   "'%s': 405 for %s, which Allow '%s' lists", url, method, m->allow);
	char list[sizeof(m->allow)];
	memcpy(list, m->allow, sizeof(list));
	for (char *s = list; *s;) {
		size_t k = strcspn(s, ",");
		char *next = s + k;
		while (*next == ',' || *next == ' ')
			*next++ = '\0';
		struct api_route_match again;
		FUZZ_CHECK(api_router_find(url, s, &again) == 0 &&
				   strcmp(again.route->pattern, pattern) == 0,
			   "'%s': Allow lists %s, which does not route", url, s);
		s = next;
	}
}

static void fuzz_rt_check(const char *url, const char *method)
{
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	const char *pattern = NULL, *seg = NULL;
	size_t seg_len = 0;
	bool has_method = false;
	for (size_t i = 0; i < api_route_count; i++) {
		const char *s;
		size_t n;
		if (!fuzz_rt_fits(api_routes[i].pattern, url, &s, &n))
			continue;
		FUZZ_CHECK(!pattern || strcmp(pattern, api_routes[i].pattern) == 0,
			   "'%s' fits both %s and %s", url, pattern, api_routes[i].pattern);
		pattern = api_routes[i].pattern;
		seg = s;
		seg_len = n;
		has_method |= strcmp(api_routes[i].method, want) == 0;
	}
	struct api_route_match m;
	memset(&m, 0xa5, sizeof(m));
	unsigned status = api_router_find(url, method, &m);
	if (!pattern) {
		FUZZ_CHECK(status == 404 && !m.route && !m.pattern, "'%s' %s: %u where none fits", url,
			   method, status);
		return;
	}
	FUZZ_CHECK(m.pattern && strcmp(m.pattern, pattern) == 0, "'%s': pattern %s, not %s", url,
		   m.pattern ? m.pattern : "(none)", pattern);
	FUZZ_CHECK(status == (has_method ? 0u : 405u), "'%s' %s: %u", url, method, status);
	if (status == 0)
		fuzz_rt_ok(url, want, pattern, seg, seg_len, &m);
	else
		fuzz_rt_405(url, method, want, pattern, &m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < api_route_count; i++) {
		const struct api_route *r = &api_routes[i];
		char url[128];
		const char *id = strstr(r->pattern, "{id}");
		if (id)
			snprintf(url, sizeof(url), "%.*s1%s", (int)(id - r->pattern), r->pattern, id + 4);
		else
			snprintf(url, sizeof(url), "%s", r->pattern);
		struct api_route_match m;
		FUZZ_CHECK(api_router_find(url, r->method, &m) == 0 && m.route == r &&
				   m.id_ok == (id != NULL) && (!id || m.id == 1),
			   "row %zu (%s %s) does not route %s", i, r->method, r->pattern, url);
		fuzz_rt_check(url, r->method);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *buf = fuzz_alloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	buf[size] = '\0';
	const char *method, *url;
	if (data[0] % 8 < FUZZ_RT_METHODS) {
		method = fuzz_rt_methods[data[0] % 8];
		url = buf;
	} else {
		method = buf;
		url = buf + strlen(buf) + (strlen(buf) < size - 1); /* after the NUL, if any */
	}
	fuzz_rt_check(url, method);
	free(buf);
	return 0;
}
