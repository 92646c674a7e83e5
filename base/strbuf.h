/* strbuf.h: a growable byte string for text built piece by piece (JSON, Prometheus, URLs). */
#ifndef LEINDEX_BASE_STRBUF_H
#define LEINDEX_BASE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The buffer owns its memory (malloc'ed, grown by doubling) and keeps it NUL-terminated once
 * anything was appended, so `buf` can be read as a C string (it may also hold NULs of its own).
 * A failed allocation sets the sticky `oom` flag and turns every later append into a no-op, so
 * a writer checks once, at the end (strbuf_take() returns NULL). Not thread-safe: one owner.
 *
 * Calling sequence: strbuf_init(), appends, then strbuf_take() (the caller owns the string) or
 * strbuf_free().
 */
struct strbuf {
	/** The bytes, NUL-terminated; NULL until the first append. Owned by the strbuf. */
	char *buf;
	/** Bytes held (the NUL not counted), and bytes allocated. */
	size_t len, cap;
	/** An allocation failed: the content is incomplete and appends do nothing. */
	bool oom;
};

/** Starts empty; allocates nothing. */
void strbuf_init(struct strbuf *sb);

/** Frees the bytes and starts empty again (NULL is fine). */
void strbuf_free(struct strbuf *sb);

/**
 * Makes room for `n` more bytes (and the NUL). Returns true, or false with `oom` set when the
 * memory cannot be had (or was not before).
 */
bool strbuf_reserve(struct strbuf *sb, size_t n);

/** Appends the `n` bytes at `p`. */
void strbuf_append(struct strbuf *sb, const void *p, size_t n);

/** Appends the C string `s`. */
void strbuf_puts(struct strbuf *sb, const char *s);

/** Appends printf-formatted text (any length). */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Appends one byte. */
static inline void strbuf_putc(struct strbuf *sb, char c)
{
	if (sb->len + 1 < sb->cap && !sb->oom) { /* the fast path: room for it and the NUL */
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = '\0';
	} else {
		strbuf_append(sb, &c, 1);
	}
}

/**
 * Hands the bytes over: a malloc'ed NUL-terminated string the caller frees, its length (NUL
 * excluded) in *len when `len` is not NULL; "" when nothing was appended. NULL when an
 * allocation failed. The strbuf is empty again either way.
 */
char *strbuf_take(struct strbuf *sb, size_t *len);

#endif
