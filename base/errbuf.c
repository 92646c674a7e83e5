/* errbuf.c: formatting of user-facing error messages. */
#include "base/errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void errbuf_clear(struct errbuf *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int errbuf_set(struct errbuf *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int errbuf_errno(struct errbuf *err, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
		err->code = -errnum;
	}
	return -errnum;
}

int errbuf_prefix(struct errbuf *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char head[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* head, ": ", then as much of the old message as fits. */
	size_t h = strlen(head), o = strlen(old), cap = sizeof(err->msg) - 1;
	size_t n = h < cap ? h : cap;
	memcpy(err->msg, head, n);
	if (n + 2 <= cap) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
		size_t k = o < cap - n ? o : cap - n;
		memcpy(err->msg + n, old, k);
		n += k;
	}
	err->msg[n] = '\0';
	return err->code ? err->code : -1;
}
