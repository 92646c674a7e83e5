/* stats.c: GET /stats: the service's totals for dashboards, with an ETag for cheap polling. */
#include "api/api.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/scanjson.h"

/* How many of the last completed scans /stats reports throughput for. */
#define API_STATS_RECENT 5

struct api_states_acc {
	struct api_ctx *ctx;
	uint64_t *by_state;
	int (*each)(void *arg, const struct store_scan *scan, enum scan_state state);
	void *arg;
};

static int api_states_cb(void *arg, const struct store_scan *scan)
{
	struct api_states_acc *a = arg;
	struct jobq_view v;
	int rc = jobq_view_overlay(a->ctx->jobq, scan, 0, &v);
	enum scan_state st = v.state;
	jobq_view_clear(&v);
	if (rc < 0)
		return 0; /* deleted (or out of memory, which a state-only view never is) */
	if ((unsigned)st < SCAN_STATE_COUNT)
		a->by_state[st]++;
	return a->each ? a->each(a->arg, scan, st) : 0;
}

/*
 * One pass over the stored records, each overlaid with the job manager's view in O(1) (a hash
 * lookup), so /stats and /metrics cost grows linearly with the scans kept, however many wait in
 * the queue (issue 9, defect 11: a list walk per record made it quadratic).
 */
int api_scan_states(struct api_ctx *ctx, uint64_t by_state[SCAN_STATE_COUNT],
		    int (*each)(void *arg, const struct store_scan *scan, enum scan_state state),
		    void *arg, struct errbuf *err)
{
	memset(by_state, 0, SCAN_STATE_COUNT * sizeof(*by_state));
	struct api_states_acc acc = {.ctx = ctx, .by_state = by_state, .each = each, .arg = arg};
	int rc = store_scan_list(ctx->store, 0, 0, api_states_cb, &acc, err);
	return rc < 0 ? rc : 0;
}

struct api_stats_acc {
	struct store_scan_totals totals;
	struct jsonw *recent;
	unsigned recent_count;
};

static int api_stats_cb(void *arg, const struct store_scan *scan, enum scan_state st)
{
	struct api_stats_acc *a = arg;
	a->totals.dirs += scan->totals.dirs;
	a->totals.files += scan->totals.files;
	a->totals.symlinks += scan->totals.symlinks;
	a->totals.other += scan->totals.other;
	a->totals.bytes += scan->totals.bytes;
	a->totals.errors += scan->totals.errors;
	if (st == SCAN_COMPLETED && a->recent_count < API_STATS_RECENT && scan->counters_json) {
		json_t *c = json_loads(scan->counters_json, 0, NULL);
		struct jsonw *w = a->recent;
		jsonw_obj(w);
		jsonw_key(w, "id");
		jsonw_u64(w, scan->id);
		jsonw_key(w, "entries");
		jsonw_u64(w, scan->totals.dirs + scan->totals.files + scan->totals.symlinks + scan->totals.other);
		static const char *const keys[] = {"wall_seconds", "dirs_per_second", "entries_per_second"};
		for (size_t i = 0; i < 3; i++) {
			jsonw_key(w, keys[i]);
			json_t *v = c ? json_object_get(c, keys[i]) : NULL;
			char num[64];
			size_t nl = scanjson_real_text(v ? json_number_value(v) : 0.0, num, sizeof(num));
			jsonw_rawval(w, num, nl);
		}
		jsonw_obj_end(w);
		json_decref(c);
		a->recent_count++;
	}
	return 0;
}

/*
 * The weak ETag of /stats: FNV-1a over the document up to its "requests" member. The request
 * counts are left out because every poll changes them (the poll itself is counted), which would
 * make the tag useless to the dashboards it is for; they are exported by /metrics as counters.
 * Everything else changes only when something happened, so the tag repeats while nothing does.
 */
static void api_stats_etag(const char *text, size_t len, char *out, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ull;
	}
	snprintf(out, cap, "W/\"%016llx\"", (unsigned long long)h);
}

