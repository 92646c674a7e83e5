/* scan_query.c: the questions asked of a stored scan: one entry, the top N, directory totals. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/encode.h"
#include "base/strbuf.h"
#include "base/utf8.h"

/*
 *   GET /scans/{id}/entry?path=P          one entry, or 404
 *   GET /scans/{id}/top?by=size&limit=N   the N largest (or newest) regular files, one pass over
 *                                         the scan in short read transactions, a heap of N
 *   GET /scans/{id}/tree?prefix=P&depth=D subtree totals, stored when the scan finished
 *
 * The query parameters of these and of /entries are read here (api_query_filters()), the
 * entry filters by scan_filter.c, so that every route spells them the same way.
 */

#define API_TOP_DEFAULT 100
#define API_TOP_MAX 10000
#define API_TREE_DEPTH_MAX 16

/* ---------------------------------------------------------------- query strings */

struct api_qf_state {
	struct api_param *params;
	size_t count;
	struct api_filter *qf;
	char bad[API_FILTER_BAD_MAX];
};

static enum MHD_Result api_qf_each(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct api_qf_state *st = cls;
	for (size_t i = 0; i < st->count; i++)
		if (strlen(st->params[i].name) == key_size &&
		    memcmp(st->params[i].name, key, key_size) == 0)
			return api_query_take(st->params, st->count, key, key_size, value, value_size,
					      st->bad, sizeof(st->bad)) == 0 ? MHD_YES : MHD_NO;
	int rc = api_filter_take(st->qf, key, key_size, value, value_size, st->bad, sizeof(st->bad));
	if (rc > 0)
		return MHD_YES;
	if (rc == 0) {
		char name[64];
		size_t n = key_size < sizeof(name) - 1 ? key_size : sizeof(name) - 1;
		memcpy(name, key, n);
		name[n] = '\0';
		if (!utf8_valid(name, n) || memchr(key, '\0', n))
			snprintf(name, sizeof(name), "(not UTF-8)");
		struct strbuf sb;
		strbuf_init(&sb);
		for (size_t i = 0; i < st->count; i++)
			strbuf_printf(&sb, "%s, ", st->params[i].name);
		snprintf(st->bad, sizeof(st->bad), "unknown query parameter '%s'; this route takes %s%s",
			 name, sb.buf && !sb.oom ? sb.buf : "", api_filter_names);
		strbuf_free(&sb);
	}
	return MHD_NO;
}

int api_query_filters(struct api_req *req, struct api_param *params, size_t count,
		      struct api_filter *qf, enum MHD_Result *res)
{
	struct api_qf_state st = {.params = params, .count = count, .qf = qf};
	for (size_t i = 0; i < count; i++) {
		params[i].value = NULL;
		params[i].len = 0;
	}
	api_filter_init(qf);
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, api_qf_each, &st);
	if (!st.bad[0])
		api_filter_finish(qf, st.bad, sizeof(st.bad));
	if (st.bad[0]) {
		/* The filter says "out of memory ..." when it was the server that failed. */
		bool oom = strncmp(st.bad, "out of memory", 13) == 0;
		*res = api_problem(req, oom ? 500 : 400, "%s", st.bad);
		return -1;
	}
	return 0;
}

/* Appends "name=value" percent-encoded, '&' between. */
static void api_link_pair(struct strbuf *sb, bool *first, const char *k, size_t kn,
			  const char *v, size_t vn)
{
	if (!*first)
		strbuf_putc(sb, '&');
	*first = false;
	api_pct_encode(sb, k, kn);
	strbuf_putc(sb, '=');
	api_pct_encode(sb, v, vn);
}

struct api_link_state {
	struct strbuf sb;
	bool first;
};

static enum MHD_Result api_link_each(void *cls, enum MHD_ValueKind kind, const char *key,
				     size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct api_link_state *ls = cls;
	if (key_size == 10 && memcmp(key, "page_token", 10) == 0)
		return MHD_YES;
	api_link_pair(&ls->sb, &ls->first, key, key_size, value ? value : "", value ? value_size : 0);
	return MHD_YES;
}

char *api_link_filters(struct api_req *req, const char *route, const struct api_param *params,
		       size_t count, const char *tok)
{
	(void)params, (void)count; /* every parameter given is repeated, the route's among them */
	struct api_link_state ls = {.first = true};
	strbuf_init(&ls.sb);
	strbuf_printf(&ls.sb, "</scans/%llu/%s?", (unsigned long long)req->id, route);
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, api_link_each, &ls);
	api_link_pair(&ls.sb, &ls.first, "page_token", 10, tok, strlen(tok));
	strbuf_puts(&ls.sb, ">; rel=\"next\"");
	return strbuf_take(&ls.sb, NULL);
}

/* ---------------------------------------------------------------- /entry */

/* A relative path: no leading or trailing '/', no empty, "." or ".." parts, no NUL. */
static bool api_path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/' || p[n - 1] == '/' || memchr(p, '\0', n))
		return false;
	for (size_t i = 0; i < n;) {
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

/*
 * The path of ?path= or ?path_b64= (named `what`, and `what`_b64): *out points into the query
 * or into *owned (malloc'ed, the caller frees). 0, or -1 with a 400 queued.
 */
static int api_path_param(struct api_req *req, const struct api_param *plain,
			  const struct api_param *b64, const char *what, bool required,
			  const char **out, size_t *len, char **owned, enum MHD_Result *res)
{
	*owned = NULL;
	*out = NULL;
	*len = 0;
	if (plain->value && b64->value) {
		*res = api_problem(req, 400, "give %s or %s_b64, not both", what, what);
		return -1;
	}
	if (b64->value) {
		int rc = api_filter_b64(b64->value, b64->len, owned, len);
		if (rc == -2) {
			*res = api_problem(req, 500, "out of memory");
			return -1;
		}
		if (rc < 0) {
			*res = api_problem(req, 400, "%s_b64 must be the standard base64 of the path's raw bytes",
					   what);
			return -1;
		}
		*out = *owned;
	} else if (plain->value) {
		*out = plain->value;
		*len = plain->len;
	} else if (required) {
		*res = api_problem(req, 400, "give %s=PATH (relative to the scan root) or %s_b64=BASE64",
				   what, what);
		return -1;
	}
	return 0;
}

static int api_entry_one(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct jsonw *w = ctx;
	api_entry_write(w, path, path_len, e);
	return w->sb.oom ? -ENOMEM : 0;
}

enum MHD_Result api_scan_entry(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "path"}, {.name = "path_b64"}};
	if (api_query(req, p, 2, &res) < 0)
		return res;
	const char *path;
	size_t len;
	char *owned;
	if (api_path_param(req, &p[0], &p[1], "path", true, &path, &len, &owned, &res) < 0)
		return res;
	if (!api_path_ok(path, len)) {
		free(owned);
		return api_problem(req, 400, "path must be relative to the scan root, such as "
				   "'src/main.c' (no leading or trailing '/', no empty, '.' or '..' parts)");
	}
	enum scan_state st;
	bool live;
	if (api_scan_state(req, &st, &live, &res) < 0) {
		free(owned);
		return res;
	}
	struct jsonw w;
	jsonw_init(&w);
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_entry_get(req->ctx->store, req->id, path, len, api_entry_one, &w, &err);
	char shown[128];
	snprintf(shown, sizeof(shown), "%.*s", utf8_valid(path, len) && len < 100 ? (int)len : 0, path);
	free(owned);
	if (rc == -ENOENT && api_scan_vanished(req))
		res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	else if (rc == -ENOENT)
		res = api_problem(req, 404, "scan %llu has no entry %s%s", (unsigned long long)req->id,
				  shown[0] ? shown : "at that path",
				  scan_state_finished(st) ? "" : " (yet: it is still running)");
	else if (rc != 0)
		res = api_problem(req, 500, "reading an entry of scan %llu: %s",
				  (unsigned long long)req->id, rc > 0 ? "out of memory" : err.msg);
	else
		return api_reply_jw(req, 200, &w, (const char *)NULL);
	jsonw_free(&w);
	return res;
}

/* ---------------------------------------------------------------- /top */

/** One file kept by the heap: its key, a copy of its path, and its entry. */
struct api_top_item {
	/** The size, or the mtime's seconds mapped to unsigned order; then its nanoseconds. */
	uint64_t key;
	uint32_t key_ns;
	char *path;
	size_t path_len;
	struct entry e;
};

struct api_top {
	bool by_mtime;
	size_t limit, n;
	struct api_top_item *v; /**< a min-heap on (key, key_ns): the smallest kept at v[0] */
};

static bool api_top_less(const struct api_top_item *a, const struct api_top_item *b)
{
	return a->key < b->key || (a->key == b->key && a->key_ns < b->key_ns);
}

static void api_top_sift_down(struct api_top *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && api_top_less(&t->v[l], &t->v[m]))
			m = l;
		if (r < t->n && api_top_less(&t->v[r], &t->v[m]))
			m = r;
		if (m == i)
			return;
		struct api_top_item x = t->v[i];
		t->v[i] = t->v[m];
		t->v[m] = x;
		i = m;
	}
}

static void api_top_sift_up(struct api_top *t, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!api_top_less(&t->v[i], &t->v[parent]))
			return;
		struct api_top_item x = t->v[i];
		t->v[i] = t->v[parent];
		t->v[parent] = x;
		i = parent;
	}
}

