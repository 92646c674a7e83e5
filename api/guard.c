/* guard.c: Host, Origin and content-type checks against forged browser requests (see guard.h). */
#include "api/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Splits "name", "name:port", "[v6]" or "[v6]:port" into the name (no brackets); false if bad. */
static bool api_guard_split_host(const char *host, char *name, size_t cap, const char **port)
{
	*port = NULL;
	size_t n;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		if (!close)
			return false;
		n = (size_t)(close - host - 1);
		if (n >= cap)
			return false;
		memcpy(name, host + 1, n);
		name[n] = '\0';
		if (close[1] == ':')
			*port = close + 2;
		else if (close[1] != '\0')
			return false;
		return true;
	}
	const char *colon = strchr(host, ':');
	if (colon && strchr(colon + 1, ':'))
		return false; /* a bare IPv6 address is not a Host */
	n = colon ? (size_t)(colon - host) : strlen(host);
	if (n >= cap)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (colon)
		*port = colon + 1;
	return true;
}

/* Whether a bare name (no port, no brackets) is a loopback address or name. */
static bool api_guard_name_is_loopback(const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--; /* "localhost." is the same name */
	if (n == 9 && strncasecmp(name, "localhost", 9) == 0)
		return true;
	if (n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0)
		return true; /* RFC 6761: *.localhost is loopback */
	struct in_addr a4;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

bool api_guard_host_is_loopback(const char *host)
{
	char name[256];
	const char *port;
	return host && api_guard_split_host(host, name, sizeof(name), &port) &&
	       api_guard_name_is_loopback(name);
}

bool api_guard_addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
	}
	return false;
}

/* Whether `ct` is application/json, parameters allowed. */
static bool api_guard_ctype_json(const char *ct)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	ct += 16;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Whether `origin` is "http://" + the request's Host, i.e. a page this server served. */
static bool api_guard_same_origin(const char *origin, const char *host)
{
	if (!host || strncasecmp(origin, "http://", 7) != 0)
		return false;
	return strcasecmp(origin + 7, host) == 0;
}

static bool api_guard_cors_allowed(const struct api_guard_server *srv, const char *origin)
{
	for (size_t i = 0; i < srv->cors_origin_count; i++)
		if (strcmp(srv->cors_origins[i], "*") == 0 || strcmp(srv->cors_origins[i], origin) == 0)
			return true;
	return false;
}

static bool api_guard_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/*
 * How many bytes of `s` to quote in a detail: at most `max`, never cutting a UTF-8 character in
 * two (a cut character would make the whole detail invalid UTF-8, and the problem answer would
 * then hide it).
 */
static int api_guard_quote_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int)n;
}

void api_guard_check(const struct api_guard_server *srv, const struct api_guard_req *req,
		     struct api_guard_verdict *out)
{
	out->status = 0;
	out->detail[0] = '\0';
	if (srv->loopback && req->host && !api_guard_host_is_loopback(req->host)) {
		out->status = 403;
		snprintf(out->detail, sizeof(out->detail),
			 "the server listens on loopback only and answers to loopback host names; Host "
			 "'%.*s' is not one (DNS rebinding?)", api_guard_quote_len(req->host, 80), req->host);
		return;
	}
	if (api_guard_safe_method(req->method))
		return;
	if (req->origin && !api_guard_same_origin(req->origin, req->host) &&
	    !api_guard_cors_allowed(srv, req->origin)) {
		out->status = 403;
		snprintf(out->detail, sizeof(out->detail),
			 "a %.*s from a page of origin '%.*s' is refused: only this server's own pages and "
			 "the origins of --cors-origin may change state",
			 api_guard_quote_len(req->method, 24), req->method,
			 api_guard_quote_len(req->origin, 80), req->origin);
		return;
	}
	if (req->content_type && !api_guard_ctype_json(req->content_type)) {
		out->status = 415;
		snprintf(out->detail, sizeof(out->detail),
			 "a %.*s takes a JSON body or none; Content-Type '%.*s' is refused (a web form "
			 "could send it)", api_guard_quote_len(req->method, 24), req->method,
			 api_guard_quote_len(req->content_type, 80), req->content_type);
	}
}
