/* cli_store.c: `leindexd scans`, `show`, `errors`, `rm`, and the helpers of such commands. */
#include "service/cli_store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/scan_doc.h"
#include "base/utf8.h"
#include "service/job/scanjson.h"

/* ---------------------------------------------------------------- arguments */

enum { CLI_OPT_DATA_DIR = 1, CLI_OPT_JSON, CLI_OPT_HELP };

/* The getopt_long() table: the common flags, then the command's own. Caller frees. */
static struct option *cli_table(const struct cli_spec *spec)
{
	static const struct option common[] = {
		{"data-dir", required_argument, NULL, CLI_OPT_DATA_DIR},
		{"json", no_argument, NULL, CLI_OPT_JSON},
		{"help", no_argument, NULL, CLI_OPT_HELP},
	};
	size_t own = 0;
	while (spec->own && spec->own[own].name)
		own++;
	struct option *t = calloc(3 + own + 1, sizeof(*t));
	if (!t)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		if (common[i].val != CLI_OPT_JSON || spec->json)
			t[n++] = common[i];
	for (size_t i = 0; i < own; i++)
		t[n++] = spec->own[i];
	return t;
}

int cli_args_parse(struct cli_args *a, const struct config *cfg, int argc, char **argv,
		   const struct cli_spec *spec)
{
	memset(a, 0, sizeof(*a));
	a->name = argv[0];
	a->data_dir = cfg->data_dir; /* LEINDEX_DATA_DIR, as config_parse() read it */
	struct option *table = cli_table(spec);
	if (!table) {
		fprintf(stderr, "leindexd %s: out of memory\n", a->name);
		return 1;
	}
	int status = -1;
	optind = 1;
	opterr = 0;
	int opt;
	while (status < 0 && (opt = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_DATA_DIR:
			if (!*optarg) {
				fprintf(stderr, "leindexd %s: --data-dir: expected a directory, got ''\n", a->name);
				status = 2;
			}
			a->data_dir = optarg;
			break;
		case CLI_OPT_JSON:
			a->json = true;
			break;
		case 'h':
		case CLI_OPT_HELP:
			fputs(spec->usage, stdout);
			fputs("  --data-dir DIR   the store [LEINDEX_DATA_DIR] (default $XDG_STATE_HOME/leindexd,\n"
			      "                   else ~/.local/state/leindexd)\n"
			      "  -h, --help       this help\n", stdout);
			status = 0;
			break;
		case '?':
			fprintf(stderr, "leindexd %s: unknown option '%s' (see leindexd %s --help)\n",
				a->name, argv[optind - 1], a->name);
			status = 2;
			break;
		case ':':
			fprintf(stderr, "leindexd %s: option '%s' needs a value\n", a->name, argv[optind - 1]);
			status = 2;
			break;
		default:
			if (spec->on_own && spec->on_own(spec->ctx, opt, optarg) != 0)
				status = 2;
			break;
		}
	}
	free(table);
	if (status >= 0)
		return status;
	int n = argc - optind;
	if (n < spec->min_pos || n > spec->max_pos) {
		fprintf(stderr, "leindexd %s: %s (see leindexd %s --help)\n", a->name,
			n < spec->min_pos ? "missing argument" : "too many arguments", a->name);
		return 2;
	}
	for (int i = 0; i < n; i++)
		a->pos[a->npos++] = argv[optind + i];
	return -1;
}

int cli_store_open(const struct cli_args *a, unsigned flags, struct store **out)
{
	char dir[PATH_MAX];
	struct errbuf err;
	errbuf_clear(&err);
	if (config_data_dir(a->data_dir, dir, sizeof(dir), &err) < 0) {
		fprintf(stderr, "leindexd %s: %s\n", a->name, err.msg);
		return 2;
	}
	struct store_opts so = {.dir = dir, .flags = flags};
	if (store_open(out, &so, &err) < 0) {
		fprintf(stderr, "leindexd %s: %s\n", a->name, err.msg);
		return 1;
	}
	return 0;
}

