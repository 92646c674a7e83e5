/* config.h: the process configuration, from flags and LEINDEX_* environment variables. */
#ifndef LEINDEX_CONFIG_H
#define LEINDEX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errbuf.h"
#include "base/log.h"
#include "service/scan/scanner.h"

/** What the process was asked to do. */
enum config_command {
	CONFIG_SERVE = 0, /**< no subcommand: serve HTTP */
	CONFIG_SCAN,      /**< `leindexd scan ... DIR`: one-shot scan */
	CONFIG_HEALTH,    /**< `leindexd health`: probe /healthz of a running server, exit 0/1 */
	CONFIG_TOKEN,     /**< `leindexd token new`: print a new API token and its file line */
	CONFIG_HELP,
	CONFIG_VERSION,
	/** A command of the table of cli_commands.h (scans, show, errors, rm, ...): cfg->cmd. */
	CONFIG_COMMAND,
};

/** Upper bounds of the connection limits' flags. */
#define CONFIG_MAX_CONNECTIONS_MAX 100000
#define CONFIG_REQUEST_TIMEOUT_MAX 3600

/** Flags of the one-shot scan. */
enum config_scan_flags {
	CONFIG_SCAN_JSON = 1u << 0, /**< --json: the summary as one JSON object */
	CONFIG_SCAN_LIST = 1u << 1, /**< --list: print every stored path, depth-first */
	CONFIG_SCAN_NUL = 1u << 2,  /**< --null: --list ends paths with NUL, not newline */
	CONFIG_SCAN_SKIPPED = 1u << 3, /**< --skipped: print the paths a rule skipped, and why */
	/** --no-store: scan into a temporary store, print, and keep nothing */
	CONFIG_SCAN_NO_STORE = 1u << 4,
};

struct cli_command;

/**
 * Everything the process was configured with. Built once by config_parse() in main() and then
 * only read: the one mutable-once global state of the process, passed down explicitly. Strings
 * point into argv/environ or into arrays owned by the struct (freed by config_free()).
 */
struct config {
	enum config_command command;
	/* serve and health */
	const char *listen;        /**< HOST:PORT, default 127.0.0.1:8080 */
	/**
	 * Where the store lives: --data-dir, else LEINDEX_DATA_DIR, else $XDG_STATE_HOME/leindexd,
	 * else ~/.local/state/leindexd (config_data_dir()); resolved by config_parse() for every
	 * command but token, and by the table's commands through config_data_dir() themselves.
	 */
	const char *data_dir;
	/** data_dir came from neither --data-dir nor LEINDEX_DATA_DIR (its parents may be made). */
	bool data_dir_default;
	uint64_t map_size;         /**< bytes; 0: the store's default */
	unsigned max_running;      /**< scans running at once, default JOBQ_MAX_RUNNING_DEFAULT */
	unsigned max_queued;       /**< scans waiting, default 64 */
	unsigned keep_scans;       /**< --keep-scans: completed scans kept per root; 0: all */
	const char **allow_roots;  /**< absolute dirs; none: any absolute path */
	size_t allow_root_count;
	const char **cors_origins; /**< origins allowed by CORS; none: CORS off */
	size_t cors_origin_count;
	enum log_level log_level;
	enum log_format log_format;
	const char *token_file;    /**< bearer tokens (api/auth.h); NULL: access control off */
	bool metrics_auth;         /**< /metrics needs a read token */
	bool insecure_no_auth;     /**< a non-loopback --listen without --token-file is allowed */
	unsigned max_connections, max_connections_per_client, request_timeout_s;
	/* token new */
	const char *token_id, *token_scope;
	/* scan */
	const char *scan_root;     /**< DIR as given (relative or not) */
	/**
	 * The scan's options, read from the flags by the table of scan options (scanopt.h), with
	 * their defaults (workers resolved) and scan.root = scan_root; set for CONFIG_SCAN only.
	 * scan.ignore is owned by the config, its strings by scan_given.
	 */
	struct scanner_opts scan;
	unsigned scan_cli_flags;   /**< enum config_scan_flags */
	/** The scan options as given on the command line (JSON); owned. */
	json_t *scan_given;
	/** CONFIG_HELP: the command whose help was asked (CONFIG_SCAN: the scan's flags). */
	enum config_command help_of;
	/** CONFIG_COMMAND: the row, and its arguments (argv[0] is its name; borrowed from main). */
	const struct cli_command *cmd;
	int cmd_argc;
	char **cmd_argv;
	/* Copies of environment lists that the arrays above point into. */
	const char **owned;
	size_t owned_count;
};

/**
 * Parses argv and the environment into `cfg` (flags win over the environment). On a usage error
 * returns -1 with a message in `err` that names the flag and the value.
 */
int config_parse(struct config *cfg, int argc, char **argv, struct errbuf *err);

/** Frees what config_parse() allocated. */
void config_free(struct config *cfg);

/** Writes the --help text to `out`. */
void config_usage(FILE *out);

/** Writes `leindexd scan --help`: every flag the scan takes. */
void config_scan_usage(FILE *out);

/**
 * The data directory every command uses, into buf[cap]: `given` (--data-dir, or
 * LEINDEX_DATA_DIR as config_parse() read it) when not NULL, else $XDG_STATE_HOME/leindexd
 * (when XDG_STATE_HOME is an absolute path), else $HOME/.local/state/leindexd. Returns 0 (1 when
 * a default was taken), or -1 with a message naming --data-dir when none is usable (no HOME).
 */
int config_data_dir(const char *given, char *buf, size_t cap, struct errbuf *err);

/**
 * Creates the parents of a default data directory (mode 0700), as the XDG base directory
 * specification asks; the store creates the directory itself. 0, or -1 with a message naming
 * --data-dir.
 */
int config_data_dir_parents(const char *dir, struct errbuf *err);

#endif
