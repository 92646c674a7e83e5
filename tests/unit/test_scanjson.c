/*
 * test_scanjson.c: how a scan's counters are printed: durations with at most nine decimals and
 * no exponent, the root's slowest directory as ".", and older records rewritten the same way.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>

#include "service/job/scanjson.h"

static void expect_real(double v, const char *want)
{
	char b[64];
	size_t n = scanjson_real_text(v, b, sizeof(b));
	CU_ASSERT_EQUAL(n, strlen(b));
	CU_ASSERT_STRING_EQUAL(b, want);
	if (strcmp(b, want) != 0)
		fprintf(stderr, "  %.17g printed as %s, want %s\n", v, b, want);
}

static void test_reals_fixed(void)
{
	/* The two figures of the issue, as jansson printed them before. */
	expect_real(0.00026483300000000002, "0.000264833");
	expect_real(7.6899999999999992e-6, "0.00000769");
	expect_real(0, "0.0");
	expect_real(-0.0, "0.0");
	expect_real(NAN, "0.0");
	expect_real(INFINITY, "0.0");
	expect_real(1.5, "1.5");
	expect_real(12345678.25, "12345678.25");
	expect_real(1e-10, "0.0");
	expect_real(2.0000000004, "2.0");
}

/* Every real of a document comes out as scanjson_real_text() writes it, and parses back. */
static void test_dumps_no_exponent(void)
{
	json_t *doc = json_pack("{sf s[f f] s{sf ss} sI sb sn}", "a", 7.6899999999999992e-6, "b",
				1e-7, 3.25, "c", "seconds", 0.1, "path", "x\"y", "n", (json_int_t)42,
				"t", 1, "u");
	char *text = scanjson_dumps(doc, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "{\"a\":0.00000769,\"b\":[0.0000001,3.25],\"c\":{\"seconds\":0.1,"
				     "\"path\":\"x\\\"y\"},\"n\":42,\"t\":true,\"u\":null}");
	CU_ASSERT_PTR_NULL(strstr(text, "e-"));
	json_t *back = json_loads(text, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(back);
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(back, "a")), 7.69e-6, 1e-12);
	json_decref(back);
	free(text);
	json_decref(doc);
}

static void test_slowest_root_is_dot(void)
{
	struct scanner_stats st = {.scandir_calls = 1, .slowest_scandir_seconds = 0.5};
	struct scanner_progress p = {.dirs = 1};
	json_t *c = scanjson_counters(&st, &p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	json_t *path = json_object_get(json_object_get(c, "slowest_scandir"), "path");
	CU_ASSERT_STRING_EQUAL(json_string_value(path), ".");
	json_decref(c);

	/* A record an older version wrote: "" for the root, 17 significant digits. */
	char *n = scanjson_normalize("{\"wall_seconds\":0.00026483300000000002,"
				     "\"slowest_scandir\":{\"seconds\":7.6899999999999992e-6,\"path\":\"\"}}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n, "{\"wall_seconds\":0.000264833,"
				  "\"slowest_scandir\":{\"seconds\":0.00000769,\"path\":\".\"}}");
	free(n);
	/* A deeper directory keeps its path. */
	n = scanjson_normalize("{\"slowest_scandir\":{\"seconds\":1.0,\"path\":\"a/b\"}}");
	CU_ASSERT_STRING_EQUAL(n, "{\"slowest_scandir\":{\"seconds\":1.0,\"path\":\"a/b\"}}");
	free(n);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"reals: at most nine decimals, no exponent", test_reals_fixed},
		{"documents: every real fixed, strings escaped, order kept", test_dumps_no_exponent},
		{"the root's slowest directory is '.', old records rewritten", test_slowest_root_is_dot},
		{NULL, NULL},
	};
	return unit_run("scanjson", tests);
}
