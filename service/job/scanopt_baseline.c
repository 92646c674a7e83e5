/* scanopt_baseline.c: a scan's baseline resolved and checked when the scan is posted. */
#include "service/job/scanopt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/scanopt_impl.h"

struct scanopt_latest {
	const char *root;
	uint64_t id;
};

static int scanopt_latest_cb(void *ctx, const struct store_scan *scan)
{
	struct scanopt_latest *l = ctx;
	if (scan->root && strcmp(scan->root, l->root) == 0) {
		l->id = scan->id;
		return 1;
	}
	return 0;
}

/* The options that change what a scan lists: a baseline taken with others is not reused. */
static const char *const scanopt_listing_fields[] = {
	"view", "ignore", "max_depth", "follow_symlinks", "one_file_system", "recurse_repos",
};

/* Whether the echoed options `mine` and the baseline's `theirs` (JSON text) list alike. */
static bool scanopt_lists_alike(json_t *mine, const char *theirs)
{
	json_t *o = theirs ? json_loads(theirs, 0, NULL) : NULL;
	bool same = o != NULL;
	for (size_t i = 0; same && i < sizeof(scanopt_listing_fields) / sizeof(char *); i++) {
		const char *f = scanopt_listing_fields[i];
		json_t *a = json_object_get(mine, f), *b = json_object_get(o, f);
		same = a && b && json_equal(a, b);
	}
	json_decref(o);
	return same;
}

int scanopt_baseline_resolve(struct store *s, struct scanner_opts *o, struct errbuf *err)
{
	if (o->baseline == 0)
		return 0;
	if (o->reuse == SCANNER_REUSE_UNSET) /* a baseline without a reuse: hashes */
		o->reuse = SCANNER_REUSE_HASHES;
	int rc;
	if (o->baseline == SCANNER_BASELINE_LATEST) {
		struct scanopt_latest l = {.root = o->root};
		rc = store_scan_list(s, 0, 1u << SCAN_COMPLETED, scanopt_latest_cb, &l, err);
		if (rc < 0)
			return rc;
		if (!l.id)
			return errbuf_set(err, SCANOPT_ECONFLICT,
					  "field 'baseline': there is no completed scan of %s to use as "
					  "\"latest\"", o->root);
		o->baseline = (int64_t)l.id;
	}
	struct store_scan rec;
	rc = store_scan_get(s, (uint64_t)o->baseline, &rec, err);
	if (rc == -ENOENT)
		return errbuf_set(err, SCANOPT_ECONFLICT,
				  "field 'baseline': there is no scan %" PRId64 " (never made, or deleted)",
				  o->baseline);
	if (rc < 0)
		return rc;
	if (rec.state != SCAN_COMPLETED)
		rc = errbuf_set(err, SCANOPT_ECONFLICT,
				"field 'baseline': scan %" PRId64 " is %s; a baseline must be completed",
				o->baseline, scan_state_name(rec.state));
	else if (!rec.root || strcmp(rec.root, o->root) != 0)
		rc = errbuf_set(err, SCANOPT_ECONFLICT,
				"field 'baseline': scan %" PRId64 " is of the root %s, not %s",
				o->baseline, rec.root ? rec.root : "(none)", o->root);
	if (rc == 0) {
		json_t *mine = scanopt_echo(scanopt_scan_table(), o);
		if (!mine)
			rc = errbuf_errno(err, ENOMEM, "comparing the options with baseline scan %" PRId64,
					  o->baseline);
		else
			o->baseline_mismatch = !scanopt_lists_alike(mine, rec.options_json);
		json_decref(mine);
		o->baseline_started_ns = rec.started_ns;
	}
	store_scan_clear(&rec);
	return rc;
}
