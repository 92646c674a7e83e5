/* scan_entries.c: GET /scans/{id}/entries and /errors: the pages of a scan's findings. */
#include "api/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/bytes.h"
#include "base/encode.h"
#include "base/utf8.h"
#include "api/scan_filter.h"

#define API_ENTRIES_PAGE_DEFAULT 1000
#define API_ENTRIES_PAGE_MAX 10000

int api_scan_state(struct api_req *req, enum scan_state *state, bool *live, enum MHD_Result *res)
{
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, req->id, 0, &v, &err);
	*state = v.state;
	*live = v.live;
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

int api_scan_check(struct api_req *req, bool finished, enum MHD_Result *res)
{
	enum scan_state st;
	bool live;
	if (api_scan_state(req, &st, &live, res) < 0)
		return -1;
	if (finished && !scan_state_finished(st)) {
		/* The manager holds it, so it will finish in this process: say how to wait. */
		if (live)
			*res = api_problem(req, 409, "scan %llu is %s; its entries can be read once it has "
					   "finished (GET /scans/%llu?wait=60 waits for that), or as "
					   "stored so far with partial=true",
					   (unsigned long long)req->id, scan_state_name(st),
					   (unsigned long long)req->id);
		else
			*res = api_problem(req, 409, "scan %llu is %s; its entries can be read once it has finished",
					   (unsigned long long)req->id, scan_state_name(st));
		return -1;
	}
	return 0;
}

bool api_scan_vanished(struct api_req *req)
{
	struct store_scan rec = {0};
	int rc = store_scan_get(req->ctx->store, req->id, &rec, NULL);
	store_scan_clear(&rec);
	return rc == -ENOENT;
}

/* "2026-11-26T08:45:52.123456789Z"; null when the year has no four-digit RFC 3339 form. */
static void api_entry_time(struct jsonw *w, const char *key, int64_t sec, uint32_t nsec)
{
	jsonw_key(w, key);
	if (!jsonw_time(w, sec, nsec))
		jsonw_null(w);
}

void api_entry_write(struct jsonw *w, const char *path, size_t path_len, const struct entry *e)
{
	jsonw_obj(w);
	jsonw_path(w, "path", path, path_len);
	jsonw_key(w, "type");
	jsonw_str(w, entry_type_name(e->type));
	bool st = e->flags & ENTRY_HAS_STAT;
	jsonw_key(w, "size");
	st ? jsonw_u64(w, e->size) : jsonw_null(w);
	jsonw_key(w, "ino");
	st ? jsonw_u64(w, e->ino) : jsonw_null(w);
	jsonw_key(w, "dev");
	st && e->dev ? jsonw_u64(w, e->dev) : jsonw_null(w);
	jsonw_key(w, "nlink");
	st ? jsonw_u64(w, e->nlink) : jsonw_null(w);
	jsonw_key(w, "uid");
	st ? jsonw_u64(w, e->uid) : jsonw_null(w);
	jsonw_key(w, "gid");
	st ? jsonw_u64(w, e->gid) : jsonw_null(w);
	if (st) {
		api_entry_time(w, "ctime", e->ctime_sec, e->ctime_nsec);
		api_entry_time(w, "mtime", e->mtime_sec, e->mtime_nsec);
	} else {
		jsonw_key(w, "ctime");
		jsonw_null(w);
		jsonw_key(w, "mtime");
		jsonw_null(w);
	}
	jsonw_key(w, "mode");
	st ? jsonw_u64(w, e->mode & 07777) : jsonw_null(w);
	if (e->type == ENTRY_SYMLINK) {
		if (e->target)
			jsonw_path(w, "target", e->target, e->target_len);
		else {
			jsonw_key(w, "target");
			jsonw_null(w);
		}
	}
	if (e->flags & ENTRY_HAS_HASH) {
		char h[ENCODE_HEX_LEN(sizeof(e->sha256)) + 1];
		size_t hl = encode_hex(e->sha256, sizeof(e->sha256), h, ENCODE_HEX_LOWER);
		jsonw_key(w, "sha256");
		jsonw_strn(w, h, hl);
	}
	const char *git = entry_git_name(e->git);
	if (git) { /* the view git's state of the entry */
		jsonw_key(w, "git");
		jsonw_str(w, git);
	}
	jsonw_obj_end(w);
}

