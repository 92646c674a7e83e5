/* cli_scan.c: the one-shot scan. SIGINT/SIGTERM cancel it; what was stored is kept. */
#include "service/cli_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/job/job.h"
#include "service/job/scan_run.h"
#include "service/job/scanjson.h"
#include "service/scan/scanner.h"
#include "service/job/scanopt.h"
#include "store/store.h"

/*
 * Design. main() blocks SIGINT and SIGTERM before any thread starts (the store's writer thread
 * among them), so no thread is killed by them and they stay pending until taken here. While the
 * scan runs, one watcher thread ("cli-watch") waits for them with a timeout: a signal cancels the
 * scan through its run (scanrun_stop_locked(), as a DELETE or a cancel does in the service), and
 * each timeout logs a progress line, so long work shows on stderr. The scan's thread stops the
 * watcher with SIGUSR1 once the run is over, then unblocks SIGINT and SIGTERM again: the record
 * is final by then, so a later signal may end the program (a long --list) as it ends others.
 */

/** Seconds between two progress lines of a running scan. */
#define CLI_PROGRESS_EVERY_S 1

struct cli_watch {
	struct scanrun *run;
	sigset_t set; /**< SIGINT, SIGTERM, SIGUSR1 (the stop) */
	pthread_t thread;
	bool started;
};

static void cli_watch_progress(struct scanrun *run)
{
	struct jobq_view v;
	if (jobq_view_of_run(run, 0, &v) < 0)
		return;
	const struct scanner_progress *p = &v.progress;
	int64_t now = clock_wall_ns();
	LOG_EV(LOG_INFO, "scanning", LOG_U64("scan_id", v.rec.id),
	       LOG_U64("entries", p->dirs + p->files + p->symlinks + p->other),
	       LOG_U64("dirs", p->dirs), LOG_U64("files", p->files), LOG_U64("bytes", p->bytes),
	       LOG_U64("errors", p->errors), LOG_U64("queued_dirs", p->queued_dirs),
	       LOG_DBL("seconds", v.started_ns ? (double)(now - v.started_ns) / 1e9 : 0.0));
	jobq_view_clear(&v);
}

static void *cli_watch_main(void *arg)
{
	struct cli_watch *w = arg;
	const struct timespec every = {.tv_sec = CLI_PROGRESS_EVERY_S};
	for (;;) {
		int sig = sigtimedwait(&w->set, NULL, &every);
		if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
			cli_watch_progress(w->run);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "leindexd: %s: cancelling the scan\n", strsignal(sig));
			pthread_mutex_lock(w->run->lock);
			scanrun_stop_locked(w->run, SCANRUN_CANCEL);
			pthread_mutex_unlock(w->run->lock);
			continue;
		}
		return NULL; /* SIGUSR1: the run is over */
	}
}

/* Starts the watcher of `run`; without it the scan still runs, but cannot be cancelled. */
static void cli_watch_start(struct cli_watch *w, struct scanrun *run)
{
	w->run = run;
	sigemptyset(&w->set);
	sigaddset(&w->set, SIGINT);
	sigaddset(&w->set, SIGTERM);
	sigaddset(&w->set, SIGUSR1);
	/* SIGINT and SIGTERM are blocked already (main()); SIGUSR1 must be too, before the thread. */
	pthread_sigmask(SIG_BLOCK, &w->set, NULL);
	int rc = pthread_create(&w->thread, NULL, cli_watch_main, w);
	if (rc != 0) {
		fprintf(stderr, "leindexd: starting the signal watcher: %s; Ctrl-C will not cancel the scan\n",
			strerror(rc));
		return;
	}
	w->started = true;
	pthread_setname_np(w->thread, "cli-watch");
}

