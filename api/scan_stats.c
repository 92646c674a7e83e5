/* scan_stats.c: GET /scans/{id}/stats: a scan's performance counters. */
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result api_scan_stats(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	char *json = NULL;
	int rc = jobq_stats_json(req->ctx->jobq, req->id, &json);
	if (rc == -ENOENT)
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc == -EAGAIN)
		return api_problem(req, 409, "scan %llu is queued; it has no counters until it starts",
				   (unsigned long long)req->id);
	if (rc < 0)
		return api_problem(req, 500, "out of memory while reading the counters of scan %llu",
				   (unsigned long long)req->id);
	if (rc == 0) {
		struct store_scan rec = {0};
		struct errbuf err;
		errbuf_clear(&err);
		int g = store_scan_get(req->ctx->store, req->id, &rec, &err);
		if (g == -ENOENT)
			return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
		if (g < 0)
			return api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
		/* A scan cut short by a crash has no counters: zeros with its totals. */
		json = rec.counters_json ? strdup(rec.counters_json) : jobq_counters_json(NULL, &rec.totals);
		store_scan_clear(&rec);
		if (!json)
			return api_problem(req, 500, "out of memory while reading the counters of scan %llu",
					   (unsigned long long)req->id);
	}
	return api_reply(req, 200, "application/json", json, strlen(json), (const char *)NULL);
}
