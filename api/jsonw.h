/* jsonw.h: a streaming JSON writer into one growable buffer, for large pages. */
#ifndef LEINDEX_API_JSONW_H
#define LEINDEX_API_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

/*
 * Values are appended in order; commas are placed by the writer. The text goes into a strbuf,
 * whose sticky `oom` flag (set by a failed allocation, or by nesting deeper than the writer
 * tracks) turns every later call into a no-op, so callers check once at the end. The writer owns
 * the text until jsonw_take(). Not thread-safe.
 */
struct jsonw {
	/** The text so far (sb.buf, sb.len) and whether it failed (sb.oom). */
	struct strbuf sb;
	int depth;
	/** Per depth: whether the next value needs a comma before it. */
	bool comma[64];
	/** A key was just written: the next value follows its colon. */
	bool after_key;
};

/** Starts empty (no allocation yet). */
void jsonw_init(struct jsonw *w);
/** Frees the buffer. */
void jsonw_free(struct jsonw *w);
/** Hands the buffer over (malloc'ed, NUL-terminated) and resets the writer; NULL on oom. */
char *jsonw_take(struct jsonw *w, size_t *len);

void jsonw_obj(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/** An object key (ASCII, no escaping needed). */
void jsonw_key(struct jsonw *w, const char *key);
/** A string value; `s` must be valid UTF-8 (control characters and quotes are escaped). */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_i64(struct jsonw *w, int64_t v);
/**
 * Writes an RFC 3339 UTC time with nine fractional digits ("2026-11-26T08:45:52.123456789Z").
 * Returns false, writing nothing, when the year falls outside 0000-9999.
 */
bool jsonw_time(struct jsonw *w, int64_t sec, uint32_t nsec);
void jsonw_dbl(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/** A value given as JSON text already (trusted). */
void jsonw_rawval(struct jsonw *w, const char *json, size_t n);
/**
 * The `path_b64` rule: writes `key` with the bytes `p` when they are valid UTF-8 (utf8_valid()),
 * else `key`_b64 with their standard base64, as scanjson_set_path() does for the CLI and the
 * stored records.
 */
void jsonw_path(struct jsonw *w, const char *key, const char *p, size_t n);

#endif
