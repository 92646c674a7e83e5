/* strbuf.c: see strbuf.h. */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First allocation: most answers fit in one page. */
#define STRBUF_FIRST_CAP 4096

void strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->oom = false;
}

void strbuf_free(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	strbuf_init(sb);
}

bool strbuf_reserve(struct strbuf *sb, size_t n)
{
	if (sb->oom)
		return false;
	if (n < SIZE_MAX - sb->len && sb->len + n < sb->cap)
		return true;
	if (n >= SIZE_MAX / 2 - sb->len) {
		sb->oom = true;
		return false;
	}
	size_t cap = sb->cap ? sb->cap : STRBUF_FIRST_CAP;
	while (cap <= sb->len + n)
		cap *= 2;
	char *nb = realloc(sb->buf, cap);
	if (!nb) {
		sb->oom = true;
		return false;
	}
	nb[sb->len] = '\0';
	sb->buf = nb;
	sb->cap = cap;
	return true;
}

void strbuf_append(struct strbuf *sb, const void *p, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	if (n)
		memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	/* Format into the room there is; when it was too little, grow to the size said and again. */
	for (int pass = 0; pass < 2; pass++) {
		if (!strbuf_reserve(sb, pass ? 0 : 64))
			return;
		size_t room = sb->cap - sb->len;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->buf[sb->len] = '\0';
			return; /* a bad format: nothing appended */
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return;
		}
		sb->buf[sb->len] = '\0';
		if (!strbuf_reserve(sb, (size_t)n))
			return;
	}
}

char *strbuf_take(struct strbuf *sb, size_t *len)
{
	if (!sb->oom && !sb->buf)
		strbuf_reserve(sb, 0);
	char *s = sb->oom ? NULL : sb->buf;
	if (s && len)
		*len = sb->len;
	if (s)
		sb->buf = NULL;
	strbuf_free(sb);
	return s;
}
