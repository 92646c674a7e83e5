/* guard.h: requests a web page or a rebound DNS name could forge: Host, Origin and form bodies. */
#ifndef LEINDEX_API_GUARD_H
#define LEINDEX_API_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * A browser lets any web page send a "simple" cross-site request (a form POST, text/plain or
 * urlencoded body, no custom header) to any address, the loopback service included, and a DNS
 * name rebound to 127.0.0.1 makes the browser treat the service as that name's origin. So:
 * - while the service listens on loopback only, a Host that names neither the listen address nor
 *   a loopback name (localhost, 127.0.0.0/8, ::1) is refused (403): that is DNS rebinding;
 * - a request that changes state (any method but GET, HEAD and OPTIONS) with an Origin that is
 *   neither the server's own origin (http://HOST of the request) nor an allowed CORS origin is
 *   refused (403), and so is one whose Content-Type is not JSON (415), since a form can send
 *   only form types.
 * Pure functions of their arguments, thread-safe.
 */

/** What api_guard_check() decided. */
struct api_guard_verdict {
	/** 0 when the request may go on, else 403 or 415. */
	unsigned status;
	/** Why, fit for a problem document's detail (empty when status is 0). */
	char detail[256];
};

/** The request's facts the guard reads; header values are NULL when absent. */
struct api_guard_req {
	const char *method, *host, *origin, *content_type;
};

/** The server's facts. */
struct api_guard_server {
	/** The service listens on a loopback address only (Host is checked then). */
	bool loopback;
	/** Allowed CORS origins ("*": any), as given by --cors-origin. */
	const char *const *cors_origins;
	size_t cors_origin_count;
};

/** Whether `host` (a Host header value, with or without :port) names a loopback address. */
bool api_guard_host_is_loopback(const char *host);

/** Checks one request; fills `out`. */
void api_guard_check(const struct api_guard_server *srv, const struct api_guard_req *req,
		     struct api_guard_verdict *out);

/** Whether a listening address is a loopback one (127.0.0.0/8, ::1, v4-mapped 127/8). */
bool api_guard_addr_is_loopback(const struct sockaddr_storage *ss);

#endif
