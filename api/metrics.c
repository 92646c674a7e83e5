/* metrics.c: GET /metrics in the Prometheus text format 0.0.4, and the HTTP counters behind it. */
#include "api/api.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/readfile.h"
#include "base/strbuf.h"

/*
 * Design. Debian has no C client library for Prometheus, and leindexd needs only a fixed set of
 * families, so the writer is the few functions below: a family is its # HELP and # TYPE lines
 * then its samples; a histogram is its cumulative _bucket{le} series, _sum and _count. The names,
 * types and labels are a contract with the Grafana dashboard (tests/deploy/metric-names.txt).
 *
 * Where the figures live, so that threads share them only through structures made for it:
 * - HTTP counters: ctx->metrics, atomics bumped by the thread that completes a request;
 * - scan counters: the job manager's process totals (jobq_metrics(), under its lock), which add
 *   the live progress of running scans and never go backwards when a scan is deleted;
 * - scans by state and the store's size: read from the store at each scrape, like /stats;
 * - process figures: /proc/self at each scrape.
 */

/* Upper bounds (seconds) of the request duration buckets; the last bucket is +Inf. */
static const double api_duration_bounds[API_DURATION_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60,
};

static const char *const api_classes[6] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};

/* ---------------------------------------------------------------- HTTP counters */

void api_metrics_init(struct api_metrics *m, const struct api_route *routes, size_t count)
{
	m->label_count = 0;
	for (size_t i = 0; i < count && m->label_count < API_ROUTE_LABELS - 1; i++) {
		bool seen = false;
		for (unsigned j = 0; j < m->label_count && !seen; j++)
			seen = strcmp(m->labels[j], routes[i].pattern) == 0;
		if (!seen)
			m->labels[m->label_count++] = routes[i].pattern;
	}
	m->labels[m->label_count++] = "other";
}

unsigned api_metrics_label(const struct api_metrics *m, const char *pattern)
{
	for (unsigned i = 0; pattern && i < m->label_count; i++)
		if (strcmp(m->labels[i], pattern) == 0)
			return i;
	return m->label_count ? m->label_count - 1 : 0;
}

void api_metrics_count(struct api_metrics *m, unsigned label, unsigned status, int64_t ns)
{
	if (label >= m->label_count || status < 100 || status > 599)
		return;
	struct api_route_counters *c = &m->routes[label];
	atomic_fetch_add_explicit(&c->by_class[status / 100], 1, memory_order_relaxed);
	if (ns < 0)
		ns = 0;
	double s = (double)ns / 1e9;
	unsigned b = 0;
	while (b < API_DURATION_BUCKETS - 1 && s > api_duration_bounds[b])
		b++;
	atomic_fetch_add_explicit(&c->duration[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->duration_ns, (uint64_t)ns, memory_order_relaxed);
}

uint64_t api_metrics_class_total(struct api_metrics *m, unsigned cls)
{
	uint64_t n = 0;
	for (unsigned i = 0; cls >= 1 && cls <= 5 && i < m->label_count; i++)
		n += atomic_load_explicit(&m->routes[i].by_class[cls], memory_order_relaxed);
	return n;
}

/* ---------------------------------------------------------------- the text writer */

/* A float as Go's ParseFloat reads it back: the shortest of %.15g and %.17g that round-trips. */
static void api_prom_fmt(char *buf, size_t cap, double v)
{
	snprintf(buf, cap, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, cap, "%.17g", v);
}

static void api_prom_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels} value; `labels` is preformatted (api_prom_label()), NULL or "" for none. */
static void api_prom_u64(struct strbuf *sb, const char *name, const char *labels, uint64_t v)
{
	bool l = labels && *labels;
	strbuf_printf(sb, "%s%s%s%s %" PRIu64 "\n", name, l ? "{" : "", l ? labels : "", l ? "}" : "", v);
}

static void api_prom_dbl(struct strbuf *sb, const char *name, const char *labels, double v)
{
	char num[40];
	api_prom_fmt(num, sizeof(num), v);
	bool l = labels && *labels;
	strbuf_printf(sb, "%s%s%s%s %s\n", name, l ? "{" : "", l ? labels : "", l ? "}" : "", num);
}

/* Appends name="value" (escaped as the format says: backslash, quote, newline) to `buf`. */
static void api_prom_label(char *buf, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(buf);
	int k = snprintf(buf + n, cap - n, "%s%s=\"", n ? "," : "", name);
	if (k < 0 || (size_t)k >= cap - n)
		return;
	n += (size_t)k;
	for (const char *p = value; *p && n + 3 < cap; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			buf[n++] = '\\';
			buf[n++] = *p == '\n' ? 'n' : *p;
		} else {
			buf[n++] = *p;
		}
	}
	if (n + 1 < cap)
		buf[n++] = '"';
	buf[n] = '\0';
}

/*
 * The series of a histogram: `counts` per bucket (not cumulative, the last one +Inf), `labels`
 * the other labels (or ""). _count is the sum of the buckets, so it always equals the +Inf one.
 */
