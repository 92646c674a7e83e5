/* bytes.h: fixed and variable-length integer coding (store keys and values, page tokens). */
#ifndef LEINDEX_BASE_BYTES_H
#define LEINDEX_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Big-endian 64-bit words sort bytewise in numeric order (LMDB keys); varints (7 bits a byte,
 * least significant group first, as protobuf) keep small values small; zigzag maps signed values
 * to unsigned ones so that small magnitudes stay small. Pure functions, thread-safe.
 */

/** Writes `v` big-endian into p[0..7]. */
static inline void bytes_be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

/** Reads a big-endian 64-bit word from p[0..7]. */
static inline uint64_t bytes_be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/** Most bytes a varint of 64 bits takes. */
#define BYTES_VARINT_MAX 10

/** Writes `v` as a varint at `p` (room for BYTES_VARINT_MAX bytes); returns the bytes written. */
size_t bytes_varint_put(unsigned char *p, uint64_t v);

/** Reads a varint from [*p, end) and advances *p. Returns 0, or -EIO when it is malformed. */
int bytes_varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v);

/** Zigzag coding of a signed value (0, -1, 1, -2 ... become 0, 1, 2, 3 ...). */
static inline uint64_t bytes_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); /* without a signed shift */
}

/** The inverse of bytes_zigzag(). */
static inline int64_t bytes_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
