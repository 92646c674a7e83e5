/*
 * fuzz_query.c: query strings as the API reads them (api/query.c). libmicrohttpd splits the query
 * at '&' and '=' and percent-decodes each part; api_query() hands each pair to api_query_take(),
 * which keeps the parameters a route takes and refuses any other name or a name given twice.
 * Every byte of a query is the client's.
 *
 * fuzz-options: -max_len=2048 -timeout=5
 *
 * Input: byte 0 picks the route's parameter list (those of the API's handlers); the rest is the
 * query string (what follows '?'), split and decoded here as libmicrohttpd 0.9.75 does
 * (MHD_parse_arguments_: '&', then the first '=', '+' to space, then MHD_http_unescape()).
 * Properties:
 *  - api_query_take() accepts exactly when every name is one of the route's, each at most once
 *    (an independent count); accepted values are the bytes of their pair; a refusal stops at the
 *    first offending pair, leaves the parameters as they were and says why in non-empty UTF-8
 *    that names the parameter;
 *  - the Link header of the next page (api_link_next()) is a well-formed <path?query>; rel="next"
 *    whose query holds only unreserved characters, '%XX', '&' and '='; read back the same way it
 *    gives the same parameters, page_token replaced by the token;
 *  - api_query_uint() on page_size, wait and a range taken from the input accepts exactly the
 *    canonical decimals (no sign, space or leading zero, at most 19 digits) in the range, and
 *    the number it gives prints back as the same bytes.
 */
#include <microhttpd.h>
#include <string.h>

#include "api/api.h"
#include "base/utf8.h"
#include "tests/fuzz/fuzz.h"

/* The parameter lists of the API's handlers (api/scans.c, api/scan_entries.c). */
static const char *const fuzz_q_none[] = {NULL};
static const char *const fuzz_q_scans[] = {"state", "page_size", "page_token", NULL};
static const char *const fuzz_q_scan[] = {"wait", NULL};
static const char *const fuzz_q_entries[] = {"page_size", "page_token", "type", "prefix", NULL};
static const char *const fuzz_q_errors[] = {"page_size", "page_token", NULL};
static const char *const *const fuzz_q_routes[] = {fuzz_q_none, fuzz_q_scans, fuzz_q_scan,
						   fuzz_q_entries, fuzz_q_errors};
#define FUZZ_Q_ROUTES (sizeof(fuzz_q_routes) / sizeof(fuzz_q_routes[0]))
#define FUZZ_Q_PARAMS 4
#define FUZZ_Q_PAIRS 64

/* One decoded pair; key and value point into the harness's copy of the query. */
struct fuzz_q_pair {
	char *key;
	size_t key_len;
	char *value; /* NULL: no '=' */
	size_t value_len;
};

/* Decodes one part in place as libmicrohttpd does: '+' to space, then %XX. */
static size_t fuzz_q_unescape(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == '+')
			*c = ' ';
	return MHD_http_unescape(s);
}

/* Splits and decodes `q` (a NUL-terminated copy, modified) into at most max pairs. */
static size_t fuzz_q_split(char *q, struct fuzz_q_pair *out, size_t max)
{
	size_t n = 0;
	char *args = q;
	while (args && args[0] != '\0' && n < max) {
		char *amper = strchr(args, '&');
		char *next = NULL;
		if (amper) {
			*amper = '\0';
			next = amper + 1;
		}
		char *equals = strchr(args, '=');
		struct fuzz_q_pair *p = &out[n++];
		p->value = NULL;
		p->value_len = 0;
		if (equals) {
			*equals = '\0';
			p->value = equals + 1;
			p->value_len = fuzz_q_unescape(p->value);
		}
		p->key = args;
		p->key_len = fuzz_q_unescape(args);
		args = next;
	}
	return n;
}

static size_t fuzz_q_count(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

/* The index of `key` among `names`, or -1. */
static int fuzz_q_index(const char *const *names, size_t count, const char *key, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0)
			return (int)i;
	return -1;
}

static bool fuzz_q_same(const struct api_param *a, const struct api_param *b, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!a[i].value != !b[i].value)
			return false;
		if (a[i].value && (a[i].len != b[i].len ||
				   (a[i].len && memcmp(a[i].value, b[i].value, a[i].len) != 0)))
			return false;
	}
	return true;
}

