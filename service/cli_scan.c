/* cli_scan.c: the one-shot scan. SIGINT/SIGTERM cancel it; what was stored is kept. */
#include "service/cli_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "service/job/scanjson.h"
#include "service/scan/scanner.h"
#include "store/store.h"

/* Waits for SIGINT/SIGTERM (blocked in every thread) and cancels the scan. */
struct cli_signals {
	struct scanner *sc;
	sigset_t set;
};

static void *cli_signal_main(void *arg)
{
	struct cli_signals *s = arg;
	int sig;
	if (sigwait(&s->set, &sig) == 0 && sig != SIGUSR1) {
		fprintf(stderr, "leindexd: %s: cancelling the scan\n", strsignal(sig));
		scanner_cancel(s->sc);
	}
	return NULL;
}

static int64_t cli_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct cli_list_ctx {
	FILE *out;
	char end; /* '\n', or NUL with --null */
};

/* Prints one stored path per line: the raw bytes, as find -mindepth 1 prints them. */
static int cli_list_entry(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)e;
	const struct cli_list_ctx *c = ctx;
	if (fwrite(path, 1, len, c->out) != len || putc(c->end, c->out) == EOF)
		return -EIO;
	return 0;
}

static int cli_list(struct store *st, uint64_t scan_id, char end, struct errbuf *err)
{
	static char buf[1 << 16];
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	struct cli_list_ctx ctx = {.out = stdout, .end = end};
	struct store_pos pos, next;
	bool more = true, first = true;
	while (more) {
		int rc = store_walk(st, scan_id, NULL, first ? NULL : &pos, 100000, cli_list_entry,
				    &ctx, &next, &more, err);
		if (rc < 0)
			return rc;
		pos = next;
		first = false;
	}
	if (fflush(stdout) == EOF)
		return errbuf_errno(err, errno, "writing the list to stdout");
	return 0;
}

static void cli_print_text(const struct store_scan *rec, const struct scanner_progress *p,
			   const struct scanner_stats *s)
{
	uint64_t entries = p->dirs + p->files + p->symlinks + p->other;
	printf("scan %" PRIu64 " of %s: %s\n", rec->id, rec->root, scan_state_name(rec->state));
	printf("  entries %" PRIu64 " (dirs %" PRIu64 ", files %" PRIu64 ", symlinks %" PRIu64
	       ", other %" PRIu64 "), %" PRIu64 " bytes, %" PRIu64 " errors\n",
	       entries, p->dirs, p->files, p->symlinks, p->other, p->bytes, p->errors);
	printf("  wall %.3f s, %u workers, %" PRIu64 " directories read, queue peak %" PRIu64 "\n",
	       s->wall_seconds, s->workers, s->scandir_calls, s->queue_peak);
	printf("  time in: scandir %.3f s, stat %.3f s, ignore %.3f s, symlinks %.3f s, hash %.3f s,"
	       " store %.3f s (summed over workers)\n",
	       s->scandir_seconds, s->stat_seconds, s->ignore_match_seconds,
	       s->symlink_check_seconds, s->hash_seconds, s->store_seconds);
	printf("  slow directories %" PRIu64 "; slowest %.3f s: %s\n", s->slow_scandirs,
	       s->slowest_scandir_seconds,
	       s->slowest_scandir_path && *s->slowest_scandir_path ? s->slowest_scandir_path : ".");
	if (rec->error)
		printf("  error: %s\n", rec->error);
}

