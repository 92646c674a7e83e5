/* scans.c: POST /scans, GET /scans, GET /scans/{id}, POST /scans/{id}/cancel, DELETE /scans/{id}. */
#include "api/api.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/utf8.h"
#include "service/job/scanjson.h"
#include "service/job/scanopt.h"
#include "service/scan/scanner.h"

#define API_SCANS_PAGE_DEFAULT 100
#define API_SCANS_PAGE_MAX 1000

/* ---------------------------------------------------------------- the scan resource */

void api_scan_doc(const struct jobq_view *v, unsigned flags, struct jsonw *w)
{
	const struct store_scan *rec = &v->rec;
	const struct scanner_progress *p = &v->progress;
	jsonw_obj(w);
	jsonw_key(w, "id");
	jsonw_u64(w, rec->id);
	jsonw_path(w, "root", rec->root ? rec->root : "", rec->root ? rec->root_len : 0);
	jsonw_key(w, "state");
	jsonw_str(w, scan_state_name(v->state));
	jsonw_key(w, "options");
	if (rec->options_json && rec->options_json[0])
		jsonw_rawval(w, rec->options_json, strlen(rec->options_json));
	else
		jsonw_rawval(w, "{}", 2);
	api_jw_time(w, "created_at", rec->created_ns);
	api_jw_time(w, "started_at", v->started_ns);
	api_jw_time(w, "finished_at", v->finished_ns);
	jsonw_key(w, "progress");
	jsonw_obj(w);
	jsonw_key(w, "entries");
	jsonw_u64(w, p->dirs + p->files + p->symlinks + p->other);
	jsonw_key(w, "dirs");
	jsonw_u64(w, p->dirs);
	jsonw_key(w, "files");
	jsonw_u64(w, p->files);
	jsonw_key(w, "symlinks");
	jsonw_u64(w, p->symlinks);
	jsonw_key(w, "other");
	jsonw_u64(w, p->other);
	jsonw_key(w, "bytes");
	jsonw_u64(w, p->bytes);
	jsonw_key(w, "errors");
	jsonw_u64(w, p->errors);
	jsonw_key(w, "queued_dirs");
	jsonw_u64(w, scan_state_finished(v->state) ? 0 : p->queued_dirs);
	jsonw_obj_end(w);
	jsonw_key(w, "error");
	if (v->error && utf8_valid(v->error, strlen(v->error)))
		jsonw_str(w, v->error);
	else if (v->error)
		jsonw_str(w, "the scan failed (the message is not valid UTF-8; see the log)");
	else
		jsonw_null(w);
	if (flags & API_SCAN_DOC_STATS) {
		/* The counters of GET /scans/{id}/stats, once; null while queued. */
		jsonw_key(w, "stats");
		if (v->counters_json)
			jsonw_rawval(w, v->counters_json, strlen(v->counters_json));
		else
			jsonw_null(w);
	}
	jsonw_obj_end(w);
}

int api_scan_write_rec(struct api_ctx *ctx, const struct store_scan *rec, struct jsonw *w)
{
	struct jobq_view v;
	int rc = jobq_view_overlay(ctx->jobq, rec, 0, &v);
	if (rc == 0)
		api_scan_doc(&v, 0, w);
	jobq_view_clear(&v);
	return rc;
}

int api_scan_write(struct api_ctx *ctx, uint64_t id, struct jsonw *w, struct errbuf *err)
{
	struct jobq_view v;
	int rc = jobq_view_get(ctx->jobq, id, JOBQ_VIEW_COUNTERS, &v, err);
	if (rc == 0)
		api_scan_doc(&v, API_SCAN_DOC_STATS, w);
	jobq_view_clear(&v);
	return rc;
}

/* Answers 200 (or `status`) with scan req->id, or its 404/500. */
static enum MHD_Result api_scan_answer(struct api_req *req, unsigned status, const char *location)
{
	struct jsonw w;
	jsonw_init(&w);
	struct errbuf err;
	errbuf_clear(&err);
	int rc = api_scan_write(req->ctx, req->id, &w, &err);
	if (rc == -ENOENT) {
		jsonw_free(&w);
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	}
	if (rc < 0) {
		jsonw_free(&w);
		return api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
	}
	return api_reply_jw(req, status, &w, location ? "Location" : NULL, location, (const char *)NULL);
}

/* ---------------------------------------------------------------- allowed roots */

/*
 * Appends `rest` to `base` (a buffer of `cap` bytes) lexically ("." skipped, ".." pops, never
 * above "/"). -ENAMETOOLONG when a component does not fit: skipping it would name another
 * directory.
 */
