/* scans.c: POST /scans, GET /scans, GET /scans/{id}, POST /scans/{id}/cancel, DELETE /scans/{id}. */
#include "api/api.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service/job/scanjson.h"
#include "service/scan/scanner.h"

#define API_SCANS_PAGE_DEFAULT 100
#define API_SCANS_PAGE_MAX 1000
#define API_SLOW_MS_MAX 86400000
#define API_IGNORE_MAX 1024

/* ---------------------------------------------------------------- the scan resource */

/* Writes the scan resource of a merged view. */
static void api_scan_write_view(const struct jobq_view *v, struct jsonw *w)
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
	if (v->error && jsonw_utf8_valid(v->error, strlen(v->error)))
		jsonw_str(w, v->error);
	else if (v->error)
		jsonw_str(w, "the scan failed (the message is not valid UTF-8; see the log)");
	else
		jsonw_null(w);
	jsonw_obj_end(w);
}

int api_scan_write_rec(struct api_ctx *ctx, const struct store_scan *rec, struct jsonw *w)
{
	struct jobq_view v;
	int rc = jobq_view_overlay(ctx->jobq, rec, 0, &v);
	if (rc == 0)
		api_scan_write_view(&v, w);
	jobq_view_clear(&v);
	return rc;
}

int api_scan_write(struct api_ctx *ctx, uint64_t id, struct jsonw *w, struct errbuf *err)
{
	struct jobq_view v;
	int rc = jobq_view_get(ctx->jobq, id, 0, &v, err);
	if (rc == 0)
		api_scan_write_view(&v, w);
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

/* Appends `rest` to `base` lexically ("." skipped, ".." pops, never above "/"). */
static void api_root_append(char *base, size_t cap, const char *rest)
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
			if (bl + 1 + n < cap) {
				if (bl > 1)
					base[bl++] = '/';
				memcpy(base + bl, p, n);
				base[bl + n] = '\0';
			}
		}
		p = e;
	}
}

/*
 * Resolves an absolute path for the allowed-roots check without revealing whether it exists:
 * symlinks and ".." are resolved in the longest prefix that exists, the rest appended lexically,
 * and again until nothing changes (a ".." in the rest may land on an existing symlink).
 */
int api_root_resolve(const char *path, char *out, size_t cap)
{
	char cur[PATH_MAX];
	if (snprintf(cur, sizeof(cur), "%s", path) >= (int)sizeof(cur) || cur[0] != '/')
		return -1;
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
		if (cut >= strlen(cur)) {
			snprintf(out, cap, "%s", resolved);
			return 0;
		}
		api_root_append(resolved, sizeof(resolved), cur + cut);
		if (strcmp(resolved, cur) == 0) {
			snprintf(out, cap, "%s", resolved);
			return 0;
		}
		memcpy(cur, resolved, sizeof(cur));
	}
	snprintf(out, cap, "%s", cur);
	return 0;
}