static int api_entry_cb(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct jsonw *w = ctx;
	api_entry_write(w, path, path_len, e);
	return w->sb.oom ? -ENOMEM : 0;
}

static int api_count_cb(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	(void)path, (void)path_len, (void)e;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* ---------------------------------------------------------------- streaming the entries */

/* Entries given per chunk of a stream, and examined at most (a selective filter). */
#define API_STREAM_ENTRIES 256
#define API_STREAM_VISITS 4096

/** The source of a stream of entries: where it is, and the filters it owns. */
struct api_entries_stream {
	struct store *store;
	uint64_t scan_id;
	struct api_filter qf;
	enum store_walk_order order;
	struct store_pos pos;
	bool started;
	struct jsonw w;
};

static int api_entries_line(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct jsonw *w = ctx;
	api_entry_write(w, path, path_len, e);
	w->comma[0] = false; /* one object per line: no commas between them */
	strbuf_putc(&w->sb, '\n');
	return w->sb.oom ? -ENOMEM : 0;
}

static int api_entries_fill(void *ctx, struct strbuf *out, bool *done, unsigned *status,
			    struct errbuf *err)
{
	struct api_entries_stream *es = ctx;
	struct store_walk_req rq = {.scan_id = es->scan_id, .filter = &es->qf.f, .order = es->order,
				    .resume = es->started ? &es->pos : NULL,
				    .limit = API_STREAM_ENTRIES, .visit_limit = API_STREAM_VISITS,
				    .cb = api_entries_line, .ctx = &es->w};
	struct store_walk_out o;
	es->w.sb = *out;
	int rc = store_walk_ex(es->store, &rq, &o, err);
	*out = es->w.sb;
	strbuf_init(&es->w.sb);
	if (rc == -ENOENT && !es->started) {
		/* Before anything was sent: the prefix names nothing, or the scan just went. */
		struct store_scan rec = {0};
		int gone = store_scan_get(es->store, es->scan_id, &rec, NULL);
		store_scan_clear(&rec);
		if (gone != -ENOENT) {
			*done = true;
			return 0;
		}
	}
	if (rc < 0 || rc > 0) {
		*status = rc == -ENOENT ? 404 : 500;
		if (rc == -ENOENT)
			errbuf_set(err, -ENOENT, "scan %llu was deleted while it was streamed",
				   (unsigned long long)es->scan_id);
		else if (rc > 0 || !err->msg[0])
			errbuf_set(err, -EIO, "out of memory while streaming scan %llu",
				   (unsigned long long)es->scan_id);
		return rc < 0 ? rc : -ENOMEM;
	}
	es->started = true;
	es->pos = o.next;
	*done = !o.more;
	return 0;
}

static void api_entries_free(void *ctx)
{
	struct api_entries_stream *es = ctx;
	api_filter_clear(&es->qf);
	jsonw_free(&es->w);
	free(es);
}

/* Streams the entries as NDJSON; takes the filters (qf comes back empty). */
static enum MHD_Result api_entries_stream(struct api_req *req, struct api_filter *qf,
					  const struct store_pos *resume, bool stored, bool partial)
{
	struct api_entries_stream *es = calloc(1, sizeof(*es));
	if (!es)
		return api_problem(req, 500, "out of memory starting a stream");
	es->store = req->ctx->store;
	es->scan_id = req->id;
	es->qf = *qf;
	api_filter_init(qf); /* moved: the stream owns the copies and the matcher */
	/* The filter points into its own struct: re-point what moved with it. */
	if (es->qf.f.ext_count)
		es->qf.f.exts = es->qf.exts;
	es->order = stored ? STORE_ORDER_STORED : STORE_ORDER_TREE;
	if (resume) {
		es->pos = *resume;
		es->started = true;
	}
	jsonw_init(&es->w);
	struct api_stream_src src = {.fill = api_entries_fill, .free = api_entries_free, .ctx = es};
	const char *h[] = {"X-Leindex-Partial", "true", NULL};
	return api_stream_reply(req, &src, "application/x-ndjson", partial ? h : NULL);
}

/* ---------------------------------------------------------------- the paged listing */

/* The Link header of the next page of a scan route: keeps the filters, adds the token. */
static char *api_next_link(struct api_req *req, const char *route, const struct api_param *p,
			   size_t count, const char *tok)
{
	char path[96];
	snprintf(path, sizeof(path), "/scans/%llu/%s", (unsigned long long)req->id, route);
	return api_link_next(path, p, count, tok);
}

/* count=true: {"count": N}, walked in short transactions. */
static enum MHD_Result api_entries_count(struct api_req *req, const struct api_filter *qf,
					 bool partial)
{
	uint64_t n = 0;
	struct errbuf err;
	errbuf_clear(&err);
	struct store_walk_req rq = {.scan_id = req->id, .filter = &qf->f,
				    .order = qf->partial ? STORE_ORDER_STORED : STORE_ORDER_TREE,
				    .cb = api_count_cb, .ctx = &n};
	int rc = store_walk_all(req->ctx->store, &rq, 0, &err);
	if (rc == -ENOENT && api_scan_vanished(req))
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc < 0 && rc != -ENOENT)
		return api_problem(req, 500, "counting the entries of scan %llu: %s",
				   (unsigned long long)req->id, err.msg);
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "count");
	jsonw_u64(&w, rc == -ENOENT ? 0 : n);
	if (partial) {
		jsonw_key(&w, "partial");
		jsonw_bool(&w, true);
	}
	jsonw_obj_end(&w);
	return api_reply_jw(req, 200, &w, (const char *)NULL);
}

