/* utf8.c: see utf8.h. */
#include "base/utf8.h"

/*
 * The lead byte fixes the length and, for the 3- and 4-byte forms, the range of the second byte
 * (RFC 3629 section 4): checking that range rejects overlongs, surrogates and code points above
 * U+10FFFF without decoding the code point.
 */
size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* below: overlong */
		else if (c == 0xed)
			hi = 0x9f; /* above: surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* below: overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above: past U+10FFFF */
	} else {
		return 0; /* a continuation byte, an overlong lead (c0, c1) or past f4 */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

bool utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		if (s[i] < 0x80) { /* the common case: ASCII, one byte at a time */
			i++;
			continue;
		}
		size_t len = utf8_seq_len(s + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}
