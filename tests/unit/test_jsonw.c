/*
 * test_jsonw.c: the streaming JSON writer's numbers and times agree with libc's formatting, its
 * strings with jansson's reading, and its `path_b64` rule with the CLI's (scanjson_set_path()).
 */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jsonw.h"
#include "base/utf8.h"
#include "service/job/scanjson.h"
#include "tests/unit/unit.h"

/* What gmtime_r + strftime say, as the JSON string the writer must produce. */
static void expected_time(char *out, size_t cap, int64_t sec, uint32_t nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	CU_ASSERT_FATAL(gmtime_r(&t, &tm) != NULL);
	/* strftime's %Y does not pad years below 1000; RFC 3339 wants four digits. */
	snprintf(out, cap, "\"%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu32 "Z\"", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec);
}

static void check_time(int64_t sec, uint32_t nsec)
{
	struct jsonw w;
	jsonw_init(&w);
	CU_ASSERT_TRUE(jsonw_time(&w, sec, nsec));
	size_t len;
	char *got = jsonw_take(&w, &len);
	char want[96];
	expected_time(want, sizeof(want), sec, nsec);
	CU_ASSERT_STRING_EQUAL(got, want);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "time %" PRId64 ".%09u: got %s, want %s\n", sec, nsec, got, want);
	free(got);
}

static void test_times_match_gmtime(void)
{
	static const int64_t fixed[] = {
		0, -1, 1, 86399, 86400, -86400, -86401, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */,
		2147483647, 2147483648, -2147483648LL, 9999999999LL /* 2286 */, -62135596800LL /* 0001-01-01 */,
		253402300799LL /* 9999-12-31T23:59:59 */, 1798274752, 68169600 /* 1972-02-29 */,
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_time(fixed[i], 123456789);
	srand(7);
	for (int i = 0; i < 50000; i++) {
		int64_t sec = ((int64_t)rand() << 20 ^ rand()) % 253402300799LL;
		if (rand() & 1)
			sec = -(sec % 62135596800LL);
		check_time(sec, (uint32_t)(rand() % 1000000000));
	}
}

static void test_time_out_of_range(void)
{
	struct jsonw w;
	jsonw_init(&w);
	CU_ASSERT_FALSE(jsonw_time(&w, 253402300800LL, 0)); /* year 10000 */
	CU_ASSERT_FALSE(jsonw_time(&w, -62167219201LL, 0)); /* year -1 */
	CU_ASSERT_EQUAL(w.sb.len, 0);
	jsonw_free(&w);
}

static void test_integers(void)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr(&w);
	jsonw_u64(&w, 0);
	jsonw_u64(&w, UINT64_MAX);
	jsonw_i64(&w, INT64_MIN);
	jsonw_i64(&w, -42);
	jsonw_i64(&w, 7);
	jsonw_arr_end(&w);
	size_t len;
	char *got = jsonw_take(&w, &len);
	CU_ASSERT_STRING_EQUAL(got, "[0,18446744073709551615,-9223372036854775808,-42,7]");
	free(got);
}

/* Bytes that UTF-8 tests get wrong, with what the `path_b64` rule must do with them. */
static const struct {
	const char *bytes;
	size_t len;
	bool text; /* valid UTF-8: written as "path"; else "path_b64" */
} path_cases[] = {
	{"src/main.c", 10, true},
	{"", 0, true},
	{"caf\xc3\xa9/\xf0\x9f\x98\x80.txt", 14, true},  /* U+00E9, U+1F600 */
	{"tab\tnew\nline\"quote\\\x01\x1f\x7f", 22, true}, /* escapes */
	{"nul\0inside", 10, true},                       /* NUL is valid UTF-8 */
	{"\xf4\x8f\xbf\xbf", 4, true},                   /* U+10FFFF */
	{"\xef\xbf\xbf", 3, true},                       /* U+FFFF */
	{"over\xc0\xaflong", 10, false},                 /* '/' in 2 bytes */
	{"\xe0\x80\xaf", 3, false},                      /* '/' in 3 bytes */
	{"\xf0\x80\x80\xaf", 4, false},                  /* '/' in 4 bytes */
	{"\xc0\x80", 2, false},                          /* NUL in 2 bytes */
	{"\xed\xa0\x80", 3, false},                      /* U+D800 */
	{"\xed\xbf\xbf", 3, false},                      /* U+DFFF */
	{"\xed\xa0\xbd\xed\xb8\x80", 6, false},          /* a surrogate pair (CESU-8) */
	{"\xf4\x90\x80\x80", 4, false},                  /* U+110000 */
	{"\xf7\xbf\xbf\xbf", 4, false},                  /* U+1FFFFF */
	{"latin1 \xe9t\xe9", 10, false},
	{"cut \xe2\x82", 6, false},                      /* truncated */
	{"cut \xf0\x9f\x98", 7, false},
	{"\x80", 1, false},
	{"\xff\xfe", 2, false},
};

/* The raw bytes of standard base64 text `b64`, by OpenSSL's decoder (not ours). */
static size_t decode_b64(const char *b64, size_t n, unsigned char *out)
{
	int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return (size_t)-1;
	size_t pad = n >= 2 && b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0;
	return (size_t)len - pad;
}

