/* diff_json.h: one difference between two scans as JSON, the same for HTTP and the command line. */
#ifndef LEINDEX_API_DIFF_JSON_H
#define LEINDEX_API_DIFF_JSON_H

#include <stddef.h>

#include "api/jsonw.h"
#include "store/store.h"

/**
 * Writes {"path" (or "path_b64"), "change", "before": {entry} | null, "after": {entry} | null},
 * the entries as api_entry_write() shows them. Thread-safe on distinct writers (scan_diff.c).
 */
void api_diff_write(struct jsonw *w, const char *path, size_t len, enum store_diff_change c,
		    const struct entry *before, const struct entry *after);

#endif
