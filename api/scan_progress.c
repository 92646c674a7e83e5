/* scan_progress.c: GET /scans/{id}/progress: a scan's progress samples, for its chart. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * {"samples": [{"t": seconds since the start, "entries", "dirs", "files", "bytes", "errors"}]}:
 * at most one a second while the scan ran (fewer, evenly spaced, for long scans) and its final
 * counts last; kept with the scan, so a finished scan's chart survives a restart. A running scan
 * answers the samples taken so far; a queued one, or one scanned by an older version, none.
 */
enum MHD_Result api_scan_progress(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	struct store_sample *v = NULL;
	size_t n = 0;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_samples(req->ctx->jobq, req->id, &v, &n, &err);
	if (rc == -ENOENT)
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc < 0)
		return api_problem(req, 500, "reading the progress of scan %llu: %s",
				   (unsigned long long)req->id, err.msg);
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "samples");
	jsonw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		char t[32];
		/* Milliseconds as seconds, exactly: 12.345, never an exponent. */
		int tn = snprintf(t, sizeof(t), "%llu.%03u", (unsigned long long)(v[i].t_ms / 1000),
				  (unsigned)(v[i].t_ms % 1000));
		jsonw_obj(&w);
		jsonw_key(&w, "t");
		jsonw_rawval(&w, t, (size_t)tn);
		jsonw_key(&w, "entries");
		jsonw_u64(&w, v[i].entries);
		jsonw_key(&w, "dirs");
		jsonw_u64(&w, v[i].dirs);
		jsonw_key(&w, "files");
		jsonw_u64(&w, v[i].files);
		jsonw_key(&w, "bytes");
		jsonw_u64(&w, v[i].bytes);
		jsonw_key(&w, "errors");
		jsonw_u64(&w, v[i].errors);
		jsonw_obj_end(&w);
	}
	free(v);
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	return api_reply_jw(req, 200, &w, (const char *)NULL);
}
