/* scan_diff.c: GET /scans/{id}/diff: what changed between two finished scans, paged or streamed. */
#include "api/api.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/diff_json.h"
#include "base/bytes.h"

/*
 * The diff goes from the earlier scan (`against`, by default the scan's baseline) to the scan of
 * the URL: "added" is in {id} and not in `against`. store_diff() merges the two ordered walks; a
 * page token carries the position in each walk, bound to {id}, `against` and `change`, so that a
 * token of another diff is refused rather than misread.
 */

#define API_DIFF_PAGE_DEFAULT 1000
#define API_DIFF_PAGE_MAX 10000
/* Differences per chunk of a stream. */
#define API_DIFF_STREAM_LINES 256

int api_diff_baseline(const char *options_json, uint64_t *out)
{
	if (!options_json)
		return 1;
	json_t *o = json_loads(options_json, 0, NULL);
	if (!o)
		return -1;
	json_t *b = json_object_get(o, "baseline");
	int rc = 1;
	if (b && json_is_integer(b) && json_integer_value(b) > 0) {
		*out = (uint64_t)json_integer_value(b);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Checks that scan `id` exists and is finished; else queues 404 or 409 naming `role`. */
static int api_diff_ready(struct api_req *req, uint64_t id, const char *role, enum MHD_Result *res)
{
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, id, 0, &v, &err);
	enum scan_state st = v.state;
	jobq_view_clear(&v);
	if (rc == -ENOENT) {
		*res = api_problem(req, 404, "%sscan %llu does not exist", role, (unsigned long long)id);
		return -1;
	}
	if (rc < 0) {
		*res = api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)id, err.msg);
		return -1;
	}
	if (!scan_state_finished(st)) {
		*res = api_problem(req, 409, "%sscan %llu is %s; a diff needs two finished scans "
				   "(GET /scans/%llu?wait=60 waits for it to finish)",
				   role, (unsigned long long)id, scan_state_name(st), (unsigned long long)id);
		return -1;
	}
	return 0;
}

/* The scan to compare against: ?against=, else the scan's baseline; -1 with an answer queued. */
static int api_diff_against(struct api_req *req, const struct api_param *p, uint64_t *against,
			    enum MHD_Result *res)
{
	if (p->value) {
		unsigned long long v;
		if (api_query_uint(p->value, p->len, 1, UINT64_MAX >> 1, &v) < 0) {
			*res = api_problem(req, 400, "against must be the id of a scan (a positive integer)");
			return -1;
		}
		*against = v;
		return 0;
	}
	struct store_scan rec = {0};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_get(req->ctx->store, req->id, &rec, &err);
	int b = rc == 0 ? api_diff_baseline(rec.options_json, against) : 1;
	store_scan_clear(&rec);
	if (rc == -ENOENT) {
		*res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
		return -1;
	}
	if (rc < 0) {
		*res = api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
		return -1;
	}
	if (b != 0) {
		*res = api_problem(req, 400, "scan %llu has no baseline: give the scan to compare it "
				   "with as against=ID", (unsigned long long)req->id);
		return -1;
	}
	return 0;
}

/* Encodes a diff position: flags (1: a set, 2: b set), then per side set be64 dir_id, len, name. */
static size_t api_diff_pos_put(unsigned char *buf, const struct store_diff_pos *p)
{
	size_t n = 1;
	buf[0] = (unsigned char)((p->a_started ? 1 : 0) | (p->b_started ? 2 : 0));
	const struct store_pos *side[2] = {p->a_started ? &p->a : NULL, p->b_started ? &p->b : NULL};
	for (int i = 0; i < 2; i++) {
		if (!side[i])
			continue;
		bytes_be64_put(buf + n, side[i]->dir_id);
		buf[n + 8] = (unsigned char)side[i]->name_len;
		memcpy(buf + n + 9, side[i]->name, side[i]->name_len);
		n += 9 + side[i]->name_len;
	}
	return n;
}

