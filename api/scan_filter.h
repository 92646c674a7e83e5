/* scan_filter.h: the filters of entry queries, read from query parameters or command-line flags. */
#ifndef LEINDEX_API_SCAN_FILTER_H
#define LEINDEX_API_SCAN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "store/store.h"

/*
 * The HTTP routes (/scans/{id}/entries, /top, /entry) and the command line (`leindexd entries`)
 * read the same filters with the same words, so both hand each (name, value) pair here. Nothing
 * here knows libmicrohttpd: the CLI includes it too.
 *
 *   match=GLOB            a gitignore-style pattern on the relative path (the ignore matcher)
 *   name=NAME             exact file name
 *   ext=EXT               repeatable; case-sensitive, without the dot; "gz" and "tar.gz" both
 *                         match "a.tar.gz"
 *   min_size=N max_size=N inclusive byte bounds
 *   modified_after=T modified_before=T   inclusive RFC 3339 bounds on mtime
 *   type=file|dir|symlink|other
 *   prefix=P or prefix_b64=B64 (raw bytes), prefix_mode=path|string
 *   count=true            the count only; partial=true  a running scan's entries so far
 *
 * Calling sequence: api_filter_init(), api_filter_take() for each pair (it says which names are
 * its own), api_filter_finish(), then use qf->f for as long as the struct lives (it owns copies
 * of every value), and api_filter_clear(). Not thread-safe; the finished filter may be read by
 * any number of threads at once (the glob matcher is immutable).
 */

/** Most ext= values one query takes. */
#define API_FILTER_EXT_MAX 32
/** Room for the message of a refused value. */
#define API_FILTER_BAD_MAX 200

struct ignore_stack;

/** A query's filters and flags. */
struct api_filter {
	/** The walk's filter; its pointers point into this struct's own copies. */
	struct store_walk_filter f;
	struct store_bytes exts[API_FILTER_EXT_MAX];
	/** count=true / partial=true. */
	bool count, partial;
	/** Which names were given (bit per api_filter_param), to refuse repeats. */
	unsigned given;
	/** The match= glob, compiled on finish; NULL without one. */
	struct ignore_stack *match;
	/** Owned copies of the values (prefix, name, exts, match), freed by api_filter_clear(). */
	char *own[API_FILTER_EXT_MAX + 8];
	size_t own_count;
	/** match= as given (in own[]). */
	const char *match_text;
	size_t match_len;
	/**
	 * The filters in a canonical byte form (every given filter, in a fixed order), for binding
	 * page tokens to them; valid after api_filter_finish().
	 */
	struct strbuf canon;
};

/** Starts an empty filter (passes everything). */
void api_filter_init(struct api_filter *qf);

/** Frees what the filter owns; it is empty again. NULL is fine. */
void api_filter_clear(struct api_filter *qf);

/**
 * Offers the pair key[0..klen) = value[0..vlen) (value NULL: the name without '='). Returns 1
 * when the name is a filter's and the value was taken; 0 when the name is not a filter's (the
 * caller's to take or refuse); -1 when the value is refused or the name repeated (ext= excepted),
 * with a message naming the parameter and saying what it takes in bad[0..cap) (when memory ran
 * out instead, the message starts with "out of memory": the server's failure, not the client's).
 */
int api_filter_take(struct api_filter *qf, const char *key, size_t klen, const char *value,
		    size_t vlen, char *bad, size_t cap);

/**
 * Checks the filters together (prefix and prefix_b64 exclude each other, prefix_mode needs a
 * prefix, min_size <= max_size, ...), compiles match= and builds qf->canon. Returns 0, or -1 with
 * the message in bad (a full disk of memory too: "out of memory").
 */
int api_filter_finish(struct api_filter *qf, char *bad, size_t cap);

/** Whether the filter selects by anything at all (count and partial aside). */
bool api_filter_any(const struct api_filter *qf);

/**
 * Parses an RFC 3339 date-time ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00": 'T' or
 * 't' or a space, 'Z' or 'z' or an offset, at most nine fractional digits, years 0000-9999) into
 * seconds and nanoseconds since the epoch, UTC. Returns 0, or -1 when it is not one. Pure.
 */
int api_filter_time(const char *s, size_t n, struct store_time *out);

/**
 * Decodes standard base64 (RFC 4648 section 4, '=' padding optional; the URL-safe alphabet
 * accepted too) of s[0..n) into a malloc'ed buffer. Returns 0 with *out and *len, -1 when it is
 * not base64, -2 when out of memory. Pure.
 */
int api_filter_b64(const char *s, size_t n, char **out, size_t *len);

/** The names api_filter_take() takes, comma-separated, for messages listing a route's words. */
extern const char api_filter_names[];

#endif
