/* listen.h: parsing --listen HOST:PORT ("[v6]:PORT" for IPv6). */
#ifndef LEINDEX_API_LISTEN_H
#define LEINDEX_API_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "base/errbuf.h"

/** Splits HOST:PORT (or [HOST]:PORT) into `host` and `port` (1..65535 or 0). */
int api_listen_split(const char *listen, char *host, size_t host_cap, char *port, size_t port_cap,
		     struct errbuf *err);

/** Resolves `listen` (numeric hosts or names) into one socket address. */
int api_listen_addr(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
		    struct errbuf *err);

#endif