/* Decodes api_diff_pos_put()'s bytes; 0 or -1. */
static int api_diff_pos_get(const unsigned char *buf, size_t len, struct store_diff_pos *p)
{
	memset(p, 0, sizeof(*p));
	if (len < 1 || buf[0] > 3)
		return -1;
	p->a_started = buf[0] & 1;
	p->b_started = buf[0] & 2;
	size_t n = 1;
	struct store_pos *side[2] = {p->a_started ? &p->a : NULL, p->b_started ? &p->b : NULL};
	for (int i = 0; i < 2; i++) {
		if (!side[i])
			continue;
		if (len - n < 9 || buf[n + 8] == 0 || len - n - 9 < buf[n + 8])
			return -1;
		side[i]->dir_id = bytes_be64_get(buf + n);
		side[i]->name_len = buf[n + 8];
		memcpy(side[i]->name, buf + n + 9, side[i]->name_len);
		n += 9 + side[i]->name_len;
	}
	return n == len ? 0 : -1;
}

void api_diff_write(struct jsonw *w, const char *path, size_t len, enum store_diff_change c,
			   const struct entry *before, const struct entry *after)
{
	jsonw_obj(w);
	jsonw_path(w, "path", path, len);
	jsonw_key(w, "change");
	jsonw_str(w, store_diff_change_name(c));
	jsonw_key(w, "before");
	before ? api_entry_write(w, path, len, before) : jsonw_null(w);
	jsonw_key(w, "after");
	after ? api_entry_write(w, path, len, after) : jsonw_null(w);
	jsonw_obj_end(w);
}

static int api_diff_cb(void *ctx, const char *path, size_t len, enum store_diff_change c,
		       const struct entry *before, const struct entry *after)
{
	struct jsonw *w = ctx;
	api_diff_write(w, path, len, c, before, after);
	return w->sb.oom ? -ENOMEM : 0;
}

/* ---------------------------------------------------------------- streaming */

/** The source of a stream of differences: the two scans, the change mask, where it is. */
struct api_diff_stream {
	struct store *store;
	struct store_diff_req rq;
	struct store_diff_pos pos;
	struct jsonw w;
};

static int api_diff_line(void *ctx, const char *path, size_t len, enum store_diff_change c,
			 const struct entry *before, const struct entry *after)
{
	struct jsonw *w = ctx;
	api_diff_write(w, path, len, c, before, after);
	w->comma[0] = false; /* one object per line */
	strbuf_putc(&w->sb, '\n');
	return w->sb.oom ? -ENOMEM : 0;
}

static int api_diff_fill(void *ctx, struct strbuf *out, bool *done, unsigned *status,
			 struct errbuf *err)
{
	struct api_diff_stream *ds = ctx;
	struct store_diff_out o;
	ds->w.sb = *out;
	int rc = store_diff(ds->store, &ds->rq, &o, err);
	*out = ds->w.sb;
	strbuf_init(&ds->w.sb);
	if (rc != 0) {
		*status = rc == -ENOENT ? 404 : 500;
		if (rc == -ENOENT)
			errbuf_set(err, -ENOENT, "scan %llu or %llu was deleted while it was streamed",
				   (unsigned long long)ds->rq.scan_a, (unsigned long long)ds->rq.scan_b);
		else if (rc > 0 || !err->msg[0])
			errbuf_set(err, -ENOMEM, "out of memory while streaming a diff");
		return rc < 0 ? rc : -ENOMEM;
	}
	ds->pos = o.next;
	ds->rq.resume = &ds->pos;
	*done = !o.more;
	return 0;
}

static void api_diff_free(void *ctx)
{
	struct api_diff_stream *ds = ctx;
	jsonw_free(&ds->w);
	free(ds);
}

static enum MHD_Result api_diff_stream(struct api_req *req, const struct store_diff_req *rq)
{
	struct api_diff_stream *ds = calloc(1, sizeof(*ds));
	if (!ds)
		return api_problem(req, 500, "out of memory starting a stream");
	ds->store = req->ctx->store;
	ds->rq = *rq;
	ds->rq.limit = API_DIFF_STREAM_LINES;
	ds->rq.cb = api_diff_line;
	ds->rq.ctx = &ds->w;
	if (rq->resume) {
		ds->pos = *rq->resume;
		ds->rq.resume = &ds->pos;
	}
	jsonw_init(&ds->w);
	struct api_stream_src src = {.fill = api_diff_fill, .free = api_diff_free, .ctx = ds};
	return api_stream_reply(req, &src, "application/x-ndjson", NULL);
}