static bool api_root_allowed(const struct api_ctx *ctx, const char *resolved)
{
	if (ctx->allow_root_count == 0)
		return true;
	for (size_t i = 0; i < ctx->allow_root_count; i++) {
		const char *a = ctx->allow_roots[i];
		size_t n = strlen(a);
		if (strcmp(a, "/") == 0)
			return true;
		if (strncmp(resolved, a, n) == 0 && (resolved[n] == '\0' || resolved[n] == '/'))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- POST /scans */

static const char *const api_scan_fields[] = {"root", "workers", "max_depth", "follow_symlinks",
					      "one_file_system", "ignore", "use_gitignore", "hash",
					      "slow_threshold_ms"};

static const char *api_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Reads an optional integer field into *out within [min, max]; 400 text in `bad`. */
static int api_field_int(json_t *o, const char *name, long long min, long long max, long long *out,
			 bool *present, char *bad, size_t cap)
{
	json_t *v = json_object_get(o, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		snprintf(bad, cap, "field '%s' must be an integer from %lld to %lld, got %s", name, min,
			 max, api_json_type(v));
		return -1;
	}
	long long x = json_integer_value(v);
	if (x < min || x > max) {
		snprintf(bad, cap, "field '%s' must be from %lld to %lld, got %lld", name, min, max, x);
		return -1;
	}
	*out = x;
	return 0;
}

static int api_field_bool(json_t *o, const char *name, bool *out, char *bad, size_t cap)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(bad, cap, "field '%s' must be true or false, got %s", name, api_json_type(v));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

struct api_scan_req {
	const char *root;
	long long workers, max_depth, slow_ms;
	bool follow, one_fs, gitignore, hash;
	const char **ignore;
	size_t ignore_count;
};

/* Validates the body; 0, or -1 with the 400 detail in `bad`. */
static int api_scan_parse(json_t *o, struct api_scan_req *r, char *bad, size_t cap)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof(api_scan_fields) / sizeof(api_scan_fields[0]); i++)
			known |= strcmp(key, api_scan_fields[i]) == 0;
		if (!known) {
			snprintf(bad, cap, "unknown field '%.64s'; the fields are root, workers, max_depth, "
				 "follow_symlinks, one_file_system, ignore, use_gitignore, hash, slow_threshold_ms",
				 key);
			return -1;
		}
	}
	json_t *root = json_object_get(o, "root");
	if (!root) {
		snprintf(bad, cap, "field 'root' is required: the absolute path of the directory to scan");
		return -1;
	}
	if (!json_is_string(root)) {
		snprintf(bad, cap, "field 'root' must be a string, got %s", api_json_type(root));
		return -1;
	}
	r->root = json_string_value(root);
	if (r->root[0] != '/') {
		snprintf(bad, cap, "field 'root' must be an absolute path (starting with '/'), got '%.200s'", r->root);
		return -1;
	}
	if (strlen(r->root) >= PATH_MAX || strlen(r->root) != json_string_length(root)) {
		snprintf(bad, cap, "field 'root' is longer than %d bytes or holds a NUL", PATH_MAX - 1);
		return -1;
	}
	bool present;
	r->workers = 0;
	if (api_field_int(o, "workers", 1, 256, &r->workers, &present, bad, cap) < 0)
		return -1;
	r->max_depth = -1;
	json_t *md = json_object_get(o, "max_depth");
	if (md && !json_is_null(md) &&
	    api_field_int(o, "max_depth", 0, INT_MAX, &r->max_depth, &present, bad, cap) < 0) {
		if (!json_is_integer(md))
			snprintf(bad, cap, "field 'max_depth' must be null or an integer >= 0, got %s",
				 api_json_type(md));
		return -1;
	}
	r->slow_ms = 100;
	if (api_field_int(o, "slow_threshold_ms", 1, API_SLOW_MS_MAX, &r->slow_ms, &present, bad, cap) < 0)
		return -1;
	r->follow = false, r->one_fs = false, r->gitignore = true, r->hash = false;
	if (api_field_bool(o, "follow_symlinks", &r->follow, bad, cap) < 0 ||
	    api_field_bool(o, "one_file_system", &r->one_fs, bad, cap) < 0 ||
	    api_field_bool(o, "use_gitignore", &r->gitignore, bad, cap) < 0 ||
	    api_field_bool(o, "hash", &r->hash, bad, cap) < 0)
		return -1;
	json_t *ig = json_object_get(o, "ignore");
	r->ignore_count = 0;
	if (ig) {
		if (!json_is_array(ig)) {
			snprintf(bad, cap, "field 'ignore' must be an array of gitignore patterns (strings), got %s",
				 api_json_type(ig));
			return -1;
		}
		if (json_array_size(ig) > API_IGNORE_MAX) {
			snprintf(bad, cap, "field 'ignore' holds %zu patterns; at most %d are allowed",
				 json_array_size(ig), API_IGNORE_MAX);
			return -1;
		}
		size_t i;
		json_t *p;
		json_array_foreach(ig, i, p) {
			if (!json_is_string(p)) {
				snprintf(bad, cap, "field 'ignore' item %zu must be a string, got %s", i,
					 api_json_type(p));
				return -1;
			}
			if (json_string_length(p) != strlen(json_string_value(p)) ||
			    json_string_length(p) > 4096) {
				snprintf(bad, cap, "field 'ignore' item %zu holds a NUL or is over 4096 bytes", i);
				return -1;
			}
		}
		r->ignore_count = json_array_size(ig);
	}
	return 0;
}

