/* fuzz.h: what the libFuzzer harnesses of tests/fuzz share. */
#ifndef LEINDEX_TEST_FUZZ_H
#define LEINDEX_TEST_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput() and says, on one line of the form
 *   fuzz-options: -max_len=N -timeout=S
 * which libFuzzer flags tests/fuzz/run.sh passes to it. A harness checks more than "no crash":
 * where an input decodes, it is encoded again and must decode to the same value; where two
 * routes must agree, they are compared. A broken property abort()s, which libFuzzer reports as
 * a crash and saves the input.
 */

/** The libFuzzer entry point each harness defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Fails the run, naming the broken property, when `cond` is false. */
#define FUZZ_CHECK(cond, ...)                                                                 \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__,   \
				#cond);                                                       \
			fprintf(stderr, __VA_ARGS__);                                         \
			fputc('\n', stderr);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

/** Fails the run when an allocation the harness itself makes fails (not a finding). */
static inline void *fuzz_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "fuzz: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

#endif
