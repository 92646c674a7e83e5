/* encode.c: see encode.h. */
#include "base/encode.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static const char encode_b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char encode_b64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Full groups of three bytes as four characters, then the 1 or 2 bytes left, padded or not. */
static size_t encode_b64(const unsigned char *p, size_t n, char *out, const char *tab, int pad)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i > 0) {
		uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		if (n - i == 2)
			out[o++] = tab[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t encode_base64(const void *p, size_t n, char *out)
{
	return encode_b64(p, n, out, encode_b64_std, 1);
}

size_t encode_base64url(const void *p, size_t n, char *out)
{
	return encode_b64(p, n, out, encode_b64_url, 0);
}

int decode_base64url(const char *s, size_t n, void *out, size_t cap, size_t *len)
{
	unsigned char *o = out;
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *c = s[i] ? memchr(encode_b64_url, s[i], 64) : NULL;
		if (!c)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)(c - encode_b64_url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k >= cap)
				return -ENOBUFS;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	/* What is left (0, 2 or 4 bits) pads the last byte and must be zero; 6 bits left means a
	 * length no encoding has. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	*len = k;
	return 0;
}

size_t encode_hex(const void *p, size_t n, char *out, enum encode_hex_case letters)
{
	const char *digits = letters == ENCODE_HEX_UPPER ? "0123456789ABCDEF" : "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return 2 * n;
}
