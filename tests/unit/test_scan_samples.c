/* test_scan_samples.c: a scan's progress samples: one per second at most, bounded, even. */
#include "unit.h"

#include "service/job/scan_samples.h"

static struct store_sample at(uint64_t t_ms)
{
	return (struct store_sample){.t_ms = t_ms, .entries = t_ms * 3, .dirs = t_ms / 10,
				     .files = t_ms * 2, .bytes = t_ms << 20, .errors = t_ms % 7};
}

/* Ticks a little early or late: never two samples in one second. */
static void test_one_per_second(void)
{
	struct scansamples s = {0};
	static const uint64_t ticks[] = {0, 400, 999, 1000, 1999, 2001, 2002, 2999, 4100};
	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		struct store_sample x = at(ticks[i]);
		CU_ASSERT_EQUAL(scansamples_add(&s, &x), 0);
	}
	CU_ASSERT_EQUAL_FATAL(s.n, 4);
	static const uint64_t kept[] = {0, 1000, 2001, 4100};
	for (size_t i = 0; i < s.n; i++)
		CU_ASSERT_EQUAL(s.v[i].t_ms, kept[i]);
	/* The final counts replace a sample of the same second, and keep its order. */
	struct store_sample fin = at(4500);
	CU_ASSERT_EQUAL(scansamples_final(&s, &fin), 0);
	CU_ASSERT_EQUAL(s.n, 4);
	CU_ASSERT_EQUAL(s.v[3].t_ms, 4500);
	CU_ASSERT_EQUAL(s.v[3].entries, 4500 * 3);
	scansamples_clear(&s);
	CU_ASSERT_PTR_NULL(s.v);
}

/* A long scan: bounded, the first sample kept, the spacing even, the last one the final. */
static void test_decimation(void)
{
	struct scansamples s = {0};
	uint64_t t;
	for (t = 0; t < 10 * 3600 * 1000ull; t += 1000) {
		struct store_sample x = at(t);
		CU_ASSERT_EQUAL_FATAL(scansamples_add(&s, &x), 0);
		CU_ASSERT_TRUE_FATAL(s.n <= SCANSAMPLES_CAP);
	}
	struct store_sample fin = at(t);
	CU_ASSERT_EQUAL(scansamples_final(&s, &fin), 0);
	CU_ASSERT_TRUE(s.n > SCANSAMPLES_CAP / 2);
	CU_ASSERT_TRUE(s.n <= SCANSAMPLES_CAP);
	CU_ASSERT_EQUAL(s.v[0].t_ms, 0);
	CU_ASSERT_EQUAL(s.v[s.n - 1].t_ms, t);
	uint64_t step = s.v[1].t_ms - s.v[0].t_ms;
	CU_ASSERT_EQUAL(step, s.step_ms);
	for (size_t i = 1; i + 1 < s.n; i++)
		CU_ASSERT_EQUAL(s.v[i].t_ms - s.v[i - 1].t_ms, step);
	scansamples_clear(&s);
}

/* A scan shorter than a second keeps its start and its end. */
static void test_short_scan(void)
{
	struct scansamples s = {0};
	struct store_sample x = at(0), fin = at(300);
	CU_ASSERT_EQUAL(scansamples_add(&s, &x), 0);
	CU_ASSERT_EQUAL(scansamples_final(&s, &fin), 0);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.v[1].t_ms, 300);
	scansamples_clear(&s);
	/* No tick at all: the final sample alone. */
	CU_ASSERT_EQUAL(scansamples_final(&s, &fin), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	scansamples_clear(&s);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"at most one sample per second; the final one replaces", test_one_per_second},
		{"ten hours: bounded and evenly spaced", test_decimation},
		{"a scan under a second keeps start and end", test_short_scan},
		{NULL, NULL},
	};
	return unit_run("scan_samples", tests);
}
