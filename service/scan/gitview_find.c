/* gitview_find.c: finding paths among a repository's index entries (sorted bytewise). */
#include "service/scan/gitview.h"

#include <stdlib.h>
#include <string.h>

/* Bytewise order of a[0..alen) and b[0..blen), shorter first on a tie (the index's order). */
static int gitview_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

/* The first entry of [lo, hi) not below `key` (lower bound). */
static size_t gitview_lower_in(const struct gitview_repo *r, size_t lo, size_t hi, const char *key,
			       size_t len)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (gitview_cmp(r->ents[mid].path, r->ents[mid].len, key, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t gitview_lower(const struct gitview_repo *r, const char *key, size_t len)
{
	return gitview_lower_in(r, 0, r->n, key, len);
}

size_t gitview_find_in(const struct gitview_repo *r, size_t lo, size_t hi, const char *path,
		       size_t len)
{
	size_t i = gitview_lower_in(r, lo, hi, path, len);
	if (i < hi && r->ents[i].len == len && memcmp(r->ents[i].path, path, len) == 0)
		return i;
	return SIZE_MAX;
}

size_t gitview_find(const struct gitview_repo *r, const char *path, size_t len)
{
	return gitview_find_in(r, 0, r->n, path, len);
}

void gitview_range(const struct gitview_repo *r, const char *dir, size_t len, size_t *lo,
		   size_t *hi)
{
	if (len == 0) {
		*lo = 0;
		*hi = r->n;
		return;
	}
	/* Paths below dir are exactly those from "dir/" up to (excluded) "dir0" ('0' follows '/'). */
	char stack_key[512], *key = len + 1 < sizeof(stack_key) ? stack_key : malloc(len + 1);
	if (!key) {
		*lo = *hi = 0;
		return;
	}
	memcpy(key, dir, len);
	key[len] = '/';
	*lo = gitview_lower(r, key, len + 1);
	key[len] = '/' + 1;
	*hi = gitview_lower(r, key, len + 1);
	if (key != stack_key)
		free(key);
}
