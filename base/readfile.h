/* readfile.h: reading a whole (small) file into memory: keys, ignore files, /proc entries. */
#ifndef LEINDEX_BASE_READFILE_H
#define LEINDEX_BASE_READFILE_H

#include <stddef.h>

#include "base/errbuf.h"

/*
 * Reads to the end of file rather than trusting st_size (which /proc reports as 0), retrying
 * EINTR and short reads, and refuses files larger than the caller's `max` so that a wrong path
 * cannot make us allocate gigabytes. The text comes back malloc'ed and NUL-terminated (it may
 * hold NULs of its own: use the length); the caller frees it. Thread-safe (no shared state).
 */

/**
 * Reads what is left of open file `fd` (the caller keeps and closes it) into *text (*len bytes).
 * Returns 0, -EFBIG when there is more than `max` bytes, -ENOMEM, or the negative errno of the
 * failed read(2). *text is NULL on failure. No message: the caller knows what it was reading.
 */
int readfile_fd(int fd, size_t max, char **text, size_t *len);

/**
 * Opens `path` (relative ones against `dirfd`, which may be AT_FDCWD) with open flags
 * `flags` | O_RDONLY | O_CLOEXEC, and reads it all as readfile_fd() does. Returns 0 or a negative
 * errno with "opening PATH: reason" or "reading PATH: reason" in `err` (-ENOENT when
 * it does not exist, -EFBIG when it holds more than `max` bytes).
 */
int readfile_at(int dirfd, const char *path, int flags, size_t max, char **text, size_t *len,
		struct errbuf *err);

#endif
