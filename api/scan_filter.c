/* scan_filter.c: reading the filters of entry queries (see scan_filter.h). */
#include "api/scan_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "service/scan/ignore.h"

/* The names, in the order of the canonical form (page tokens are bound to it). */
enum api_filter_param {
	API_F_MATCH,
	API_F_NAME,
	API_F_EXT,
	API_F_MIN_SIZE,
	API_F_MAX_SIZE,
	API_F_AFTER,
	API_F_BEFORE,
	API_F_TYPE,
	API_F_PREFIX,
	API_F_PREFIX_B64,
	API_F_PREFIX_MODE,
	API_F_COUNT,
	API_F_PARTIAL,
	API_F_COUNT_OF,
};

static const char *const api_filter_param_names[API_F_COUNT_OF] = {
	"match", "name", "ext", "min_size", "max_size", "modified_after", "modified_before",
	"type", "prefix", "prefix_b64", "prefix_mode", "count", "partial",
};

const char api_filter_names[] = "match, name, ext, min_size, max_size, modified_after, "
				"modified_before, type, prefix, prefix_b64, prefix_mode, count, "
				"partial";

void api_filter_init(struct api_filter *qf)
{
	memset(qf, 0, sizeof(*qf));
	strbuf_init(&qf->canon);
}

void api_filter_clear(struct api_filter *qf)
{
	if (!qf)
		return;
	for (size_t i = 0; i < qf->own_count; i++)
		free(qf->own[i]);
	ignore_stack_unref(qf->match);
	strbuf_free(&qf->canon);
	api_filter_init(qf);
}