/* The page_token of the entries, bound to the scan and the filters: 0, 1 (none), -1 (bad) or
 * -2 (out of memory checking it). */
static int api_entries_token(struct api_req *req, const struct api_param *tok,
			     const struct api_token_bind *bind, struct store_pos *resume)
{
	if (!tok->value)
		return 1;
	unsigned char pos[API_TOKEN_POS_MAX];
	size_t plen = 0;
	int trc = api_token_decode(&req->ctx->key, bind, tok->value, tok->len, pos, sizeof(pos),
				   &plen);
	if (trc == API_TOKEN_NOMEM)
		return -2;
	if (trc < 0 || plen < 8 || plen - 8 > 255)
		return -1;
	memset(resume, 0, sizeof(*resume));
	resume->dir_id = bytes_be64_get(pos);
	resume->name_len = plen - 8;
	memcpy(resume->name, pos + 8, resume->name_len);
	return 0;
}

/* One page of entries, as JSON. */
static enum MHD_Result api_entries_page(struct api_req *req, const struct api_filter *qf,
					const struct api_param *p, size_t np, unsigned page_size,
					const struct store_pos *resume, bool partial,
					const struct api_token_bind *bind)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	if (partial) {
		jsonw_key(&w, "partial");
		jsonw_bool(&w, true);
	}
	jsonw_key(&w, "entries");
	jsonw_arr(&w);
	struct errbuf err;
	errbuf_clear(&err);
	struct store_walk_req rq = {.scan_id = req->id, .filter = &qf->f,
				    .order = qf->partial ? STORE_ORDER_STORED : STORE_ORDER_TREE,
				    .resume = resume, .limit = page_size, .cb = api_entry_cb,
				    .ctx = &w};
	struct store_walk_out o;
	int rc = store_walk_ex(req->ctx->store, &rq, &o, &err);
	if (rc == -ENOENT && api_scan_vanished(req)) {
		jsonw_free(&w);
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	} else if (rc == -ENOENT) {
		/* The scan exists (checked above): the prefix does not. Nothing below it. */
		o.more = false;
	} else if (rc == -EINVAL) {
		jsonw_free(&w);
		return api_problem(req, 400, "page_token does not point into scan %llu", (unsigned long long)req->id);
	} else if (rc != 0) {
		jsonw_free(&w);
		return api_problem(req, 500, "reading the entries of scan %llu: %s",
				   (unsigned long long)req->id, rc > 0 ? "out of memory" : err.msg);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (o.more) {
		unsigned char pos[8 + 255];
		bytes_be64_put(pos, o.next.dir_id);
		memcpy(pos + 8, o.next.name, o.next.name_len);
		tok = api_token_encode(&req->ctx->key, bind, pos, 8 + o.next.name_len);
		link = tok ? api_link_filters(req, "entries", p, np, tok) : NULL;
	}
	return api_reply_page(req, &w, o.more, tok, link, "entries");
}