/*
 * Takes `pairs` into params[0..count) as api_query() does and checks the outcome against an
 * independent reading; returns whether they were accepted.
 */
static bool fuzz_q_collect(const char *const *names, struct api_param *params, size_t count,
			   const struct fuzz_q_pair *pairs, size_t npairs)
{
	for (size_t i = 0; i < count; i++)
		params[i] = (struct api_param){.name = names[i]};
	bool seen[FUZZ_Q_PARAMS] = {false};
	for (size_t k = 0; k < npairs; k++) {
		const struct fuzz_q_pair *p = &pairs[k];
		int at = fuzz_q_index(names, count, p->key, p->key_len);
		bool ok = at >= 0 && !seen[at];
		struct api_param before[FUZZ_Q_PARAMS];
		memcpy(before, params, count * sizeof(*params));
		char bad[API_QUERY_BAD_MAX];
		memset(bad, 0x55, sizeof(bad));
		bad[0] = '\0';
		int rc = api_query_take(params, count, p->key, p->key_len, p->value, p->value_len,
					bad, sizeof(bad));
		FUZZ_CHECK(rc == (ok ? 0 : -1), "pair %zu ('%.*s') answered %d", k, (int)p->key_len,
			   p->key, rc);
		if (ok) {
			seen[at] = true;
			if (p->value)
				FUZZ_CHECK(params[at].value == p->value && params[at].len == p->value_len,
					   "parameter %s did not get its value", names[at]);
			else
				FUZZ_CHECK(params[at].value && params[at].len == 0,
					   "parameter %s without '=' is not given and empty", names[at]);
			continue;
		}
		size_t blen = strnlen(bad, sizeof(bad));
		FUZZ_CHECK(blen > 0 && blen < sizeof(bad), "a refusal without a message");
		FUZZ_CHECK(utf8_valid(bad, blen), "the message is not UTF-8: %s", bad);
		FUZZ_CHECK(fuzz_q_same(before, params, count), "a refusal changed the parameters");
		if (at >= 0) {
			FUZZ_CHECK(strstr(bad, "given twice") && strstr(bad, names[at]),
				   "a repeated parameter: '%s'", bad);
			return false;
		}
		FUZZ_CHECK(strncmp(bad, "unknown query parameter '", 25) == 0,
			   "an unknown parameter: '%s'", bad);
		bool plain = p->key_len < 64 && utf8_valid(p->key, p->key_len) &&
			     !memchr(p->key, '\0', p->key_len);
		if (plain)
			FUZZ_CHECK(memcmp(bad + 25, p->key, p->key_len) == 0 &&
					   bad[25 + p->key_len] == '\'',
				   "the message does not name '%s': %s", p->key, bad);
		for (size_t i = 0; i < count && blen + 1 < sizeof(bad); i++)
			FUZZ_CHECK(strstr(bad, names[i]), "the message does not list %s: %s",
				   names[i], bad);
		return false;
	}
	return true;
}

static bool fuzz_q_url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~' || c == '&' || c == '=';
}

