/* token.h: opaque page tokens, tamper-evident (HMAC-SHA256) and bound to scan, route and filters. */
#ifndef LEINDEX_API_TOKEN_H
#define LEINDEX_API_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"

/** The secret key, kept in DATA_DIR/page-token.key (32 random bytes, mode 0600). */
struct api_token_key {
	unsigned char bytes[32];
};

/** Reads the key of data directory `dir`, creating it at first start. */
int api_token_key_load(struct api_token_key *key, const char *dir, struct errbuf *err);

/** Which list a token pages through. */
enum api_token_route {
	API_TOKEN_SCANS = 1, API_TOKEN_ENTRIES = 2, API_TOKEN_ERRORS = 3, API_TOKEN_SKIPPED = 4,
	/** /scans/{id}/diff: a position in each of the two scans (scan_diff.c). */
	API_TOKEN_DIFF = 5
};

/** What a token is bound to: the route, the scan (0 for the list of scans), the filter bytes. */
struct api_token_bind {
	enum api_token_route route;
	uint64_t scan_id;
	const void *filter;
	size_t filter_len;
};

/** Longest position a token carries (a diff's: a flag byte and two (dir_id, name) of 8+1+255). */
#define API_TOKEN_POS_MAX 540

/**
 * Returns a new base64url token (malloc'ed, NUL-terminated) carrying `pos` (at most
 * API_TOKEN_POS_MAX bytes) for binding `b`; NULL when out of memory.
 */
char *api_token_encode(const struct api_token_key *key, const struct api_token_bind *b,
		       const void *pos, size_t pos_len);

/** What api_token_decode() returns besides 0. */
enum api_token_rc {
	/** Malformed, forged, truncated or issued for another scan, route or filters: a 400. */
	API_TOKEN_BAD = -1,
	/** The MAC could not be computed (OpenSSL out of memory): a 500, the token may be fine. */
	API_TOKEN_NOMEM = -2,
};

/** The problem text of API_TOKEN_NOMEM, the same on every route. */
#define API_TOKEN_NOMEM_DETAIL "out of memory checking page_token"

/**
 * Checks `tok` against binding `b` and copies its position into `pos` (pos_cap bytes at least
 * API_TOKEN_POS_MAX). Returns 0, API_TOKEN_BAD or API_TOKEN_NOMEM.
 */
int api_token_decode(const struct api_token_key *key, const struct api_token_bind *b,
		     const char *tok, size_t tok_len, void *pos, size_t pos_cap, size_t *pos_len);

/** api_token_encode() of a position that is one 64-bit number (a scan id, an error seq). */
char *api_token_encode_u64(const struct api_token_key *key, const struct api_token_bind *b,
			   uint64_t pos);

/** api_token_decode() of a token made by api_token_encode_u64(); returns as it. */
int api_token_decode_u64(const struct api_token_key *key, const struct api_token_bind *b,
			 const char *tok, size_t tok_len, uint64_t *pos);

#endif
