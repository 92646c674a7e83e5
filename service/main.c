/* main.c: leindexd's entry point: parse the configuration, then serve, scan, probe, or run a command. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "api/server.h"
#include "base/log.h"
#include "base/signals.h"
#include "service/cli_commands.h"
#include "service/cli_diff.h"
#include "service/cli_health.h"
#include "service/cli_query.h"
#include "service/cli_scan.h"
#include "service/cli_token.h"
#include "service/config.h"
#include "store/store.h"

/* Scans keep directory descriptors open (bounded per scan); allow what the hard limit allows. */
static void main_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * glibc gives every thread that allocates its own arena (8 per core), each keeping what it freed:
 * with scan workers and HTTP threads coming and going, that multiplies the resident set. Two
 * arenas keep contention low on the paths that allocate (queue items, batches).
 */
static void main_tune_malloc(void)
{
	mallopt(M_ARENA_MAX, 2);
	/*
	 * A fixed threshold stops glibc from raising it after each large free: buffers of a huge
	 * directory (megabytes) then always come from mmap and go back to the system when freed,
	 * instead of staying in the heap between scans.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/*
	 * A scan frees a directory's buffers in one thread (the store's writer) as fast as workers
	 * allocate the next ones: with the default 128 KiB trim threshold the heap's top went back
	 * to the system and was faulted in again all the time (madvise, page faults: about a tenth
	 * of a rescan's CPU). Keep up to 8 MiB free at the top, and grow it 1 MiB at a time.
	 */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_TOP_PAD, 1 << 20);
}

/*
 * The server (shutdown) and the one-shot scan (cancel) take SIGINT and SIGTERM with sigwait():
 * block them before any thread starts (the store's writer among them), so that every thread
 * inherits the mask and none is killed by them or takes them from the thread that waits. A
 * shell starts background commands with SIGINT ignored, and an ignored signal is dropped even
 * while blocked: take the default action back first, so both always reach the waiter.
 */
static void main_take_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	signals_take(&set);
}

/*
 * A default data directory (~/.local/state/leindexd) may lack its parents: make them, as the XDG
 * specification asks. One given with --data-dir or LEINDEX_DATA_DIR is taken as it is.
 */
static int main_data_dir(const struct config *cfg)
{
	struct errbuf err;
	errbuf_clear(&err);
	if (cfg->data_dir_default && !(cfg->scan_cli_flags & CONFIG_SCAN_NO_STORE) &&
	    config_data_dir_parents(cfg->data_dir, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* The server's options are a view of the process configuration. */
static int main_serve(const struct config *cfg)
{
	struct api_server_opts so = {
		.listen = cfg->listen,
		.data_dir = cfg->data_dir,
		.map_size = cfg->map_size,
		.max_running = cfg->max_running,
		.max_queued = cfg->max_queued,
		.keep_scans = cfg->keep_scans,
		.allow_roots = cfg->allow_roots,
		.allow_root_count = cfg->allow_root_count,
		.cors_origins = cfg->cors_origins,
		.cors_origin_count = cfg->cors_origin_count,
		.max_connections = cfg->max_connections,
		.max_connections_per_client = cfg->max_connections_per_client,
		.request_timeout_s = cfg->request_timeout_s,
		.token_file = cfg->token_file,
		.metrics_auth = cfg->metrics_auth,
		.insecure_no_auth = cfg->insecure_no_auth,
	};
	return api_serve(&so) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct errbuf err;
	errbuf_clear(&err);
	if (cli_query_is(argc, argv)) /* entries, top: flags of their own (cli_query.c) */
		return cli_query_main(argc, argv);
	if (cli_diff_is(argc, argv)) /* diff A B (cli_diff.c) */
		return cli_diff_main(argc, argv);
	if (config_parse(&cfg, argc, argv, &err) < 0) {
		fprintf(stderr, "leindexd: %s\n", err.msg);
		config_free(&cfg);
		return 2;
	}
	log_configure(cfg.log_level, cfg.log_format);
	main_raise_nofile();
	main_tune_malloc();
	int status;
	switch (cfg.command) {
	case CONFIG_HELP:
		if (cfg.help_of == CONFIG_SCAN)
			config_scan_usage(stdout);
		else
			config_usage(stdout);
		status = 0;
		break;
	case CONFIG_COMMAND:
		status = cfg.cmd->run(&cfg, cfg.cmd_argc, cfg.cmd_argv);
		break;
	case CONFIG_VERSION:
		printf("leindexd %s (store format %d)\n", LEINDEX_VERSION, STORE_FORMAT_VERSION);
		status = 0;
		break;
	case CONFIG_SCAN:
		if (main_data_dir(&cfg) < 0) {
			status = 2;
			break;
		}
		main_take_signals();
		status = cli_scan(&cfg);
		break;
	case CONFIG_HEALTH:
		status = cli_health(&cfg) == 0 ? 0 : 1;
		break;
	case CONFIG_TOKEN:
		status = cli_token(&cfg);
		break;
	case CONFIG_SERVE:
	default:
		if (main_data_dir(&cfg) < 0) {
			status = 2;
			break;
		}
		main_take_signals();
		status = main_serve(&cfg);
		break;
	}
	config_free(&cfg);
	return status;
}