/* The "totals" object: the counts of every stored scan. */
static void api_stats_totals(struct jsonw *w, const struct api_stats_acc *acc)
{
	const struct store_scan_totals *t = &acc->totals;
	jsonw_key(w, "totals");
	jsonw_obj(w);
	const char *const keys[] = {"entries", "dirs", "files", "symlinks", "other", "bytes", "errors"};
	const uint64_t vals[] = {t->dirs + t->files + t->symlinks + t->other, t->dirs, t->files,
				 t->symlinks, t->other, t->bytes, t->errors};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		jsonw_key(w, keys[i]);
		jsonw_u64(w, vals[i]);
	}
	jsonw_obj_end(w);
}

/* The "store" object: its file, map, fill and whether it writes. */
static void api_stats_store(struct jsonw *w, const struct store_info *info)
{
	jsonw_key(w, "store");
	jsonw_obj(w);
	jsonw_key(w, "file_bytes");
	jsonw_u64(w, info->file_bytes);
	jsonw_key(w, "map_bytes");
	jsonw_u64(w, info->map_bytes);
	jsonw_key(w, "used_bytes");
	jsonw_u64(w, info->used_bytes);
	jsonw_key(w, "fill_ratio");
	char fill[64];
	size_t fl = scanjson_real_text(info->map_bytes ? (double)info->used_bytes /
							     (double)info->map_bytes
						       : 0.0,
				       fill, sizeof(fill));
	jsonw_rawval(w, fill, fl);
	jsonw_key(w, "writable");
	jsonw_bool(w, info->writable);
	jsonw_key(w, "write_errors");
	jsonw_u64(w, info->write_errors);
	jsonw_obj_end(w);
}

enum MHD_Result api_stats(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	struct api_ctx *ctx = req->ctx;
	struct jsonw recent;
	jsonw_init(&recent);
	jsonw_arr(&recent);
	struct api_stats_acc acc = {.recent = &recent};
	uint64_t by_state[SCAN_STATE_COUNT];
	struct errbuf err;
	errbuf_clear(&err);
	if (api_scan_states(ctx, by_state, api_stats_cb, &acc, &err) < 0) {
		jsonw_free(&recent);
		return api_problem(req, 500, "listing scans for /stats: %s", err.msg);
	}
	jsonw_arr_end(&recent);
	struct store_info info = {0};
	if (store_info(ctx->store, &info, &err) < 0) {
		jsonw_free(&recent);
		return api_problem(req, 500, "reading the store's figures: %s", err.msg);
	}
	unsigned running = 0, queued = 0;
	jobq_counts(ctx->jobq, &running, &queued);

	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	api_jw_time(&w, "started_at", ctx->started_ns);
	jsonw_key(&w, "scans");
	jsonw_obj(&w);
	for (unsigned s = 0; s < SCAN_STATE_COUNT; s++) {
		jsonw_key(&w, scan_state_name((enum scan_state)s));
		jsonw_u64(&w, by_state[s]);
	}
	jsonw_obj_end(&w);
	jsonw_key(&w, "running");
	jsonw_u64(&w, running);
	jsonw_key(&w, "queued");
	jsonw_u64(&w, queued);
	api_stats_totals(&w, &acc);
	jsonw_key(&w, "recent_completed");
	size_t rl = 0;
	char *rt = jsonw_take(&recent, &rl);
	if (rt)
		jsonw_rawval(&w, rt, rl);
	else
		w.sb.oom = true;
	free(rt);
	api_stats_store(&w, &info);
	/* Everything above, and nothing below, is covered by the ETag. */
	char etag[32];
	api_stats_etag(w.sb.buf ? w.sb.buf : "", w.sb.len, etag, sizeof(etag));
	if (api_etag_matches(req, etag)) {
		jsonw_free(&w);
		return api_reply(req, 304, NULL, NULL, 0, "ETag", etag, "Cache-Control", "no-cache",
				 (const char *)NULL);
	}
	jsonw_key(&w, "requests");
	jsonw_obj(&w);
	static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
	for (unsigned i = 0; i < 5; i++) {
		jsonw_key(&w, classes[i]);
		jsonw_u64(&w, api_metrics_class_total(&ctx->metrics, i + 1));
	}
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	return api_reply_jw(req, 200, &w, "ETag", etag, "Cache-Control", "no-cache", (const char *)NULL);
}
