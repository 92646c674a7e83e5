/* httpc.c: the benchmark's HTTP path over one keep-alive connection, without parsing JSON.
 *
 *   httpc HOST PORT ROOT [PAGE_SIZE]
 *
 * POST /scans {"root": ROOT, "use_gitignore": false}, GET /scans/ID?wait=60 until the state is
 * "completed", GET every page of /scans/ID/entries at PAGE_SIZE (default 10000) following the
 * Link rel="next" header, DELETE /scans/ID. Bodies are read and dropped; only the id, the state
 * and the Link header are looked at. Prints "pages N bytes B" on success; exits 1 with a message
 * naming the failing request otherwise. It exists beside http_scan.sh (one curl process per
 * request) to separate the server's time from a shell client's process start-ups.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
	int fd;
	char *buf; /* received bytes not yet consumed */
	size_t len, cap;
};

static void die(const char *what)
{
	fprintf(stderr, "httpc: %s\n", what);
	exit(1);
}

static void conn_fill(struct conn *c)
{
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 1 << 20;
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			die("out of memory");
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n <= 0)
		die(n == 0 ? "the server closed the connection" : strerror(errno));
	c->len += (size_t)n;
}

/* Sends one request and reads the answer: status, Link target (if any), body (kept in *body). */
static int request(struct conn *c, const char *method, const char *path, const char *json,
		   char *link, size_t link_cap, char **body, size_t *body_len)
{
	char req[8192];
	int n = json ? snprintf(req, sizeof(req),
				"%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n%s",
				method, path, strlen(json), json)
		     : snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n", method, path);
	if (n < 0 || (size_t)n >= sizeof(req))
		die("request too long");
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(c->fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w <= 0)
			die(strerror(errno));
		off += w;
	}
	char *end;
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		conn_fill(c);
	size_t head_len = (size_t)(end - c->buf) + 4;
	int status = atoi(c->buf + 9);
	size_t content_length = 0;
	if (link)
		link[0] = '\0';
	for (char *line = c->buf; line < end;) {
		char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			content_length = strtoull(line + 15, NULL, 10);
		if (link && strncasecmp(line, "Link:", 5) == 0) {
			char *lt = memchr(line, '<', (size_t)(eol - line));
			char *gt = lt ? memchr(lt, '>', (size_t)(eol - lt)) : NULL;
			if (lt && gt && (size_t)(gt - lt) < link_cap &&
			    memmem(gt, (size_t)(eol - gt), "next", 4)) {
				memcpy(link, lt + 1, (size_t)(gt - lt - 1));
				link[gt - lt - 1] = '\0';
			}
		}
		line = eol + 2;
	}
	while (c->len < head_len + content_length)
		conn_fill(c);
	if (body) {
		*body = malloc(content_length + 1);
		if (!*body)
			die("out of memory");
		memcpy(*body, c->buf + head_len, content_length);
		(*body)[content_length] = '\0';
		*body_len = content_length;
	}
	memmove(c->buf, c->buf + head_len + content_length, c->len - head_len - content_length);
	c->len -= head_len + content_length;
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		die("usage: httpc HOST PORT ROOT [PAGE_SIZE]");
	const char *page_size = argc > 4 ? argv[4] : "10000";
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		die("cannot resolve the server's address");
	struct conn c = {.fd = socket(ai->ai_family, SOCK_STREAM, 0)};
	if (c.fd < 0 || connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("cannot connect to the server");
	freeaddrinfo(ai);

	char json[4096], path[4096], link[4096], *body;
	size_t body_len, bytes = 0;
	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"use_gitignore\":false}", argv[3]);
	if (request(&c, "POST", "/scans", json, NULL, 0, &body, &body_len) != 202)
		die("POST /scans did not answer 202");
	char *id = strstr(body, "\"id\":");
	if (!id)
		die("POST /scans answered without an id");
	unsigned long long scan = strtoull(id + 5, NULL, 10);
	free(body);
	for (int tries = 0;; tries++) {
		snprintf(path, sizeof(path), "/scans/%llu?wait=60", scan);
		if (request(&c, "GET", path, NULL, NULL, 0, &body, &body_len) != 200)
			die("GET /scans/ID?wait=60 failed");
		int done = strstr(body, "\"state\":\"completed\"") != NULL;
		int live = strstr(body, "\"state\":\"running\"") || strstr(body, "\"state\":\"queued\"");
		free(body);
		if (done)
			break;
		if (!live || tries > 100)
			die("the scan did not complete");
	}
	int pages = 0;
	snprintf(path, sizeof(path), "/scans/%llu/entries?page_size=%s", scan, page_size);
	while (path[0]) {
		if (request(&c, "GET", path, NULL, link, sizeof(link), &body, &body_len) != 200)
			die("GET of an entries page failed");
		free(body);
		bytes += body_len;
		pages++;
		snprintf(path, sizeof(path), "%s", link);
	}
	snprintf(path, sizeof(path), "/scans/%llu", scan);
	if (request(&c, "DELETE", path, NULL, NULL, 0, NULL, NULL) != 204)
		die("DELETE /scans/ID did not answer 204");
	printf("pages %d bytes %zu\n", pages, bytes);
	close(c.fd);
	free(c.buf);
	return 0;
}
