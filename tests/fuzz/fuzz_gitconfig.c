/*
 * fuzz_gitconfig.c: a repository's config file (service/scan/gitconfig.h). The view git reads
 * it from the scanned tree, so its bytes are whoever wrote the tree's. Properties:
 *  - parsing ends (linear: -timeout catches a loop) and gives the same answer twice;
 *  - whatever came before, a [core] section that follows after two line ends decides:
 *    "filemode = false" makes it false, "filemode = true" true (a value, a header or a
 *    continuation left open by the input ends at a line end).
 *
 * fuzz-options: -max_len=4096 -timeout=5
 */
#include <string.h>

#include "service/scan/gitconfig.h"
#include "tests/fuzz/fuzz.h"

static bool fuzz_gitconfig_run(const uint8_t *data, size_t size, const char *tail)
{
	size_t tl = tail ? strlen(tail) : 0;
	char *text = fuzz_alloc(size + tl);
	memcpy(text, data, size);
	if (tl)
		memcpy(text + size, tail, tl);
	struct gitconfig c;
	gitconfig_defaults(&c);
	gitconfig_parse(text, size + tl, &c);
	free(text);
	return c.filemode;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool once = fuzz_gitconfig_run(data, size, NULL);
	FUZZ_CHECK(once == fuzz_gitconfig_run(data, size, NULL), "two parses of one text differ");
	FUZZ_CHECK(!fuzz_gitconfig_run(data, size, "\n\n[core]\nfilemode = false\n"),
		   "a final [core] filemode = false was not read");
	FUZZ_CHECK(fuzz_gitconfig_run(data, size, "\n\n[core]\nfilemode = true\n"),
		   "a final [core] filemode = true was not read");
	return 0;
}
