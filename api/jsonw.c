/* jsonw.c: a streaming JSON writer. */
#include "api/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/encode.h"
#include "base/utf8.h"

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	strbuf_init(&w->sb);
}

void jsonw_free(struct jsonw *w)
{
	strbuf_free(&w->sb);
	jsonw_init(w);
}

char *jsonw_take(struct jsonw *w, size_t *len)
{
	char *b = strbuf_take(&w->sb, len);
	jsonw_init(w);
	return b;
}

/* Before any value: a comma when a sibling came before, nothing after a key. */
static void jsonw_sep(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->comma[w->depth])
		strbuf_putc(&w->sb, ',');
	if (w->depth > 0)
		w->comma[w->depth] = true;
}

static void jsonw_open(struct jsonw *w, char c)
{
	jsonw_sep(w);
	strbuf_putc(&w->sb, c);
	if (w->depth + 1 < (int)(sizeof(w->comma) / sizeof(w->comma[0]))) {
		w->depth++;
		w->comma[w->depth] = false;
	} else {
		w->sb.oom = true; /* too deep: never happens with our documents */
	}
}

static void jsonw_close(struct jsonw *w, char c)
{
	strbuf_putc(&w->sb, c);
	if (w->depth > 0)
		w->depth--;
}

void jsonw_obj(struct jsonw *w) { jsonw_open(w, '{'); }
void jsonw_obj_end(struct jsonw *w) { jsonw_close(w, '}'); }
void jsonw_arr(struct jsonw *w) { jsonw_open(w, '['); }
void jsonw_arr_end(struct jsonw *w) { jsonw_close(w, ']'); }

void jsonw_key(struct jsonw *w, const char *key)
{
	size_t n = strlen(key);
	jsonw_sep(w);
	if (!strbuf_reserve(&w->sb, n + 3))
		return;
	char *p = w->sb.buf + w->sb.len;
	p[0] = '"';
	memcpy(p + 1, key, n);
	p[n + 1] = '"';
	p[n + 2] = ':';
	p[n + 3] = '\0';
	w->sb.len += n + 3;
	w->after_key = true;
}

static void jsonw_escaped(struct jsonw *w, const char *s, size_t n)
{
	if (!strbuf_reserve(&w->sb, n + 2))
		return;
	strbuf_putc(&w->sb, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_append(&w->sb, s + run, i - run);
		run = i + 1;
		char esc[7] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; strbuf_append(&w->sb, esc, 2); break;
		case '\\': esc[1] = '\\'; strbuf_append(&w->sb, esc, 2); break;
		case '\n': esc[1] = 'n'; strbuf_append(&w->sb, esc, 2); break;
		case '\t': esc[1] = 't'; strbuf_append(&w->sb, esc, 2); break;
		case '\r': esc[1] = 'r'; strbuf_append(&w->sb, esc, 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			encode_hex(&c, 1, esc + 4, ENCODE_HEX_LOWER);
			strbuf_append(&w->sb, esc, 6);
		}
	}
	strbuf_append(&w->sb, s + run, n - run);
	strbuf_putc(&w->sb, '"');
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

/* Decimal digits of v, right-aligned ending at `end`; returns where they start. snprintf was a
 * quarter of the time spent writing entry pages. */
static char *jsonw_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	char b[24];
	char *p = jsonw_digits(b + sizeof(b), v);
	jsonw_sep(w);
	strbuf_append(&w->sb, p, (size_t)(b + sizeof(b) - p));
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	char b[24];
	char *p = jsonw_digits(b + sizeof(b), v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	jsonw_sep(w);
	strbuf_append(&w->sb, p, (size_t)(b + sizeof(b) - p));
}

/* Writes `width` digits of v (zero-padded) at p. */
static void jsonw_fixed(char *p, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

bool jsonw_time(struct jsonw *w, int64_t sec, uint32_t nsec)
{
	/* Days to civil date (H. Hinnant's algorithm): no gmtime_r, no strftime, no locale. */
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	if (y < 0 || y > 9999 || nsec > 999999999u)
		return false; /* RFC 3339 has four-digit years */
	char b[32];
	jsonw_fixed(b, (uint64_t)y, 4);
	b[4] = '-';
	jsonw_fixed(b + 5, (uint64_t)m, 2);
	b[7] = '-';
	jsonw_fixed(b + 8, (uint64_t)d, 2);
	b[10] = 'T';
	jsonw_fixed(b + 11, (uint64_t)(rem / 3600), 2);
	b[13] = ':';
	jsonw_fixed(b + 14, (uint64_t)(rem / 60 % 60), 2);
	b[16] = ':';
	jsonw_fixed(b + 17, (uint64_t)(rem % 60), 2);
	b[19] = '.';
	jsonw_fixed(b + 20, nsec, 9);
	b[29] = 'Z';
	jsonw_strn(w, b, 30);
	return true;
}

void jsonw_dbl(struct jsonw *w, double v)
{
	if (!isfinite(v))
		v = 0;
	char b[40];
	int n = snprintf(b, sizeof(b), "%.9g", v);
	jsonw_sep(w);
	strbuf_append(&w->sb, b, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	jsonw_sep(w);
	strbuf_append(&w->sb, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	jsonw_sep(w);
	strbuf_append(&w->sb, "null", 4);
}

void jsonw_rawval(struct jsonw *w, const char *json, size_t n)
{
	jsonw_sep(w);
	strbuf_append(&w->sb, json, n);
}

void jsonw_path(struct jsonw *w, const char *key, const char *p, size_t n)
{
	if (utf8_valid(p, n)) {
		jsonw_key(w, key);
		jsonw_strn(w, p, n);
		return;
	}
	char k[64];
	snprintf(k, sizeof(k), "%s_b64", key);
	jsonw_key(w, k);
	/* Paths are at most a few KiB: a stack buffer is enough for the common case. */
	char small[1024];
	size_t need = ENCODE_BASE64_LEN(n) + 1;
	char *b = need <= sizeof(small) ? small : malloc(need);
	if (!b) {
		w->sb.oom = true;
		return;
	}
	size_t bl = encode_base64(p, n, b);
	jsonw_strn(w, b, bl);
	if (b != small)
		free(b);
}
