/* cli_query.c: `leindexd entries` and `leindexd top`: the HTTP queries, on the command line. */
#include "service/cli_query.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/entry_json.h"
#include "api/scan_filter.h"
#include "base/errbuf.h"
#include "store/store.h"
#include "service/config.h"

/*
 * The filters are the query parameters of GET /scans/{id}/entries spelled as flags: --NAME VALUE
 * or --NAME=VALUE, '-' for '_' (--min-size, --modified-after, --prefix-mode), read by the same
 * parser (api/scan_filter.c), so both accept and refuse the same values with the same words.
 * The walk is the server's too: in short read transactions, filters applied inside it.
 */

enum cli_query_cmd { CLI_Q_ENTRIES, CLI_Q_TOP };

enum cli_query_out {
	CLI_Q_TEXT = 0, /**< one path a line */
	CLI_Q_NULL,     /**< paths ended by NUL (xargs -0) */
	CLI_Q_JSON,     /**< one document, as the HTTP page */
	CLI_Q_NDJSON,   /**< one entry a line */
};

struct cli_query {
	enum cli_query_cmd cmd;
	enum cli_query_out out;
	const char *data_dir;
	unsigned long long id;
	struct api_filter qf;
	bool by_mtime;
	size_t limit;
	struct jsonw w;
	uint64_t count;
	FILE *fp;
};

bool cli_query_is(int argc, char **argv)
{
	return argc > 1 && (strcmp(argv[1], "entries") == 0 || strcmp(argv[1], "top") == 0);
}

static void cli_query_usage(FILE *fp, enum cli_query_cmd cmd)
{
	if (cmd == CLI_Q_TOP)
		fputs("usage: leindexd top ID [--by size|mtime] [--limit N] [filters] [--json|--ndjson]\n"
		      "                      [--data-dir DIR]\n"
		      "  The N (default 100, at most 10000) largest or newest regular files of scan ID,\n"
		      "  largest first: size, mtime and path a line, or JSON.\n", fp);
	else
		fputs("usage: leindexd entries ID [filters] [--json|--ndjson|--null] [--count] [--partial]\n"
		      "                          [--data-dir DIR]\n"
		      "  The entries of scan ID, depth-first: one path a line (--null: NUL-terminated),\n"
		      "  or --json (one document), --ndjson (one entry a line), --count (the number).\n", fp);
	fputs("filters (as the query parameters of GET /scans/{id}/entries):\n"
	      "  --match GLOB  --name NAME  --ext EXT (repeatable)  --min-size N  --max-size N\n"
	      "  --modified-after RFC3339  --modified-before RFC3339  --type file|dir|symlink|other\n"
	      "  --prefix PATH  --prefix-b64 B64  --prefix-mode path|string\n"
	      "  --data-dir DIR  the store [LEINDEX_DATA_DIR] (default $XDG_STATE_HOME/leindexd, else\n"
	      "                  ~/.local/state/leindexd); read-only, so beside a running server\n", fp);
}