enum MHD_Result api_scan_entries(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "page_size"}, {.name = "page_token"}};
	struct api_filter qf;
	if (api_query_filters(req, p, 2, &qf, &res) < 0) {
		api_filter_clear(&qf);
		return res;
	}
	unsigned page_size;
	enum scan_state st = SCAN_COMPLETED;
	bool live;
	if (api_query_page_size(req, &p[0], API_ENTRIES_PAGE_DEFAULT, API_ENTRIES_PAGE_MAX, &page_size, &res) < 0 ||
	    (qf.partial ? api_scan_state(req, &st, &live, &res) : api_scan_check(req, true, &res)) < 0) {
		api_filter_clear(&qf);
		return res;
	}
	/* partial=true reads in store order whatever the state; it says partial while it is. */
	bool partial = qf.partial && !scan_state_finished(st);
	struct api_token_bind bind = {.route = API_TOKEN_ENTRIES, .scan_id = req->id,
				      .filter = qf.canon.buf, .filter_len = qf.canon.len};
	struct store_pos resume;
	int have = api_entries_token(req, &p[1], &bind, &resume);
	if (have == -2) {
		api_filter_clear(&qf);
		return api_problem(req, 500, API_TOKEN_NOMEM_DETAIL);
	}
	if (have < 0) {
		api_filter_clear(&qf);
		return api_problem(req, 400, "page_token is not valid for this scan and these filters: use "
				   "the next_page_token of the previous page unchanged, with the same filters");
	}
	const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (qf.count)
		res = api_entries_count(req, &qf, partial);
	else if (api_accept_ndjson(accept))
		res = api_entries_stream(req, &qf, have == 0 ? &resume : NULL, qf.partial, partial);
	else
		res = api_entries_page(req, &qf, p, 2, page_size, have == 0 ? &resume : NULL, partial,
				       &bind);
	api_filter_clear(&qf);
	return res;
}

/* ---------------------------------------------------------------- errors */

static void api_error_write(struct jsonw *w, const struct store_error *e)
{
	jsonw_obj(w);
	jsonw_path(w, "path", e->path, e->path_len);
	jsonw_key(w, "op");
	if (e->op && utf8_valid(e->op, strlen(e->op)))
		jsonw_str(w, e->op);
	else
		jsonw_str(w, "?");
	jsonw_key(w, "errno");
	jsonw_i64(w, e->errnum);
	jsonw_key(w, "message");
	const char *m = strerrordesc_np(e->errnum);
	if (e->detail && utf8_valid(e->detail, strlen(e->detail)))
		jsonw_str(w, e->detail); /* what failed and where, e.g. a .gitignore's line */
	else
		jsonw_str(w, m ? m : "Unknown error");
	jsonw_obj_end(w);
}

static int api_error_cb(void *ctx, const struct store_error *e)
{
	struct jsonw *w = ctx;
	api_error_write(w, e);
	return w->sb.oom ? -ENOMEM : 0;
}

