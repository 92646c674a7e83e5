/* conns.h: the deadline for receiving a whole request, enforced on every open connection. */
#ifndef LEINDEX_API_CONNS_H
#define LEINDEX_API_CONNS_H

#include <stdint.h>

#include "base/errbuf.h"

/*
 * libmicrohttpd closes a connection only after a stretch of silence (the idle timeout), so a
 * client that sends one header byte a second holds its connection forever (slowloris). Every
 * connection here gets a clock when it opens and again after each answer: when the next request
 * has not been received whole (headers and body) within the deadline, a watchdog thread
 * ("http-deadline") shuts the socket down and libmicrohttpd closes the connection. Once a
 * request is whole, its handler and its answer (a long page, a ?wait) are not timed.
 *
 * Calling sequence: api_conns_create() before the daemon starts; api_conns_opened() and
 * api_conns_closed() from libmicrohttpd's connection notifications; api_conns_request_whole()
 * when a request is whole, api_conns_answered() when its answer is complete; api_conns_destroy()
 * after the daemon stopped. All are thread-safe.
 */

struct api_conns;

/** Starts the watchdog; `deadline_ns` > 0. */
int api_conns_create(struct api_conns **out, int64_t deadline_ns, struct errbuf *err);

/** Stops the watchdog and frees; NULL is fine. Every connection must be closed already. */
void api_conns_destroy(struct api_conns *c);

/** A connection on socket `fd` opened: *slot receives its record (libmicrohttpd's socket context). */
void api_conns_opened(struct api_conns *c, int fd, void **slot);

/** The connection of *slot closes (before its socket is closed): forget it. */
void api_conns_closed(struct api_conns *c, void **slot);

/** The request on the connection of `rec` (its socket context) is whole: stop its clock. */
void api_conns_request_whole(struct api_conns *c, void *rec);

/** Its answer is complete: the next request's clock starts now. */
void api_conns_answered(struct api_conns *c, void *rec);

/** How many connections the deadline has cut since the start. */
uint64_t api_conns_cut_count(struct api_conns *c);

#endif