/* Takes one flag (argv[*i], maybe with its value in argv[*i + 1]). 0, or -1 on a usage error. */
static int cli_query_flag(struct cli_query *q, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
	char name[64];
	if (nlen >= sizeof(name)) {
		fprintf(stderr, "leindexd: unknown flag %s\n", argv[*i]);
		return -1;
	}
	for (size_t k = 0; k < nlen; k++)
		name[k] = arg[k] == '-' ? '_' : arg[k];
	name[nlen] = '\0';
	static const char *const flags[] = {"json", "ndjson", "null", "count", "partial"};
	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (strcmp(name, flags[k]) != 0)
			continue;
		if (eq) {
			fprintf(stderr, "leindexd: --%s takes no value\n", flags[k]);
			return -1;
		}
		if (k < 3) {
			if (q->out != CLI_Q_TEXT) {
				fprintf(stderr, "leindexd: give one of --json, --ndjson, --null\n");
				return -1;
			}
			q->out = k == 0 ? CLI_Q_JSON : k == 1 ? CLI_Q_NDJSON : CLI_Q_NULL;
			return 0;
		}
		strcpy(name, flags[k]);
		eq = "=true"; /* --count, --partial: the parameters' true */
		break;
	}
	const char *value = eq ? eq + 1 : NULL;
	if (!value) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "leindexd: --%s needs a value\n", arg);
			return -1;
		}
		value = argv[++*i];
	}
	if (strcmp(name, "data_dir") == 0) {
		q->data_dir = value;
		return 0;
	}
	if (q->cmd == CLI_Q_TOP && strcmp(name, "by") == 0) {
		if (strcmp(value, "size") != 0 && strcmp(value, "mtime") != 0) {
			fprintf(stderr, "leindexd: --by must be size or mtime, not '%s'\n", value);
			return -1;
		}
		q->by_mtime = strcmp(value, "mtime") == 0;
		return 0;
	}
	if (q->cmd == CLI_Q_TOP && strcmp(name, "limit") == 0) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(value, &end, 10);
		if (errno || *end || value[0] < '1' || value[0] > '9' || n > 10000) {
			fprintf(stderr, "leindexd: --limit must be an integer from 1 to 10000, not '%s'\n",
				value);
			return -1;
		}
		q->limit = (size_t)n;
		return 0;
	}
	char bad[API_FILTER_BAD_MAX];
	int rc = api_filter_take(&q->qf, name, strlen(name), value, strlen(value), bad, sizeof(bad));
	if (rc > 0)
		return 0;
	if (rc == 0)
		fprintf(stderr, "leindexd: unknown flag --%.*s (leindexd %s --help lists them)\n",
			(int)nlen, arg, q->cmd == CLI_Q_TOP ? "top" : "entries");
	else
		fprintf(stderr, "leindexd: --%.*s: %s\n", (int)nlen, arg, bad);
	return -1;
}

/* Parses argv; 0 to run, 1 when --help was given (printed), -1 on a usage error. */
static int cli_query_args(struct cli_query *q, int argc, char **argv)
{
	bool have_id = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli_query_usage(stdout, q->cmd);
			return 1;
		}
		if (strncmp(a, "--", 2) == 0 && a[2]) {
			if (cli_query_flag(q, argc, argv, &i) < 0)
				return -1;
			continue;
		}
		char *end;
		errno = 0;
		unsigned long long id = strtoull(a, &end, 10);
		if (have_id || errno || *end || a[0] < '1' || a[0] > '9') {
			fprintf(stderr, "leindexd: %s: expected one scan ID (a positive integer), got '%s'\n",
				argv[1], a);
			return -1;
		}
		q->id = id;
		have_id = true;
	}
	if (!have_id) {
		cli_query_usage(stderr, q->cmd);
		return -1;
	}
	char bad[API_FILTER_BAD_MAX];
	if (api_filter_finish(&q->qf, bad, sizeof(bad)) < 0) {
		fprintf(stderr, "leindexd: %s\n", bad);
		return -1;
	}
	if (q->qf.count && q->out != CLI_Q_TEXT) {
		fprintf(stderr, "leindexd: --count prints a number: it takes no --json, --ndjson or --null\n");
		return -1;
	}
	if (q->cmd == CLI_Q_TOP && (q->out == CLI_Q_NULL || q->qf.count ||
				    (q->qf.f.type_mask && q->qf.f.type_mask != 1u << ENTRY_FILE))) {
		fprintf(stderr, "leindexd: top lists regular files: --null, --count and --type do not apply\n");
		return -1;
	}
	return 0;
}

/* Writes what the jsonw holds to the output and empties it. */
static int cli_query_flush(struct cli_query *q)
{
	if (q->w.sb.oom)
		return -ENOMEM;
	if (q->w.sb.len && fwrite(q->w.sb.buf, 1, q->w.sb.len, q->fp) != q->w.sb.len)
		return -EIO;
	q->w.sb.len = 0;
	return 0;
}

static int cli_query_entry(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct cli_query *q = ctx;
	q->count++;
	switch (q->out) {
	case CLI_Q_TEXT:
	case CLI_Q_NULL:
		if (q->qf.count)
			return 0;
		if (fwrite(path, 1, len, q->fp) != len || putc(q->out == CLI_Q_NULL ? '\0' : '\n', q->fp) == EOF)
			return -EIO;
		return 0;
	case CLI_Q_NDJSON:
		api_entry_write(&q->w, path, len, e);
		q->w.comma[0] = false;
		strbuf_putc(&q->w.sb, '\n');
		return cli_query_flush(q);
	case CLI_Q_JSON:
	default:
		api_entry_write(&q->w, path, len, e);
		return q->w.sb.len > (1u << 16) ? cli_query_flush(q) : 0;
	}
}

