/* random.h: bytes from the OS's random generator (getrandom), for ids and secrets. */
#ifndef LEINDEX_BASE_RANDOM_H
#define LEINDEX_BASE_RANDOM_H

#include <stddef.h>

/**
 * Fills buf[0..n) from getrandom(2), retrying on EINTR and short reads. Returns 0, or the negative
 * errno of the failure (the buffer is then partly filled and must not be used as a secret).
 * Thread-safe.
 */
int random_fill(void *buf, size_t n);

#endif