static int api_root_append(char *base, size_t cap, const char *rest)
{
	const char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(base, '/');
			if (slash && slash != base)
				*slash = '\0';
			else
				base[1] = '\0';
		} else {
			size_t bl = strlen(base);
			size_t sep = bl > 1 ? 1 : 0;
			if (bl + sep + n >= cap)
				return -ENAMETOOLONG;
			if (sep)
				base[bl++] = '/';
			memcpy(base + bl, p, n);
			base[bl + n] = '\0';
		}
		p = e;
	}
	return 0;
}

/* Copies `path` into out[cap]; -ENAMETOOLONG when it does not fit. */
static int api_root_copy(char *out, size_t cap, const char *path)
{
	size_t n = strlen(path);
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(out, path, n + 1);
	return 0;
}

/*
 * Resolves an absolute path for the allowed-roots check without revealing whether it exists:
 * symlinks and ".." are resolved in the longest prefix that exists, the rest appended lexically,
 * and again until nothing changes (a ".." in the rest may land on an existing symlink).
 */
int api_root_resolve(const char *path, char *out, size_t cap)
{
	char cur[PATH_MAX];
	if (path[0] != '/')
		return -EINVAL;
	if (api_root_copy(cur, sizeof(cur), path) < 0)
		return -ENAMETOOLONG;
	for (int round = 0; round < 40; round++) {
		char prefix[PATH_MAX];
		memcpy(prefix, cur, sizeof(prefix));
		size_t cut = strlen(prefix);
		char resolved[PATH_MAX];
		for (;;) {
			if (realpath(prefix, resolved))
				break;
			char *slash = strrchr(prefix, '/');
			if (!slash || slash == prefix) {
				strcpy(resolved, "/");
				cut = 1;
				break;
			}
			*slash = '\0';
			cut = (size_t)(slash - prefix);
		}
		if (cut >= strlen(cur))
			return api_root_copy(out, cap, resolved);
		if (api_root_append(resolved, sizeof(resolved), cur + cut) < 0)
			return -ENAMETOOLONG;
		if (strcmp(resolved, cur) == 0)
			return api_root_copy(out, cap, resolved);
		memcpy(cur, resolved, sizeof(cur));
	}
	return api_root_copy(out, cap, cur);
}

/*
 * Whether `resolved` is at or below an allowed root. *matched is that allowed root (the context's
 * canonical copy), or NULL when roots are not restricted.
 */
static bool api_root_allowed(const struct api_ctx *ctx, const char *resolved, const char **matched)
{
	*matched = NULL;
	if (ctx->allow_root_count == 0)
		return true;
	for (size_t i = 0; i < ctx->allow_root_count; i++) {
		const char *a = ctx->allow_roots[i];
		size_t n = strlen(a);
		if (strcmp(a, "/") == 0 ||
		    (strncmp(resolved, a, n) == 0 && (resolved[n] == '\0' || resolved[n] == '/'))) {
			*matched = a;
			return true;
		}
	}
	return false;
}

/* How much of a root a problem detail quotes, in bytes. */
#define API_ROOT_QUOTE_MAX 512

/*
 * The first bytes of `root` to quote in a problem detail: at most API_ROOT_QUOTE_MAX, cut before
 * a UTF-8 character that would not fit whole (a cut character would make the whole detail invalid
 * UTF-8), with "..." after a cut.
 */
static const char *api_root_quote(const char *root, char *buf, size_t cap)
{
	size_t len = strlen(root);
	if (len <= API_ROOT_QUOTE_MAX && len < cap)
		return root;
	const unsigned char *s = (const unsigned char *)root;
	size_t keep = 0, limit = API_ROOT_QUOTE_MAX < cap - 4 ? API_ROOT_QUOTE_MAX : cap - 4;
	while (keep < limit) {
		size_t n = utf8_seq_len(s + keep, len - keep);
		if (n == 0)
			n = 1; /* not UTF-8: the detail says so anyway; cut bytes as they come */
		if (keep + n > limit)
			break;
		keep += n;
	}
	memcpy(buf, root, keep);
	memcpy(buf + keep, "...", 4);
	return buf;
}

/* ---------------------------------------------------------------- POST /scans */