/* Stops the watcher, then lets SIGINT and SIGTERM end the program again. */
static void cli_watch_stop(struct cli_watch *w)
{
	if (w->started) {
		pthread_kill(w->thread, SIGUSR1);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
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

/* Prints one skip record as git check-ignore -v does: SOURCE:LINE:PATTERN<TAB>PATH. */
static int cli_skip_entry(void *ctx, const struct store_skip *rec)
{
	FILE *out = ctx;
	static const char *const names[] = {[STORE_SKIP_GITIGNORE] = ".gitignore",
					    [STORE_SKIP_EXCLUDE] = "info/exclude",
					    [STORE_SKIP_OPTION] = "option"};
	if (rec->source == STORE_SKIP_GITIGNORE && rec->source_len)
		fwrite(rec->source_path, 1, rec->source_len, out);
	else
		fputs(names[rec->source], out);
	fprintf(out, ":%" PRIu32 ":", rec->line);
	fwrite(rec->pattern, 1, rec->pattern_len, out);
	putc('\t', out);
	fwrite(rec->path, 1, rec->path_len, out);
	return putc('\n', out) == EOF ? -EIO : 0;
}

static int cli_skipped(struct store *st, uint64_t scan_id, struct errbuf *err)
{
	unsigned char pos[STORE_SKIP_POS_MAX], next[STORE_SKIP_POS_MAX];
	size_t pos_len = 0, next_len = 0;
	bool more = true;
	while (more) {
		int rc = store_skipped(st, scan_id, pos, pos_len, 100000, cli_skip_entry, stdout,
				       next, &next_len, &more, err);
		if (rc < 0)
			return rc;
		memcpy(pos, next, next_len);
		pos_len = next_len;
	}
	if (fflush(stdout) == EOF)
		return errbuf_errno(err, errno, "writing the skipped paths to stdout");
	return 0;
}

/* A number of the counters document (0 when absent). */
static double cli_num(const json_t *counters, const char *key)
{
	return json_number_value(json_object_get(counters, key));
}

/* Prints the slowest directory's path as stored: its text, or the bytes its base64 stands for. */
static void cli_print_slowest(const json_t *slowest)
{
	const char *text = json_string_value(json_object_get(slowest, "path"));
	const char *b64 = json_string_value(json_object_get(slowest, "path_b64"));
	if (text && *text) {
		fputs(text, stdout);
		return;
	}
	size_t len = b64 ? strlen(b64) : 0;
	unsigned char *raw = len ? malloc(len / 4 * 3 + 3) : NULL;
	int n = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len) : -1;
	if (n < 0) {
		putchar('.');
	} else {
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
			n--;
		fwrite(raw, 1, (size_t)n, stdout);
	}
	free(raw);
}

static void cli_print_text(const struct jobq_view *v, const json_t *c)
{
	const struct store_scan *rec = &v->rec;
	const struct scanner_progress *p = &v->progress;
	uint64_t entries = p->dirs + p->files + p->symlinks + p->other;
	printf("scan %" PRIu64 " of %s: %s\n", rec->id, rec->root, scan_state_name(v->state));
	printf("  entries %" PRIu64 " (dirs %" PRIu64 ", files %" PRIu64 ", symlinks %" PRIu64
	       ", other %" PRIu64 "), %" PRIu64 " bytes, %" PRIu64 " errors\n",
	       entries, p->dirs, p->files, p->symlinks, p->other, p->bytes, p->errors);
	printf("  wall %.3f s, %u workers, %" PRIu64 " directories read, queue peak %" PRIu64 "\n",
	       cli_num(c, "wall_seconds"), (unsigned)cli_num(c, "workers"),
	       (uint64_t)cli_num(c, "scandir_calls"), (uint64_t)cli_num(c, "queue_peak"));
	printf("  time in: scandir %.3f s, stat %.3f s, ignore %.3f s, symlinks %.3f s, hash %.3f s,"
	       " store %.3f s (summed over workers)\n",
	       cli_num(c, "scandir_seconds"), cli_num(c, "stat_seconds"),
	       cli_num(c, "ignore_match_seconds"), cli_num(c, "symlink_check_seconds"),
	       cli_num(c, "hash_seconds"), cli_num(c, "store_seconds"));
	uint64_t ign_files = (uint64_t)cli_num(c, "ignored_files");
	uint64_t ign_dirs = (uint64_t)cli_num(c, "ignored_dirs");
	printf("  ignored %" PRIu64 " paths (%" PRIu64 " files, %" PRIu64 " directories, not read) "
	       "by %" PRIu64 " ignore files%s (--skipped lists them)\n", ign_files + ign_dirs,
	       ign_files, ign_dirs, (uint64_t)cli_num(c, "ignore_files"),
	       v->rec.options_json && strstr(v->rec.options_json, "\"ignore\":[\"") ? " and the ignore option"
								     : "");
	const json_t *slowest = json_object_get(c, "slowest_scandir");
	printf("  slow directories %" PRIu64 "; slowest %.3f s: ", (uint64_t)cli_num(c, "slow_scandirs"),
	       cli_num(slowest, "seconds"));
	cli_print_slowest(slowest);
	putchar('\n');
	if (v->error)
		printf("  error: %s\n", v->error);
}

/* The summary as one JSON object: the scan, its counts, and its counters nested and on top. */
static int cli_print_json(const struct jobq_view *v, json_t *counters)
{
	const struct store_scan *rec = &v->rec;
	const struct scanner_progress *p = &v->progress;
	json_t *doc = json_pack("{sI ss sI sI sI sI sI sI sI so* sO}",
				"id", (json_int_t)rec->id, "state", scan_state_name(v->state),
				"entries", (json_int_t)(p->dirs + p->files + p->symlinks + p->other),
				"dirs", (json_int_t)p->dirs, "files", (json_int_t)p->files,
				"symlinks", (json_int_t)p->symlinks, "other", (json_int_t)p->other,
				"bytes", (json_int_t)p->bytes, "errors", (json_int_t)p->errors,
				"error", v->error ? json_string(v->error) : json_null(),
				"counters", counters);
	if (!doc || scanjson_set_path(doc, "root", rec->root, rec->root_len) < 0) {
		json_decref(doc);
		fprintf(stderr, "leindexd: out of memory encoding the summary\n");
		return -1;
	}
	/* The counters also at the top level, so scripts can read them without nesting. */
	char *text = json_object_update(doc, counters) == 0 ? scanjson_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		fprintf(stderr, "leindexd: out of memory encoding the summary\n");
		return -1;
	}
	puts(text);
	free(text);
	return 0;
}

