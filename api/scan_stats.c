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
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, req->id, JOBQ_VIEW_COUNTERS, &v, &err);
	if (rc == -ENOENT)
		res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	else if (rc == -ENOMEM)
		res = api_problem(req, 500, "out of memory while reading the counters of scan %llu",
				  (unsigned long long)req->id);
	else if (rc < 0)
		res = api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
	else if (!v.counters_json)
		res = api_problem(req, 409, "scan %llu is queued; it has no counters until it starts",
				  (unsigned long long)req->id);
	if (rc < 0 || !v.counters_json) {
		jobq_view_clear(&v);
		return res;
	}
	/* The answer takes the text. */
	char *json = v.counters_json;
	v.counters_json = NULL;
	jobq_view_clear(&v);
	return api_reply(req, 200, "application/json", json, strlen(json), (const char *)NULL);
}
