/* auth.h: bearer tokens: who may call the API, from a token file the operator writes. */
#ifndef LEINDEX_API_AUTH_H
#define LEINDEX_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errbuf.h"

/*
 * The token file holds no secret: one line per token, `ID SCOPE sha256:HEX`, where HEX is the
 * SHA-256 of the token string exactly as it was printed (`printf %s "$TOKEN" | sha256sum`), SCOPE
 * is `read` (GET and HEAD) or `write` (everything), `#` starts a comment, blank lines are skipped.
 * A request carries `Authorization: Bearer TOKEN`; its digest is compared with every line's in
 * constant time (CRYPTO_memcmp), whichever line matches.
 *
 * Calling sequence: api_auth_create() once (a NULL path: access control off), api_auth_check()
 * from any HTTP thread, api_auth_reload() on SIGHUP from the signal thread (a file that does not
 * parse leaves the tokens in force unchanged), api_auth_destroy() after the HTTP daemon stopped.
 * api_auth_check() and api_auth_reload() are thread-safe with each other.
 */

/** What a token allows. */
enum api_auth_scope { API_AUTH_NONE = 0, API_AUTH_READ, API_AUTH_WRITE };

/** Longest token ID; IDs are 1..API_AUTH_ID_MAX bytes of [A-Za-z0-9._-]. */
#define API_AUTH_ID_MAX 64
/** Most lines a token file may hold. */
#define API_AUTH_LINES_MAX 10000
/** Longest Authorization header value considered (longer: no token matches). */
#define API_AUTH_HEADER_MAX 512

/** One line of the token file. */
struct api_auth_entry {
	char id[API_AUTH_ID_MAX + 1];
	enum api_auth_scope scope;
	unsigned char digest[32];
	/** The line of the file it came from. */
	size_t line;
};

struct api_auth;

/**
 * Parses the text of a token file. On success *entries (malloc'ed, caller frees; NULL when
 * *count is 0) holds every line. On failure returns -EINVAL with a message naming `path` and the
 * line. Bounded: linear in `len` plus a sort of the IDs, at most API_AUTH_LINES_MAX lines.
 */
int api_auth_parse(const char *text, size_t len, const char *path, struct api_auth_entry **entries,
		   size_t *count, struct errbuf *err);

/**
 * Reads the token file at `path` (NULL: access control is off and every check succeeds).
 * A file with no token line is an error: it would lock everybody out.
 */
int api_auth_create(struct api_auth **out, const char *path, struct errbuf *err);

/** Whether a token file is in force. */
bool api_auth_enabled(const struct api_auth *a);

/** How many tokens are in force now. */
size_t api_auth_count(struct api_auth *a);

/** Re-reads the file; on failure the tokens in force stay and `err` says why. */
int api_auth_reload(struct api_auth *a, struct errbuf *err);

/** The outcome of api_auth_check(). */
enum api_auth_result {
	API_AUTH_OK = 0,   /**< a token of the file matched: *scope and id are set */
	API_AUTH_MISSING,  /**< no Authorization header */
	API_AUTH_INVALID,  /**< not `Bearer TOKEN`, or no line of the file matches */
};

/**
 * Checks the value of a request's Authorization header (NULL when absent). On API_AUTH_OK,
 * copies the token's ID into id[API_AUTH_ID_MAX + 1] and its scope into *scope. With access
 * control off, answers API_AUTH_OK with scope write and an empty id.
 */
enum api_auth_result api_auth_check(struct api_auth *a, const char *header,
				    enum api_auth_scope *scope, char *id);

/**
 * Makes a new token for `id` (validated like the file's IDs) and `scope` ("read" or "write"):
 * `token` receives the secret (32 random bytes from the OS, base64url, after "lxd_"; at least
 * 64 bytes of room) and `line` the line to add to the token file (at least 192 bytes).
 */
int api_auth_mint(const char *id, const char *scope, char *token, size_t token_cap, char *line,
		  size_t line_cap, struct errbuf *err);

/** Frees; NULL is fine. */
void api_auth_destroy(struct api_auth *a);

#endif
