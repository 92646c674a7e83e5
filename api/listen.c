/* listen.c: --listen parsing. */
#include "api/listen.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_listen_split(const char *listen, char *host, size_t host_cap, char *port, size_t port_cap,
		     struct errbuf *err)
{
	if (!listen || !*listen)
		return errbuf_set(err, -EINVAL, "--listen is empty; give HOST:PORT such as 127.0.0.1:8080");
	const char *colon;
	const char *h = listen;
	size_t hl;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return errbuf_set(err, -EINVAL, "--listen '%s': an IPv6 address is written [ADDR]:PORT", listen);
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return errbuf_set(err, -EINVAL, "--listen '%s' has no port; give HOST:PORT", listen);
		hl = (size_t)(colon - listen);
		if (memchr(listen, ':', hl))
			return errbuf_set(err, -EINVAL, "--listen '%s': write an IPv6 address as [ADDR]:PORT", listen);
	}
	const char *p = colon + 1;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(p, &end, 10);
	if (!*p || *end || errno || v > 65535 || p[0] == '-' || p[0] == '+')
		return errbuf_set(err, -EINVAL, "--listen '%s': the port must be a number from 0 to 65535", listen);
	if (hl + 1 > host_cap || strlen(p) + 1 > port_cap)
		return errbuf_set(err, -EINVAL, "--listen '%s' is too long", listen);
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, port_cap, "%lu", v);
	return 0;
}

int api_listen_addr(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
		    struct errbuf *err)
{
	char host[256], port[16];
	int rc = api_listen_split(listen, host, sizeof(host), port, sizeof(port), err);
	if (rc < 0)
		return rc;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0)
		return errbuf_set(err, -EINVAL, "--listen '%s': resolving '%s': %s", listen, host,
				  gai_strerror(gai));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
