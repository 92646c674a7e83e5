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
#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/job/job.h"
#include "service/job/scan_run.h"
#include "service/cli_store.h"
#include "service/job/scan_samples.h"
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
	/** The scan's progress samples, taken on each tick (the watcher's; read after the join). */
	struct scansamples samples;
	sigset_t set; /**< SIGINT, SIGTERM, SIGUSR1 (the stop) */
	pthread_t thread;
	bool started;
};

static void cli_watch_progress(struct cli_watch *w)
{
	struct scanrun *run = w->run;
	struct jobq_view v;
	if (jobq_view_of_run(run, 0, &v) < 0)
		return;
	const struct scanner_progress *p = &v.progress;
	int64_t now = clock_wall_ns();
	if (v.started_ns && now > v.started_ns) {
		struct store_sample x = {.t_ms = (uint64_t)(now - v.started_ns) / 1000000,
					 .entries = p->dirs + p->files + p->symlinks + p->other,
					 .dirs = p->dirs, .files = p->files, .bytes = p->bytes,
					 .errors = p->errors};
		scansamples_add(&w->samples, &x); /* out of memory: one sample fewer */
	}
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
			cli_watch_progress(w);
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
	if (rc == 0 && !(cfg->scan_cli_flags & CONFIG_SCAN_JSON) &&
	    !(counters = json_loads(v.counters_json, 0, NULL)))
		rc = -ENOMEM;
	if (rc < 0)
		fprintf(stderr, "leindexd: out of memory reading the counters of scan %" PRIu64 "\n", run->id);
	else if (cfg->scan_cli_flags & CONFIG_SCAN_JSON &&
		 (rc = cli_print_scan_json(stdout, &v)) < 0) /* exactly GET /scans/{id} */
		fprintf(stderr, "leindexd: out of memory printing scan %" PRIu64 " as JSON\n", run->id);
	else if (!(cfg->scan_cli_flags & CONFIG_SCAN_JSON))
		cli_print_summary(stdout, &v, counters);
	json_decref(counters);
	jobq_view_clear(&v);
	return rc;
}

/* Keeps the samples with the scan, its final counts last, for GET /scans/{id}/progress. */
static void cli_save_samples(struct store *st, struct scanrun *run, struct scansamples *s)
{
	const struct scanner_progress *p = &run->progress;
	int64_t ns = run->finished_ns > run->started_ns ? run->finished_ns - run->started_ns : 0;
	struct store_sample zero = {0};
	struct store_sample fin = {.t_ms = (uint64_t)ns / 1000000,
				   .entries = p->dirs + p->files + p->symlinks + p->other,
				   .dirs = p->dirs, .files = p->files, .bytes = p->bytes,
				   .errors = p->errors};
	if (s->n == 0)
		scansamples_add(s, &zero);
	scansamples_final(s, &fin);
	struct errbuf err;
	errbuf_clear(&err);
	if (store_scan_samples_put(st, run->id, s->v, s->n, &err) < 0)
		fprintf(stderr, "leindexd: keeping the progress samples of scan %" PRIu64 ": %s\n",
			run->id, err.msg);
}

/*
 * --no-store: a fresh store in a temporary directory ($TMPDIR, else /tmp), removed once the scan
 * is printed. NULL after a message when it cannot be made.
 */
static const char *cli_tmp_store(char *buf, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(buf, cap, "%s/leindexd-scan.XXXXXX", t && t[0] == '/' ? t : "/tmp");
	if (!mkdtemp(buf)) {
		fprintf(stderr, "leindexd: --no-store: making a temporary directory %s: %s\n", buf,
			strerror(errno));
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}

/* Removes what cli_tmp_store() made (the store's files, then the directory); "" is nothing. */
static void cli_tmp_remove(const char *dir)
{
	if (!dir[0])
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			fprintf(stderr, "leindexd: --no-store: removing %s/%s: %s\n", dir, e->d_name,
				strerror(errno));
	}
	if (d)
		closedir(d);
	if (rmdir(dir) < 0)
		fprintf(stderr, "leindexd: --no-store: removing %s: %s\n", dir, strerror(errno));
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
	struct store_sample zero = {0};
	scansamples_add(&watch.samples, &zero);
	cli_watch_start(&watch, &run);
	rc = scanrun_run(&run, &err);
	cli_watch_stop(&watch);
	if (rc == 0 && !(cfg->scan_cli_flags & CONFIG_SCAN_NO_STORE))
		cli_save_samples(st, &run, &watch.samples);
	scansamples_clear(&watch.samples);

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
	char tmp[PATH_MAX] = "";
	const char *dir = cfg->data_dir;
	if ((cfg->scan_cli_flags & CONFIG_SCAN_NO_STORE) && !(dir = cli_tmp_store(tmp, sizeof(tmp)))) {
		free(root);
		return 2;
	}
	struct store_opts so = {.dir = dir, .map_size = cfg->map_size};
	if (store_open(&store, &so, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		cli_tmp_remove(tmp);
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
	cli_tmp_remove(tmp);
	free(root);
	return status;
}