static bool fuzz_q_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* The Link of the next page, read back. */
static void fuzz_q_link(const char *const *names, const struct api_param *params, size_t count)
{
	int tok_at = fuzz_q_index(names, count, "page_token", 10);
	if (tok_at < 0)
		return;
	/* A token as api_token_encode() makes them is base64url; any C string must survive. */
	const struct api_param *given = &params[tok_at];
	char *tok = fuzz_alloc(given->value ? given->len + 1 : 8);
	if (given->value) {
		memcpy(tok, given->value, given->len);
		tok[given->len] = '\0';
	} else {
		strcpy(tok, "AbC-_9");
	}
	char *link = api_link_next("/scans/7/entries", params, count, tok);
	FUZZ_CHECK(link != NULL, "api_link_next failed");
	static const char head[] = "</scans/7/entries?", tail[] = ">; rel=\"next\"";
	size_t llen = strlen(link);
	FUZZ_CHECK(llen >= sizeof(head) - 1 + sizeof(tail) - 1 &&
			   memcmp(link, head, sizeof(head) - 1) == 0 &&
			   strcmp(link + llen - (sizeof(tail) - 1), tail) == 0,
		   "a malformed Link: %s", link);
	char *q = link + sizeof(head) - 1;
	q[llen - (sizeof(head) - 1) - (sizeof(tail) - 1)] = '\0';
	for (const char *c = q; *c; c++) {
		if (*c == '%') {
			FUZZ_CHECK(fuzz_q_hex((unsigned char)c[1]) && fuzz_q_hex((unsigned char)c[2]),
				   "a bad escape in the Link: %s", q);
			c += 2;
			continue;
		}
		FUZZ_CHECK(fuzz_q_url_char((unsigned char)*c), "'%c' unescaped in the Link: %s", *c,
			   q);
	}
	struct fuzz_q_pair pairs[FUZZ_Q_PARAMS + 1];
	size_t n = fuzz_q_split(q, pairs, FUZZ_Q_PARAMS + 1);
	struct api_param again[FUZZ_Q_PARAMS];
	FUZZ_CHECK(fuzz_q_collect(names, again, count, pairs, n), "the Link's query is refused");
	struct api_param want[FUZZ_Q_PARAMS];
	memcpy(want, params, count * sizeof(*params));
	want[tok_at].value = tok;
	want[tok_at].len = strlen(tok);
	FUZZ_CHECK(fuzz_q_same(want, again, count), "the Link's query reads back otherwise");
	free(link);
	free(tok);
}

/* api_query_uint() on `s` against an independent reading. */
static void fuzz_q_uint(const char *s, size_t n, unsigned long long min, unsigned long long max)
{
	bool canonical = n >= 1 && n <= 19 && (n == 1 || s[0] != '0');
	unsigned long long want = 0;
	for (size_t i = 0; canonical && i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			canonical = false;
		else
			want = want * 10 + (unsigned long long)(s[i] - '0');
	}
	bool ok = canonical && want >= min && want <= max;
	unsigned long long got = 0xdeadbeef;
	int rc = api_query_uint(s, n, min, max, &got);
	FUZZ_CHECK(rc == (ok ? 0 : -1), "'%.*s' in [%llu, %llu]: %d", (int)n, s, min, max, rc);
	if (!ok) {
		FUZZ_CHECK(got == 0xdeadbeef, "a refused number was written");
		return;
	}
	char text[32];
	int len = snprintf(text, sizeof(text), "%llu", got);
	FUZZ_CHECK(len > 0 && (size_t)len == n && memcmp(text, s, n) == 0,
		   "'%.*s' reads as %llu", (int)n, s, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *const *names = fuzz_q_routes[data[0] % FUZZ_Q_ROUTES];
	size_t count = fuzz_q_count(names);
	char *q = fuzz_alloc(size);
	memcpy(q, data + 1, size - 1);
	q[size - 1] = '\0'; /* libmicrohttpd hands over the query as a C string */

	struct fuzz_q_pair pairs[FUZZ_Q_PAIRS];
	size_t npairs = fuzz_q_split(q, pairs, FUZZ_Q_PAIRS);
	struct api_param params[FUZZ_Q_PARAMS];
	if (fuzz_q_collect(names, params, count, pairs, npairs))
		fuzz_q_link(names, params, count);

	int ps = fuzz_q_index(names, count, "page_size", 9);
	if (ps >= 0 && params[ps].value)
		fuzz_q_uint(params[ps].value, params[ps].len, 1, 1000);
	for (size_t k = 0; k < npairs; k++) {
		if (!pairs[k].value)
			continue;
		fuzz_q_uint(pairs[k].value, pairs[k].value_len, 0, 60);
		/* A range from the key's bytes, so that every bound gets tried. */
		unsigned long long lo = 0, hi = 0;
		for (size_t i = 0; i < pairs[k].key_len; i++)
			lo = lo * 31 + (unsigned char)pairs[k].key[i];
		hi = lo ^ (lo << 17) ^ (unsigned long long)pairs[k].value_len;
		fuzz_q_uint(pairs[k].value, pairs[k].value_len, lo < hi ? lo : hi, lo < hi ? hi : lo);
	}
	free(q);
	return 0;
}