/* Checks the root of valid options `so` (403, 422), then queues the scan and answers 202. */
static enum MHD_Result api_scan_submit(struct api_req *req, struct scanner_opts *so)
{
	/* 403 before any existence check, on the resolved path. */
	const char *root = so->root, *allowed = NULL;
	char resolved[PATH_MAX], quote[API_ROOT_QUOTE_MAX + 4];
	int rrc = api_root_resolve(root, resolved, sizeof(resolved));
	if (rrc == -ENAMETOOLONG)
		return api_problem(req, 422, "root '%s' is too long: with its symbolic links and '..' "
				   "resolved it is over %d bytes", api_root_quote(root, quote, sizeof(quote)),
				   PATH_MAX - 1);
	if (rrc < 0 || !api_root_allowed(req->ctx, resolved, &allowed))
		return api_problem(req, 403, "root '%s' is outside the allowed roots of this server (--allow-root)",
				   api_root_quote(root, quote, sizeof(quote)));
	struct stat st;
	int e = 0;
	if (stat(resolved, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e)
		return api_problem(req, 422, "root '%s' %s", api_root_quote(root, quote, sizeof(quote)),
				   e == ENOENT ? "does not exist" :
				   e == ENOTDIR ? "is not a directory" : "cannot be accessed by the server");
	/* The scan opens the root without following links, beneath the allowed root it matched. */
	so->root = resolved;
	so->allowed_root = allowed;
	struct errbuf perr;
	errbuf_clear(&perr);
	int prc = scanner_precheck(so, &perr); /* the view git: a work tree, readable, confined */
	if (prc < 0)
		return api_problem(req, prc == -ENOMEM ? 500 : 422, "%s", perr.msg);
	/* A baseline: "latest" resolved to an id, and checked (service/job/scanopt.c). */
	if ((prc = scanopt_baseline_resolve(req->ctx->store, so, &perr)) < 0)
		return api_problem(req, prc == SCANOPT_ECONFLICT ? 422 : 500, "%s", perr.msg);
	/* The effective options for the record: the same document `leindexd scan` stores. */
	json_t *optj = scanjson_options(so);
	char *options = optj ? scanjson_dumps(optj, JSON_COMPACT) : NULL;
	json_decref(optj);
	if (!options)
		return api_problem(req, 500, "out of memory while queueing a scan of '%s'",
				   api_root_quote(root, quote, sizeof(quote)));
	uint64_t id = 0;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_submit(req->ctx->jobq, so, options, &id, &err);
	free(options);
	if (rc == -EAGAIN) {
		static const char *const h[] = {"Retry-After", "5", NULL};
		return api_problem_h(req, 429, h, "%s; retry later", err.msg);
	}
	if (rc == -ESHUTDOWN)
		return api_problem(req, 503, "%s", err.msg);
	if (rc < 0)
		return api_problem(req, 503, "the store could not record the scan: %s", err.msg);
	req->id = id;
	char loc[64];
	snprintf(loc, sizeof(loc), "/scans/%llu", (unsigned long long)id);
	return api_scan_answer(req, 202, loc);
}

/*
 * jansson's parser drops a character of a string when its buffer cannot grow (its lex_save()
 * ignores the failure), so a body parsed while memory runs short can come back valid but changed:
 * a root one letter shorter, another directory. jansson allocates through
 * api_scans_json_malloc(), which notes a failure for the thread that parses; a parse that saw one
 * is answered 500, never taken for what the client sent. The flag is per thread and only read
 * around one json_loadb() of that thread.
 */
static _Thread_local bool api_scans_json_oom;

static void *api_scans_json_malloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		api_scans_json_oom = true;
	return p;
}

void api_scans_json_init(void)
{
	json_set_alloc_funcs(api_scans_json_malloc, free);
}

enum MHD_Result api_scans_post(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	if (req->body_len == 0)
		return api_problem(req, 400, "the body is empty; send a JSON object such as {\"root\": \"/abs/dir\"}");
	json_error_t jerr;
	api_scans_json_oom = false;
	json_t *o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (api_scans_json_oom) {
		json_decref(o);
		return api_problem(req, 500, "out of memory while reading the body");
	}
	if (!o)
		return api_problem(req, 400, "the body is not valid JSON: %s (line %d, column %d)",
				   jerr.text, jerr.line, jerr.column);
	if (!json_is_object(o)) {
		res = api_problem(req, 400, "the body must be a JSON object such as {\"root\": \"/abs/dir\"}, got %s",
				  scanopt_json_what(o));
		json_decref(o);
		return res;
	}
	/* The table of scan options checks every field and fills the options (service/job/scanopt.c). */
	const struct scanopt_table *table = scanopt_scan_table();
	struct scanner_opts so = {0};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = scanopt_read(table, o, SCANOPT_FROM_JSON, &so, &err);
	if (rc < 0) {
		res = api_problem(req, rc == SCANOPT_ECONFLICT ? 422 : rc == SCANOPT_EINVALID ? 400 : 500,
				  "%s", err.msg);
		json_decref(o);
		return res;
	}
	res = api_scan_submit(req, &so);
	scanopt_release(table, &so);
	json_decref(o);
	return res;
}

