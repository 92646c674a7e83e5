/* scan_skipped.c: GET /scans/{id}/skipped: the paths a rule skipped, and the rule, a page at a
 * time in depth-first order (store_skip.c), like git check-ignore -v names them. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define API_SKIPPED_PAGE_DEFAULT 1000
#define API_SKIPPED_PAGE_MAX 10000

static const char *const api_skip_sources[] = {
	[STORE_SKIP_GITIGNORE] = ".gitignore", [STORE_SKIP_EXCLUDE] = "info/exclude",
	[STORE_SKIP_OPTION] = "option"};

static int api_skip_cb(void *ctx, const struct store_skip *rec)
{
	struct jsonw *w = ctx;
	jsonw_obj(w);
	jsonw_path(w, "path", rec->path, rec->path_len);
	jsonw_key(w, "type");
	jsonw_str(w, entry_type_name(rec->type));
	/* A .gitignore's path from the root; info/exclude and option as such. */
	if (rec->source == STORE_SKIP_GITIGNORE && rec->source_len)
		jsonw_path(w, "source", rec->source_path, rec->source_len);
	else {
		jsonw_key(w, "source");
		jsonw_str(w, api_skip_sources[rec->source]);
	}
	jsonw_key(w, "line");
	jsonw_u64(w, rec->line);
	jsonw_path(w, "pattern", rec->pattern, rec->pattern_len);
	jsonw_obj_end(w);
	return w->sb.oom ? -ENOMEM : 0;
}

/* 404 when scan req->id does not exist (0), -1 with the answer queued in *res. */
static int api_skipped_exists(struct api_req *req, enum MHD_Result *res)
{
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, req->id, 0, &v, &err);
	jobq_view_clear(&v);
	if (rc == -ENOENT) {
		*res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
		return -1;
	}
	if (rc < 0) {
		*res = api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
		return -1;
	}
	return 0;
}

enum MHD_Result api_scan_skipped(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "page_size"}, {.name = "page_token"}};
	if (api_query(req, p, 2, &res) < 0)
		return res;
	unsigned page_size;
	if (api_query_page_size(req, &p[0], API_SKIPPED_PAGE_DEFAULT, API_SKIPPED_PAGE_MAX,
				&page_size, &res) < 0)
		return res;
	if (api_skipped_exists(req, &res) < 0)
		return res;
	struct api_token_bind bind = {.route = API_TOKEN_SKIPPED, .scan_id = req->id};
	unsigned char after[API_TOKEN_POS_MAX];
	size_t after_len = 0;
	int trc = p[1].value ? api_token_decode(&req->ctx->key, &bind, p[1].value, p[1].len, after,
						 sizeof(after), &after_len)
			     : 0;
	if (trc == API_TOKEN_NOMEM)
		return api_problem(req, 500, API_TOKEN_NOMEM_DETAIL);
	if (p[1].value && (trc < 0 || after_len == 0 || after_len > STORE_SKIP_POS_MAX))
		return api_problem(req, 400, "page_token is not valid for the skipped paths of this "
				   "scan: use the next_page_token of the previous page unchanged");
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "skipped");
	jsonw_arr(&w);
	unsigned char next[STORE_SKIP_POS_MAX];
	size_t next_len = 0;
	bool more = false;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_skipped(req->ctx->store, req->id, after, after_len, page_size, api_skip_cb,
			       &w, next, &next_len, &more, &err);
	if (rc == -ENOENT) {
		/* The scan existed when checked: it was deleted since. */
		jsonw_free(&w);
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	}
	if (rc < 0) {
		jsonw_free(&w);
		return api_problem(req, 500, "reading the skipped paths of scan %llu: %s",
				   (unsigned long long)req->id, err.msg);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (more) {
		char path[96];
		snprintf(path, sizeof(path), "/scans/%llu/skipped", (unsigned long long)req->id);
		tok = api_token_encode(&req->ctx->key, &bind, next, next_len);
		link = tok ? api_link_next(path, p, 2, tok) : NULL;
	}
	return api_reply_page(req, &w, more, tok, link, "skipped");
}
