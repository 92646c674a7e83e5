/* scanbase.c: comparing what a scan reads with its baseline scan (reuse of hashes and dirs). */
#include <string.h>

#include "base/log.h"

#include "service/scan/scan_internal.h"
#include "store/store_codec.h"

const struct store_dirents *scanbase_load(struct scan_worker *w, const struct scan_item *it)
{
	struct scanner *sc = w->sc;
	if (!atomic_load_explicit(&sc->reuse, memory_order_relaxed))
		return NULL;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_dir_entries(sc->store, (uint64_t)sc->opts.baseline, it->path, it->path_len,
				   &w->base, &err);
	if (rc < 0) {
		/* The baseline deleted under the scan, or unreadable: from now on everything is read
		 * and hashed (the result stays exact), the stats say so (baseline_fallback). */
		if (atomic_exchange(&sc->reuse, false))
			LOG_EV(LOG_WARN, "the baseline cannot be read: nothing more is reused",
			       LOG_STR("scan", sc->log_tag), LOG_U64("baseline", (uint64_t)sc->opts.baseline),
			       LOG_STR("error", err.msg));
		return NULL;
	}
	return w->base.found ? &w->base : NULL;
}

size_t scanbase_start(const struct store_dirents *base, const struct scan_name *first)
{
	return base ? store_dirents_lower_bound(base, first->name, first->len) : 0;
}

const struct entry *scanbase_match(const struct store_dirents *base, size_t *j,
				   const struct scan_name *nm)
{
	if (!base)
		return NULL;
	while (*j < base->n) {
		const struct entry *b = &base->e[*j];
		int c = store_name_cmp(b->name, b->name_len, nm->name, nm->len);
		if (c > 0)
			return NULL;
		++*j;
		if (c == 0)
			return b;
	}
	return NULL;
}

bool scanbase_hash_reusable(const struct entry *e, const struct entry *b, int64_t started_ns)
{
	if (!b || !(b->flags & ENTRY_HAS_HASH) || !(b->flags & ENTRY_HAS_STAT) ||
	    !(e->flags & ENTRY_HAS_STAT) || b->type != ENTRY_FILE || e->type != ENTRY_FILE)
		return false;
	if (e->dev == 0 || e->dev != b->dev || e->ino != b->ino || e->size != b->size ||
	    e->mtime_sec != b->mtime_sec || e->mtime_nsec != b->mtime_nsec ||
	    e->ctime_sec != b->ctime_sec || e->ctime_nsec != b->ctime_nsec)
		return false;
	/* Racy: changed within a tick of the baseline's start, the stat may hide a new content. */
	int64_t s_sec = started_ns / 1000000000, s_nsec = started_ns % 1000000000;
	int64_t m_sec = e->mtime_sec + SCANBASE_RACY_NS / 1000000000;
	return m_sec < s_sec || (m_sec == s_sec && (int64_t)e->mtime_nsec <= s_nsec);
}