/* ---------------------------------------------------------------- the paged listing */

static enum MHD_Result api_diff_page(struct api_req *req, struct store_diff_req *rq,
				     const struct api_param *p, size_t np,
				     const struct api_token_bind *bind)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "scan");
	jsonw_u64(&w, rq->scan_b);
	jsonw_key(&w, "against");
	jsonw_u64(&w, rq->scan_a);
	jsonw_key(&w, "diff");
	jsonw_arr(&w);
	rq->cb = api_diff_cb;
	rq->ctx = &w;
	struct store_diff_out o;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_diff(req->ctx->store, rq, &o, &err);
	if (rc != 0) {
		jsonw_free(&w);
		if (rc == -ENOENT)
			return api_problem(req, 404, "scan %llu or %llu was deleted meanwhile",
					   (unsigned long long)rq->scan_a, (unsigned long long)rq->scan_b);
		if (rc == -EINVAL)
			return api_problem(req, 400, "page_token does not point into scans %llu and %llu",
					   (unsigned long long)rq->scan_b, (unsigned long long)rq->scan_a);
		return api_problem(req, 500, "diffing scan %llu against %llu: %s",
				   (unsigned long long)rq->scan_b, (unsigned long long)rq->scan_a,
				   rc > 0 ? "out of memory" : err.msg);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (o.more) {
		unsigned char pos[API_TOKEN_POS_MAX];
		size_t n = api_diff_pos_put(pos, &o.next);
		tok = api_token_encode(&req->ctx->key, bind, pos, n);
		char path[96];
		snprintf(path, sizeof(path), "/scans/%llu/diff", (unsigned long long)req->id);
		link = tok ? api_link_next(path, p, np, tok) : NULL;
	}
	return api_reply_page(req, &w, o.more, tok, link, "the diff");
}

enum MHD_Result api_scan_diff(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "against"}, {.name = "change"}, {.name = "page_size"},
				{.name = "page_token"}};
	if (api_query(req, p, 4, &res) < 0)
		return res;
	unsigned page_size;
	if (api_query_page_size(req, &p[2], API_DIFF_PAGE_DEFAULT, API_DIFF_PAGE_MAX, &page_size,
				&res) < 0)
		return res;
	enum store_diff_change change = STORE_DIFF_ADDED;
	if (p[1].value && store_diff_change_parse(p[1].value, p[1].len, &change) < 0)
		return api_problem(req, 400, "change must be one of added, removed, modified, type_changed");
	uint64_t against = 0;
	if (api_diff_ready(req, req->id, "", &res) < 0 ||
	    api_diff_against(req, &p[0], &against, &res) < 0 ||
	    api_diff_ready(req, against, "against: ", &res) < 0)
		return res;
	/* The token is bound to the scan, the other scan and the change asked. */
	char canon[64];
	int cl = snprintf(canon, sizeof(canon), "against=%llu&change=%d", (unsigned long long)against,
			  p[1].value ? (int)change : -1);
	struct api_token_bind bind = {.route = API_TOKEN_DIFF, .scan_id = req->id, .filter = canon,
				      .filter_len = (size_t)cl};
	struct store_diff_pos resume;
	if (p[3].value) {
		unsigned char pos[API_TOKEN_POS_MAX];
		size_t plen = 0;
		int trc = api_token_decode(&req->ctx->key, &bind, p[3].value, p[3].len, pos,
					   sizeof(pos), &plen);
		if (trc == API_TOKEN_NOMEM)
			return api_problem(req, 500, API_TOKEN_NOMEM_DETAIL);
		if (trc < 0 || api_diff_pos_get(pos, plen, &resume) < 0)
			return api_problem(req, 400, "page_token is not valid for this diff: use the "
					   "next_page_token of the previous page unchanged, with the same "
					   "against and change");
	}
	struct store_diff_req rq = {.scan_a = against, .scan_b = req->id,
				    .change_mask = p[1].value ? 1u << change : 0,
				    .resume = p[3].value ? &resume : NULL, .limit = page_size};
	const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (api_accept_ndjson(accept))
		return api_diff_stream(req, &rq);
	return api_diff_page(req, &rq, p, 4, &bind);
}
