/* config.c: flags and LEINDEX_* environment variables into struct config. */
#include "service/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "service/scan/scanner.h"

enum config_opt {
	OPT_LISTEN = 1000, OPT_DATA_DIR, OPT_MAP_SIZE, OPT_MAX_RUNNING, OPT_MAX_QUEUED,
	OPT_ALLOW_ROOT, OPT_CORS_ORIGIN, OPT_LOG_LEVEL, OPT_LOG_FORMAT, OPT_HELP, OPT_VERSION,
	OPT_WORKERS, OPT_NO_GITIGNORE, OPT_IGNORE, OPT_MAX_DEPTH, OPT_FOLLOW, OPT_ONE_FS,
	OPT_HASH, OPT_JSON, OPT_LIST, OPT_NULL, OPT_SLOW,
};

static const struct option config_serve_opts[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"max-running", required_argument, NULL, OPT_MAX_RUNNING},
	{"max-queued", required_argument, NULL, OPT_MAX_QUEUED},
	{"allow-root", required_argument, NULL, OPT_ALLOW_ROOT},
	{"cors-origin", required_argument, NULL, OPT_CORS_ORIGIN},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{0, 0, 0, 0},
};

static const struct option config_scan_opts[] = {
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"no-gitignore", no_argument, NULL, OPT_NO_GITIGNORE},
	{"ignore", required_argument, NULL, OPT_IGNORE},
	{"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
	{"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
	{"one-file-system", no_argument, NULL, OPT_ONE_FS},
	{"hash", no_argument, NULL, OPT_HASH},
	{"json", no_argument, NULL, OPT_JSON},
	{"list", no_argument, NULL, OPT_LIST},
	{"null", no_argument, NULL, OPT_NULL},
	{"slow-threshold-ms", required_argument, NULL, OPT_SLOW},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"help", no_argument, NULL, OPT_HELP},
	{0, 0, 0, 0},
};

void config_usage(FILE *out)
{
	fputs(
	    "Usage:\n"
	    "  leindexd [OPTIONS]                 serve the HTTP API\n"
	    "  leindexd scan [SCAN OPTIONS] DIR   scan DIR once into the store and print a summary\n"
	    "  leindexd health [--listen H:P]     exit 0 when the server at H:P answers /healthz\n"
	    "  leindexd --version | --help\n"
	    "\n"
	    "Server options (environment variable in brackets; flags win):\n"
	    "  --listen HOST:PORT     address to serve on [LEINDEX_LISTEN] (default 127.0.0.1:8080)\n"
	    "  --data-dir DIR         where the LMDB store lives [LEINDEX_DATA_DIR] (default ./data)\n"
	    "  --map-size BYTES       most the store may hold; K, M, G, T suffixes [LEINDEX_MAP_SIZE]\n"
	    "                         (default 64G)\n"
	    "  --max-running N        scans running at once [LEINDEX_MAX_RUNNING] (default 2)\n"
	    "  --max-queued N         scans waiting to run; past it POST /scans answers 429\n"
	    "                         [LEINDEX_MAX_QUEUED] (default 64)\n"
	    "  --allow-root DIR       only scan at or below DIR; repeatable [LEINDEX_ALLOWED_ROOTS,\n"
	    "                         colon-separated] (default: any absolute path)\n"
	    "  --cors-origin ORIGIN   allow browser dashboards from ORIGIN; repeatable\n"
	    "                         [LEINDEX_CORS_ORIGINS, comma-separated] (default: none)\n"
	    "  --log-level LEVEL      debug, info, warn or error [LEINDEX_LOG_LEVEL] (default info)\n"
	    "  --log-format FORMAT    text or json [LEINDEX_LOG_FORMAT] (default text)\n"
	    "\n"
	    "Scan options (leindexd scan; options may come before or after DIR):\n"
	    "  --data-dir DIR         store to use [LEINDEX_DATA_DIR] (default ./data)\n"
	    "  --workers N            worker threads, 1..256 (default: the CPUs this process may use)\n"
	    "  --no-gitignore         do not read .gitignore files: list everything, like find\n"
	    "  --ignore PATTERN       gitignore pattern applied at the root; repeatable\n"
	    "  --max-depth N          keep entries of depth <= N (0: only DIR's own entries)\n"
	    "  --follow-symlinks      follow links to directories that stay inside DIR\n"
	    "  --one-file-system      do not descend into other file systems\n"
	    "  --hash                 record the SHA-256 of every regular file\n"
	    "  --slow-threshold-ms N  log and count directories slower than N ms (default 100)\n"
	    "  --json                 print the summary and counters as one JSON object\n"
	    "  --list                 print every stored path relative to DIR, depth-first\n"
	    "  --null                 with --list, end each path with NUL instead of newline\n",
	    out);
}

/* Parses a decimal count in [min, max]. */
static int config_uint(const char *flag, const char *s, unsigned long long min,
		       unsigned long long max, unsigned long long *out, struct errbuf *err)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return errbuf_set(err, -EINVAL, "%s: expected a whole number from %llu to %llu, got '%s'",
			  flag, min, max, s ? s : "");
}

/* Parses a byte count with an optional K, M, G or T (powers of 1024) suffix. */
static int config_bytes(const char *flag, const char *s, uint64_t *out, struct errbuf *err)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? 1 : 0;
	if (*end == 'B')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)) || v == 0)
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	return errbuf_set(err, -EINVAL, "%s: expected a size in bytes such as 1073741824 or 64G, got '%s'",
			  flag, s ? s : "");
}

/* Appends to a growable array of strings owned by the config. */
static int config_push(const char ***arr, size_t *n, const char *s, struct errbuf *err)
{
	const char **bigger = realloc((void *)*arr, (*n + 1) * sizeof(**arr));
	if (!bigger)
		return errbuf_errno(err, ENOMEM, "parsing the options");
	bigger[(*n)++] = s;
	*arr = bigger;
	return 0;
}

/* Splits an environment list on `sep` into strings kept in the config (never freed early). */
static int config_split_env(struct config *cfg, const char *value, char sep, const char ***arr,
			    size_t *n, struct errbuf *err)
{
	char *copy = strdup(value);
	if (!copy || config_push(&cfg->owned, &cfg->owned_count, copy, err) < 0) {
		free(copy);
		return errbuf_errno(err, ENOMEM, "parsing the environment");
	}
	for (char *p = copy, *next; p; p = next) {
		next = strchr(p, sep);
		if (next)
			*next++ = '\0';
		if (*p && config_push(arr, n, p, err) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int config_from_env(struct config *cfg, struct errbuf *err)
{
	const char *v;
	unsigned long long n = 0;
	if ((v = getenv("LEINDEX_LISTEN")) && *v)
		cfg->listen = v;
	if ((v = getenv("LEINDEX_DATA_DIR")) && *v)
		cfg->data_dir = v;
	if ((v = getenv("LEINDEX_MAP_SIZE")) && *v && config_bytes("LEINDEX_MAP_SIZE", v, &cfg->map_size, err) < 0)
		return -EINVAL;
	if ((v = getenv("LEINDEX_MAX_RUNNING")) && *v) {
		if (config_uint("LEINDEX_MAX_RUNNING", v, 1, 256, &n, err) < 0)
			return -EINVAL;
		cfg->max_running = (unsigned)n;
	}
	if ((v = getenv("LEINDEX_MAX_QUEUED")) && *v) {
		if (config_uint("LEINDEX_MAX_QUEUED", v, 0, 100000, &n, err) < 0)
			return -EINVAL;
		cfg->max_queued = (unsigned)n;
	}
	if ((v = getenv("LEINDEX_ALLOWED_ROOTS")) && *v &&
	    config_split_env(cfg, v, ':', &cfg->allow_roots, &cfg->allow_root_count, err) < 0)
		return -ENOMEM;
	if ((v = getenv("LEINDEX_CORS_ORIGINS")) && *v &&
	    config_split_env(cfg, v, ',', &cfg->cors_origins, &cfg->cors_origin_count, err) < 0)
		return -ENOMEM;
	if ((v = getenv("LEINDEX_LOG_LEVEL")) && *v && log_level_parse(v, &cfg->log_level) < 0)
		return errbuf_set(err, -EINVAL, "LEINDEX_LOG_LEVEL: expected debug, info, warn or error, got '%s'", v);
	if ((v = getenv("LEINDEX_LOG_FORMAT")) && *v && log_format_parse(v, &cfg->log_format) < 0)
		return errbuf_set(err, -EINVAL, "LEINDEX_LOG_FORMAT: expected text or json, got '%s'", v);
	return 0;
}

/* Flags given on the command line replace the environment's lists rather than add to them. */
struct config_seen {
	bool allow_root, cors_origin;
};

static int config_common(struct config *cfg, int opt, const char *arg, struct config_seen *seen,
			 struct errbuf *err)
{
	unsigned long long n = 0;
	switch (opt) {
	case OPT_LISTEN:
		cfg->listen = arg;
		return 0;
	case OPT_DATA_DIR:
		if (!*arg)
			return errbuf_set(err, -EINVAL, "--data-dir: expected a directory, got ''");
		cfg->data_dir = arg;
		return 0;
	case OPT_MAP_SIZE:
		return config_bytes("--map-size", arg, &cfg->map_size, err);
	case OPT_MAX_RUNNING:
		if (config_uint("--max-running", arg, 1, 256, &n, err) < 0)
			return -EINVAL;
		cfg->max_running = (unsigned)n;
		return 0;
	case OPT_MAX_QUEUED:
		if (config_uint("--max-queued", arg, 0, 100000, &n, err) < 0)
			return -EINVAL;
		cfg->max_queued = (unsigned)n;
		return 0;
	case OPT_ALLOW_ROOT:
		if (arg[0] != '/')
			return errbuf_set(err, -EINVAL, "--allow-root: expected an absolute directory, got '%s'", arg);
		if (!seen->allow_root) {
			cfg->allow_root_count = 0;
			seen->allow_root = true;
		}
		return config_push(&cfg->allow_roots, &cfg->allow_root_count, arg, err);
	case OPT_CORS_ORIGIN:
		if (!seen->cors_origin) {
			cfg->cors_origin_count = 0;
			seen->cors_origin = true;
		}
		return config_push(&cfg->cors_origins, &cfg->cors_origin_count, arg, err);
	case OPT_LOG_LEVEL:
		if (log_level_parse(arg, &cfg->log_level) < 0)
			return errbuf_set(err, -EINVAL, "--log-level: expected debug, info, warn or error, got '%s'", arg);
		return 0;
	case OPT_LOG_FORMAT:
		if (log_format_parse(arg, &cfg->log_format) < 0)
			return errbuf_set(err, -EINVAL, "--log-format: expected text or json, got '%s'", arg);
		return 0;
	case OPT_HELP:
		cfg->command = CONFIG_HELP;
		return 0;
	case OPT_VERSION:
		cfg->command = CONFIG_VERSION;
		return 0;
	default:
		return 1; /* not a common option */
	}
}

static int config_scan_opt(struct config *cfg, int opt, const char *arg, struct errbuf *err)
{
	unsigned long long n = 0;
	switch (opt) {
	case OPT_WORKERS:
		if (config_uint("--workers", arg, 1, 256, &n, err) < 0)
			return -EINVAL;
		cfg->scan_workers = (unsigned)n;
		return 0;
	case OPT_NO_GITIGNORE:
		cfg->scan_flags &= ~(unsigned)SCANNER_USE_GITIGNORE;
		return 0;
	case OPT_IGNORE:
		return config_push(&cfg->scan_ignore, &cfg->scan_ignore_count, arg, err);
	case OPT_MAX_DEPTH:
		if (config_uint("--max-depth", arg, 0, INT_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->scan_max_depth = (int)n;
		return 0;
	case OPT_FOLLOW:
		cfg->scan_flags |= SCANNER_FOLLOW_SYMLINKS;
		return 0;
	case OPT_ONE_FS:
		cfg->scan_flags |= SCANNER_ONE_FILE_SYSTEM;
		return 0;
	case OPT_HASH:
		cfg->scan_flags |= SCANNER_HASH;
		return 0;
	case OPT_JSON:
		cfg->scan_cli_flags |= CONFIG_SCAN_JSON;
		return 0;
	case OPT_LIST:
		cfg->scan_cli_flags |= CONFIG_SCAN_LIST;
		return 0;
	case OPT_NULL:
		cfg->scan_cli_flags |= CONFIG_SCAN_NUL | CONFIG_SCAN_LIST;
		return 0;
	case OPT_SLOW:
		if (config_uint("--slow-threshold-ms", arg, 1, 86400000, &n, err) < 0)
			return -EINVAL;
		cfg->slow_threshold_ms = (unsigned)n;
		return 0;
	default:
		return errbuf_set(err, -EINVAL, "unknown option");
	}
}

int config_parse(struct config *cfg, int argc, char **argv, struct errbuf *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = CONFIG_SERVE;
	cfg->listen = "127.0.0.1:8080";
	cfg->data_dir = "./data";
	cfg->max_running = 2;
	cfg->max_queued = 64;
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->scan_max_depth = -1;
	cfg->scan_flags = SCANNER_USE_GITIGNORE;
	cfg->slow_threshold_ms = 100;
	if (config_from_env(cfg, err) < 0)
		return -1;

	const struct option *table = config_serve_opts;
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "scan") == 0) {
		cfg->command = CONFIG_SCAN;
		table = config_scan_opts;
		first = 2;
	} else if (argc > 1 && strcmp(argv[1], "health") == 0) {
		cfg->command = CONFIG_HEALTH;
		first = 2;
	}
	/* getopt_long over argv[first..]: it permutes, so options may follow DIR. */
	int sub_argc = argc - first + 1;
	char **sub_argv = argv + first - 1;
	struct config_seen seen = {false, false};
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(sub_argc, sub_argv, ":", table, NULL)) != -1) {
		if (opt == '?') {
			const char *bad = sub_argv[optind - 1];
			return errbuf_set(err, -EINVAL, "unknown option '%s' (see leindexd --help)", bad);
		}
		if (opt == ':')
			return errbuf_set(err, -EINVAL, "option '%s' needs a value", sub_argv[optind - 1]);
		int rc = config_common(cfg, opt, optarg, &seen, err);
		if (rc == 1)
			rc = config_scan_opt(cfg, opt, optarg, err);
		if (rc < 0)
			return -1;
	}
	int rest = sub_argc - optind;
	if (cfg->command == CONFIG_HELP || cfg->command == CONFIG_VERSION)
		return 0;
	if (cfg->command == CONFIG_SCAN) {
		if (rest != 1)
			return errbuf_set(err, -EINVAL, rest ? "scan takes one directory, got %d arguments"
							    : "scan needs a directory (leindexd scan DIR)%.0d",
					  rest);
		cfg->scan_root = sub_argv[optind];
		return 0;
	}
	if (rest > 0)
		return errbuf_set(err, -EINVAL, "unexpected argument '%s' (see leindexd --help)",
				  sub_argv[optind]);
	return 0;
}

void config_free(struct config *cfg)
{
	free((void *)cfg->allow_roots);
	free((void *)cfg->cors_origins);
	free((void *)cfg->scan_ignore);
	for (size_t i = 0; i < cfg->owned_count; i++)
		free((void *)cfg->owned[i]);
	free((void *)cfg->owned);
	memset(cfg, 0, sizeof(*cfg));
}
