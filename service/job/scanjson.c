/* scanjson.c: JSON documents describing a scan (see scanjson.h). */
#include "service/job/scanjson.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/encode.h"
#include "base/utf8.h"
#include "service/job/scanopt.h"

/* The text built by scanjson_dumps(); `failed` sticks once a write could not be done. */
struct scanjson_text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static int scanjson_append(const char *bytes, size_t n, void *data)
{
	struct scanjson_text *t = data;
	if (t->failed)
		return -1;
	if (t->cap - t->len <= n) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap - t->len <= n)
			cap *= 2;
		char *buf = realloc(t->buf, cap);
		if (!buf) {
			t->failed = true;
			return -1;
		}
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, bytes, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

size_t scanjson_real_text(double v, char *buf, size_t cap)
{
	if (!isfinite(v) || v == 0)
		v = 0; /* no NaN, infinity or -0 in JSON */
	int n = snprintf(buf, cap, "%.9f", v);
	if (n < 0 || (size_t)n >= cap) {
		n = snprintf(buf, cap, "0.0");
		return (size_t)n;
	}
	/* Trailing zeros say nothing; one digit after the point keeps it a real. */
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return (size_t)n;
}

static int scanjson_put(struct scanjson_text *t, const char *s, size_t n)
{
	return scanjson_append(s, n, t);
}

/* A scalar, or a key as a string, written by jansson (its escaping). */
static int scanjson_put_jansson(struct scanjson_text *t, const json_t *v)
{
	return json_dump_callback(v, scanjson_append, t, JSON_COMPACT | JSON_ENCODE_ANY) < 0 ? -1 : 0;
}

static int scanjson_put_value(struct scanjson_text *t, const json_t *v, int depth)
{
	if (depth > 64)
		return -1;
	if (json_is_real(v)) {
		char b[64];
		size_t n = scanjson_real_text(json_real_value(v), b, sizeof(b));
		return scanjson_put(t, b, n);
	}
	if (json_is_array(v)) {
		if (scanjson_put(t, "[", 1) < 0)
			return -1;
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((i && scanjson_put(t, ",", 1) < 0) ||
			    scanjson_put_value(t, json_array_get(v, i), depth + 1) < 0)
				return -1;
		return scanjson_put(t, "]", 1);
	}
	if (json_is_object(v)) {
		if (scanjson_put(t, "{", 1) < 0)
			return -1;
		const char *key;
		json_t *val;
		bool first = true;
		json_object_foreach((json_t *)v, key, val) {
			json_t *k = json_string(key);
			int rc = k ? 0 : -1;
			if (rc == 0 && !first)
				rc = scanjson_put(t, ",", 1);
			if (rc == 0)
				rc = scanjson_put_jansson(t, k);
			json_decref(k);
			if (rc < 0 || scanjson_put(t, ":", 1) < 0 || scanjson_put_value(t, val, depth + 1) < 0)
				return -1;
			first = false;
		}
		return scanjson_put(t, "}", 1);
	}
	return scanjson_put_jansson(t, v);
}