/* Prints the scan as the merged view shows it: the list of paths, the JSON or the text summary. */
static int cli_print(struct store *st, struct scanrun *run, const struct config *cfg)
{
	if (cfg->scan_cli_flags & (CONFIG_SCAN_LIST | CONFIG_SCAN_SKIPPED)) {
		struct errbuf err;
		errbuf_clear(&err);
		if ((cfg->scan_cli_flags & CONFIG_SCAN_LIST) &&
		    cli_list(st, run->id, (cfg->scan_cli_flags & CONFIG_SCAN_NUL) ? '\0' : '\n', &err) < 0) {
			fprintf(stderr, "leindexd: listing scan %" PRIu64 ": %s\n", run->id, err.msg);
			return -1;
		}
		if ((cfg->scan_cli_flags & CONFIG_SCAN_SKIPPED) && cli_skipped(st, run->id, &err) < 0) {
			fprintf(stderr, "leindexd: listing the skipped paths of scan %" PRIu64 ": %s\n",
				run->id, err.msg);
			return -1;
		}
		return 0;
	}
	struct jobq_view v;
	json_t *counters = NULL;
	int rc = jobq_view_of_run(run, JOBQ_VIEW_COUNTERS, &v);
	if (rc == 0 && !(counters = json_loads(v.counters_json, 0, NULL)))
		rc = -ENOMEM;
	if (rc < 0)
		fprintf(stderr, "leindexd: out of memory reading the counters of scan %" PRIu64 "\n", run->id);
	else if (cfg->scan_cli_flags & CONFIG_SCAN_JSON)
		rc = cli_print_json(&v, counters);
	else
		cli_print_text(&v, counters);
	json_decref(counters);
	jobq_view_clear(&v);
	return rc;
}

/* Creates the scan record, runs the scan through the life cycle the service uses, prints it. */
static int cli_run(struct store *st, const struct scanner_opts *opts, const struct config *cfg)
{
	struct errbuf err;
	errbuf_clear(&err);
	json_t *optj = scanjson_options(opts);
	char *opt_text = optj ? scanjson_dumps(optj, JSON_COMPACT) : NULL;
	json_decref(optj);
	if (!opt_text) {
		fprintf(stderr, "leindexd: out of memory encoding the scan options\n");
		return 2;
	}
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct scanrun run;
	struct scanrun_args args = {.store = st, .lock = &lock, .opts = opts, .options_json = opt_text};
	int rc = scanrun_init(&run, &args, &err);
	free(opt_text);
	if (rc < 0 || scanrun_record_create(&run, SCAN_RUNNING, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		scanrun_clear(&run);
		return 2;
	}
	struct cli_watch watch = {0};
	cli_watch_start(&watch, &run);
	rc = scanrun_run(&run, &err);
	cli_watch_stop(&watch);

	/* The run is over: no other thread uses it any more. */
	int status = run.state == SCAN_COMPLETED ? 0 : 1;
	if (rc < 0) {
		fprintf(stderr, "leindexd: recording the outcome of scan %" PRIu64 ": %s\n", run.id, err.msg);
		status = 1;
	}
	if (run.state == SCAN_FAILED)
		fprintf(stderr, "leindexd: scan %" PRIu64 " failed: %s\n", run.id, run.error);
	if (cli_print(st, &run, cfg) < 0)
		status = 1;
	scanrun_clear(&run);
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
	if (scanner_precheck(&opts, &err) < 0 || scanopt_baseline_resolve(store, &opts, &err) < 0) {
		fprintf(stderr, "leindexd: cannot scan %s: %s\n", root, err.msg);
		store_close(store);
		free(root);
		return 2;
	}
	int status = cli_run(store, &opts, cfg);
	store_close(store);
	free(root);
	return status;
}
