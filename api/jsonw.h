/* jsonw.h: a streaming JSON writer into one growable buffer, for large pages. */
#ifndef LEINDEX_API_JSONW_H
#define LEINDEX_API_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Values are appended in order; commas are placed by the writer. A failed allocation sets `oom`
 * and turns every later call into a no-op, so callers check once at the end. Not thread-safe.
 */
struct jsonw {
	char *buf;
	size_t len, cap;
	bool oom;
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
/** Appends raw bytes outside the JSON grammar (for building non-JSON text). */
void jsonw_append(struct jsonw *w, const void *p, size_t n);
/** Writes `key` with `p` when it is valid UTF-8, else `key`_b64 with its base64. */
void jsonw_path(struct jsonw *w, const char *key, const char *p, size_t n);

/** Whether `p` is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool jsonw_utf8_valid(const char *p, size_t n);
/** Standard base64 with padding of `n` bytes into `out` (4*ceil(n/3)+1 bytes); returns length. */
size_t jsonw_base64(const unsigned char *p, size_t n, char *out);

#endif