char *scanjson_dumps(const json_t *doc, size_t flags)
{
	(void)flags;
	struct scanjson_text t = {0};
	if (!doc || scanjson_put_value(&t, doc, 0) < 0 || t.failed || !t.buf) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

/* The root's slowest_scandir path: "." (the CLI and the API say it alike). */
static const char *scanjson_dir_path(const char *path, size_t *len)
{
	if (!path || *len == 0) {
		*len = 1;
		return ".";
	}
	return path;
}

char *scanjson_normalize(const char *counters_json)
{
	json_t *doc = json_loads(counters_json, 0, NULL);
	if (!doc)
		return strdup(counters_json);
	json_t *slowest = json_object_get(doc, "slowest_scandir");
	json_t *path = json_object_get(slowest, "path");
	if (json_is_string(path) && json_string_length(path) == 0)
		json_object_set_new(slowest, "path", json_string("."));
	char *text = scanjson_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

int scanjson_set_path(json_t *obj, const char *key, const char *bytes, size_t len)
{
	/* The rule of jsonw_path() (the API), with the same predicate and encoder. */
	if (utf8_valid(bytes, len))
		return json_object_set_new(obj, key, json_stringn(bytes, len)); /* -1 on NULL */
	char *b64 = malloc(ENCODE_BASE64_LEN(len) + 1);
	if (!b64)
		return -1;
	size_t n = encode_base64(bytes, len, b64);
	char k[64];
	snprintf(k, sizeof(k), "%s_b64", key);
	int rc = json_object_set_new(obj, k, json_stringn(b64, n));
	free(b64);
	return rc;
}

json_t *scanjson_counters(const struct scanner_stats *st, const struct scanner_progress *p)
{
	json_t *per = json_array();
	for (unsigned i = 0; per && i < st->workers; i++) {
		const struct scanner_worker_stats *w = &st->per_worker[i];
		if (json_array_append_new(per, json_pack("{sI sI sf}", "dirs", (json_int_t)w->dirs,
							 "entries", (json_int_t)w->entries,
							 "busy_seconds", w->busy_seconds)) < 0) {
			json_decref(per);
			return NULL;
		}
	}
	json_t *slowest = json_pack("{sf}", "seconds", st->slowest_scandir_seconds);
	size_t slen = st->slowest_scandir_len;
	const char *spath = scanjson_dir_path(st->slowest_scandir_path, &slen);
	if (!per || !slowest || scanjson_set_path(slowest, "path", spath, slen) < 0) {
		json_decref(per);
		json_decref(slowest);
		return NULL;
	}
	uint64_t entries = p->dirs + p->files + p->symlinks + p->other;
	double wall = st->wall_seconds > 0 ? st->wall_seconds : 0;
	json_t *o = json_pack("{sI sI sf sf sf sf sf sf sf sI so sI so sf sf sI sI sI sI}",
			 "scandir_calls", (json_int_t)st->scandir_calls,
			 "slow_scandirs", (json_int_t)st->slow_scandirs,
			 "scandir_seconds", st->scandir_seconds,
			 "stat_seconds", st->stat_seconds,
			 "ignore_match_seconds", st->ignore_match_seconds,
			 "symlink_check_seconds", st->symlink_check_seconds,
			 "hash_seconds", st->hash_seconds,
			 "store_seconds", st->store_seconds,
			 "wall_seconds", st->wall_seconds,
			 "queue_peak", (json_int_t)st->queue_peak,
			 "slowest_scandir", slowest,
			 "workers", (json_int_t)st->workers,
			 "per_worker", per,
			 "dirs_per_second", wall > 0 ? (double)st->scandir_calls / wall : 0.0,
			 "entries_per_second", wall > 0 ? (double)entries / wall : 0.0,
			 "ignored_files", (json_int_t)st->ignored_files,
			 "ignored_dirs", (json_int_t)st->ignored_dirs,
			 "ignore_files", (json_int_t)st->ignore_sources,
			 "git_deleted", (json_int_t)st->git_deleted);
	/* With a baseline (reuse), what was taken from it. */
	if (o && (json_object_set_new(o, "dirs_reused", json_integer((json_int_t)st->dirs_reused)) < 0 ||
		  json_object_set_new(o, "dirs_read", json_integer((json_int_t)st->dirs_read)) < 0 ||
		  json_object_set_new(o, "hashes_reused",
				      json_integer((json_int_t)st->hashes_reused)) < 0 ||
		  json_object_set_new(o, "hashes_computed",
				      json_integer((json_int_t)st->hashes_computed)) < 0 ||
		  json_object_set_new(o, "baseline_fallback",
				      json_boolean(st->baseline_mismatch)) < 0 ||
		  json_object_set_new(o, "io", json_pack("{sI sI sI sI sI}",
				      "threads", (json_int_t)st->io_threads,
				      "threads_ran", (json_int_t)st->io_threads_ran,
				      "wakeups", (json_int_t)st->io_wakeups,
				      "dirs", (json_int_t)st->io_dirs,
				      "entries", (json_int_t)st->io_entries)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *scanjson_options(const struct scanner_opts *o)
{
	return scanopt_echo(scanopt_scan_table(), o);
}
