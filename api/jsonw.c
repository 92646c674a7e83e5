/* jsonw.c: a streaming JSON writer. */
#include "api/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	jsonw_init(w);
}

char *jsonw_take(struct jsonw *w, size_t *len)
{
	char *b = NULL;
	if (!w->oom) {
		jsonw_append(w, "", 1); /* the NUL, not counted */
		if (!w->oom) {
			b = w->buf;
			*len = w->len - 1;
			w->buf = NULL;
		}
	}
	jsonw_free(w);
	return b;
}

static bool jsonw_reserve(struct jsonw *w, size_t n)
{
	if (w->oom)
		return false;
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	char *nb = realloc(w->buf, cap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

void jsonw_append(struct jsonw *w, const void *p, size_t n)
{
	if (!jsonw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void jsonw_putc(struct jsonw *w, char c)
{
	if (w->len < w->cap && !w->oom)
		w->buf[w->len++] = c;
	else
		jsonw_append(w, &c, 1);
}

/* Before any value: a comma when a sibling came before, nothing after a key. */
static void jsonw_sep(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->comma[w->depth])
		jsonw_putc(w, ',');
	if (w->depth > 0)
		w->comma[w->depth] = true;
}

static void jsonw_open(struct jsonw *w, char c)
{
	jsonw_sep(w);
	jsonw_putc(w, c);
	if (w->depth + 1 < (int)(sizeof(w->comma) / sizeof(w->comma[0]))) {
		w->depth++;
		w->comma[w->depth] = false;
	} else {
		w->oom = true; /* too deep: never happens with our documents */
	}
}

static void jsonw_close(struct jsonw *w, char c)
{
	jsonw_putc(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jsonw_obj(struct jsonw *w) { jsonw_open(w, '{'); }
void jsonw_obj_end(struct jsonw *w) { jsonw_close(w, '}'); }
void jsonw_arr(struct jsonw *w) { jsonw_open(w, '['); }
void jsonw_arr_end(struct jsonw *w) { jsonw_close(w, ']'); }

void jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_sep(w);
	jsonw_putc(w, '"');
	jsonw_append(w, key, strlen(key));
	jsonw_append(w, "\":", 2);
	w->after_key = true;
}

static void jsonw_escaped(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!jsonw_reserve(w, n + 2))
		return;
	jsonw_putc(w, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jsonw_append(w, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; jsonw_append(w, esc, 2); break;
		case '\\': esc[1] = '\\'; jsonw_append(w, esc, 2); break;
		case '\n': esc[1] = 'n'; jsonw_append(w, esc, 2); break;
		case '\t': esc[1] = 't'; jsonw_append(w, esc, 2); break;
		case '\r': esc[1] = 'r'; jsonw_append(w, esc, 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jsonw_append(w, esc, 6);
		}
	}
	jsonw_append(w, s + run, n - run);
	jsonw_putc(w, '"');
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	jsonw_sep(w);
	jsonw_escaped(w, s, n);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s, strlen(s));
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	jsonw_sep(w);
	jsonw_append(w, b, (size_t)n);
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	jsonw_sep(w);
	jsonw_append(w, b, (size_t)n);
}

void jsonw_dbl(struct jsonw *w, double v)
{
	if (!isfinite(v))
		v = 0;
	char b[40];
	int n = snprintf(b, sizeof(b), "%.9g", v);
	jsonw_sep(w);
	jsonw_append(w, b, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	jsonw_sep(w);
	jsonw_append(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	jsonw_sep(w);
	jsonw_append(w, "null", 4);
}

void jsonw_rawval(struct jsonw *w, const char *json, size_t n)
{
	jsonw_sep(w);
	jsonw_append(w, json, n);
}

bool jsonw_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

size_t jsonw_base64(const unsigned char *p, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

void jsonw_path(struct jsonw *w, const char *key, const char *p, size_t n)
{
	if (jsonw_utf8_valid(p, n)) {
		jsonw_key(w, key);
		jsonw_strn(w, p, n);
		return;
	}
	char k[64];
	snprintf(k, sizeof(k), "%s_b64", key);
	jsonw_key(w, k);
	/* Paths are at most a few KiB: a stack buffer is enough for the common case. */
	char small[1024];
	size_t need = 4 * ((n + 2) / 3) + 1;
	char *b = need <= sizeof(small) ? small : malloc(need);
	if (!b) {
		w->oom = true;
		return;
	}
	size_t bl = jsonw_base64((const unsigned char *)p, n, b);
	jsonw_strn(w, b, bl);
	if (b != small)
		free(b);
}
