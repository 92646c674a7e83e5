/* encode.h: bytes as text: base64 (RFC 4648 section 4), base64url (section 5) and hex. */
#ifndef LEINDEX_BASE_ENCODE_H
#define LEINDEX_BASE_ENCODE_H

#include <stddef.h>

/*
 * The encoders write into a buffer the caller owns and sizes with the ENCODE_*_LEN macros (plus
 * one byte for the NUL they always add), and return the length written without the NUL. The
 * decoder is strict: one text per value, so a token cannot be spelled two ways. Pure functions,
 * thread-safe.
 */

/** Characters of the padded base64 of `n` bytes (NUL not counted). */
#define ENCODE_BASE64_LEN(n) (4 * (((n) + 2) / 3))
/** Characters of the unpadded base64url of `n` bytes (NUL not counted). */
#define ENCODE_BASE64URL_LEN(n) (((n) * 4 + 2) / 3)
/** Characters of the hex of `n` bytes (NUL not counted). */
#define ENCODE_HEX_LEN(n) (2 * (n))

/** Standard base64 with '=' padding of the `n` bytes at `p` into `out`. */
size_t encode_base64(const void *p, size_t n, char *out);

/** base64url without padding (for URLs and tokens) of the `n` bytes at `p` into `out`. */
size_t encode_base64url(const void *p, size_t n, char *out);

/**
 * Decodes the unpadded base64url text `s[0..n)` into `out` (room for `cap` bytes) and sets
 * *len. Returns 0; -EINVAL when a character is outside the alphabet, the length cannot be one of
 * an encoding, or the unused low bits of the last character are not zero (a second spelling of
 * the same bytes); -ENOBUFS when the bytes do not fit in `cap`.
 */
int decode_base64url(const char *s, size_t n, void *out, size_t cap, size_t *len);

/** Which letters hex digits above 9 use. */
enum encode_hex_case {
	ENCODE_HEX_LOWER = 0, /**< "0123456789abcdef": hashes, ids, JSON \u escapes */
	ENCODE_HEX_UPPER,     /**< "0123456789ABCDEF": percent-encoding (RFC 3986 2.1) */
};

/** Two hex digits a byte, high nibble first, of the `n` bytes at `p` into `out`. */
size_t encode_hex(const void *p, size_t n, char *out, enum encode_hex_case letters);

#endif
