/* unit.h: the runner shared by the CUnit test programs. */
#ifndef LEINDEX_TEST_UNIT_H
#define LEINDEX_TEST_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>

/** One test of a suite. */
struct unit_test {
	const char *name;
	void (*fn)(void);
};

/*
 * Runs the tests as one suite and returns the process exit status. CU_basic_run_tests() reports
 * success even when assertions failed, so the status comes from CU_get_number_of_failures().
 */
static inline int unit_run(const char *suite_name, const struct unit_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		goto fail;
	for (const struct unit_test *t = tests; t->name; t++)
		if (!CU_add_test(suite, t->name, t->fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	unsigned failures = CU_get_number_of_failures();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0) {
		fprintf(stderr, "%s: no test ran\n", suite_name);
		return 1;
	}
	return failures ? 1 : 0;
fail:
	fprintf(stderr, "%s: CUnit: %s\n", suite_name, CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif
