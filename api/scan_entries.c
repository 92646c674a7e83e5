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

#define API_ENTRIES_PAGE_DEFAULT 1000
#define API_ENTRIES_PAGE_MAX 10000

/*
 * Checks that scan req->id exists; with `finished`, that it is no longer queued or running.
 * Returns 0, or -1 with an answer queued in *res.
 */
static int api_scan_check(struct api_req *req, bool finished, enum MHD_Result *res)
{
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = jobq_view_get(req->ctx->jobq, req->id, 0, &v, &err);
	enum scan_state st = v.state;
	bool live = v.live;
	jobq_view_clear(&v);
	if (rc == -ENOENT) {
		*res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
		return -1;
	}
	if (rc < 0) {
		*res = api_problem(req, 500, "reading scan %llu: %s", (unsigned long long)req->id, err.msg);
		return -1;
	}
	if (finished && !scan_state_finished(st)) {
		/* The manager holds it, so it will finish in this process: say how to wait. */
		if (live)
			*res = api_problem(req, 409, "scan %llu is %s; its entries can be read once it has "
					   "finished (GET /scans/%llu?wait=60 waits for that)",
					   (unsigned long long)req->id, scan_state_name(st),
					   (unsigned long long)req->id);
		else
			*res = api_problem(req, 409, "scan %llu is %s; its entries can be read once it has finished",
					   (unsigned long long)req->id, scan_state_name(st));
		return -1;
	}
	return 0;
}

/*
 * After a read of scan req->id answered -ENOENT although api_scan_check() found the scan: whether
 * the scan itself is gone (deleted in between: answer 404, as every other route now does) rather
 * than a prefix directory missing.
 */
static bool api_scan_vanished(struct api_req *req)
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

static int api_entry_cb(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct jsonw *w = ctx;
	jsonw_obj(w);
	jsonw_path(w, "path", path, path_len);
	jsonw_key(w, "type");
	jsonw_str(w, entry_type_name(e->type));
	bool st = e->flags & ENTRY_HAS_STAT;
	jsonw_key(w, "size");
	st ? jsonw_u64(w, e->size) : jsonw_null(w);
	jsonw_key(w, "ino");
	st ? jsonw_u64(w, e->ino) : jsonw_null(w);
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
	jsonw_obj_end(w);
	return w->sb.oom ? -ENOMEM : 0;
}

/* A prefix is a relative directory: no leading '/', no empty, "." or ".." parts. */
static bool api_prefix_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/' || memchr(p, '\0', n))
		return false;
	size_t i = 0;
	while (i < n) {
		const char *s = p + i;
		const char *e = memchr(s, '/', n - i);
		size_t len = e ? (size_t)(e - s) : n - i;
		if (len == 0 || len > 255 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		i += len + 1;
	}
	return true;
}

/* The Link header of the next page of a scan route: keeps the filters, adds the token. */
static char *api_next_link(struct api_req *req, const char *route, const struct api_param *p,
			   size_t count, const char *tok)
{
	char path[96];
	snprintf(path, sizeof(path), "/scans/%llu/%s", (unsigned long long)req->id, route);
	return api_link_next(path, p, count, tok);
}

enum MHD_Result api_scan_entries(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "page_size"}, {.name = "page_token"}, {.name = "type"},
				{.name = "prefix"}};
	if (api_query(req, p, 4, &res) < 0)
		return res;
	unsigned page_size;
	if (api_query_page_size(req, &p[0], API_ENTRIES_PAGE_DEFAULT, API_ENTRIES_PAGE_MAX, &page_size, &res) < 0)
		return res;
	unsigned mask = 0;
	if (p[2].value) {
		enum entry_type t;
		if (memchr(p[2].value, '\0', p[2].len) || entry_type_parse(p[2].value, &t) < 0)
			return api_problem(req, 400, "type must be one of file, dir, symlink, other; got '%.40s'",
					   p[2].value);
		mask = 1u << t;
	}
	const char *prefix = p[3].value;
	size_t prefix_len = p[3].len;
	if (prefix && prefix_len > 1 && prefix[prefix_len - 1] == '/')
		prefix_len--;
	if (prefix && !api_prefix_ok(prefix, prefix_len))
		return api_problem(req, 400, "prefix must be a directory relative to the scan root, such as "
				   "'src/lib' (no leading '/', no empty, '.' or '..' parts)");
	if (api_scan_check(req, true, &res) < 0)
		return res;

	/* The filters the token is bound to: the type mask and the prefix bytes. */
	size_t flen = 4 + (prefix ? prefix_len : 0);
	unsigned char *filter = malloc(flen);
	if (!filter)
		return api_problem(req, 500, "out of memory");
	filter[0] = (unsigned char)(mask >> 24), filter[1] = (unsigned char)(mask >> 16);
	filter[2] = (unsigned char)(mask >> 8), filter[3] = (unsigned char)mask;
	if (prefix)
		memcpy(filter + 4, prefix, prefix_len);
	struct api_token_bind bind = {.route = API_TOKEN_ENTRIES, .scan_id = req->id,
				      .filter = filter, .filter_len = flen};
	struct store_pos resume, next;
	bool have_resume = false;
	if (p[1].value) {
		unsigned char pos[API_TOKEN_POS_MAX];
		size_t plen = 0;
		if (api_token_decode(&req->ctx->key, &bind, p[1].value, p[1].len, pos, sizeof(pos), &plen) < 0 ||
		    plen < 8 || plen - 8 > 255) {
			free(filter);
			return api_problem(req, 400, "page_token is not valid for this scan and these filters: use "
					   "the next_page_token of the previous page unchanged, with the same type and prefix");
		}
		memset(&resume, 0, sizeof(resume));
		resume.dir_id = bytes_be64_get(pos);
		resume.name_len = plen - 8;
		memcpy(resume.name, pos + 8, resume.name_len);
		have_resume = true;
	}

	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "entries");
	jsonw_arr(&w);
	struct store_walk_filter f = {.prefix = prefix, .prefix_len = prefix ? prefix_len : 0,
				      .type_mask = mask};
	bool more = false;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_walk(req->ctx->store, req->id, &f, have_resume ? &resume : NULL, page_size,
			    api_entry_cb, &w, &next, &more, &err);
	if (rc == -ENOENT && api_scan_vanished(req)) {
		free(filter);
		jsonw_free(&w);
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	} else if (rc == -ENOENT) {
		/* The scan exists (checked above): the prefix directory does not. Nothing below it. */
		more = false;
	} else if (rc == -EINVAL) {
		free(filter);
		jsonw_free(&w);
		return api_problem(req, 400, "page_token does not point into scan %llu", (unsigned long long)req->id);
	} else if (rc < 0) {
		free(filter);
		jsonw_free(&w);
		return api_problem(req, 500, "reading the entries of scan %llu: %s",
				   (unsigned long long)req->id, err.msg);
	}
	jsonw_arr_end(&w);
	char *tok = NULL, *link = NULL;
	if (more) {
		unsigned char pos[8 + 255];
		bytes_be64_put(pos, next.dir_id);
		memcpy(pos + 8, next.name, next.name_len);
		tok = api_token_encode(&req->ctx->key, &bind, pos, 8 + next.name_len);
		link = tok ? api_next_link(req, "entries", p, 4, tok) : NULL;
	}
	free(filter); /* the token was bound to it */
	return api_reply_page(req, &w, more, tok, link, "entries");
}

static int api_error_cb(void *ctx, const struct store_error *e)
{
	struct jsonw *w = ctx;
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
	return w->sb.oom ? -ENOMEM : 0;
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
	if (p[1].value &&
	    api_token_decode_u64(&req->ctx->key, &bind, p[1].value, p[1].len, &after) < 0)
		return api_problem(req, 400, "page_token is not valid for the errors of this scan: use "
				   "the next_page_token of the previous page unchanged");
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