/* ---------------------------------------------------------------- GET /scans */

struct api_list_ctx {
	struct api_ctx *ctx;
	struct jsonw *w;
	unsigned limit, count;
	uint64_t last_id;
	bool more;
	int rc;
	/** ?root=: only scans of this root (resolved as POST /scans resolves it); NULL: any. */
	const char *root;
	size_t root_len;
};

static int api_list_cb(void *arg, const struct store_scan *scan)
{
	struct api_list_ctx *lc = arg;
	if (jobq_deleted(lc->ctx->jobq, scan->id))
		return 0;
	/* Filtered before the page limit, so that a full page means another match follows. */
	if (lc->root && (scan->root_len != lc->root_len || memcmp(scan->root, lc->root, lc->root_len) != 0))
		return 0;
	if (lc->count == lc->limit) {
		lc->more = true;
		return 1;
	}
	if (api_scan_write_rec(lc->ctx, scan, lc->w) < 0)
		return 0;
	lc->count++;
	lc->last_id = scan->id;
	return 0;
}

/*
 * The weak ETag of a page of GET /scans: FNV-1a over its scans (their state and progress
 * included) and whether more follow. The rest of the page (the next token) follows from these
 * and the request, which the tag is for.
 */
static void api_scans_etag(const char *text, size_t len, bool more, char *out, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ull;
	}
	h ^= more ? 1 : 0;
	h *= 0x100000001b3ull;
	snprintf(out, cap, "W/\"%016llx\"", (unsigned long long)h);
}

/* The query of GET /scans, read and checked; the page token bound to its filters. */
struct api_scans_query {
	unsigned page_size, mask;
	bool has_root;
	char root[PATH_MAX];
	size_t root_len;
	/* The token's binding: the state mask, then the root's bytes (and one more with a root). */
	unsigned char filter[4 + PATH_MAX];
	struct api_token_bind bind;
	/* From the page token: list the scans below this id (0: from the newest). */
	uint64_t before;
};

/* Reads p (state, page_size, page_token, root) into q: 0, or -1 with the answer in *res. */
static int api_scans_list_query(struct api_req *req, struct api_param *p, struct api_scans_query *q,
				enum MHD_Result *res)
{
	if (api_query_page_size(req, &p[1], API_SCANS_PAGE_DEFAULT, API_SCANS_PAGE_MAX,
				&q->page_size, res) < 0)
		return -1;
	q->mask = 0;
	if (p[0].value) {
		enum scan_state s;
		if (memchr(p[0].value, '\0', p[0].len) || scan_state_parse(p[0].value, &s) < 0) {
			*res = api_problem(req, 400, "state must be one of queued, running, "
					   "completed, failed, cancelled, interrupted; got "
					   "'%.40s'", p[0].value);
			return -1;
		}
		q->mask = 1u << s;
	}
	/* ?root=: resolved as POST /scans resolves the root it stores. */
	q->has_root = p[3].value != NULL;
	q->root_len = 0;
	if (q->has_root) {
		if (memchr(p[3].value, '\0', p[3].len) || p[3].value[0] != '/' ||
		    api_root_resolve(p[3].value, q->root, sizeof(q->root)) < 0) {
			*res = api_problem(req, 400, "root must be an absolute path of at most "
					   "%d bytes", PATH_MAX - 1);
			return -1;
		}
		q->root_len = strlen(q->root);
	}
	q->filter[0] = (unsigned char)(q->mask >> 24);
	q->filter[1] = (unsigned char)(q->mask >> 16);
	q->filter[2] = (unsigned char)(q->mask >> 8);
	q->filter[3] = (unsigned char)q->mask;
	memcpy(q->filter + 4, q->root, q->root_len);
	q->bind = (struct api_token_bind){.route = API_TOKEN_SCANS, .scan_id = 0, .filter = q->filter,
					  .filter_len = 4 + q->root_len + (q->has_root ? 1 : 0)};
	q->before = 0;
	if (!p[2].value)
		return 0;
	int trc = api_token_decode_u64(&req->ctx->key, &q->bind, p[2].value, p[2].len, &q->before);
	if (trc == API_TOKEN_NOMEM) {
		*res = api_problem(req, 500, API_TOKEN_NOMEM_DETAIL);
		return -1;
	}
	if (trc < 0) {
		*res = api_problem(req, 400, "page_token is not valid for this list and these "
				   "filters: use the next_page_token of the previous page "
				   "unchanged, with the same state");
		return -1;
	}
	if (q->before == 0) {
		*res = api_problem(req, 400, "page_token is not valid for this list");
		return -1;
	}
	return 0;
}