static int cli_print_json(const struct store_scan *rec, const struct scanner_progress *p,
			  const struct scanner_stats *s)
{
	json_t *counters = scanjson_counters(s, p);
	json_t *doc = counters ? json_pack("{sI ss sI sI sI sI sI sI sI so* so}",
				 "id", (json_int_t)rec->id, "state", scan_state_name(rec->state),
				 "entries", (json_int_t)(p->dirs + p->files + p->symlinks + p->other),
				 "dirs", (json_int_t)p->dirs, "files", (json_int_t)p->files,
				 "symlinks", (json_int_t)p->symlinks, "other", (json_int_t)p->other,
				 "bytes", (json_int_t)p->bytes, "errors", (json_int_t)p->errors,
				 "error", rec->error ? json_string(rec->error) : json_null(),
				 "counters", counters) : NULL;
	if (!doc || scanjson_set_path(doc, "root", rec->root, rec->root_len) < 0) {
		json_decref(doc);
		fprintf(stderr, "leindexd: out of memory encoding the summary\n");
		return -1;
	}
	/* The counters also at the top level, so scripts can read them without nesting. */
	json_object_update(doc, counters);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

/* Creates the scan record, runs the scan, records the outcome. */
static int cli_run(struct store *st, struct scanner_opts *opts, const struct config *cfg)
{
	struct errbuf err;
	errbuf_clear(&err);
	json_t *optj = scanjson_options(opts);
	char *opt_text = optj ? json_dumps(optj, JSON_COMPACT) : NULL;
	json_decref(optj);
	if (!opt_text) {
		fprintf(stderr, "leindexd: out of memory encoding the scan options\n");
		return 2;
	}
	struct store_scan rec = {.state = SCAN_RUNNING, .root = (char *)opts->root,
				 .root_len = strlen(opts->root), .options_json = opt_text,
				 .created_ns = cli_now_ns()};
	rec.started_ns = rec.created_ns;
	if (store_scan_create(st, &rec, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		free(opt_text);
		return 2;
	}
	char tag[32];
	snprintf(tag, sizeof(tag), "scan %" PRIu64, rec.id);
	opts->scan_id = rec.id;
	opts->log_tag = tag;
	struct scanner *sc;
	if (scanner_create(&sc, opts, st, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		free(opt_text);
		return 2;
	}
	struct cli_signals sig = {.sc = sc};
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGINT);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	pthread_t sig_thread;
	bool sig_started = pthread_create(&sig_thread, NULL, cli_signal_main, &sig) == 0;

	enum scanner_outcome outcome = scanner_run(sc, &err);
	if (sig_started) {
		pthread_kill(sig_thread, SIGUSR1);
		pthread_join(sig_thread, NULL);
	}
	struct scanner_progress p;
	struct scanner_stats s;
	scanner_progress(sc, &p);
	scanner_stats(sc, &s);
	json_t *cj = scanjson_counters(&s, &p);
	rec.counters_json = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
	json_decref(cj);
	rec.state = outcome == SCANNER_DONE ? SCAN_COMPLETED
		    : outcome == SCANNER_CANCELLED ? SCAN_CANCELLED : SCAN_FAILED;
	rec.error = outcome == SCANNER_FAILED ? err.msg : NULL;
	rec.finished_ns = cli_now_ns();
	rec.totals = (struct store_scan_totals){p.dirs, p.files, p.symlinks, p.other, p.bytes,
						p.errors};
	int status = rec.state == SCAN_COMPLETED ? 0 : 1;
	struct errbuf uerr;
	errbuf_clear(&uerr);
	if (store_scan_update(st, &rec, &uerr) < 0) {
		fprintf(stderr, "leindexd: recording the outcome of scan %" PRIu64 ": %s\n", rec.id,
			uerr.msg);
		status = 1;
	}
	if (outcome == SCANNER_FAILED)
		fprintf(stderr, "leindexd: scan %" PRIu64 " failed: %s\n", rec.id, err.msg);
	if (cfg->scan_cli_flags & CONFIG_SCAN_LIST) {
		if (cli_list(st, rec.id, (cfg->scan_cli_flags & CONFIG_SCAN_NUL) ? '\0' : '\n', &uerr) < 0) {
			fprintf(stderr, "leindexd: listing scan %" PRIu64 ": %s\n", rec.id, uerr.msg);
			status = 1;
		}
	} else if (cfg->scan_cli_flags & CONFIG_SCAN_JSON) {
		if (cli_print_json(&rec, &p, &s) < 0)
			status = 1;
	} else {
		cli_print_text(&rec, &p, &s);
	}
	free(rec.counters_json);
	free(opt_text);
	scanner_destroy(sc);
	return status;
}

int cli_scan(const struct config *cfg)
{
	struct stat st;
	if (stat(cfg->scan_root, &st) < 0) {
		fprintf(stderr, "leindexd: cannot scan %s: %s\n", cfg->scan_root, strerror(errno));
		return 2;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "leindexd: cannot scan %s: not a directory\n", cfg->scan_root);
		return 2;
	}
	char *root = realpath(cfg->scan_root, NULL);
	if (!root) {
		fprintf(stderr, "leindexd: cannot resolve %s: %s\n", cfg->scan_root, strerror(errno));
		return 2;
	}
	struct errbuf err;
	errbuf_clear(&err);
	struct store *store;
	struct store_opts so = {.dir = cfg->data_dir, .map_size = cfg->map_size};
	if (store_open(&store, &so, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		free(root);
		return 2;
	}
	struct scanner_opts opts = cfg->scan; /* from the table of scan options, defaults applied */
	opts.root = root;
	int status = cli_run(store, &opts, cfg);
	store_close(store);
	free(root);
	return status;
}