static int api_top_cb(void *ctx, const char *path, size_t path_len, const struct entry *e)
{
	struct api_top *t = ctx;
	if (!(e->flags & ENTRY_HAS_STAT))
		return 0;
	struct api_top_item it = {
		.key = t->by_mtime ? (uint64_t)e->mtime_sec ^ (UINT64_C(1) << 63) : e->size,
		.key_ns = t->by_mtime ? e->mtime_nsec : 0};
	if (t->n == t->limit && !api_top_less(&t->v[0], &it))
		return 0; /* no larger than the smallest kept */
	char *p = malloc(path_len ? path_len : 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, path, path_len);
	it.path = p;
	it.path_len = path_len;
	it.e = *e;
	it.e.name = NULL;
	it.e.target = NULL;
	if (t->n == t->limit) {
		free(t->v[0].path);
		t->v[0] = it;
		api_top_sift_down(t, 0);
	} else {
		t->v[t->n++] = it;
		api_top_sift_up(t, t->n - 1);
	}
	return 0;
}

/* Largest first; equal keys by path. */
static int api_top_cmp(const void *a, const void *b)
{
	const struct api_top_item *x = a, *y = b;
	if (api_top_less(x, y))
		return 1;
	if (api_top_less(y, x))
		return -1;
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);
	return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static void api_top_free(struct api_top *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
}

/* Reads by= and limit=; 0, or -1 with a 400 queued. */
static int api_top_params(struct api_req *req, const struct api_param *p, struct api_top *t,
			  enum MHD_Result *res)
{
	unsigned long long limit = API_TOP_DEFAULT;
	if (p[0].value && !(p[0].len == 4 && memcmp(p[0].value, "size", 4) == 0) &&
	    !(p[0].len == 5 && memcmp(p[0].value, "mtime", 5) == 0)) {
		*res = api_problem(req, 400, "by must be size or mtime");
		return -1;
	}
	t->by_mtime = p[0].value && p[0].len == 5;
	if (p[1].value && api_query_uint(p[1].value, p[1].len, 1, API_TOP_MAX, &limit) < 0) {
		*res = api_problem(req, 400, "limit must be an integer from 1 to %d", API_TOP_MAX);
		return -1;
	}
	t->limit = (size_t)limit;
	return 0;
}

/* Writes the answer of /top: {"by", "limit", "entries": [...]} largest first. */
static enum MHD_Result api_top_reply(struct api_req *req, struct api_top *t, bool partial)
{
	qsort(t->v, t->n, sizeof(*t->v), api_top_cmp);
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "by");
	jsonw_str(&w, t->by_mtime ? "mtime" : "size");
	jsonw_key(&w, "limit");
	jsonw_u64(&w, t->limit);
	if (partial) {
		jsonw_key(&w, "partial");
		jsonw_bool(&w, true);
	}
	jsonw_key(&w, "entries");
	jsonw_arr(&w);
	for (size_t i = 0; i < t->n; i++) {
		struct api_top_item *it = &t->v[i];
		const char *slash = memrchr(it->path, '/', it->path_len);
		it->e.name = slash ? slash + 1 : it->path;
		it->e.name_len = it->path_len - (size_t)(it->e.name - it->path);
		api_entry_write(&w, it->path, it->path_len, &it->e);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	return api_reply_jw(req, 200, &w, (const char *)NULL);
}

enum MHD_Result api_scan_top(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "by"}, {.name = "limit"}};
	struct api_filter qf;
	struct api_top t = {0};
	enum scan_state st = SCAN_COMPLETED;
	bool live;
	if (api_query_filters(req, p, 2, &qf, &res) < 0 || api_top_params(req, p, &t, &res) < 0 ||
	    (qf.partial ? api_scan_state(req, &st, &live, &res) : api_scan_check(req, true, &res)) < 0)
		goto out;
	if (qf.count || (qf.f.type_mask && qf.f.type_mask != 1u << ENTRY_FILE)) {
		res = api_problem(req, 400, "top lists regular files by %s: %s does not apply",
				  t.by_mtime ? "mtime" : "size", qf.count ? "count" : "type");
		goto out;
	}
	qf.f.type_mask = 1u << ENTRY_FILE;
	if (!(t.v = calloc(t.limit, sizeof(*t.v)))) {
		res = api_problem(req, 500, "out of memory for %zu entries", t.limit);
		goto out;
	}
	struct errbuf err;
	errbuf_clear(&err);
	struct store_walk_req rq = {.scan_id = req->id, .filter = &qf.f,
				    .order = qf.partial ? STORE_ORDER_STORED : STORE_ORDER_TREE,
				    .cb = api_top_cb, .ctx = &t};
	int rc = store_walk_all(req->ctx->store, &rq, 0, &err);
	if (rc == -ENOENT && api_scan_vanished(req))
		res = api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	else if (rc != 0 && rc != -ENOENT)
		res = api_problem(req, 500, "reading the entries of scan %llu: %s",
				  (unsigned long long)req->id, rc > 0 ? "out of memory" : err.msg);
	else
		res = api_top_reply(req, &t, qf.partial && !scan_state_finished(st));
