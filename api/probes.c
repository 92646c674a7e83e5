/* probes.c: GET /healthz, /readyz and /openapi.yaml: what probes and contract testers read. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

enum MHD_Result api_healthz(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	char *b = strdup("{\"status\":\"ok\"}");
	if (!b)
		return MHD_NO;
	return api_reply(req, 200, "application/json", b, strlen(b), (const char *)NULL);
}

enum MHD_Result api_readyz(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	if (atomic_load(&req->ctx->shutting_down))
		return api_problem(req, 503, "the server is shutting down and accepts no new scans");
	struct store_info info = {0};
	struct errbuf err;
	errbuf_clear(&err);
	if (store_info(req->ctx->store, &info, &err) < 0)
		return api_problem(req, 503, "the store cannot be read: %s", err.msg);
	if (!info.writable)
		return api_problem(req, 503, "the store's last write failed (disk full or I/O error, or the "
				   "map is full: see --map-size); it is ready again after a successful write");
	char *b = strdup("{\"status\":\"ready\"}");
	if (!b)
		return MHD_NO;
	return api_reply(req, 200, "application/json", b, strlen(b), (const char *)NULL);
}

enum MHD_Result api_openapi(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	char *b = malloc(api_openapi_len + 1);
	if (!b)
		return MHD_NO;
	memcpy(b, api_openapi_text, api_openapi_len);
	return api_reply(req, 200, "application/yaml", b, api_openapi_len, (const char *)NULL);
}
