/* unit.h: the runner shared by the CUnit test programs. */
#ifndef LEINDEX_TEST_UNIT_H
#define LEINDEX_TEST_UNIT_H

#include <CUnit/CUnit.h>
#include <CUnit/TestRun.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/*
 * Rules the runner enforces, so that a test program cannot pass by accident:
 * - the exit status comes from the failures CUnit counted (CU_get_number_of_failures() and
 *   the failed tests), never from CU_run_all_tests(), which returns success when assertions
 *   failed;
 * - a test that ran no assertion fails ("asserted nothing"): a test that cannot fail is a
 *   defect. A test that cannot run here says so with unit_skip(), which is printed;
 * - a program in which no test ran fails.
 *
 * CUnit is not thread-safe: CU_ASSERT* and unit_skip() belong on the thread that runs the test
 * (the main thread). Worker threads record what they saw; the test asserts after joining them.
 */

/** One test of a suite. */
struct unit_test {
	const char *name;
	void (*fn)(void);
};

/*
 * What the runner tracks across CUnit's callbacks. CUnit's handlers take no context pointer, so
 * this is file-scope state; each test program is one translation unit and one thread of CUnit.
 */
struct unit_run_state {
	unsigned asserts_at_start; /**< CU_get_number_of_asserts() when the current test started */
	const char *skip_reason;   /**< set by unit_skip() during the current test */
	unsigned empty;            /**< tests that asserted nothing and did not skip */
	unsigned skipped;          /**< tests that called unit_skip() */
};
static struct unit_run_state unit_state;

/**
 * How many rounds a randomised test runs: `n`, or an eighth of it (at least 1) under a sanitizer
 * (tests/sanitize.sh sets LEINDEX_SANITIZER), where every round costs 5 to 50 times more and the
 * normal build has already run them all.
 */
static inline int unit_rounds(int n)
{
	const char *san = getenv("LEINDEX_SANITIZER");
	if (!san || !*san)
		return n;
	return n / 8 > 0 ? n / 8 : 1;
}

/** Marks the running test as unable to run here (why: a static string), instead of passing. */
static inline void unit_skip(const char *why)
{
	unit_state.skip_reason = why;
}

static inline void unit_on_start(const CU_pTest test, const CU_pSuite suite)
{
	(void)suite;
	unit_state.asserts_at_start = CU_get_number_of_asserts();
	unit_state.skip_reason = NULL;
	printf("  Test: %s ...", test->pName);
	fflush(stdout);
}

static inline void unit_on_complete(const CU_pTest test, const CU_pSuite suite,
				    const CU_pFailureRecord failures)
{
	(void)test;
	(void)suite;
	unsigned asserts = CU_get_number_of_asserts() - unit_state.asserts_at_start;
	if (failures) {
		printf("FAILED\n");
		for (CU_pFailureRecord f = failures; f; f = f->pNext)
			printf("    %s:%u: %s\n", f->strFileName ? f->strFileName : "?",
			       f->uiLineNumber, f->strCondition ? f->strCondition : "?");
	} else if (unit_state.skip_reason) {
		unit_state.skipped++;
		printf("skipped (%s)\n", unit_state.skip_reason);
	} else if (asserts == 0) {
		unit_state.empty++;
		printf("FAILED\n    asserted nothing: a test that cannot fail proves nothing\n");
	} else {
		printf("passed (%u assertions)\n", asserts);
	}
}

/** Seconds on CLOCK_MONOTONIC, for the deadlines of unit_wait_blocked() and the tests' polls. */
static inline double unit_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Sleeps about `ms` milliseconds: the interval of a poll, never a wait for a state by itself. */
static inline void unit_nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/** The calling thread's kernel id, for unit_thread_blocked(). Thread-safe. */
static inline pid_t unit_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Whether thread `tid` of this process is blocked: /proc shows it sleeping (state S) inside a
 * system call (a futex wait for pthread_cond_wait(), a mutex or a join; a read; a sleep).
 * Replaying a race deterministically needs this: "the worker is blocked in pop" is a state to
 * reach before cancelling, not a guess made with a sleep. Where /proc hides the system call,
 * state S alone counts. Thread-safe.
 */
static inline bool unit_thread_blocked(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!close || close[1] != ' ' || close[2] != 'S')
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return true;
	long nr = -1;
	int got = fscanf(f, "%ld", &nr); /* "running" when it woke meanwhile */
	fclose(f);
	return got == 1 && nr >= 0;
}

/**
 * Polls (every 2 ms) until thread `tid` is blocked (unit_thread_blocked()) or `deadline_s`
 * seconds have passed; true when it blocked. The deadline is generous: it only stops a test that
 * would otherwise hang, it never times the code under test.
 */
static inline bool unit_wait_blocked(pid_t tid, double deadline_s)
{
	double end = unit_mono_s() + deadline_s;
	while (!unit_thread_blocked(tid)) {
		if (unit_mono_s() > end)
			return false;
		unit_nap_ms(2);
	}
	return true;
}

/** Runs the tests as one suite and returns the process exit status (0: all passed). */
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
	CU_set_test_start_handler(unit_on_start);
	CU_set_test_complete_handler(unit_on_complete);
	printf("Suite %s:\n", suite_name);
	if (CU_run_all_tests() != CUE_SUCCESS)
		goto fail;
	unsigned failed_asserts = CU_get_number_of_failures();
	unsigned failed_tests = CU_get_number_of_tests_failed();
	unsigned ran = CU_get_number_of_tests_run();
	unsigned asserts = CU_get_number_of_asserts();
	CU_cleanup_registry();
	printf("%s: %u tests run, %u failed, %u asserted nothing, %u skipped; %u assertions, "
	       "%u failed\n",
	       suite_name, ran, failed_tests, unit_state.empty, unit_state.skipped, asserts,
	       failed_asserts);
	if (ran == 0) {
		fprintf(stderr, "%s: no test ran\n", suite_name);
		return 1;
	}
	return failed_asserts || failed_tests || unit_state.empty ? 1 : 0;
fail:
	fprintf(stderr, "%s: CUnit: %s\n", suite_name, CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif
