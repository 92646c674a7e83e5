/* scanjson.c: JSON documents describing a scan (see scanjson.h). */
#include "service/job/scanjson.h"

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

char *scanjson_dumps(const json_t *doc, size_t flags)
{
	struct scanjson_text t = {0};
	if (json_dump_callback(doc, scanjson_append, &t, flags) < 0 || t.failed || !t.buf) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
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
	if (!per || !slowest ||
	    scanjson_set_path(slowest, "path", st->slowest_scandir_path ? st->slowest_scandir_path : "",
			      st->slowest_scandir_len) < 0) {
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
				      json_boolean(st->baseline_mismatch)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *scanjson_options(const struct scanner_opts *o)
{
	return scanopt_echo(scanopt_scan_table(), o);
}