int cli_scan_id(const struct cli_args *a, const char *arg, uint64_t *id)
{
	char *end;
	errno = 0;
	unsigned long long v = arg[0] >= '1' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0;
	if (v == 0 || errno || *end) {
		fprintf(stderr, "leindexd %s: '%s' is not a scan id (ids are positive integers; "
			"leindexd scans lists them)\n", a->name, arg);
		return 2;
	}
	*id = v;
	return 0;
}

/* ---------------------------------------------------------------- formats */

void cli_fmt_count(uint64_t n, char *buf, size_t cap)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < cap; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void cli_fmt_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (bytes < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", bytes);
		return;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	/* 1023.96 KiB would round to "1024.0 KiB": go up a unit first. */
	while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void cli_fmt_time(int64_t ns, char *buf, size_t cap)
{
	if (ns == 0) {
		snprintf(buf, cap, "-");
		return;
	}
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "?");
}

/* ---------------------------------------------------------------- printing a scan */

static double cli_num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* The slowest directory as stored: its text ("." for the root), or its base64 as such. */
static void cli_print_slowest(FILE *out, const json_t *slowest)
{
	const char *text = json_string_value(json_object_get(slowest, "path"));
	const char *b64 = json_string_value(json_object_get(slowest, "path_b64"));
	if (text && *text)
		fputs(text, out);
	else if (b64)
		fprintf(out, "(not UTF-8; base64 %s)", b64);
	else
		fputc('.', out);
}

void cli_print_summary(FILE *out, const struct jobq_view *v, const json_t *c)
{
	const struct store_scan *rec = &v->rec;
	const struct scanner_progress *p = &v->progress;
	char e[32], d[32], f[32], l[32], o[32], sz[32], er[32];
	cli_fmt_count(p->dirs + p->files + p->symlinks + p->other, e, sizeof(e));
	cli_fmt_count(p->dirs, d, sizeof(d));
	cli_fmt_count(p->files, f, sizeof(f));
	cli_fmt_count(p->symlinks, l, sizeof(l));
	cli_fmt_count(p->other, o, sizeof(o));
	cli_fmt_size(p->bytes, sz, sizeof(sz));
	cli_fmt_count(p->errors, er, sizeof(er));
	fprintf(out, "scan %" PRIu64 " of ", rec->id);
	fwrite(rec->root, 1, rec->root_len, out);
	fprintf(out, ": %s\n", scan_state_name(v->state));
	fprintf(out, "  entries %s (dirs %s, files %s, symlinks %s, other %s), %s, %s errors\n", e, d,
		f, l, o, sz, er);
	if (c) {
		char calls[32], peak[32], slow[32];
		cli_fmt_count((uint64_t)cli_num(c, "scandir_calls"), calls, sizeof(calls));
		cli_fmt_count((uint64_t)cli_num(c, "queue_peak"), peak, sizeof(peak));
		cli_fmt_count((uint64_t)cli_num(c, "slow_scandirs"), slow, sizeof(slow));
		fprintf(out, "  wall %.3f s, %u workers, %s directories read, queue peak %s\n",
			cli_num(c, "wall_seconds"), (unsigned)cli_num(c, "workers"), calls, peak);
		fprintf(out, "  time in: scandir %.3f s, stat %.3f s, ignore %.3f s, symlinks %.3f s, "
			"hash %.3f s, store %.3f s (summed over workers)\n",
			cli_num(c, "scandir_seconds"), cli_num(c, "stat_seconds"),
			cli_num(c, "ignore_match_seconds"), cli_num(c, "symlink_check_seconds"),
			cli_num(c, "hash_seconds"), cli_num(c, "store_seconds"));
		char ign[32], ignf[32], ignd[32], ignby[32];
		uint64_t ign_files = (uint64_t)cli_num(c, "ignored_files");
		uint64_t ign_dirs = (uint64_t)cli_num(c, "ignored_dirs");
		cli_fmt_count(ign_files + ign_dirs, ign, sizeof(ign));
		cli_fmt_count(ign_files, ignf, sizeof(ignf));
		cli_fmt_count(ign_dirs, ignd, sizeof(ignd));
		cli_fmt_count((uint64_t)cli_num(c, "ignore_files"), ignby, sizeof(ignby));
		fprintf(out, "  ignored %s paths (%s files, %s directories, not read) by %s ignore files%s"
			" (--skipped lists them)\n", ign, ignf, ignd, ignby,
			rec->options_json && strstr(rec->options_json, "\"ignore\":[\"")
				? " and the ignore option" : "");
		const json_t *slowest = json_object_get(c, "slowest_scandir");
		fprintf(out, "  slow directories %s; slowest %.3f s: ", slow, cli_num(slowest, "seconds"));
		cli_print_slowest(out, slowest);
		fputc('\n', out);
	}
	if (v->error)
		fprintf(out, "  error: %s\n", v->error);
}