enum MHD_Result api_scans_list(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "state"}, {.name = "page_size"}, {.name = "page_token"},
				{.name = "root"}};
	if (api_query(req, p, 4, &res) < 0)
		return res;
	struct api_scans_query q;
	if (api_scans_list_query(req, p, &q, &res) < 0)
		return res;

	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "scans");
	jsonw_arr(&w);
	struct api_list_ctx lc = {.ctx = req->ctx, .w = &w, .limit = q.page_size,
				  .root = q.has_root ? q.root : NULL, .root_len = q.root_len};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_list(req->ctx->store, q.before, q.mask, api_list_cb, &lc, &err);
	if (rc < 0 && rc != 1) {
		jsonw_free(&w);
		return api_problem(req, 500, "listing scans: %s", err.msg);
	}
	jsonw_arr_end(&w);
	/* A poller (the status page) gets 304 while the page it asks for has not changed. */
	char etag[32];
	api_scans_etag(w.sb.buf ? w.sb.buf : "", w.sb.len, lc.more, etag, sizeof(etag));
	if (api_etag_matches(req, etag)) {
		jsonw_free(&w);
		return api_reply(req, 304, NULL, NULL, 0, "ETag", etag, "Cache-Control", "no-cache",
				 (const char *)NULL);
	}
	char *tok = NULL, *link = NULL;
	if (lc.more) {
		tok = api_token_encode_u64(&req->ctx->key, &q.bind, lc.last_id);
		link = tok ? api_link_next("/scans", p, 4, tok) : NULL;
		if (!tok || !link)
			return api_reply_page(req, &w, true, tok, link, "scans"); /* its 500 */
		jsonw_key(&w, "next_page_token");
		jsonw_str(&w, tok);
	}
	jsonw_obj_end(&w);
	res = api_reply_jw(req, 200, &w, "ETag", etag, "Cache-Control", "no-cache", "Link", link,
			   (const char *)NULL);
	free(tok);
	free(link);
	return res;
}

/* ---------------------------------------------------------------- one scan */

enum MHD_Result api_scan_get(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "wait"}};
	if (api_query(req, p, 1, &res) < 0)
		return res;
	unsigned long long wait = 0;
	if (p[0].value) {
		char *end = NULL;
		errno = 0;
		if (p[0].len == 0 || p[0].len > 2 || p[0].value[0] < '0' || p[0].value[0] > '9' ||
		    (wait = strtoull(p[0].value, &end, 10), end != p[0].value + p[0].len) ||
		    wait > API_WAIT_MAX)
			return api_problem(req, 400, "wait must be a whole number of seconds from 0 to %d, got '%.20s'",
					   API_WAIT_MAX, p[0].value);
	}
	if (!req->resumed && wait > 0) {
		struct jobq_live live;
		int lv = jobq_live(req->ctx->jobq, req->id, &live);
		if (lv == 1 && !scan_state_finished(live.state) &&
		    api_waiters_suspend(req->ctx->waiters, req,
					clock_mono_ns() + (int64_t)wait * 1000000000) == 0)
			return MHD_YES;
	}
	return api_scan_answer(req, 200, NULL);
}

enum MHD_Result api_scan_cancel(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	if (req->resumed)
		return api_scan_answer(req, 200, NULL);
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_cancel(req->ctx->jobq, req->id, &err);
	if (rc == -ENOENT)
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc == -EALREADY)
		return api_problem(req, 409, "%s", err.msg);
	if (rc < 0)
		return api_problem(req, 500, "cancelling scan %llu: %s", (unsigned long long)req->id, err.msg);
	/* Answer once it has stopped (within about a second), so the answer shows `cancelled`. */
	struct jobq_live live;
	if (jobq_live(req->ctx->jobq, req->id, &live) == 1 && !scan_state_finished(live.state) &&
	    api_waiters_suspend(req->ctx->waiters, req,
				clock_mono_ns() + (int64_t)API_CANCEL_WAIT_MS * 1000000) == 0)
		return MHD_YES;
	return api_scan_answer(req, 200, NULL);
}

enum MHD_Result api_scan_delete(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	struct errbuf err;
	errbuf_clear(&err);
	/* 204 only once the deletion is durable; a store that cannot commit it is a 503. */
	int rc = jobq_delete(req->ctx->jobq, req->id, &err);
	if (rc == -ENOENT)
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc < 0)
		return api_problem(req, 503, "deleting scan %llu: %s", (unsigned long long)req->id, err.msg);
	return api_reply(req, 204, NULL, NULL, 0, (const char *)NULL);
}