/* ---------------------------------------------------------------- values */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t api_filter_days(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s into *v; -1 when any is not a digit. */
static int api_filter_digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

static bool api_filter_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The "+HH:MM", "-HH:MM", "Z" at s[0..n): the offset east of UTC in seconds. */
static int api_filter_offset(const char *s, size_t n, int64_t *off)
{
	unsigned oh, om;
	*off = 0;
	if (n == 1 && (s[0] == 'Z' || s[0] == 'z'))
		return 0;
	if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    api_filter_digits(s + 1, 2, &oh) < 0 || api_filter_digits(s + 4, 2, &om) < 0 ||
	    oh > 23 || om > 59)
		return -1;
	*off = (int64_t)(oh * 3600 + om * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

int api_filter_time(const char *s, size_t n, struct store_time *out)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, sec, frac = 0;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':' || api_filter_digits(s, 4, &y) < 0 ||
	    api_filter_digits(s + 5, 2, &mo) < 0 || api_filter_digits(s + 8, 2, &d) < 0 ||
	    api_filter_digits(s + 11, 2, &h) < 0 || api_filter_digits(s + 14, 2, &mi) < 0 ||
	    api_filter_digits(s + 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && api_filter_leap(y)) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	size_t i = 19;
	if (s[i] == '.') {
		size_t digits = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			if (digits >= 9)
				return -1; /* more than nanoseconds */
			frac = frac * 10 + (unsigned)(s[i] - '0');
		}
		if (digits == 0)
			return -1;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	int64_t off;
	if (i >= n || api_filter_offset(s + i, n - i, &off) < 0)
		return -1;
	/* A leap second (:60) is the instant after :59, which is what the next minute's :00 is. */
	out->sec = api_filter_days(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + sec) - off;
	out->nsec = frac;
	return 0;
}

static int api_filter_b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int api_filter_b64(const char *s, size_t n, char **out, size_t *len)
{
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	char *buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return -2;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = api_filter_b64_val((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits && (acc & ((1u << bits) - 1))) {
		free(buf); /* stray bits past the last byte: not a canonical encoding */
		return -1;
	}
	*out = buf;
	*len = o;
	return 0;
}

/* ---------------------------------------------------------------- taking parameters */

/* A copy of value owned by the filter (NUL-terminated too). */
static char *api_filter_own(struct api_filter *qf, const char *v, size_t n)
{
	if (qf->own_count == sizeof(qf->own) / sizeof(qf->own[0]))
		return NULL;
	char *c = malloc(n + 1);
	if (!c)
		return NULL;
	memcpy(c, v, n);
	c[n] = '\0';
	qf->own[qf->own_count++] = c;
	return c;
}

/* A value quoted for a message: at most 40 bytes, or "(not UTF-8)". */
static void api_filter_show(const char *v, size_t n, char *out, size_t cap)
{
	size_t m = n > 40 ? 40 : n;
	while (m > 0 && !utf8_valid(v, m))
		m--; /* a cut multi-byte sequence */
	if (memchr(v, '\0', m) || (m == 0 && n > 0))
		snprintf(out, cap, "(not UTF-8)");
	else
		snprintf(out, cap, "%.*s%s", (int)m, v, m < n ? "..." : "");
}

/* Parses a decimal byte count (no sign, no leading zero, at most 20 digits, <= UINT64_MAX). */
static int api_filter_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* true/false (and 1/0). */
static int api_filter_bool(const char *s, size_t n, bool *out)
{
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1'))
		*out = true;
	else if ((n == 5 && memcmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0'))
		*out = false;
	else
		return -1;
	return 0;
}

/* A name is 1..255 bytes without '/' or NUL. */
static bool api_filter_name_ok(const char *s, size_t n)
{
	return n >= 1 && n <= 255 && !memchr(s, '/', n) && !memchr(s, '\0', n);
}

/* Takes the value of parameter `p`; -1 with the message in bad. */
/* What a value handler found: taken, malformed, out of memory, or refused with its own words. */
enum api_fv { API_FV_OK, API_FV_BAD, API_FV_OOM, API_FV_SAID };

/* Keeps v[0..n) as a string the filter owns in *out; API_FV_OOM when it cannot. */
static enum api_fv api_filter_keep(struct api_filter *qf, const char *v, size_t n, char **out)
{
	return (*out = api_filter_own(qf, v, n)) ? API_FV_OK : API_FV_OOM;
}

/* The parameters whose values are kept as text: match, name, ext, prefix, prefix_b64. */
static enum api_fv api_filter_text(struct api_filter *qf, enum api_filter_param p, const char *v,
				   size_t n, char *bad, size_t cap)
{
	struct store_walk_filter *f = &qf->f;
	char *c = NULL;
	enum api_fv r;
	size_t len;
	switch (p) {
	case API_F_MATCH:
		if (n == 0 || memchr(v, '\0', n) || n > 4096)
			return API_FV_BAD;
		if ((r = api_filter_keep(qf, v, n, &c)) == API_FV_OK)
			qf->match_text = c, qf->match_len = n;
		return r;
	case API_F_NAME:
		if (!api_filter_name_ok(v, n))
			return API_FV_BAD;
		if ((r = api_filter_keep(qf, v, n, &c)) == API_FV_OK)
			f->name = c, f->name_len = n;
		return r;
	case API_F_EXT:
		if (!api_filter_name_ok(v, n) || v[0] == '.')
			return API_FV_BAD;
		if (f->ext_count == API_FILTER_EXT_MAX) {
			snprintf(bad, cap, "ext is given more than %d times; give at most %d",
				 API_FILTER_EXT_MAX, API_FILTER_EXT_MAX);
			return API_FV_SAID;
		}
		if ((r = api_filter_keep(qf, v, n, &c)) == API_FV_OK) {
			qf->exts[f->ext_count++] = (struct store_bytes){c, n};
			f->exts = qf->exts;
		}
		return r;
	case API_F_PREFIX:
		if (memchr(v, '\0', n) || n > 65536)
			return API_FV_BAD;
		if ((r = api_filter_keep(qf, v, n, &c)) == API_FV_OK)
			f->prefix = c, f->prefix_len = n;
		return r;
	case API_F_PREFIX_B64: {
		int rc = n > 90000 ? -1 : api_filter_b64(v, n, &c, &len);
		if (rc == -2)
			return API_FV_OOM;
		if (rc < 0 || memchr(c, '\0', len)) {
			if (rc == 0)
				free(c);
			return API_FV_BAD;
		}
		if (qf->own_count == sizeof(qf->own) / sizeof(qf->own[0])) {
			free(c);
			return API_FV_OOM;
		}
		qf->own[qf->own_count++] = c;
		f->prefix = c;
		f->prefix_len = len;
		return API_FV_OK;
	}
	default:
		return API_FV_BAD;
	}
}

/* The parameters that are numbers, times, or one of a few words. */
static enum api_fv api_filter_scalar(struct api_filter *qf, enum api_filter_param p,
				     const char *v, size_t n)
{
	struct store_walk_filter *f = &qf->f;
	enum entry_type t;
	char tn[16];
	switch (p) {
	case API_F_MIN_SIZE:
	case API_F_MAX_SIZE:
		if (api_filter_u64(v, n, p == API_F_MIN_SIZE ? &f->min_size : &f->max_size) < 0)
			return API_FV_BAD;
		f->bounds |= p == API_F_MIN_SIZE ? STORE_FILTER_MIN_SIZE : STORE_FILTER_MAX_SIZE;
		return API_FV_OK;
	case API_F_AFTER:
	case API_F_BEFORE:
		if (api_filter_time(v, n, p == API_F_AFTER ? &f->mtime_after : &f->mtime_before) < 0)
			return API_FV_BAD;
		f->bounds |= p == API_F_AFTER ? STORE_FILTER_AFTER : STORE_FILTER_BEFORE;
		return API_FV_OK;
	case API_F_TYPE:
		if (memchr(v, '\0', n) || n >= sizeof(tn))
			return API_FV_BAD;
		memcpy(tn, v, n);
		tn[n] = '\0';
		if (entry_type_parse(tn, &t) < 0)
			return API_FV_BAD;
		f->type_mask = 1u << t;
		return API_FV_OK;
	case API_F_PREFIX_MODE:
		if (n == 4 && memcmp(v, "path", 4) == 0)
			f->prefix_mode = STORE_PREFIX_PATH;
		else if (n == 6 && memcmp(v, "string", 6) == 0)
			f->prefix_mode = STORE_PREFIX_STRING;
		else
			return API_FV_BAD;
		return API_FV_OK;
	case API_F_COUNT:
	case API_F_PARTIAL:
		if (api_filter_bool(v, n, p == API_F_COUNT ? &qf->count : &qf->partial) < 0)
			return API_FV_BAD;
		return API_FV_OK;
	default:
		return API_FV_BAD;
	}
}

/* What each parameter takes, for the 400 of a malformed value. */
static const char *const api_filter_takes[API_F_COUNT_OF] = {
	"a gitignore-style pattern on the relative path, such as '*.rs' or 'src/**/test_*'",
	"a file name (1-255 bytes, no '/')",
	"an extension without the dot, such as 'rs' or 'tar.gz'",
	"a size in bytes (a decimal integer)",
	"a size in bytes (a decimal integer)",
	"an RFC 3339 time such as 2024-05-01T12:00:00Z",
	"an RFC 3339 time such as 2024-05-01T12:00:00Z",
	"one of file, dir, symlink, other",
	"a relative path or string, without NUL bytes",
	"the standard base64 of a path's raw bytes",
	"path or string",
	"true or false",
	"true or false",
};

static int api_filter_value(struct api_filter *qf, enum api_filter_param p, const char *v,
			    size_t n, const char *shown, char *bad, size_t cap)
{
	const char *name = api_filter_param_names[p];
	bool text = p == API_F_MATCH || p == API_F_NAME || p == API_F_EXT || p == API_F_PREFIX ||
		    p == API_F_PREFIX_B64;
	enum api_fv r = text ? api_filter_text(qf, p, v, n, bad, cap) : api_filter_scalar(qf, p, v, n);
	switch (r) {
	case API_FV_OK:
		return 1;
	case API_FV_SAID:
		return -1;
	case API_FV_OOM:
		snprintf(bad, cap, "out of memory reading %s", name);
		return -1;
	case API_FV_BAD:
		break;
	}
	snprintf(bad, cap, "%s must be %s; got '%s'", name, (unsigned)p < API_F_COUNT_OF ?
		 api_filter_takes[p] : "something else", shown);
	return -1;
}

int api_filter_take(struct api_filter *qf, const char *key, size_t klen, const char *value,
		    size_t vlen, char *bad, size_t cap)
{
	enum api_filter_param p;
	for (p = 0; p < API_F_COUNT_OF; p++)
		if (strlen(api_filter_param_names[p]) == klen &&
		    memcmp(api_filter_param_names[p], key, klen) == 0)
			break;
	if (p == API_F_COUNT_OF)
		return 0;
	if (p != API_F_EXT && (qf->given & (1u << p))) {
		snprintf(bad, cap, "query parameter '%s' is given twice; give it once",
			 api_filter_param_names[p]);
		return -1;
	}
	if (!value) {
		value = "";
		vlen = 0;
	}
	char shown[64];
	api_filter_show(value, vlen, shown, sizeof(shown));
	int rc = api_filter_value(qf, p, value, vlen, shown, bad, cap);
	if (rc > 0)
		qf->given |= 1u << p;
	return rc;
}

/* ---------------------------------------------------------------- finishing */

static bool api_filter_glob(void *ctx, const char *path, size_t len, const struct entry *e)
{
	return ignore_stack_excluded(ctx, path, len, e->type == ENTRY_DIR);
}

/* Compiles match= as one gitignore line at the root. */
static int api_filter_compile(struct api_filter *qf, char *bad, size_t cap)
{
	if (qf->match_text[0] == '!' || qf->match_text[0] == '#') {
		snprintf(bad, cap, "match must be a pattern that selects; '%c' at its start would make "
			 "it a %s (write '\\%c' for the character itself)", qf->match_text[0],
			 qf->match_text[0] == '!' ? "negation" : "comment", qf->match_text[0]);
		return -1;
	}
	struct ignore_rules *rules;
	struct errbuf err;
	errbuf_clear(&err);
	const char *pats[1] = {qf->match_text};
	if (ignore_rules_from_patterns(&rules, pats, 1, &err) < 0) {
		snprintf(bad, cap, "reading match: %s", err.msg);
		return -1;
	}
	if (ignore_rules_count(rules) == 0) {
		ignore_rules_destroy(rules);
		snprintf(bad, cap, "match is blank: give a pattern such as '*.rs'");
		return -1;
	}
	if (!(qf->match = ignore_stack_push(NULL, rules))) {
		snprintf(bad, cap, "out of memory reading match");
		return -1;
	}
	qf->f.match = api_filter_glob;
	qf->f.match_ctx = qf->match;
	return 0;
}

/* A path-mode prefix: relative, no empty, "." or ".." parts (one trailing '/' allowed). */
static bool api_filter_prefix_ok(const char *p, size_t n)
{
	if (n > 1 && p[n - 1] == '/')
		n--;
	if (n == 0 || p[0] == '/')
		return false;
	for (size_t i = 0; i < n;) {
		const char *s = p + i;
		const char *e = memchr(s, '/', n - i);
		size_t len = e ? (size_t)(e - s) : n - i;
		if (len == 0 || len > 255 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		i += len + 1;
	}
	return true;
}

/* The canonical form: for each given parameter in a fixed order, its index and value. */
static void api_filter_canon(struct api_filter *qf)
{
	const struct store_walk_filter *f = &qf->f;
	struct strbuf *sb = &qf->canon;
	strbuf_free(sb);
	strbuf_printf(sb, "v1 %x", qf->given);
	if (qf->match_text)
		strbuf_printf(sb, "|m%zu:", qf->match_len), strbuf_append(sb, qf->match_text, qf->match_len);
	if (f->name)
		strbuf_printf(sb, "|n%zu:", f->name_len), strbuf_append(sb, f->name, f->name_len);
	for (size_t i = 0; i < f->ext_count; i++)
		strbuf_printf(sb, "|e%zu:", f->exts[i].len), strbuf_append(sb, f->exts[i].p, f->exts[i].len);
	strbuf_printf(sb, "|b%x %llu %llu %lld.%u %lld.%u|t%x|pm%d|c%d|pa%d", f->bounds,
		      (unsigned long long)f->min_size, (unsigned long long)f->max_size,
		      (long long)f->mtime_after.sec, f->mtime_after.nsec,
		      (long long)f->mtime_before.sec, f->mtime_before.nsec, f->type_mask,
		      (int)f->prefix_mode, qf->count, qf->partial);
	if (f->prefix)
		strbuf_printf(sb, "|p%zu:", f->prefix_len), strbuf_append(sb, f->prefix, f->prefix_len);
}

int api_filter_finish(struct api_filter *qf, char *bad, size_t cap)
{
	struct store_walk_filter *f = &qf->f;
	unsigned g = qf->given;
	if ((g & (1u << API_F_PREFIX)) && (g & (1u << API_F_PREFIX_B64))) {
		snprintf(bad, cap, "give prefix or prefix_b64, not both");
		return -1;
	}
	if ((g & (1u << API_F_PREFIX_MODE)) && !f->prefix) {
		snprintf(bad, cap, "prefix_mode needs a prefix (or prefix_b64)");
		return -1;
	}
	/* The default is path: a directory's entries, or the one entry a file path names. */
	if (!(g & (1u << API_F_PREFIX_MODE)))
		f->prefix_mode = STORE_PREFIX_PATH;
	if (f->prefix && f->prefix_mode == STORE_PREFIX_PATH &&
	    !api_filter_prefix_ok(f->prefix, f->prefix_len)) {
		snprintf(bad, cap, "prefix must be a path relative to the scan root, such as 'src/lib' "
			 "or 'src/main.c' (no leading '/', no empty, '.' or '..' parts); "
			 "prefix_mode=string takes any string");
		return -1;
	}
	if ((f->bounds & STORE_FILTER_MIN_SIZE) && (f->bounds & STORE_FILTER_MAX_SIZE) &&
	    f->min_size > f->max_size) {
		snprintf(bad, cap, "min_size (%llu) is above max_size (%llu): nothing could match",
			 (unsigned long long)f->min_size, (unsigned long long)f->max_size);
		return -1;
	}
	if ((f->bounds & STORE_FILTER_AFTER) && (f->bounds & STORE_FILTER_BEFORE) &&
	    (f->mtime_after.sec > f->mtime_before.sec ||
	     (f->mtime_after.sec == f->mtime_before.sec &&
	      f->mtime_after.nsec > f->mtime_before.nsec))) {
		snprintf(bad, cap, "modified_after is later than modified_before: nothing could match");
		return -1;
	}
	if (qf->match_text && !qf->match && api_filter_compile(qf, bad, cap) < 0)
		return -1;
	api_filter_canon(qf);
	if (qf->canon.oom) {
		snprintf(bad, cap, "out of memory reading the filters");
		return -1;
	}
	return 0;
}

bool api_filter_any(const struct api_filter *qf)
{
	const struct store_walk_filter *f = &qf->f;
	return f->prefix || f->type_mask || f->name || f->ext_count || f->bounds || f->match;
}