/** The source of a stream of errors: the last sequence number sent. */
struct api_errors_stream {
	struct store *store;
	uint64_t scan_id, after;
	struct jsonw w;
};

static int api_errors_line(void *ctx, const struct store_error *e)
{
	struct jsonw *w = ctx;
	api_error_write(w, e);
	w->comma[0] = false;
	strbuf_putc(&w->sb, '\n');
	return w->sb.oom ? -ENOMEM : 0;
}

static int api_errors_fill(void *ctx, struct strbuf *out, bool *done, unsigned *status,
			   struct errbuf *err)
{
	struct api_errors_stream *es = ctx;
	bool more = false;
	uint64_t next = es->after;
	es->w.sb = *out;
	int rc = store_errors(es->store, es->scan_id, es->after, API_STREAM_ENTRIES, api_errors_line,
			      &es->w, &next, &more, err);
	*out = es->w.sb;
	strbuf_init(&es->w.sb);
	if (rc != 0) {
		*status = rc == -ENOENT ? 404 : 500;
		if (rc == -ENOENT)
			errbuf_set(err, -ENOENT, "scan %llu was deleted while it was streamed",
				   (unsigned long long)es->scan_id);
		else if (rc > 0)
			errbuf_set(err, -ENOMEM, "out of memory while streaming");
		return rc < 0 ? rc : -ENOMEM;
	}
	es->after = next;
	*done = !more;
	return 0;
}

static void api_errors_free(void *ctx)
{
	struct api_errors_stream *es = ctx;
	jsonw_free(&es->w);
	free(es);
}

enum MHD_Result api_scan_errors(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "page_size"}, {.name = "page_token"}};
	if (api_query(req, p, 2, &res) < 0)
		return res;
	unsigned page_size;
	if (api_query_page_size(req, &p[0], API_ENTRIES_PAGE_DEFAULT, API_ENTRIES_PAGE_MAX, &page_size, &res) < 0)
		return res;
	if (api_scan_check(req, false, &res) < 0)
		return res;
	struct api_token_bind bind = {.route = API_TOKEN_ERRORS, .scan_id = req->id};
	uint64_t after = 0;
	int trc = p[1].value ? api_token_decode_u64(&req->ctx->key, &bind, p[1].value, p[1].len,
						     &after)
			     : 0;
	if (trc == API_TOKEN_NOMEM)
		return api_problem(req, 500, API_TOKEN_NOMEM_DETAIL);
	if (trc < 0)
		return api_problem(req, 400, "page_token is not valid for the errors of this scan: use "
				   "the next_page_token of the previous page unchanged");
	const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (api_accept_ndjson(accept)) {
		struct api_errors_stream *es = calloc(1, sizeof(*es));
		if (!es)
			return api_problem(req, 500, "out of memory starting a stream");
		*es = (struct api_errors_stream){.store = req->ctx->store, .scan_id = req->id,
						 .after = after};
		jsonw_init(&es->w);
		struct api_stream_src src = {.fill = api_errors_fill, .free = api_errors_free, .ctx = es};
		return api_stream_reply(req, &src, "application/x-ndjson", NULL);
	}
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "errors");
	jsonw_arr(&w);
	uint64_t next_after = 0;
	bool more = false;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_errors(req->ctx->store, req->id, after, page_size, api_error_cb, &w,
			      &next_after, &more, &err);
	if (rc < 0 && rc != -ENOENT) {
		jsonw_free(&w);
		return api_problem(req, 500, "reading the errors of scan %llu: %s",
				   (unsigned long long)req->id, err.msg);
	}
	if (rc == -ENOENT) {
		/* The scan existed when checked: it was deleted since. */
		jsonw_free(&w);
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (more) {
		tok = api_token_encode_u64(&req->ctx->key, &bind, next_after);
		link = tok ? api_next_link(req, "errors", p, 2, tok) : NULL;
	}
	return api_reply_page(req, &w, more, tok, link, "errors");
}
