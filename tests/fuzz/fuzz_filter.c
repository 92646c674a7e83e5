/*
 * fuzz_filter.c: the entry filters of a query string (api/scan_filter.c), as GET
 * /scans/{id}/entries, /top and `leindexd entries` read them. Every byte is the client's.
 *
 * fuzz-options: -max_len=2048 -timeout=5
 *
 * Input: a query string, split at '&' and the first '=' and percent-decoded as libmicrohttpd
 * 0.9.75 does; each pair goes to api_filter_take(), then api_filter_finish(). Properties:
 *  - a name is taken (1) or refused (-1) exactly when it is one of the filters' names, and left
 *    to the route (0) otherwise; a refusal says why in non-empty UTF-8 that names the parameter;
 *    a name given twice is refused, ext= excepted;
 *  - accepted sizes read as the independent decimal reading of the value; accepted times equal
 *    timegm() of their fields minus the offset, with the fraction's nanoseconds;
 *  - taking the same pairs again gives the same canonical form (page tokens are bound to it);
 *  - store_filter_pass() on entries made from the input agrees with an independent reading of
 *    the name, extension, type and bounds tests;
 *  - api_filter_b64() decodes what encode_base64() made of the input's bytes.
 */
#include <microhttpd.h>
#include <string.h>
#include <time.h>

#include "api/scan_filter.h"
#include "base/encode.h"
#include "base/utf8.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_F_PAIRS 64

static const char *const fuzz_f_names[] = {"match", "name", "ext", "min_size", "max_size",
					   "modified_after", "modified_before", "type", "prefix",
					   "prefix_b64", "prefix_mode", "count", "partial"};

struct fuzz_f_pair {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
};

static size_t fuzz_f_unescape(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == '+')
			*c = ' ';
	return MHD_http_unescape(s);
}

static size_t fuzz_f_split(char *q, struct fuzz_f_pair *out, size_t max)
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
		struct fuzz_f_pair *p = &out[n++];
		p->value = NULL;
		p->value_len = 0;
		if (equals) {
			*equals = '\0';
			p->value = equals + 1;
			p->value_len = fuzz_f_unescape(p->value);
		}
		p->key = args;
		p->key_len = fuzz_f_unescape(args);
		args = next;
	}
	return n;
}

static int fuzz_f_index(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof(fuzz_f_names) / sizeof(fuzz_f_names[0]); i++)
		if (strlen(fuzz_f_names[i]) == n && memcmp(fuzz_f_names[i], k, n) == 0)
			return (int)i;
	return -1;
}