static void test_path_rule_agrees(void)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const char *p = path_cases[i].bytes;
		size_t n = path_cases[i].len;
		/* The API's writer, read back by jansson. */
		struct jsonw w;
		jsonw_init(&w);
		jsonw_obj(&w);
		jsonw_path(&w, "path", p, n);
		jsonw_obj_end(&w);
		size_t len = 0;
		char *text = jsonw_take(&w, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		json_error_t jerr;
		json_t *api = json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
		CU_ASSERT_PTR_NOT_NULL(api);
		/* The CLI's and the stored records'. */
		json_t *cli = json_object();
		CU_ASSERT_EQUAL(scanjson_set_path(cli, "path", p, n), 0);
		CU_ASSERT_TRUE(json_equal(api, cli));
		CU_ASSERT_EQUAL(json_object_size(cli), 1);
		/* And both say what the rule says, with the bytes intact. */
		json_t *v = json_object_get(cli, "path");
		json_t *b = json_object_get(cli, "path_b64");
		if (path_cases[i].text) {
			CU_ASSERT_PTR_NOT_NULL(v);
			CU_ASSERT(v && json_string_length(v) == n && memcmp(json_string_value(v), p, n) == 0);
		} else {
			CU_ASSERT_PTR_NOT_NULL(b);
			unsigned char raw[64];
			CU_ASSERT(b && json_string_length(b) < 80 &&
				  decode_b64(json_string_value(b), json_string_length(b), raw) == n &&
				  memcmp(raw, p, n) == 0);
		}
		if (!json_equal(api, cli) || !(path_cases[i].text ? v : b))
			fprintf(stderr, "path case %zu: API %s\n", i, text);
		json_decref(api);
		json_decref(cli);
		free(text);
	}
}

/*
 * utf8_valid() accepts exactly what jansson's json_stringn() accepts, so that a string the CLI
 * stores is a string the API writes: every string of one and two bytes, every three-byte one
 * with a three-byte lead, and four-byte ones with every lead and second byte.
 */
static void test_utf8_matches_jansson(void)
{
	unsigned long differ = 0;
	unsigned char b[4];
	for (uint32_t v = 0; v < 65536 + 256; v++) {
		size_t n = v < 256 ? 1 : 2;
		b[0] = (unsigned char)(n == 1 ? v : (v - 256) >> 8), b[1] = (unsigned char)(v - 256);
		json_t *s = json_stringn((const char *)b, n);
		differ += utf8_valid((const char *)b, n) != (s != NULL);
		json_decref(s);
	}
	for (uint32_t v = 0xe00000; v <= 0xefffff; v++) {
		b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)v;
		json_t *s = json_stringn((const char *)b, 3);
		differ += utf8_valid((const char *)b, 3) != (s != NULL);
		json_decref(s);
	}
	static const unsigned char tail[] = {0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0};
	for (unsigned l = 0xf0; l < 256; l++)
		for (unsigned s2 = 0; s2 < 256; s2++)
			for (size_t t = 0; t < sizeof(tail); t++) {
				b[0] = (unsigned char)l, b[1] = (unsigned char)s2, b[2] = tail[t], b[3] = 0x80;
				json_t *s = json_stringn((const char *)b, 4);
				differ += utf8_valid((const char *)b, 4) != (s != NULL);
				json_decref(s);
			}
	CU_ASSERT_EQUAL(differ, 0);
}

static void test_escapes(void)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr(&w);
	jsonw_strn(&w, "q\"b\\n\nt\tr\r\x01\x1f\x7f", 13);
	jsonw_arr_end(&w);
	size_t len;
	char *got = jsonw_take(&w, &len);
	CU_ASSERT_STRING_EQUAL(got, "[\"q\\\"b\\\\n\\nt\\tr\\r\\u0001\\u001f\x7f\"]");
	free(got);
}

/* Nesting past what the writer tracks fails like an allocation: once, at jsonw_take(). */
static void test_too_deep_fails(void)
{
	struct jsonw w;
	jsonw_init(&w);
	for (int i = 0; i < 100; i++)
		jsonw_arr(&w);
	jsonw_u64(&w, 1);
	size_t len = 0;
	CU_ASSERT_PTR_NULL(jsonw_take(&w, &len));
	CU_ASSERT_EQUAL(w.sb.len, 0); /* reset for reuse */
	jsonw_null(&w);
	char *got = jsonw_take(&w, &len);
	CU_ASSERT_STRING_EQUAL(got, "null");
	free(got);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"RFC 3339 times agree with gmtime_r over years 0001-9999", test_times_match_gmtime},
		{"years outside 0000-9999 are refused", test_time_out_of_range},
		{"integers at their limits", test_integers},
		{"path and path_b64: the API and the CLI agree on tricky bytes", test_path_rule_agrees},
		{"utf8_valid() accepts what jansson's json_stringn() accepts", test_utf8_matches_jansson},
		{"string escapes", test_escapes},
		{"too deep a nesting fails at the end", test_too_deep_fails},
		{NULL, NULL},
	};
	return unit_run("jsonw", tests);
}
