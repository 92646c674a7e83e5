/* entry.c: names of entry types and git states. */
#include "store/entry.h"

#include <string.h>

static const char *const entry_type_names[] = {"file", "dir", "symlink", "other"};

const char *entry_type_name(enum entry_type type)
{
	return (unsigned)type < 4 ? entry_type_names[type] : "other";
}

int entry_type_parse(const char *name, enum entry_type *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(name, entry_type_names[i]) == 0) {
			*out = (enum entry_type)i;
			return 0;
		}
	}
	return -1;
}

const char *entry_git_name(unsigned git)
{
	static const char *const names[ENTRY_GIT_COUNT] = {NULL, "tracked", "modified", "untracked",
							   "repo"};
	return git < ENTRY_GIT_COUNT ? names[git] : NULL;
}
