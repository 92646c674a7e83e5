/* router.h: the routing table: a request's path and method to its handler, or why not. */
#ifndef LEINDEX_API_ROUTER_H
#define LEINDEX_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/mhd.h"

struct api_req;

/** A route's handler: queues the answer of one request. */
typedef enum MHD_Result (*api_handler)(struct api_req *req);

/** Who may call a route when a token file is in force (auth.h). */
enum api_access {
	API_ACCESS_OPEN = 0, /**< anyone: probes, the contract, OPTIONS */
	API_ACCESS_METRICS,  /**< anyone, unless --metrics-auth: then a read token */
	API_ACCESS_READ,     /**< a read or write token (GET and HEAD) */
	API_ACCESS_WRITE,    /**< a write token */
};

/** One row of the routing table. */
struct api_route {
	/** Path pattern; "{id}" matches one segment. */
	const char *pattern;
	/** "GET", "POST", "DELETE", "OPTIONS". HEAD is served by the GET route of a path. */
	const char *method;
	api_handler handler;
	/** Whether the request carries a JSON body (Content-Type and size checked). */
	bool json_body;
	enum api_access access;
};

/** The routing table, in the order of the route labels of the metrics. Immutable. */
extern const struct api_route api_routes[];
extern const size_t api_route_count;

/** What api_router_find() found. */
struct api_route_match {
	/** The route (for HEAD, the path's GET route), or NULL. */
	const struct api_route *route;
	/** The pattern of the path whatever the method, NULL when no path fits (metrics label). */
	const char *pattern;
	/** The {id} segment: its value, and whether it is a positive integer without leading 0. */
	uint64_t id;
	bool id_ok;
	/** With 405: the methods the path takes, comma-separated. */
	char allow[64];
};

/**
 * Finds the route of `url` (the decoded path, no query) and `method`. Returns 0 with m->route
 * set, 404 when no path fits, 405 when the path fits but not the method (m->allow filled).
 * Costs one pass over the table and the URL per route; thread-safe.
 */
unsigned api_router_find(const char *url, const char *method, struct api_route_match *m);

/** The methods of the routes of `pattern`, comma-separated ("GET, HEAD, OPTIONS"). */
void api_route_allow(const char *pattern, char *buf, size_t cap);

#endif
