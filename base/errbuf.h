/* errbuf.h: a message buffer that carries what failed, and where, up to the user. */
#ifndef LEINDEX_ERRBUF_H
#define LEINDEX_ERRBUF_H

#include <stddef.h>

/*
 * Functions that can fail take a `struct errbuf *err` (which may be NULL when the caller does not
 * want the text), return 0 on success and a negative value on failure, and on failure fill `err`
 * with one line fit to show as-is ("opening /data/leindex.mdb: No space left on device").
 * On success `err` is left untouched, so calls chain. Not shared between threads.
 */
struct errbuf {
	/** Negative errno (or -1 when there is none) of the last failure recorded. */
	int code;
	/** The message, NUL-terminated; empty when nothing failed. */
	char msg[1024];
};

/** Empties `err` (NULL is fine). */
void errbuf_clear(struct errbuf *err);

/** Formats a message into `err` (NULL is fine); returns `code`, which should be negative. */
int errbuf_set(struct errbuf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Like errbuf_set() with ": strerror(errnum)" appended; returns -errnum. */
int errbuf_errno(struct errbuf *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Puts `prefix: ` in front of the message already in `err` (NULL is fine); returns err->code. */
int errbuf_prefix(struct errbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