static void api_prom_histogram(struct strbuf *sb, const char *name, const char *labels,
			       const double *bounds, const uint64_t *counts, size_t nbuckets, double sum)
{
	char series[128], lb[256];
	snprintf(series, sizeof(series), "%s_bucket", name);
	uint64_t cum = 0;
	for (size_t b = 0; b < nbuckets; b++) {
		char le[40];
		if (b + 1 < nbuckets)
			api_prom_fmt(le, sizeof(le), bounds[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(lb, sizeof(lb), "%s", labels);
		api_prom_label(lb, sizeof(lb), "le", le);
		cum += counts[b];
		api_prom_u64(sb, series, lb, cum);
	}
	snprintf(series, sizeof(series), "%s_sum", name);
	api_prom_dbl(sb, series, labels, sum);
	snprintf(series, sizeof(series), "%s_count", name);
	api_prom_u64(sb, series, labels, cum);
}

/* ---------------------------------------------------------------- process figures */

struct api_proc {
	bool stat_ok, fds_ok, start_ok;
	double cpu_seconds, start_seconds;
	uint64_t rss_bytes, open_fds;
};

/* Longest /proc file read (/proc/stat grows with the CPUs and interrupts: tens of KiB). */
#define API_PROC_MAX (1024 * 1024)

/* /proc/self/stat (CPU, start, RSS) and /proc/stat (boot time). */
static void api_proc_stat(struct api_proc *p)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long start_ticks = 0;
	char *text = NULL;
	size_t len = 0;
	if (tick <= 0 || page <= 0 ||
	    readfile_at(AT_FDCWD, "/proc/self/stat", 0, API_PROC_MAX, &text, &len, NULL) < 0)
		return;
	/* After the command name in parentheses (which may hold spaces): field 3 on. */
	char *rp = strrchr(text, ')');
	unsigned long long utime, stime;
	long rss;
	if (rp &&
	    /* Fields 3-13 skipped, utime 14, stime 15, 16-21 skipped, starttime 22, rss 24. */
	    sscanf(rp + 1, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s "
		   "%*s %*s %*s %llu %*s %ld", &utime, &stime, &start_ticks, &rss) == 4) {
		p->cpu_seconds = (double)(utime + stime) / (double)tick;
		p->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
		p->stat_ok = true;
	}
	free(text);
	if (!p->stat_ok ||
	    readfile_at(AT_FDCWD, "/proc/stat", 0, API_PROC_MAX, &text, &len, NULL) < 0)
		return;
	const char *bt = strncmp(text, "btime ", 6) == 0 ? text : strstr(text, "\nbtime ");
	unsigned long long btime;
	if (bt && sscanf(bt, " btime %llu", &btime) == 1) {
		p->start_seconds = (double)btime + (double)start_ticks / (double)tick;
		p->start_ok = true;
	}
	free(text);
}

/* The figures above and the descriptors open (/proc/self/fd). */
static void api_proc_read(struct api_proc *p)
{
	memset(p, 0, sizeof(*p));
	api_proc_stat(p);
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		uint64_t n = 0;
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		p->open_fds = n ? n - 1 : 0; /* not the descriptor of the listing itself */
		p->fds_ok = true;
	}
}

/* ---------------------------------------------------------------- GET /metrics */

static void api_metrics_scans(struct strbuf *sb, const uint64_t *by_state,
			      const struct jobq_metrics *jm)
{
	char lb[64];
	api_prom_family(sb, "leindexd_scans", "gauge", "Scans kept, by state.");
	for (unsigned s = 0; s < SCAN_STATE_COUNT; s++) {
		lb[0] = '\0';
		api_prom_label(lb, sizeof(lb), "state", scan_state_name((enum scan_state)s));
		api_prom_u64(sb, "leindexd_scans", lb, by_state[s]);
	}
	api_prom_family(sb, "leindexd_scans_running", "gauge", "Scans running now.");
	api_prom_u64(sb, "leindexd_scans_running", NULL, jm->running);
	api_prom_family(sb, "leindexd_scans_queued", "gauge", "Scans waiting for a runner.");
	api_prom_u64(sb, "leindexd_scans_queued", NULL, jm->queued);
	api_prom_family(sb, "leindexd_entries_scanned_total", "counter",
			"Entries (directories, files, symlinks, other) found by scans of this process, "
			"running ones included.");
	api_prom_u64(sb, "leindexd_entries_scanned_total", NULL, jm->entries);
	api_prom_family(sb, "leindexd_dirs_scanned_total", "counter",
			"Directories found by scans of this process, running ones included.");
	api_prom_u64(sb, "leindexd_dirs_scanned_total", NULL, jm->dirs);
	api_prom_family(sb, "leindexd_bytes_scanned_total", "counter",
			"Sizes of the regular files found by scans of this process, in bytes.");
	api_prom_u64(sb, "leindexd_bytes_scanned_total", NULL, jm->bytes);
	api_prom_family(sb, "leindexd_scandir_seconds", "histogram",
			"Time to open, list and stat one directory.");
	api_prom_histogram(sb, "leindexd_scandir_seconds", "", scanner_latency_bounds,
			   jm->scandir_latency, SCANNER_LATENCY_BUCKETS,
			   (double)jm->scandir_latency_ns / 1e9);
	api_prom_family(sb, "leindexd_slow_scandirs_total", "counter",
			"Directories slower to read than their scan's slow_threshold_ms.");
	api_prom_u64(sb, "leindexd_slow_scandirs_total", NULL, jm->slow_scandirs);
}

static void api_metrics_http(struct strbuf *sb, struct api_metrics *m)
{
	char lb[256];
	api_prom_family(sb, "leindexd_http_requests_total", "counter",
			"HTTP answers by route (path pattern) and status class.");
	for (unsigned i = 0; i < m->label_count; i++) {
		for (unsigned c = 1; c <= 5; c++) {
			uint64_t n = atomic_load_explicit(&m->routes[i].by_class[c], memory_order_relaxed);
			if (!n)
				continue;
			lb[0] = '\0';
			api_prom_label(lb, sizeof(lb), "route", m->labels[i]);
			api_prom_label(lb, sizeof(lb), "code_class", api_classes[c]);
			api_prom_u64(sb, "leindexd_http_requests_total", lb, n);
		}
	}
	api_prom_family(sb, "leindexd_http_request_duration_seconds", "histogram",
			"Time from a request's headers to the end of its answer, by route.");
	for (unsigned i = 0; i < m->label_count; i++) {
		uint64_t counts[API_DURATION_BUCKETS], total = 0;
		for (unsigned b = 0; b < API_DURATION_BUCKETS; b++) {
			counts[b] = atomic_load_explicit(&m->routes[i].duration[b], memory_order_relaxed);
			total += counts[b];
		}
		if (!total)
			continue;
		lb[0] = '\0';
		api_prom_label(lb, sizeof(lb), "route", m->labels[i]);
		uint64_t ns = atomic_load_explicit(&m->routes[i].duration_ns, memory_order_relaxed);
		api_prom_histogram(sb, "leindexd_http_request_duration_seconds", lb, api_duration_bounds,
				   counts, API_DURATION_BUCKETS, (double)ns / 1e9);
	}
}

static void api_metrics_process(struct strbuf *sb)
{
	struct api_proc p;
	api_proc_read(&p);
	if (p.stat_ok) {
		api_prom_family(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		api_prom_u64(sb, "process_resident_memory_bytes", NULL, p.rss_bytes);
		api_prom_family(sb, "process_cpu_seconds_total", "counter",
				"Total user and system CPU time spent in seconds.");
		api_prom_dbl(sb, "process_cpu_seconds_total", NULL, p.cpu_seconds);
	}
	if (p.fds_ok) {
		api_prom_family(sb, "process_open_fds", "gauge", "Number of open file descriptors.");
		api_prom_u64(sb, "process_open_fds", NULL, p.open_fds);
	}
	if (p.start_ok) {
		api_prom_family(sb, "process_start_time_seconds", "gauge",
				"Start time of the process since unix epoch in seconds.");
		api_prom_dbl(sb, "process_start_time_seconds", NULL, p.start_seconds);
	}
}

enum MHD_Result api_metrics_get(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	struct api_ctx *ctx = req->ctx;
	struct errbuf err;
	errbuf_clear(&err);
	uint64_t by_state[SCAN_STATE_COUNT];
	if (api_scan_states(ctx, by_state, NULL, NULL, &err) < 0)
		return api_problem(req, 500, "counting scans for /metrics: %s", err.msg);
	struct store_info info = {0};
	if (store_info(ctx->store, &info, &err) < 0)
		return api_problem(req, 500, "reading the store's figures for /metrics: %s", err.msg);
	struct jobq_metrics jm;
	jobq_metrics(ctx->jobq, &jm);

	struct strbuf sb;
	strbuf_init(&sb);
	char lb[64] = "";
	api_prom_label(lb, sizeof(lb), "version", LEINDEX_VERSION);
	api_prom_family(&sb, "leindexd_build_info", "gauge", "Always 1; the version in a label.");
	api_prom_u64(&sb, "leindexd_build_info", lb, 1);
	api_metrics_scans(&sb, by_state, &jm);
	api_prom_family(&sb, "leindexd_store_bytes", "gauge", "Size of the store's data file in bytes.");
	api_prom_u64(&sb, "leindexd_store_bytes", NULL, info.file_bytes);
	api_prom_family(&sb, "leindexd_store_map_fill_ratio", "gauge",
			"Used part of the store's map (--map-size), from 0 to 1.");
	api_prom_dbl(&sb, "leindexd_store_map_fill_ratio", NULL,
		     info.map_bytes ? (double)info.used_bytes / (double)info.map_bytes : 0.0);
	api_metrics_http(&sb, &ctx->metrics);
	api_metrics_process(&sb);
	size_t len = 0;
	char *body = strbuf_take(&sb, &len);
	if (!body)
		return api_problem(req, 500, "out of memory while writing /metrics");
	return api_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", body, len,
			 (const char *)NULL);
}
