/* query.c: query parameters: only the known ones, each once; page_size; Link headers. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/encode.h"
#include "base/strbuf.h"
#include "base/utf8.h"

struct api_query_state {
	struct api_param *params;
	size_t count;
	char bad[API_QUERY_BAD_MAX]; /**< the first problem found */
};

/* Writes "unknown query parameter 'KEY'; this route takes a, b" (or "takes none") into bad. */
static void api_query_unknown(const struct api_param *params, size_t count, const char *key,
			      size_t key_len, char *bad, size_t cap)
{
	char name[64];
	size_t n = key_len < sizeof(name) - 1 ? key_len : sizeof(name) - 1;
	memcpy(name, key, n);
	name[n] = '\0';
	if (!utf8_valid(name, n) || memchr(key, '\0', n))
		snprintf(name, sizeof(name), "(not UTF-8)");
	int len = snprintf(bad, cap, "unknown query parameter '%s'", name);
	if (count && len > 0 && (size_t)len < cap) {
		size_t o = (size_t)len;
		o += (size_t)snprintf(bad + o, cap - o, "; this route takes ");
		for (size_t i = 0; i < count && o < cap; i++)
			o += (size_t)snprintf(bad + o, cap - o, "%s%s", i ? ", " : "", params[i].name);
	} else if (len > 0 && (size_t)len < cap) {
		snprintf(bad + len, cap - (size_t)len, "; this route takes none");
	}
}

int api_query_take(struct api_param *params, size_t count, const char *key, size_t key_len,
		   const char *value, size_t value_len, char *bad, size_t cap)
{
	for (size_t i = 0; i < count; i++) {
		if (strlen(params[i].name) != key_len || memcmp(params[i].name, key, key_len) != 0)
			continue;
		if (params[i].value) {
			snprintf(bad, cap, "query parameter '%s' is given twice; give it once",
				 params[i].name);
			return -1;
		}
		params[i].value = value ? value : "";
		params[i].len = value ? value_len : 0;
		return 0;
	}
	api_query_unknown(params, count, key, key_len, bad, cap);
	return -1;
}

static enum MHD_Result api_query_it(void *cls, enum MHD_ValueKind kind, const char *key,
				    size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct api_query_state *st = cls;
	return api_query_take(st->params, st->count, key, key_size, value, value_size, st->bad,
			      sizeof(st->bad)) == 0 ? MHD_YES : MHD_NO;
}

int api_query(struct api_req *req, struct api_param *params, size_t count, enum MHD_Result *res)
{
	struct api_query_state st = {.params = params, .count = count};
	for (size_t i = 0; i < count; i++) {
		params[i].value = NULL;
		params[i].len = 0;
	}
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, api_query_it, &st);
	if (st.bad[0]) {
		*res = api_problem(req, 400, "%s", st.bad);
		return -1;
	}
	return 0;
}

int api_query_uint(const char *s, size_t n, unsigned long long min, unsigned long long max,
			  unsigned long long *out)
{
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	unsigned long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int api_query_page_size(struct api_req *req, const struct api_param *p, unsigned def,
			unsigned max, unsigned *out, enum MHD_Result *res)
{
	if (!p->value) {
		*out = def;
		return 0;
	}
	unsigned long long v;
	if (api_query_uint(p->value, p->len, 1, max, &v) < 0) {
		*res = api_problem(req, 400, "page_size must be an integer from 1 to %u, got '%.*s'",
				   max, (int)(p->len > 40 ? 40 : p->len), p->value);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

void api_pct_encode(struct strbuf *sb, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			strbuf_putc(sb, (char)c);
		} else {
			char e[4] = {'%'};
			encode_hex(&c, 1, e + 1, ENCODE_HEX_UPPER);
			strbuf_append(sb, e, 3);
		}
	}
}

/* Appends "name=value", percent-encoded, with '&' before unless it is the first. */
static void api_query_append(struct strbuf *sb, bool *first, const char *name, const char *value,
			     size_t len)
{
	if (!*first)
		strbuf_putc(sb, '&');
	*first = false;
	strbuf_puts(sb, name);
	strbuf_putc(sb, '=');
	api_pct_encode(sb, value, len);
}

char *api_link_next(const char *path, const struct api_param *params, size_t count, const char *tok)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_printf(&sb, "<%s?", path);
	bool first = true;
	for (size_t i = 0; i < count; i++)
		if (params[i].value && strcmp(params[i].name, "page_token") != 0)
			api_query_append(&sb, &first, params[i].name, params[i].value, params[i].len);
	api_query_append(&sb, &first, "page_token", tok, strlen(tok));
	strbuf_puts(&sb, ">; rel=\"next\"");
	return strbuf_take(&sb, NULL);
}
