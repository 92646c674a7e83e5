/* entry_json.h: an entry as JSON, the same for the HTTP routes and the command line. */
#ifndef LEINDEX_API_ENTRY_JSON_H
#define LEINDEX_API_ENTRY_JSON_H

#include <stddef.h>

#include "api/jsonw.h"
#include "store/entry.h"

/**
 * Writes one entry as the entries routes show it: {"path" (or "path_b64"), "type", "size",
 * "ino", "nlink", "uid", "gid", "ctime", "mtime", "mode", ["target"], ["sha256"], ["git"]}. `path` is
 * relative to the scan root. Thread-safe on distinct writers (scan_entries.c).
 */
void api_entry_write(struct jsonw *w, const char *path, size_t path_len, const struct entry *e);

#endif
