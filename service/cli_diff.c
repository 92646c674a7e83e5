/* cli_diff.c: `leindexd diff A B`: the differences between two stored scans, as /diff gives them. */
#include "service/cli_diff.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/diff_json.h"
#include "base/errbuf.h"
#include "store/store.h"
#include "service/config.h"

/* The same merge walk as the HTTP route (store_diff()), on the store opened directly. */

enum cli_diff_out {
	CLI_DIFF_TEXT = 0, /**< "change<TAB>path" a line */
	CLI_DIFF_JSON,     /**< one document, as one HTTP page holding everything */
	CLI_DIFF_NDJSON,   /**< one difference a line */
};

struct cli_diff {
	enum cli_diff_out out;
	const char *data_dir;
	unsigned long long a, b;
	struct jsonw w;
	FILE *fp;
};

bool cli_diff_is(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "diff") == 0;
}

static void cli_diff_usage(FILE *fp)
{
	fputs("usage: leindexd diff A B [--json|--ndjson] [--data-dir DIR]\n"
	      "  What changed from scan A (the earlier) to scan B, depth-first: \"change<TAB>path\"\n"
	      "  a line (added, removed, modified, type_changed), or --json (one document as\n"
	      "  GET /scans/B/diff?against=A), --ndjson (one difference a line).\n"
	      "  --data-dir DIR  the store [LEINDEX_DATA_DIR] (default $XDG_STATE_HOME/leindexd, else\n"
	      "                  ~/.local/state/leindexd); read-only, so beside a running server\n", fp);
}

static int cli_diff_id(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '0' || *s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > (UINT64_MAX >> 1))
		return -1;
	*out = v;
	return 0;
}

/* Parses the arguments: 0 to run, 1 when done (help), -1 on a usage error (said). */
static int cli_diff_args(struct cli_diff *d, int argc, char **argv)
{
	int ids = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_diff_usage(stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0) {
			d->out = CLI_DIFF_JSON;
		} else if (strcmp(a, "--ndjson") == 0) {
			d->out = CLI_DIFF_NDJSON;
		} else if (strcmp(a, "--data-dir") == 0 && i + 1 < argc) {
			d->data_dir = argv[++i];
		} else if (strncmp(a, "--data-dir=", 11) == 0) {
			d->data_dir = a + 11;
		} else if (a[0] != '-' && ids < 2 && cli_diff_id(a, ids ? &d->b : &d->a) == 0) {
			ids++;
		} else {
			fprintf(stderr, "leindexd diff: unexpected argument '%s'\n", a);
			cli_diff_usage(stderr);
			return -1;
		}
	}
	if (ids != 2) {
		fputs("leindexd diff: give two scan ids, the earlier first\n", stderr);
		cli_diff_usage(stderr);
		return -1;
	}
	return 0;
}

/* Writes what the jsonw holds to the output and empties it. */
static int cli_diff_flush(struct cli_diff *d)
{
	if (d->w.sb.oom)
		return -ENOMEM;
	if (d->w.sb.len && fwrite(d->w.sb.buf, 1, d->w.sb.len, d->fp) != d->w.sb.len)
		return -EIO;
	d->w.sb.len = 0;
	return 0;
}

static int cli_diff_cb(void *ctx, const char *path, size_t len, enum store_diff_change c,
		       const struct entry *before, const struct entry *after)
{
	struct cli_diff *d = ctx;
	if (d->out == CLI_DIFF_TEXT) {
		const char *name = store_diff_change_name(c);
		if (fputs(name, d->fp) == EOF || putc('\t', d->fp) == EOF ||
		    fwrite(path, 1, len, d->fp) != len || putc('\n', d->fp) == EOF)
			return -EIO;
		return 0;
	}
	api_diff_write(&d->w, path, len, c, before, after);
	if (d->out == CLI_DIFF_NDJSON) {
		d->w.comma[0] = false;
		strbuf_putc(&d->w.sb, '\n');
	}
	return d->w.sb.len > 65536 ? cli_diff_flush(d) : (d->w.sb.oom ? -ENOMEM : 0);
}

/* Checks that scan `id` is stored and finished; says why not. */
static int cli_diff_check(struct cli_diff *d, struct store *s, unsigned long long id)
{
	struct store_scan rec = {0};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_get(s, id, &rec, &err);
	if (rc == -ENOENT)
		fprintf(stderr, "leindexd: scan %llu is not in %s (--data-dir)\n", id, d->data_dir);
	else if (rc < 0)
		fprintf(stderr, "leindexd: %s\n", err.msg);
	else if (!scan_state_finished(rec.state)) {
		fprintf(stderr, "leindexd: scan %llu is %s; a diff needs two finished scans\n", id,
			scan_state_name(rec.state));
		rc = -EBUSY;
	}
	store_scan_clear(&rec);
	return rc;
}

static int cli_diff_run(struct cli_diff *d)
{
	struct store *s = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	/* The data directory as every command finds it; read-only, so beside a running server. */
	char dir[PATH_MAX];
	if (config_data_dir(d->data_dir, dir, sizeof(dir), &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		return 2;
	}
	d->data_dir = dir;
	struct store_opts so = {.dir = dir, .flags = STORE_OPEN_READ_ONLY};
	if (store_open(&s, &so, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		return 1;
	}
	int status = 1;
	if (cli_diff_check(d, s, d->a) < 0 || cli_diff_check(d, s, d->b) < 0)
		goto out;
	if (d->out == CLI_DIFF_JSON) {
		jsonw_obj(&d->w);
		jsonw_key(&d->w, "scan");
		jsonw_u64(&d->w, d->b);
		jsonw_key(&d->w, "against");
		jsonw_u64(&d->w, d->a);
		jsonw_key(&d->w, "diff");
		jsonw_arr(&d->w);
	}
	struct store_diff_req rq = {.scan_a = d->a, .scan_b = d->b, .limit = SIZE_MAX,
				    .cb = cli_diff_cb, .ctx = d};
	struct store_diff_out o;
	int rc = store_diff(s, &rq, &o, &err);
	if (rc == 0 && d->out == CLI_DIFF_JSON) {
		jsonw_arr_end(&d->w);
		jsonw_obj_end(&d->w);
		strbuf_putc(&d->w.sb, '\n');
	}
	if (rc == 0)
		rc = cli_diff_flush(d);
	if (rc == 0 && fflush(d->fp) != 0)
		rc = -EIO;
	if (rc != 0) {
		fprintf(stderr, "leindexd: diffing scan %llu against %llu: %s\n", d->b, d->a,
			rc == -EIO ? "cannot write the output" : rc == -ENOMEM || rc > 0 ? "out of memory" : err.msg);
		goto out;
	}
	status = 0;
out:
	store_close(s);
	return status;
}

int cli_diff_main(int argc, char **argv)
{
	struct cli_diff d = {.fp = stdout};
	jsonw_init(&d.w);
	int rc = cli_diff_args(&d, argc, argv);
	int status = rc < 0 ? 2 : rc > 0 ? 0 : cli_diff_run(&d);
	jsonw_free(&d.w);
	return status;
}
