/* cli_store.h: commands on stored scans (scans, show, errors, rm) and what such commands share. */
#ifndef LEINDEX_CLI_STORE_H
#define LEINDEX_CLI_STORE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "service/config.h"
#include "service/job/job.h"
#include "store/store.h"

/*
 * The read commands open the store with STORE_OPEN_READ_ONLY, so they work beside a running
 * server (LMDB lets readers in while one process writes) and show what it has committed: a scan
 * it runs shows as running with the totals of its last record (GET /scans/{id} has the live
 * ones). `rm` opens the store for writing, which a running server's lock refuses: it then says
 * to delete through the server (DELETE /scans/ID), which also stops a running scan.
 *
 * Output: text for people (sizes as 8.4 GiB, counts with thousands separators), --json for
 * programs (the documents of the HTTP API). Diagnostics go to stderr. Exit status: 0 done,
 * 1 failed (no such scan, the store could not be read), 2 usage (or no usable data directory).
 */

/** `leindexd scans [--root DIR] [--state S] [--json]`. */
int cli_scans(const struct config *cfg, int argc, char **argv);
/** `leindexd show ID [--json]`. */
int cli_show(const struct config *cfg, int argc, char **argv);
/** `leindexd errors ID [--json]`. */
int cli_errors(const struct config *cfg, int argc, char **argv);
/** `leindexd rm ID`. */
int cli_rm(const struct config *cfg, int argc, char **argv);

/* ---------------------------------------------------------------- shared by the commands */

/** The most positional arguments cli_args_parse() keeps. */
#define CLI_ARGS_MAX 4
/** A command's own flags (struct option.val) start here. */
#define CLI_OPT_OWN 3000

/** What every command's command line gives. */
struct cli_args {
	const char *name;     /**< the command's name, for messages */
	const char *data_dir; /**< --data-dir, else LEINDEX_DATA_DIR, else NULL (the default) */
	bool json;            /**< --json */
	const char *pos[CLI_ARGS_MAX];
	int npos;
};

/** Called with each of a command's own flags: 0, or 2 after printing why the value is wrong. */
typedef int (*cli_own_opt)(void *ctx, int opt, const char *arg);

/** How a command's command line is read. */
struct cli_spec {
	const char *usage;        /**< "Usage: ..." and the flags, printed by -h/--help */
	const struct option *own; /**< its own flags (val >= CLI_OPT_OWN), zero-terminated, or NULL */
	cli_own_opt on_own;
	void *ctx;
	int min_pos, max_pos;     /**< positional arguments taken (max_pos <= CLI_ARGS_MAX) */
	bool json;                /**< --json is taken */
};

/**
 * Reads argv (argv[0] the name) into `a`: --data-dir DIR, --json (when the spec takes it),
 * -h/--help, the spec's own flags, and its positional arguments. Returns -1 when the command
 * should go on, else the exit status to return at once (0 after --help, 2 on a usage error,
 * whose message was printed).
 */
int cli_args_parse(struct cli_args *a, const struct config *cfg, int argc, char **argv,
		   const struct cli_spec *spec);

/**
 * Opens the store of the data directory every command finds the same way (config_data_dir()),
 * with `flags` (STORE_OPEN_READ_ONLY for reads). Returns 0 with *out set, else the exit status
 * (2: no usable data directory; 1: the store could not be opened) after printing why.
 */
int cli_store_open(const struct cli_args *a, unsigned flags, struct store **out);

/** Parses a scan ID argument: 0, or 2 after printing why it is not one. */
int cli_scan_id(const struct cli_args *a, const char *arg, uint64_t *id);

/** Bytes for people: "512 B", "8.4 GiB" (powers of 1024, one decimal). */
void cli_fmt_size(uint64_t bytes, char *buf, size_t cap);
/** A count with thousands separators: "72,495". */
void cli_fmt_count(uint64_t n, char *buf, size_t cap);
/** An instant (ns since the epoch) as RFC 3339 UTC to the second, or "-" for 0. */
void cli_fmt_time(int64_t ns, char *buf, size_t cap);

/**
 * Prints the text summary of a scan to `out`: state, root, counts, sizes and, from `counters`
 * (the stats document, may be NULL), times and the slowest directory. Shared by `scan` and
 * `show`.
 */
void cli_print_summary(FILE *out, const struct jobq_view *v, const json_t *counters);

/** Prints the view as GET /scans/{id} answers it (with its stats), one line. 0 or -ENOMEM. */
int cli_print_scan_json(FILE *out, const struct jobq_view *v);

#endif
