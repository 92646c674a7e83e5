/* readfile.c: see readfile.h. */
#include "base/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* First allocation; doubled as the file turns out longer. */
#define READFILE_FIRST_CAP 4096

int readfile_fd(int fd, size_t max, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (max > SIZE_MAX / 4)
		max = SIZE_MAX / 4; /* so that the sizes below cannot wrap */
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 2) { /* room for at least one byte and the NUL */
			size_t ncap = cap ? cap * 2 : READFILE_FIRST_CAP;
			if (ncap > max + 2)
				ncap = max + 2; /* one byte past `max` tells a file that is too long */
			if (ncap <= cap) {
				free(buf);
				return -EFBIG;
			}
			char *bigger = realloc(buf, ncap);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return -EFBIG;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int readfile_at(int dirfd, const char *path, int flags, size_t max, char **text, size_t *len,
		struct errbuf *err)
{
	*text = NULL;
	*len = 0;
	int fd = openat(dirfd, path, flags | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(err, errno, "opening %s", path);
	int rc = readfile_fd(fd, max, text, len);
	close(fd);
	if (rc == -EFBIG)
		return errbuf_set(err, rc, "reading %s: it is larger than %zu bytes", path, max);
	if (rc < 0)
		return errbuf_errno(err, -rc, "reading %s", path);
	return 0;
}