out:
	api_top_free(&t);
	api_filter_clear(&qf);
	return res;
}

/* ---------------------------------------------------------------- /tree */

struct api_tree_out {
	struct jsonw w;
	struct store_tree_totals top;
	bool have_top;
};

static void api_tree_totals(struct jsonw *w, const struct store_tree_totals *t)
{
	jsonw_key(w, "entries");
	jsonw_u64(w, t->entries);
	jsonw_key(w, "files");
	jsonw_u64(w, t->files);
	jsonw_key(w, "bytes");
	jsonw_u64(w, t->bytes);
}

static int api_tree_cb(void *ctx, const char *path, size_t len, unsigned depth,
		       const struct store_tree_totals *t)
{
	struct api_tree_out *o = ctx;
	if (depth == 0) {
		jsonw_obj(&o->w);
		jsonw_path(&o->w, "prefix", path, len);
		jsonw_key(&o->w, "dirs");
		jsonw_arr(&o->w);
		o->top = *t;
		o->have_top = true;
		return 0;
	}
	const char *slash = memrchr(path, '/', len);
	const char *name = slash ? slash + 1 : path;
	jsonw_obj(&o->w);
	jsonw_path(&o->w, "path", path, len);
	jsonw_path(&o->w, "name", name, len - (size_t)(name - path));
	api_tree_totals(&o->w, t);
	jsonw_obj_end(&o->w);
	return o->w.sb.oom ? -ENOMEM : 0;
}

/* Reads the tree, computing and storing the totals first when they never were. */
static int api_tree_read(struct api_req *req, const char *prefix, size_t len, unsigned depth,
			 struct api_tree_out *o, struct errbuf *err)
{
	int rc = store_tree_read(req->ctx->store, req->id, prefix, len, depth, api_tree_cb, o, err);
	if (rc != -ENODATA)
		return rc;
	/* A scan finished before the totals were kept: compute them once, now. */
	jsonw_free(&o->w);
	jsonw_init(&o->w);
	o->have_top = false;
	errbuf_clear(err);
	if ((rc = store_tree_build(req->ctx->store, req->id, err)) < 0)
		return rc;
	return store_tree_read(req->ctx->store, req->id, prefix, len, depth, api_tree_cb, o, err);
}

enum MHD_Result api_scan_tree(struct api_req *req)
{
	enum MHD_Result res;
	struct api_param p[] = {{.name = "prefix"}, {.name = "prefix_b64"}, {.name = "depth"}};
	if (api_query(req, p, 3, &res) < 0)
		return res;
	unsigned long long depth = 1;
	if (p[2].value && api_query_uint(p[2].value, p[2].len, 1, API_TREE_DEPTH_MAX, &depth) < 0)
		return api_problem(req, 400, "depth must be an integer from 1 to %d", API_TREE_DEPTH_MAX);
	const char *prefix;
	size_t len;
	char *owned;
	if (api_path_param(req, &p[0], &p[1], "prefix", false, &prefix, &len, &owned, &res) < 0)
		return res;
	if (len > 1 && prefix[len - 1] == '/')
		len--;
	if (len && !api_path_ok(prefix, len)) {
		free(owned);
		return api_problem(req, 400, "prefix must be a directory relative to the scan root, such "
				   "as 'src/lib' (no leading '/', no empty, '.' or '..' parts)");
	}
	if (api_scan_check(req, true, &res) < 0) {
		free(owned);
		return res;
	}
	struct api_tree_out o = {0};
	jsonw_init(&o.w);
	struct errbuf err;
	errbuf_clear(&err);
	int rc = api_tree_read(req, prefix ? prefix : "", len, (unsigned)depth, &o, &err);
	free(owned);
	if (rc == 0 && o.have_top) {
		jsonw_arr_end(&o.w);
		api_tree_totals(&o.w, &o.top);
		jsonw_obj_end(&o.w);
		return api_reply_jw(req, 200, &o.w, (const char *)NULL);
	}
	jsonw_free(&o.w);
	if (rc == -ENOENT && api_scan_vanished(req))
		return api_problem(req, 404, "scan %llu does not exist", (unsigned long long)req->id);
	if (rc == -ENOENT)
		return api_problem(req, 404, "%s", err.msg);
	return api_problem(req, 500, "reading the directory totals of scan %llu: %s",
			   (unsigned long long)req->id, rc > 0 ? "out of memory" : err.msg);
}