int cli_print_scan_json(FILE *out, const struct jobq_view *v)
{
	struct jsonw w;
	jsonw_init(&w);
	api_scan_doc(v, API_SCAN_DOC_STATS, &w);
	size_t len = 0;
	char *text = jsonw_take(&w, &len);
	if (!text)
		return -ENOMEM;
	fwrite(text, 1, len, out);
	fputc('\n', out);
	free(text);
	return 0;
}

/* ---------------------------------------------------------------- scans */

struct cli_scans_opts {
	const char *root;   /* --root, resolved */
	char root_buf[PATH_MAX];
	unsigned state_mask;
};

static int cli_scans_own(void *ctx, int opt, const char *arg)
{
	struct cli_scans_opts *o = ctx;
	if (opt == CLI_OPT_OWN) {
		/* The stored roots are canonical: resolve the one given, if it still exists. */
		if (realpath(arg, o->root_buf))
			o->root = o->root_buf;
		else
			o->root = arg;
		return 0;
	}
	enum scan_state st;
	if (scan_state_parse(arg, &st) < 0) {
		fprintf(stderr, "leindexd scans: --state: expected queued, running, completed, failed, "
			"cancelled or interrupted, got '%s'\n", arg);
		return 2;
	}
	o->state_mask |= 1u << st;
	return 0;
}

struct cli_scans_out {
	const struct cli_scans_opts *o;
	bool json, first, failed;
	size_t shown;
};

static int cli_scans_row(void *arg, const struct store_scan *scan)
{
	struct cli_scans_out *c = arg;
	const char *root = c->o->root;
	if (root && (scan->root_len != strlen(root) || memcmp(scan->root, root, scan->root_len) != 0))
		return 0;
	c->shown++;
	if (c->json) {
		struct jobq_view v;
		struct jsonw w;
		jsonw_init(&w);
		if (jobq_view_of_record(scan, 0, &v) == 0)
			api_scan_doc(&v, 0, &w);
		jobq_view_clear(&v);
		size_t len = 0;
		char *text = jsonw_take(&w, &len);
		if (!text) {
			c->failed = true;
			return 1;
		}
		printf("%s%s", c->first ? "" : ",", text);
		c->first = false;
		free(text);
		return 0;
	}
	const struct store_scan_totals *t = &scan->totals;
	char e[32], sz[32], er[32], fin[32];
	cli_fmt_count(t->dirs + t->files + t->symlinks + t->other, e, sizeof(e));
	cli_fmt_size(t->bytes, sz, sizeof(sz));
	cli_fmt_count(t->errors, er, sizeof(er));
	cli_fmt_time(scan->finished_ns ? scan->finished_ns : scan->created_ns, fin, sizeof(fin));
	printf("%6" PRIu64 "  %-11s %12s %11s %8s  %-20s  ", scan->id, scan_state_name(scan->state),
	       e, sz, er, fin);
	fwrite(scan->root, 1, scan->root_len, stdout);
	putchar('\n');
	return 0;
}