/* ---------------------------------------------------------------- top */

struct cli_top_item {
	uint64_t key;
	uint32_t key_ns;
	char *path;
	size_t len;
	struct entry e;
};

struct cli_top {
	struct cli_query *q;
	struct cli_top_item *v;
	size_t n;
};

static bool cli_top_less(const struct cli_top_item *a, const struct cli_top_item *b)
{
	return a->key < b->key || (a->key == b->key && a->key_ns < b->key_ns);
}

static void cli_top_fix(struct cli_top *t, size_t i, bool up)
{
	for (;;) {
		size_t m = i;
		if (up) {
			if (i == 0 || !cli_top_less(&t->v[i], &t->v[(i - 1) / 2]))
				return;
			m = (i - 1) / 2;
		} else {
			size_t l = 2 * i + 1, r = l + 1;
			if (l < t->n && cli_top_less(&t->v[l], &t->v[m]))
				m = l;
			if (r < t->n && cli_top_less(&t->v[r], &t->v[m]))
				m = r;
			if (m == i)
				return;
		}
		struct cli_top_item x = t->v[i];
		t->v[i] = t->v[m];
		t->v[m] = x;
		i = m;
	}
}

static int cli_top_cb(void *ctx, const char *path, size_t len, const struct entry *e)
{
	struct cli_top *t = ctx;
	if (!(e->flags & ENTRY_HAS_STAT))
		return 0;
	struct cli_top_item it = {
		.key = t->q->by_mtime ? (uint64_t)e->mtime_sec ^ (UINT64_C(1) << 63) : e->size,
		.key_ns = t->q->by_mtime ? e->mtime_nsec : 0};
	if (t->n == t->q->limit && !cli_top_less(&t->v[0], &it))
		return 0;
	if (!(it.path = malloc(len ? len : 1)))
		return -ENOMEM;
	memcpy(it.path, path, len);
	it.len = len;
	it.e = *e;
	it.e.name = it.e.target = NULL;
	if (t->n == t->q->limit) {
		free(t->v[0].path);
		t->v[0] = it;
		cli_top_fix(t, 0, false);
	} else {
		t->v[t->n++] = it;
		cli_top_fix(t, t->n - 1, true);
	}
	return 0;
}

