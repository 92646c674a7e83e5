/* utf8.h: the one test of what counts as UTF-8 text (API keys, CLI records, log lines). */
#ifndef LEINDEX_BASE_UTF8_H
#define LEINDEX_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * UTF-8 as RFC 3629 defines it, the same bytes jansson's json_stringn() accepts: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. NUL is
 * a valid character (callers that cannot carry it check for it themselves). Pure functions on
 * borrowed bytes, thread-safe.
 */

/** Length (1..4) of the valid UTF-8 sequence that starts `s[0..n)`, or 0 when none does. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/** Whether the `n` bytes at `p` are all valid UTF-8. */
bool utf8_valid(const char *p, size_t n);

#endif