enum MHD_Result api_scans_post(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	if (req->body_len == 0)
		return api_problem(req, 400, "the body is empty; send a JSON object such as {\"root\": \"/abs/dir\"}");
	json_error_t jerr;
	json_t *o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return api_problem(req, 400, "the body is not valid JSON: %s (line %d, column %d)",
				   jerr.text, jerr.line, jerr.column);
	if (!json_is_object(o)) {
		res = api_problem(req, 400, "the body must be a JSON object such as {\"root\": \"/abs/dir\"}, got %s",
				  api_json_type(o));
		json_decref(o);
		return res;
	}
	char bad[512];
	struct api_scan_req r = {0};
	if (api_scan_parse(o, &r, bad, sizeof(bad)) < 0) {
		res = api_problem(req, 400, "%s", bad);
		json_decref(o);
		return res;
	}

	/* 403 before any existence check, on the resolved path. */
	char resolved[PATH_MAX];
	if (api_root_resolve(r.root, resolved, sizeof(resolved)) < 0 ||
	    !api_root_allowed(req->ctx, resolved)) {
		res = api_problem(req, 403, "root '%.512s' is outside the allowed roots of this server (--allow-root)",
				  r.root);
		json_decref(o);
		return res;
	}
	struct stat st;
	int e = 0;
	if (stat(resolved, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e) {
		res = api_problem(req, 422, "root '%.512s' %s", r.root,
				  e == ENOENT ? "does not exist" :
				  e == ENOTDIR ? "is not a directory" : "cannot be accessed by the server");
		json_decref(o);
		return res;
	}

	unsigned workers = r.workers ? (unsigned)r.workers : scanner_default_workers();
	if (workers < 1)
		workers = 1;
	const char **ignore = r.ignore_count ? calloc(r.ignore_count, sizeof(*ignore)) : NULL;
	if (r.ignore_count && !ignore) {
		json_decref(o);
		return api_problem(req, 500, "out of memory while queueing a scan of '%.512s'", r.root);
	}
	for (size_t i = 0; i < r.ignore_count; i++)
		ignore[i] = json_string_value(json_array_get(json_object_get(o, "ignore"), i));
	struct scanner_opts so = {
		.root = resolved, .workers = workers, .max_depth = (int)r.max_depth,
		.flags = (r.follow ? SCANNER_FOLLOW_SYMLINKS : 0u) |
			 (r.one_fs ? SCANNER_ONE_FILE_SYSTEM : 0u) |
			 (r.gitignore ? SCANNER_USE_GITIGNORE : 0u) | (r.hash ? SCANNER_HASH : 0u),
		.ignore = ignore, .ignore_count = r.ignore_count,
		.slow_threshold_ms = (unsigned)r.slow_ms};
	/* The effective options for the record: the same document `leindexd scan` stores. */
	json_t *optj = scanjson_options(&so);
	char *options = optj ? json_dumps(optj, JSON_COMPACT) : NULL;
	json_decref(optj);
	if (!options) {
		free(ignore);
		json_decref(o);
		return api_problem(req, 500, "out of memory while queueing a scan of '%.512s'", r.root);
	}
	uint64_t id = 0;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_submit(req->ctx->jobq, &so, options, &id, &err);
	free(options);
	free(ignore);
	json_decref(o);
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

/* ---------------------------------------------------------------- GET /scans */

struct api_list_ctx {
	struct api_ctx *ctx;
	struct jsonw *w;
	unsigned limit, count;
	uint64_t last_id;
	bool more;
	int rc;
};

static int api_list_cb(void *arg, const struct store_scan *scan)
{
	struct api_list_ctx *lc = arg;
	if (jobq_deleted(lc->ctx->jobq, scan->id))
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

enum MHD_Result api_scans_list(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "state"}, {.name = "page_size"}, {.name = "page_token"}};
	if (api_query(req, p, 3, &res) < 0)
		return res;
	unsigned page_size;
	if (api_query_page_size(req, &p[1], API_SCANS_PAGE_DEFAULT, API_SCANS_PAGE_MAX, &page_size, &res) < 0)
		return res;
	unsigned mask = 0;
	if (p[0].value) {
		enum scan_state s;
		if (memchr(p[0].value, '\0', p[0].len) || scan_state_parse(p[0].value, &s) < 0)
			return api_problem(req, 400, "state must be one of queued, running, completed, failed, "
					   "cancelled, interrupted; got '%.40s'", p[0].value);
		mask = 1u << s;
	}
	unsigned char filter[4] = {(unsigned char)(mask >> 24), (unsigned char)(mask >> 16),
				   (unsigned char)(mask >> 8), (unsigned char)mask};
	struct api_token_bind bind = {.route = API_TOKEN_SCANS, .scan_id = 0, .filter = filter,
				      .filter_len = sizeof(filter)};
	uint64_t before = 0;
	if (p[2].value) {
		if (api_token_decode_u64(&req->ctx->key, &bind, p[2].value, p[2].len, &before) < 0)
			return api_problem(req, 400, "page_token is not valid for this list and these filters: "
					   "use the next_page_token of the previous page unchanged, with the same state");
		if (before == 0)
			return api_problem(req, 400, "page_token is not valid for this list");
	}

	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "scans");
	jsonw_arr(&w);
	struct api_list_ctx lc = {.ctx = req->ctx, .w = &w, .limit = page_size};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_list(req->ctx->store, before, mask, api_list_cb, &lc, &err);
	if (rc < 0 && rc != 1) {
		jsonw_free(&w);
		return api_problem(req, 500, "listing scans: %s", err.msg);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (lc.more) {
		tok = api_token_encode_u64(&req->ctx->key, &bind, lc.last_id);
		struct jsonw q;
		jsonw_init(&q);
		bool first = true;
		if (p[0].value)
			api_query_append(&q, &first, "state", p[0].value, p[0].len);
		if (p[1].value)
			api_query_append(&q, &first, "page_size", p[1].value, p[1].len);
		if (tok)
			api_query_append(&q, &first, "page_token", tok, strlen(tok));
		size_t ql;
		char *qs = jsonw_take(&q, &ql);
		link = qs ? api_link_next("/scans", qs) : NULL;
		free(qs);
	}
	return api_reply_page(req, &w, lc.more, tok, link, "scans");
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
					api_mono_ns() + (int64_t)wait * 1000000000) == 0)
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
				api_mono_ns() + (int64_t)API_CANCEL_WAIT_MS * 1000000) == 0)
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
	int rc = jobq_delete(req->ctx->jobq, req->id, &err);
	if (rc == -ENOENT)
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc < 0)
		return api_problem(req, 500, "deleting scan %llu: %s", (unsigned long long)req->id, err.msg);
	return api_reply(req, 204, NULL, NULL, 0, (const char *)NULL);
}
