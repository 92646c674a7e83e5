/* store_filter.c: the tests a walk applies to each entry (type, name, extension, bounds). */
#include "store/store.h"

#include <string.h>

/*
 * These run inside the walk for every entry examined, before any JSON is built, so that a
 * selective query costs a pass over the keys and values of the store and nothing more. The
 * prefix is not tested here: the walk applies it by where it starts and stops.
 */

bool store_filter_ext(const char *name, size_t name_len, const char *ext, size_t ext_len)
{
	if (ext_len == 0 || name_len < ext_len + 1)
		return false;
	const char *tail = name + name_len - ext_len;
	return tail[-1] == '.' && memcmp(tail, ext, ext_len) == 0;
}

/* Whether time (asec, ansec) is at or before (bsec, bnsec). */
static bool store_filter_time_le(int64_t asec, uint32_t ansec, int64_t bsec, uint32_t bnsec)
{
	return asec < bsec || (asec == bsec && ansec <= bnsec);
}

static bool store_filter_bounds_pass(const struct store_walk_filter *f, const struct entry *e)
{
	if (!f->bounds)
		return true;
	if (!(e->flags & ENTRY_HAS_STAT))
		return false;
	if ((f->bounds & STORE_FILTER_MIN_SIZE) && e->size < f->min_size)
		return false;
	if ((f->bounds & STORE_FILTER_MAX_SIZE) && e->size > f->max_size)
		return false;
	if ((f->bounds & STORE_FILTER_AFTER) &&
	    !store_filter_time_le(f->mtime_after.sec, f->mtime_after.nsec, e->mtime_sec,
				  e->mtime_nsec))
		return false;
	if ((f->bounds & STORE_FILTER_BEFORE) &&
	    !store_filter_time_le(e->mtime_sec, e->mtime_nsec, f->mtime_before.sec,
				  f->mtime_before.nsec))
		return false;
	return true;
}

/* The name of the entry at `path`: e->name when set, else the last component of the path. */
static void store_filter_name(const char *path, size_t path_len, const struct entry *e,
			      const char **name, size_t *len)
{
	if (e->name) {
		*name = e->name;
		*len = e->name_len;
		return;
	}
	const char *slash = path_len ? memrchr(path, '/', path_len) : NULL;
	*name = slash ? slash + 1 : path;
	*len = path_len - (size_t)(*name - path);
}

bool store_filter_pass(const struct store_walk_filter *f, const char *path, size_t path_len,
		       const struct entry *e)
{
	if (!f)
		return true;
	if (f->type_mask && !(f->type_mask & (1u << e->type)))
		return false;
	if (f->name || f->ext_count) {
		const char *name;
		size_t len;
		store_filter_name(path, path_len, e, &name, &len);
		if (f->name && (len != f->name_len || memcmp(name, f->name, len) != 0))
			return false;
		if (f->ext_count) {
			bool any = false;
			for (size_t i = 0; i < f->ext_count && !any; i++)
				any = store_filter_ext(name, len, f->exts[i].p, f->exts[i].len);
			if (!any)
				return false;
		}
	}
	if (!store_filter_bounds_pass(f, e))
		return false;
	return !f->match || f->match(f->match_ctx, path, path_len, e);
}
