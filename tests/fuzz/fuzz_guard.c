/*
 * fuzz_guard.c: the checks against forged browser requests (api/guard.h): Host, Origin and
 * Content-Type are any client's bytes, and so is the method.
 *
 * fuzz-options: -max_len=1024 -timeout=5
 *
 * Input: byte 0's bits say which headers are absent (1 Host, 2 Origin, 4 Content-Type), whether
 * the server listens on loopback (8) and which --cors-origin list it has (bits 4-5: none,
 * "http://app.example", "*", or the Host's own http origin); the rest splits at NULs into the
 * method, Host, Origin and Content-Type. Properties:
 *  - the status is 0, 403 or 415, with a non-empty detail exactly when it is not 0, and the
 *    detail is valid UTF-8 whenever the headers are (it is shown as is in the problem answer);
 *  - the Host check alone decides a safe method's fate (GET, HEAD, OPTIONS: never refused for
 *    Origin or Content-Type), and decides every method's when it refuses: 403 exactly when the
 *    server is on loopback and a Host is given that api_guard_host_is_loopback() refuses;
 *  - for the other methods: 403 for an Origin that is neither http://HOST nor allowed, else 415
 *    exactly for a Content-Type that is not application/json (parameters and blanks allowed,
 *    any case), by an independent reading;
 *  - api_guard_host_is_loopback() answers the same for the Host in upper case, and a loopback
 *    Host without a port stays loopback with ":8080" appended; a loopback answer needs a name
 *    that is localhost, *.localhost (a final dot allowed), or an address of 127/8 or ::1.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/guard.h"
#include "base/utf8.h"
#include "tests/fuzz/fuzz.h"

static bool fuzz_g_safe(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* application/json, blanks around, parameters after ';', any case. */
static bool fuzz_g_json(const char *ct)
{
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	ct += 16;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/* The name of a Host (brackets and port dropped) into name[cap]; false when it has none. */
static bool fuzz_g_name(const char *host, char *name, size_t cap)
{
	const char *s = host, *e;
	if (*s == '[') {
		s++;
		e = strchr(s, ']');
		if (!e || (e[1] != '\0' && e[1] != ':'))
			return false;
	} else {
		e = strchr(s, ':');
		if (e && strchr(e + 1, ':'))
			return false;
		if (!e)
			e = s + strlen(s);
	}
	if ((size_t)(e - s) >= cap)
		return false;
	memcpy(name, s, (size_t)(e - s));
	name[e - s] = '\0';
	return true;
}

static void fuzz_g_host(const char *host)
{
	bool lo = api_guard_host_is_loopback(host);
	size_t len = strlen(host);
	char *up = fuzz_alloc(len + 8);
	for (size_t i = 0; i <= len; i++)
		up[i] = (char)toupper((unsigned char)host[i]);
	FUZZ_CHECK(api_guard_host_is_loopback(up) == lo, "'%s' and '%s' differ", host, up);
	bool has_port = host[0] == '[' ? strstr(host, "]:") != NULL : strchr(host, ':') != NULL;
	if (lo && !has_port) {
		memcpy(up, host, len);
		memcpy(up + len, ":8080", 6);
		FUZZ_CHECK(api_guard_host_is_loopback(up), "'%s' is loopback, '%s' not", host, up);
	}
	free(up);
	if (!lo)
		return;
	char name[256];
	FUZZ_CHECK(fuzz_g_name(host, name, sizeof(name)), "loopback '%s' has no name", host);
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = '\0';
	struct in_addr a4;
	struct in6_addr a6;
	bool ok = strcasecmp(name, "localhost") == 0 ||
		  (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0) ||
		  (inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
		  (inet_pton(AF_INET6, name, &a6) == 1 &&
		   (IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127)));
	FUZZ_CHECK(ok, "'%s' (name '%s') is called loopback", host, name);
}

/* The next NUL-terminated field of [*p, end), or NULL when none is left. */
static const char *fuzz_g_field(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *s = *p;
	*p += strlen(s) + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned bits = data[0];
	char *buf = fuzz_alloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	const char *p = buf, *end = buf + size - 1;
	const char *method = fuzz_g_field(&p, end);
	struct api_guard_req req = {.method = method ? method : ""};
	req.host = fuzz_g_field(&p, end);
	req.origin = fuzz_g_field(&p, end);
	req.content_type = fuzz_g_field(&p, end);
	if (bits & 1)
		req.host = NULL;
	if (bits & 2)
		req.origin = NULL;
	if (bits & 4)
		req.content_type = NULL;

	char own[300] = "";
	snprintf(own, sizeof(own), "http://%s", req.host ? req.host : "");
	const char *lists[][1] = {{NULL}, {"http://app.example"}, {"*"}, {own}};
	unsigned which = (bits >> 4) & 3;
	struct api_guard_server srv = {.loopback = (bits & 8) != 0,
				       .cors_origins = which ? lists[which] : NULL,
				       .cors_origin_count = which ? 1 : 0};

	struct api_guard_verdict v;
	memset(&v, 0x5a, sizeof(v));
	api_guard_check(&srv, &req, &v);
	size_t dlen = strnlen(v.detail, sizeof(v.detail));
	FUZZ_CHECK(dlen < sizeof(v.detail), "an unterminated detail");
	FUZZ_CHECK(v.status == 0 || v.status == 403 || v.status == 415, "status %u", v.status);
	FUZZ_CHECK((v.status != 0) == (dlen > 0), "status %u with detail '%s'", v.status, v.detail);
	bool text = utf8_valid(req.method, strlen(req.method)) &&
		    (!req.host || utf8_valid(req.host, strlen(req.host))) &&
		    (!req.origin || utf8_valid(req.origin, strlen(req.origin))) &&
		    (!req.content_type || utf8_valid(req.content_type, strlen(req.content_type)));
	FUZZ_CHECK(!text || utf8_valid(v.detail, dlen), "the detail is not UTF-8: '%s'", v.detail);

	bool rebound = srv.loopback && req.host && !api_guard_host_is_loopback(req.host);
	unsigned want;
	if (rebound)
		want = 403;
	else if (fuzz_g_safe(req.method))
		want = 0;
	else if (req.origin && !(req.host && strncasecmp(req.origin, "http://", 7) == 0 &&
				 strcasecmp(req.origin + 7, req.host) == 0) &&
		 !(which == 2 || (which && strcmp(lists[which][0], req.origin) == 0)))
		want = 403;
	else if (req.content_type && !fuzz_g_json(req.content_type))
		want = 415;
	else
		want = 0;
	FUZZ_CHECK(v.status == want, "%s Host '%s' Origin '%s' Content-Type '%s' (bits %#x): %u, "
		   "not %u", req.method, req.host ? req.host : "(none)",
		   req.origin ? req.origin : "(none)",
		   req.content_type ? req.content_type : "(none)", bits, v.status, want);
	if (req.host)
		fuzz_g_host(req.host);
	free(buf);
	return 0;
}
