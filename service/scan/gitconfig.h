/* gitconfig.h: the settings of a repository's own config file that change what the view git
 * reports. */
#ifndef LEINDEX_GITCONFIG_H
#define LEINDEX_GITCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/** What the view git takes from the repository's config file (git's defaults otherwise). */
struct gitconfig {
	/**
	 * core.fileMode: whether the executable bit of a tracked file counts (default true). When
	 * false, as git sets it on file systems that do not keep the bit, a file whose bit differs
	 * from the index is not modified for that.
	 */
	bool filemode;
};

/** git's defaults. */
void gitconfig_defaults(struct gitconfig *c);

/**
 * Reads the settings of struct gitconfig from the config file text[0..len) (untrusted: any
 * bytes, any length, read once in linear time) into `c`, the last value of a key winning as in
 * git. Only [core] is read; includes ([include], [includeIf]) are not followed, and a line that
 * cannot be read is skipped where git would refuse the file. Never fails. Thread-safe.
 */
void gitconfig_parse(const char *text, size_t len, struct gitconfig *c);

#endif
