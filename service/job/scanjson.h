/* scanjson.h: a scan's options and performance counters as JSON (store records, CLI, API). */
#ifndef LEINDEX_SCANJSON_H
#define LEINDEX_SCANJSON_H

#include <jansson.h>

#include "service/scan/scanner.h"

/**
 * The counters of the engine: scandir_calls, slow_scandirs, scandir_seconds, stat_seconds,
 * ignore_match_seconds, symlink_check_seconds, hash_seconds, store_seconds, wall_seconds,
 * queue_peak, slowest_scandir {path or path_b64 ("." for the root), seconds}, workers, per_worker [{dirs, entries,
 * busy_seconds}], dirs_per_second, entries_per_second. `progress` gives the counts for the
 * rates. A new reference, or NULL when out of memory.
 */
json_t *scanjson_counters(const struct scanner_stats *st, const struct scanner_progress *progress);

/**
 * The effective options of a scan, root excluded, everything else with its value: the echo of
 * the table of scan options (scanopt_echo(scanopt_scan_table(), opts)). A new reference, or
 * NULL when out of memory or when an ignore pattern is not valid UTF-8.
 */
json_t *scanjson_options(const struct scanner_opts *opts);

/**
 * The `path_b64` rule: sets `key` to the bytes as a string when they are valid UTF-8
 * (utf8_valid()), else `key`_b64 to their standard base64 (encode_base64()), as jsonw_path()
 * writes them in the API. Returns 0 or -1 (out of memory).
 */
int scanjson_set_path(json_t *obj, const char *key, const char *bytes, size_t len);

/**
 * Writes `v` as a JSON number with at most nine decimals and never an exponent (durations of
 * nanosecond precision: 0.000264833, not 0.00026483300000000002 or 7.69e-06): "%.9f" without
 * its trailing zeros, one digit kept after the point. NaN, infinities and -0 give 0.0. Returns
 * the length written into buf[cap] (cap >= 32 always fits a duration). Pure.
 */
size_t scanjson_real_text(double v, char *buf, size_t cap);

/**
 * The counters text `counters_json` as this version writes it: reals with scanjson_real_text(),
 * the root's slowest_scandir path "." (older records said ""). Text that does not parse is
 * copied as it is. Malloc'ed; NULL when out of memory.
 */
char *scanjson_normalize(const char *counters_json);

/**
 * json_dumps(), but all or nothing: the text of `doc`, or NULL when any part of it could not be
 * written. jansson's own json_dumps() ignores a failed write of an object's key (its buffer
 * could not grow) and goes on, so under memory pressure it returns a document with a key
 * missing, which is not JSON; a record stored from it would break every listing of the scans.
 * Reals are written by scanjson_real_text(); the output is always compact (`flags` is kept
 * for the callers and ignored). The caller frees the text. Thread-safe (nothing shared).
 */
char *scanjson_dumps(const json_t *doc, size_t flags);

#endif