static int cli_top_cmp(const void *a, const void *b)
{
	const struct cli_top_item *x = a, *y = b;
	if (cli_top_less(x, y))
		return 1;
	if (cli_top_less(y, x))
		return -1;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Prints the kept files, largest (newest) first. */
static int cli_top_print(struct cli_query *q, struct cli_top *t)
{
	qsort(t->v, t->n, sizeof(*t->v), cli_top_cmp);
	for (size_t i = 0; i < t->n; i++) {
		struct cli_top_item *it = &t->v[i];
		const char *slash = memrchr(it->path, '/', it->len);
		it->e.name = slash ? slash + 1 : it->path;
		it->e.name_len = it->len - (size_t)(it->e.name - it->path);
		if (q->out == CLI_Q_TEXT) {
			char when[40];
			struct jsonw tw;
			jsonw_init(&tw);
			bool ok = jsonw_time(&tw, it->e.mtime_sec, it->e.mtime_nsec);
			snprintf(when, sizeof(when), "%s", ok && tw.sb.buf ? tw.sb.buf + 1 : "-");
			when[strcspn(when, "\"")] = '\0';
			jsonw_free(&tw);
			fprintf(q->fp, "%llu\t%s\t", (unsigned long long)it->e.size, when);
			fwrite(it->path, 1, it->len, q->fp);
			putc('\n', q->fp);
			continue;
		}
		int rc = cli_query_entry(q, it->path, it->len, &it->e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- running */

/* Walks the scan into the output (or the heap of `top`). */
static int cli_query_walk(struct cli_query *q, struct store *s, bool partial, struct errbuf *err)
{
	struct cli_top t = {.q = q};
	if (q->cmd == CLI_Q_TOP) {
		q->qf.f.type_mask = 1u << ENTRY_FILE;
		if (!(t.v = calloc(q->limit, sizeof(*t.v))))
			return errbuf_errno(err, ENOMEM, "keeping %zu files", q->limit);
	}
	if (q->out == CLI_Q_JSON) {
		jsonw_obj(&q->w);
		if (q->cmd == CLI_Q_TOP) {
			jsonw_key(&q->w, "by");
			jsonw_str(&q->w, q->by_mtime ? "mtime" : "size");
			jsonw_key(&q->w, "limit");
			jsonw_u64(&q->w, q->limit);
		}
		if (partial) {
			jsonw_key(&q->w, "partial");
			jsonw_bool(&q->w, true);
		}
		jsonw_key(&q->w, "entries");
		jsonw_arr(&q->w);
	}
	struct store_walk_req rq = {.scan_id = q->id, .filter = &q->qf.f,
				    .order = q->qf.partial ? STORE_ORDER_STORED : STORE_ORDER_TREE,
				    .cb = q->cmd == CLI_Q_TOP ? cli_top_cb : cli_query_entry,
				    .ctx = q->cmd == CLI_Q_TOP ? (void *)&t : (void *)q};
	int rc = store_walk_all(s, &rq, 0, err);
	if (rc == -ENOENT && q->qf.f.prefix) {
		struct store_scan rec = {0};
		if (store_scan_get(s, q->id, &rec, NULL) == 0)
			rc = 0; /* the prefix names nothing: no entries */
		store_scan_clear(&rec);
	}
	if (rc != 0 && !err->msg[0]) /* the callback's: output or memory */
		rc = errbuf_set(err, rc == -ENOMEM ? -ENOMEM : -EIO, "writing the entries failed");
	if (rc == 0 && q->cmd == CLI_Q_TOP && (rc = cli_top_print(q, &t)) < 0)
		errbuf_set(err, rc, "writing the entries failed");
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].path);
	free(t.v);
	if (rc < 0)
		return rc;
	if (q->out == CLI_Q_JSON) {
		jsonw_arr_end(&q->w);
		jsonw_obj_end(&q->w);
		strbuf_putc(&q->w.sb, '\n');
	}
	if (q->qf.count)
		fprintf(q->fp, "%llu\n", (unsigned long long)q->count);
	if (cli_query_flush(q) < 0 || fflush(q->fp) == EOF)
		return errbuf_set(err, -EIO, "writing the entries failed");
	return 0;
}

/* Opens the store, checks the scan, walks it. The exit status. */
static int cli_query_run(struct cli_query *q)
{
	struct store *s = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	/* The data directory as every command finds it; read-only, so beside a running server. */
	char dir[PATH_MAX];
	if (config_data_dir(q->data_dir, dir, sizeof(dir), &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		return 2;
	}
	q->data_dir = dir;
	struct store_opts so = {.dir = dir, .flags = STORE_OPEN_READ_ONLY};
	if (store_open(&s, &so, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		return 1;
	}
	struct store_scan rec = {0};
	int status = 1;
	int rc = store_scan_get(s, q->id, &rec, &err);
	if (rc < 0) {
		if (rc == -ENOENT)
			fprintf(stderr, "leindexd: scan %llu is not in %s (--data-dir)\n", q->id,
				q->data_dir);
		else
			fprintf(stderr, "leindexd: %s\n", err.msg);
		goto out;
	}
	bool finished = scan_state_finished(rec.state);
	if (!finished && !q->qf.partial) {
		fprintf(stderr, "leindexd: scan %llu is %s; its entries can be read once it has finished, "
			"or as stored so far with --partial\n", q->id, scan_state_name(rec.state));
		goto out;
	}
	if (cli_query_walk(q, s, q->qf.partial && !finished, &err) < 0) {
		fprintf(stderr, "leindexd: reading scan %llu: %s\n", q->id, err.msg);
		goto out;
	}
	status = 0;
out:
	store_scan_clear(&rec);
	store_close(s);
	return status;
}

int cli_query_main(int argc, char **argv)
{
	struct cli_query q = {.cmd = strcmp(argv[1], "top") == 0 ? CLI_Q_TOP : CLI_Q_ENTRIES,
			      .limit = 100, .fp = stdout};
	api_filter_init(&q.qf);
	jsonw_init(&q.w);
	int rc = cli_query_args(&q, argc, argv);
	int status = rc < 0 ? 2 : rc > 0 ? 0 : cli_query_run(&q);
	api_filter_clear(&q.qf);
	jsonw_free(&q.w);
	return status;
}