/* The independent reading of a size: canonical decimal, at most UINT64_MAX. */
static bool fuzz_f_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	unsigned __int128 v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > UINT64_MAX)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* An accepted time against timegm() of its fields. */
static void fuzz_f_time(const char *s, size_t n, const struct store_time *t)
{
	FUZZ_CHECK(n >= 20, "a time of %zu bytes was accepted", n);
	struct tm tm = {0};
	char buf[32];
	memcpy(buf, s, 19);
	buf[19] = '\0';
	FUZZ_CHECK(sscanf(buf, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6, "fields of '%.*s'", (int)n, s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t sec = (int64_t)timegm(&tm);
	uint32_t ns = 0;
	size_t i = 19, digits = 0;
	if (s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			ns = ns * 10 + (uint32_t)(s[i] - '0');
	for (; digits > 0 && digits < 9; digits++)
		ns *= 10;
	if (s[i] == '+' || s[i] == '-') {
		int64_t off = ((s[i + 1] - '0') * 10 + (s[i + 2] - '0')) * 3600 +
			      ((s[i + 4] - '0') * 10 + (s[i + 5] - '0')) * 60;
		sec -= s[i] == '+' ? off : -off;
	}
	FUZZ_CHECK(t->sec == sec && t->nsec == ns, "'%.*s' read as %lld.%09u, not %lld.%09u", (int)n,
		   s, (long long)t->sec, t->nsec, (long long)sec, ns);
}

/* Takes the pairs into qf, checking each answer; returns whether all were taken and finished. */
static bool fuzz_f_take(struct api_filter *qf, const struct fuzz_f_pair *pairs, size_t n)
{
	unsigned seen = 0;
	api_filter_init(qf);
	for (size_t k = 0; k < n; k++) {
		const struct fuzz_f_pair *p = &pairs[k];
		int at = fuzz_f_index(p->key, p->key_len);
		char bad[API_FILTER_BAD_MAX];
		bad[0] = '\0';
		int rc = api_filter_take(qf, p->key, p->key_len, p->value, p->value_len, bad, sizeof(bad));
		if (at < 0) {
			FUZZ_CHECK(rc == 0, "'%.*s' is no filter's, yet answered %d", (int)p->key_len, p->key, rc);
			continue;
		}
		FUZZ_CHECK(rc == 1 || rc == -1, "'%s' answered %d", fuzz_f_names[at], rc);
		bool twice = at != 2 && (seen & (1u << at));
		if (rc < 0) {
			size_t bl = strnlen(bad, sizeof(bad));
			FUZZ_CHECK(bl > 0 && bl < sizeof(bad) && utf8_valid(bad, bl), "a refusal's message");
			FUZZ_CHECK(strstr(bad, fuzz_f_names[at]) != NULL, "'%s' not named: %s",
				   fuzz_f_names[at], bad);
			if (twice)
				FUZZ_CHECK(strstr(bad, "twice") != NULL, "a repeat: %s", bad);
			return false;
		}
		FUZZ_CHECK(!twice, "'%s' given twice was taken", fuzz_f_names[at]);
		seen |= 1u << at;
		const char *v = p->value ? p->value : "";
		uint64_t u;
		if (at == 3 || at == 4) {
			FUZZ_CHECK(fuzz_f_u64(v, p->value_len, &u) &&
					   u == (at == 3 ? qf->f.min_size : qf->f.max_size),
				   "size '%.*s'", (int)p->value_len, v);
		} else if (at == 5 || at == 6) {
			fuzz_f_time(v, p->value_len, at == 5 ? &qf->f.mtime_after : &qf->f.mtime_before);
		}
	}
	char bad[API_FILTER_BAD_MAX];
	return api_filter_finish(qf, bad, sizeof(bad)) == 0;
}

/* store_filter_pass() without prefix and glob, against an independent reading. */
static void fuzz_f_pass(const struct api_filter *qf, const uint8_t *data, size_t size)
{
	struct store_walk_filter f = qf->f;
	f.match = NULL;
	f.prefix = NULL;
	for (size_t off = 0; off + 4 <= size; off += 29) {
		size_t nlen = 1 + data[off] % 12;
		if (off + 4 + nlen > size)
			break;
		char name[16];
		memcpy(name, data + off + 4, nlen);
		struct entry e = {.name = name, .name_len = nlen, .type = data[off + 1] % 4,
				  .flags = data[off + 2] % 5 ? ENTRY_HAS_STAT : 0,
				  .size = (uint64_t)data[off + 3] * 997,
				  .mtime_sec = (int64_t)data[off + 3] * 100000000 - 12000000000,
				  .mtime_nsec = data[off + 1] * 1000000u};
		bool want = !f.type_mask || (f.type_mask & (1u << e.type));
		if (f.name)
			want &= f.name_len == nlen && memcmp(f.name, name, nlen) == 0;
		if (f.ext_count) {
			bool any = false;
			for (size_t i = 0; i < f.ext_count; i++) {
				size_t el = f.exts[i].len;
				any |= nlen > el && name[nlen - el - 1] == '.' &&
				       memcmp(name + nlen - el, f.exts[i].p, el) == 0;
			}
			want &= any;
		}
		bool st = e.flags & ENTRY_HAS_STAT;
		long double mt = (long double)e.mtime_sec + e.mtime_nsec / 1e9L;
		if (f.bounds)
			want &= st;
		if (f.bounds & STORE_FILTER_MIN_SIZE)
			want &= e.size >= f.min_size;
		if (f.bounds & STORE_FILTER_MAX_SIZE)
			want &= e.size <= f.max_size;
		if (f.bounds & STORE_FILTER_AFTER)
			want &= mt >= (long double)f.mtime_after.sec + f.mtime_after.nsec / 1e9L;
		if (f.bounds & STORE_FILTER_BEFORE)
			want &= mt <= (long double)f.mtime_before.sec + f.mtime_before.nsec / 1e9L;
		FUZZ_CHECK(store_filter_pass(&f, name, nlen, &e) == want, "entry at %zu", off);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = fuzz_alloc(size + 1), *q2 = fuzz_alloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	memcpy(q2, q, size + 1);
	struct fuzz_f_pair pairs[FUZZ_F_PAIRS], pairs2[FUZZ_F_PAIRS];
	size_t n = fuzz_f_split(q, pairs, FUZZ_F_PAIRS);
	fuzz_f_split(q2, pairs2, FUZZ_F_PAIRS);
	struct api_filter a, b;
	if (fuzz_f_take(&a, pairs, n)) {
		FUZZ_CHECK(fuzz_f_take(&b, pairs2, n), "the same pairs refused the second time");
		FUZZ_CHECK(a.canon.len > 0 && a.canon.len == b.canon.len &&
				   memcmp(a.canon.buf, b.canon.buf, a.canon.len) == 0,
			   "the canonical form differs for the same pairs");
		api_filter_clear(&b);
		fuzz_f_pass(&a, data, size);
		if (a.f.match) { /* the glob runs on any bytes */
			struct entry e = {.type = ENTRY_FILE};
			(void)store_filter_pass(&a.f, (const char *)data, size, &e);
		}
	}
	api_filter_clear(&a);
	/* base64 of the input's bytes decodes back. */
	size_t bn = size > 512 ? 512 : size;
	char *enc = fuzz_alloc(ENCODE_BASE64_LEN(bn) + 1);
	size_t el = encode_base64(data, bn, enc);
	char *dec;
	size_t dl;
	FUZZ_CHECK(api_filter_b64(enc, el, &dec, &dl) == 0 && dl == bn && memcmp(dec, data, bn) == 0,
		   "base64 of %zu bytes does not decode back", bn);
	free(dec);
	free(enc);
	free(q);
	free(q2);
	return 0;
}
