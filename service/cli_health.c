/* cli_health.c: `leindexd health`: GET /healthz over a plain socket (no HTTP client library needed). */
#include "service/cli_health.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/listen.h"

int cli_health(const struct config *cfg)
{
	char host[256], port[16];
	struct errbuf err;
	errbuf_clear(&err);
	if (api_listen_split(cfg->listen, host, sizeof(host), port, sizeof(port), &err) < 0) {
		fprintf(stderr, "leindexd health: %s\n", err.msg);
		return 1;
	}
	/* A wildcard listener is probed on loopback. */
	if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, sizeof(host), "::1");
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		fprintf(stderr, "leindexd health: resolving %s: %s\n", host, gai_strerror(gai));
		return 1;
	}
	int fd = -1, last = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		struct timeval tv = {.tv_sec = 3};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			last = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "leindexd health: connecting to %s port %s: %s\n", host, port, strerror(last));
		return 1;
	}
	char req[512];
	int n = snprintf(req, sizeof(req), "GET /healthz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "leindexd health: sending to %s port %s: %s\n", host, port, strerror(errno));
		close(fd);
		return 1;
	}
	char buf[64];
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0)
		return 0;
	char *eol = strpbrk(buf, "\r\n");
	if (eol)
		*eol = '\0';
	fprintf(stderr, "leindexd health: GET /healthz on %s port %s answered '%s'\n", host, port,
		got ? buf : "nothing");
	return 1;
}
