/* test_jsonw.c: the streaming JSON writer's numbers and times agree with libc's formatting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jsonw.h"
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
	CU_ASSERT_EQUAL(w.len, 0);
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

int main(void)
{
	static const struct unit_test tests[] = {
		{"RFC 3339 times agree with gmtime_r over years 0001-9999", test_times_match_gmtime},
		{"years outside 0000-9999 are refused", test_time_out_of_range},
		{"integers at their limits", test_integers},
		{NULL, NULL},
	};
	return unit_run("jsonw", tests);
}