int cli_scans(const struct config *cfg, int argc, char **argv)
{
	static const struct option own[] = {
		{"root", required_argument, NULL, CLI_OPT_OWN},
		{"state", required_argument, NULL, CLI_OPT_OWN + 1},
		{0, 0, 0, 0},
	};
	struct cli_scans_opts o = {0};
	struct cli_spec spec = {
		.usage = "Usage: leindexd scans [--root DIR] [--state S] [--json]\n"
			 "  The stored scans, newest first (read-only: works beside a running server).\n"
			 "  --root DIR       only the scans of DIR\n"
			 "  --state S        only scans in state S (queued, running, completed, failed,\n"
			 "                   cancelled, interrupted); repeatable\n"
			 "  --json           {\"scans\": [...]} as GET /scans gives them\n",
		.own = own, .on_own = cli_scans_own, .ctx = &o, .json = true};
	struct cli_args a;
	int st = cli_args_parse(&a, cfg, argc, argv, &spec);
	if (st >= 0)
		return st;
	struct store *store;
	if ((st = cli_store_open(&a, STORE_OPEN_READ_ONLY, &store)) != 0)
		return st;
	struct cli_scans_out out = {.o = &o, .json = a.json, .first = true};
	if (a.json)
		fputs("{\"scans\":[", stdout);
	else
		printf("%6s  %-11s %12s %11s %8s  %-20s  %s\n", "ID", "STATE", "ENTRIES", "SIZE",
		       "ERRORS", "FINISHED", "ROOT");
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_list(store, 0, o.state_mask, cli_scans_row, &out, &err);
	if (a.json)
		fputs("]}\n", stdout);
	store_close(store);
	if (rc < 0 || out.failed) {
		fprintf(stderr, "leindexd scans: %s\n", rc < 0 ? err.msg : "out of memory");
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- show */

/* Reads scan a->pos[0] of a read-only store into *rec. 0, or the exit status after a message. */
static int cli_read_scan(const struct cli_args *a, struct store **store, struct store_scan *rec)
{
	uint64_t id;
	int st = cli_scan_id(a, a->pos[0], &id);
	if (st != 0 || (st = cli_store_open(a, STORE_OPEN_READ_ONLY, store)) != 0)
		return st;
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_get(*store, id, rec, &err);
	if (rc < 0) {
		fprintf(stderr, "leindexd %s: %s\n", a->name,
			rc == -ENOENT ? "no such scan (leindexd scans lists them)" : err.msg);
		store_close(*store);
		*store = NULL;
		return 1;
	}
	return 0;
}

int cli_show(const struct config *cfg, int argc, char **argv)
{
	struct cli_spec spec = {
		.usage = "Usage: leindexd show ID [--json]\n"
			 "  A stored scan: its state, root, times, options and counters.\n"
			 "  --json           the document of GET /scans/ID (with its stats)\n",
		.min_pos = 1, .max_pos = 1, .json = true};
	struct cli_args a;
	int st = cli_args_parse(&a, cfg, argc, argv, &spec);
	if (st >= 0)
		return st;
	struct store *store = NULL;
	struct store_scan rec;
	if ((st = cli_read_scan(&a, &store, &rec)) != 0)
		return st;
	struct jobq_view v;
	json_t *counters = NULL;
	int rc = jobq_view_of_record(&rec, JOBQ_VIEW_COUNTERS, &v);
	if (rc == 0 && a.json) {
		rc = cli_print_scan_json(stdout, &v);
	} else if (rc == 0) {
		counters = json_loads(v.counters_json, 0, NULL);
		cli_print_summary(stdout, &v, counters);
		char cr[32], sa[32], fi[32];
		cli_fmt_time(rec.created_ns, cr, sizeof(cr));
		cli_fmt_time(v.started_ns, sa, sizeof(sa));
		cli_fmt_time(v.finished_ns, fi, sizeof(fi));
		printf("  created %s, started %s, finished %s\n", cr, sa, fi);
		printf("  options %s\n", rec.options_json ? rec.options_json : "{}");
	}
	json_decref(counters);
	jobq_view_clear(&v);
	store_scan_clear(&rec);
	store_close(store);
	if (rc < 0) {
		fprintf(stderr, "leindexd show: out of memory\n");
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- errors */

struct cli_errors_out {
	bool json, first;
};

static int cli_error_row(void *arg, const struct store_error *e)
{
	struct cli_errors_out *c = arg;
	const char *msg = e->detail ? e->detail : strerrordesc_np(e->errnum);
	if (!msg)
		msg = "Unknown error";
	if (!c->json) {
		if (e->path_len)
			fwrite(e->path, 1, e->path_len, stdout);
		else
			putchar('.');
		printf(": %s: %s\n", e->op ? e->op : "?", msg);
		return ferror(stdout) ? -EIO : 0;
	}
	/* The items of GET /scans/{id}/errors. */
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_path(&w, "path", e->path, e->path_len);
	jsonw_key(&w, "op");
	jsonw_str(&w, e->op && utf8_valid(e->op, strlen(e->op)) ? e->op : "?");
	jsonw_key(&w, "errno");
	jsonw_i64(&w, e->errnum);
	jsonw_key(&w, "message");
	jsonw_str(&w, utf8_valid(msg, strlen(msg)) ? msg : "Unknown error");
	jsonw_obj_end(&w);
	size_t len = 0;
	char *text = jsonw_take(&w, &len);
	if (!text)
		return -ENOMEM;
	printf("%s%s", c->first ? "" : ",", text);
	c->first = false;
	free(text);
	return 0;
}

int cli_errors(const struct config *cfg, int argc, char **argv)
{
	struct cli_spec spec = {
		.usage = "Usage: leindexd errors ID [--json]\n"
			 "  What scan ID could not read, in the order it met them: PATH: OPERATION: WHY.\n"
			 "  --json           {\"errors\": [...]} as GET /scans/ID/errors gives them\n",
		.min_pos = 1, .max_pos = 1, .json = true};
	struct cli_args a;
	int st = cli_args_parse(&a, cfg, argc, argv, &spec);
	if (st >= 0)
		return st;
	struct store *store = NULL;
	struct store_scan rec;
	if ((st = cli_read_scan(&a, &store, &rec)) != 0)
		return st;
	struct cli_errors_out out = {.json = a.json, .first = true};
	if (a.json)
		fputs("{\"errors\":[", stdout);
	struct errbuf err;
	errbuf_clear(&err);
	uint64_t after = 0;
	bool more = true;
	int rc = 0;
	/* Pages of short read transactions: a long list pins no old pages of the store. */
	while (rc == 0 && more)
		rc = store_errors(store, rec.id, after, 10000, cli_error_row, &out, &after, &more, &err);
	if (a.json)
		fputs("]}\n", stdout);
	store_scan_clear(&rec);
	store_close(store);
	if (rc < 0) {
		fprintf(stderr, "leindexd errors: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- rm */

int cli_rm(const struct config *cfg, int argc, char **argv)
{
	struct cli_spec spec = {
		.usage = "Usage: leindexd rm ID\n"
			 "  Deletes scan ID with everything it found. Refused while a server owns the\n"
			 "  data directory: delete through it (DELETE /scans/ID).\n",
		.min_pos = 1, .max_pos = 1};
	struct cli_args a;
	int st = cli_args_parse(&a, cfg, argc, argv, &spec);
	if (st >= 0)
		return st;
	uint64_t id;
	if ((st = cli_scan_id(&a, a.pos[0], &id)) != 0)
		return st;
	char dir[PATH_MAX];
	struct errbuf err;
	errbuf_clear(&err);
	if (config_data_dir(a.data_dir, dir, sizeof(dir), &err) < 0) {
		fprintf(stderr, "leindexd rm: %s\n", err.msg);
		return 2;
	}
	/* Nothing to delete where there is no store: do not create one. */
	struct store *store;
	struct store_opts ro = {.dir = dir, .flags = STORE_OPEN_READ_ONLY};
	if (store_open(&store, &ro, &err) < 0) {
		fprintf(stderr, "leindexd rm: %s\n", err.msg);
		return 1;
	}
	store_close(store);
	struct store_opts so = {.dir = dir};
	int rc = store_open(&store, &so, &err);
	if (rc == -EBUSY) {
		fprintf(stderr, "leindexd rm: %s\nleindexd rm: a server owns this data directory: "
			"delete the scan through it, e.g. curl -X DELETE http://HOST:PORT/scans/%" PRIu64
			"\n", err.msg, id);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "leindexd rm: %s\n", err.msg);
		return 1;
	}
	rc = store_scan_delete(store, id, &err);
	store_close(store);
	if (rc == -ENOENT) {
		fprintf(stderr, "leindexd rm: no scan %" PRIu64 " in %s (leindexd scans lists them)\n",
			id, dir);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "leindexd rm: %s\n", err.msg);
		return 1;
	}
	printf("deleted scan %" PRIu64 "\n", id);
	return 0;
}
