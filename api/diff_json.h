/* diff_json.h: one difference between two scans as JSON, the same for HTTP and the command line. */
#ifndef LEINDEX_API_DIFF_JSON_H
#define LEINDEX_API_DIFF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "api/jsonw.h"
#include "store/store.h"

/**
 * Writes {"path" (or "path_b64"), "change", "before": {entry} | null, "after": {entry} | null},
 * the entries as api_entry_write() shows them. Thread-safe on distinct writers (scan_diff.c).
 */
void api_diff_write(struct jsonw *w, const char *path, size_t len, enum store_diff_change c,
		    const struct entry *before, const struct entry *after);

/**
 * The "baseline" of a scan's options JSON text (NULL: none), the default `against` of its diff:
 * 0 with its id in *out, 1 when there is none, -1 when the text does not parse. Thread-safe.
 */
int api_diff_baseline(const char *options_json, uint64_t *out);

#endif
