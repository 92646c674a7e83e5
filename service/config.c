/* config.c: flags and LEINDEX_* environment variables into struct config. */
#include "service/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/server.h"
#include "service/cli_commands.h"
#include "service/job/job.h"
#include "service/job/scanopt.h"
#include "service/scan/scanner.h"

/* --max-running and --max-queued: the most each may be. */
#define CONFIG_MAX_RUNNING_MAX 256
#define CONFIG_MAX_QUEUED_MAX 100000
/* --keep-scans: the most it may be. */
#define CONFIG_KEEP_SCANS_MAX 1000000

enum config_opt {
	OPT_LISTEN = 1000, OPT_DATA_DIR, OPT_MAP_SIZE, OPT_MAX_RUNNING, OPT_MAX_QUEUED,
	OPT_ALLOW_ROOT, OPT_CORS_ORIGIN, OPT_LOG_LEVEL, OPT_LOG_FORMAT, OPT_HELP, OPT_VERSION,
	OPT_JSON, OPT_LIST, OPT_NULL, OPT_TOKEN_FILE, OPT_METRICS_AUTH, OPT_INSECURE_NO_AUTH,
	OPT_MAX_CONNS, OPT_MAX_CONNS_CLIENT, OPT_REQUEST_TIMEOUT, OPT_ID, OPT_SCOPE, OPT_SKIPPED,
	OPT_NO_STORE, OPT_KEEP_SCANS,
	/* Row i of the table of scan options (service/job/scanopt.c) is OPT_SCANOPT + i. */
	OPT_SCANOPT = 2000,
};

static const struct option config_serve_opts[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"max-running", required_argument, NULL, OPT_MAX_RUNNING},
	{"max-queued", required_argument, NULL, OPT_MAX_QUEUED},
	{"keep-scans", required_argument, NULL, OPT_KEEP_SCANS},
	{"allow-root", required_argument, NULL, OPT_ALLOW_ROOT},
	{"cors-origin", required_argument, NULL, OPT_CORS_ORIGIN},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	{"metrics-auth", no_argument, NULL, OPT_METRICS_AUTH},
	{"insecure-no-auth", no_argument, NULL, OPT_INSECURE_NO_AUTH},
	{"max-connections", required_argument, NULL, OPT_MAX_CONNS},
	{"max-connections-per-client", required_argument, NULL, OPT_MAX_CONNS_CLIENT},
	{"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{0, 0, 0, 0},
};

/* The flags of `leindexd scan` besides the scan options, which come from their table. */
static const struct option config_token_opts[] = {
	{"id", required_argument, NULL, OPT_ID},
	{"scope", required_argument, NULL, OPT_SCOPE},
	{"help", no_argument, NULL, OPT_HELP},
	{0, 0, 0, 0},
};

static const struct option config_scan_cli_opts[] = {
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"map-size", required_argument, NULL, OPT_MAP_SIZE},
	{"json", no_argument, NULL, OPT_JSON},
	{"list", no_argument, NULL, OPT_LIST},
	{"null", no_argument, NULL, OPT_NULL},
	{"skipped", no_argument, NULL, OPT_SKIPPED},
	{"no-store", no_argument, NULL, OPT_NO_STORE},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"help", no_argument, NULL, OPT_HELP},
};

void config_usage(FILE *out)
{
	fputs(
	    "Usage:\n"
	    "  leindexd [OPTIONS]                 serve the HTTP API\n"
	    "  leindexd scan [SCAN OPTIONS] DIR   scan DIR once into the store and print a summary\n"
	    "  leindexd health [--listen H:P]     exit 0 when the server at H:P answers /healthz\n"
	    "  leindexd token new --id NAME --scope read|write\n"
	    "                                     print a new API token and its line for --token-file\n",
	    out);
	/* The commands on stored scans, from their table (cli_commands.c). */
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (strlen(c->synopsis) > 24)
			fprintf(out, "  leindexd %s\n%37s%s\n", c->synopsis, "", c->summary);
		else
			fprintf(out, "  leindexd %-25s %s\n", c->synopsis, c->summary);
	}
	fputs("  leindexd entries ID [FILTERS] [--json|--ndjson|--null|--count]\n"
	      "                                     the entries of scan ID (leindexd entries --help)\n"
	      "  leindexd top ID --by size|mtime [--limit N]\n"
	      "                                     the largest or newest files of scan ID\n"
	      "  leindexd diff A B [--json|--ndjson] what changed from scan A to scan B\n",
	      out);
	fputs(
	    "  leindexd --version | --help       (-h works too, and after any command)\n"
	    "\n"
	    "Every command finds its data directory the same way: --data-dir DIR, else\n"
	    "LEINDEX_DATA_DIR, else $XDG_STATE_HOME/leindexd, else ~/.local/state/leindexd.\n"
	    "\n"
	    "Server options (environment variable in brackets; flags win):\n"
	    "  --listen HOST:PORT     address to serve on [LEINDEX_LISTEN] (default 127.0.0.1:8080)\n"
	    "  --data-dir DIR         where the LMDB store lives [LEINDEX_DATA_DIR] (default\n"
	    "                         $XDG_STATE_HOME/leindexd, else ~/.local/state/leindexd)\n"
	    "  --map-size BYTES       most the store may hold; K, M, G, T suffixes [LEINDEX_MAP_SIZE]\n"
	    "                         (default 64G)\n",
	    out);
	fprintf(out,
		"  --max-running N        scans running at once, 1..%d [LEINDEX_MAX_RUNNING] (default %d)\n"
		"  --max-queued N         scans waiting to run, 0..%d; past it POST /scans answers 429\n"
		"                         [LEINDEX_MAX_QUEUED] (default 64)\n"
		"  --keep-scans N         completed scans kept per root, 1..%d: older ones are deleted\n"
		"                         (never a kept scan's baseline) (default: all)\n",
		CONFIG_MAX_RUNNING_MAX, JOBQ_MAX_RUNNING_DEFAULT, CONFIG_MAX_QUEUED_MAX,
		CONFIG_KEEP_SCANS_MAX);
	fputs(
	    "  --allow-root DIR       only scan at or below DIR; repeatable [LEINDEX_ALLOWED_ROOTS,\n"
	    "                         colon-separated] (default: any absolute path)\n"
	    "  --cors-origin ORIGIN   allow browser dashboards from ORIGIN; repeatable\n"
	    "                         [LEINDEX_CORS_ORIGINS, comma-separated] (default: none)\n"
	    "  --log-level LEVEL      debug, info, warn or error [LEINDEX_LOG_LEVEL] (default info)\n"
	    "  --log-format FORMAT    text or json [LEINDEX_LOG_FORMAT] (default text)\n"
	    "  --token-file FILE      bearer tokens, one `ID read|write sha256:HEX` a line; SIGHUP\n"
	    "                         re-reads it [LEINDEX_TOKEN_FILE] (default: none; then only a\n"
	    "                         loopback --listen is allowed)\n"
	    "  --metrics-auth         /metrics needs a read token too [LEINDEX_METRICS_AUTH=1]\n"
	    "  --insecure-no-auth     serve a non-loopback address without tokens\n",
	    out);
	fprintf(out,
		"  --max-connections N    open connections, all clients together, 1..%d\n"
		"                         [LEINDEX_MAX_CONNECTIONS] (default %d)\n"
		"  --max-connections-per-client N\n"
		"                         open connections from one IP address, 1..%d\n"
		"                         [LEINDEX_MAX_CONNECTIONS_PER_CLIENT] (default %d)\n"
		"  --request-timeout S    seconds to receive a whole request, headers and body, 1..%d\n"
		"                         [LEINDEX_REQUEST_TIMEOUT] (default %d)\n",
		CONFIG_MAX_CONNECTIONS_MAX, API_MAX_CONNECTIONS_DEFAULT, CONFIG_MAX_CONNECTIONS_MAX,
		API_MAX_CONNECTIONS_PER_CLIENT_DEFAULT, CONFIG_REQUEST_TIMEOUT_MAX,
		API_REQUEST_TIMEOUT_DEFAULT_S);
	fputs("\n", out);
	config_scan_usage(out);
}

void config_scan_usage(FILE *out)
{
	fputs(
	    "Usage: leindexd scan [SCAN OPTIONS] DIR   (options may come before or after DIR)\n"
	    "  --data-dir DIR         store to use [LEINDEX_DATA_DIR] (default\n"
	    "                         $XDG_STATE_HOME/leindexd, else ~/.local/state/leindexd)\n"
	    "  --map-size BYTES       most the store may hold; K, M, G, T suffixes [LEINDEX_MAP_SIZE]\n",
	    out);
	/* The options of the scan itself, from the table POST /scans reads too. */
	scanopt_cli_usage(scanopt_scan_table(), out);
	fputs(
	    "  --json                 print the scan as GET /scans/{id} answers it (with its stats)\n"
	    "  --list                 print every stored path relative to DIR, depth-first\n"
	    "  --null                 with --list, end each path with NUL instead of newline\n"
	    "  --skipped              print each path a rule skipped, depth-first, with the rule:\n"
	    "                         SOURCE:LINE:PATTERN<TAB>PATH, as git check-ignore -v does\n"
	    "  --no-store             scan into a temporary store and keep nothing\n"
	    "  --log-level LEVEL      debug, info, warn or error [LEINDEX_LOG_LEVEL] (default info)\n"
	    "  --log-format FORMAT    text or json [LEINDEX_LOG_FORMAT] (default text)\n"
	    "  -h, --help             this help\n",
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

/* An unsigned setting from the environment, when set and not empty. */
static int config_env_uint(const char *name, unsigned long long min, unsigned long long max,
			   unsigned *out, struct errbuf *err)
{
	const char *v = getenv(name);
	unsigned long long n = 0;
	if (!v || !*v)
		return 0;
	if (config_uint(name, v, min, max, &n, err) < 0)
		return -EINVAL;
	*out = (unsigned)n;
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
		if (config_uint("LEINDEX_MAX_RUNNING", v, 1, CONFIG_MAX_RUNNING_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->max_running = (unsigned)n;
	}
	if ((v = getenv("LEINDEX_MAX_QUEUED")) && *v) {
		if (config_uint("LEINDEX_MAX_QUEUED", v, 0, CONFIG_MAX_QUEUED_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->max_queued = (unsigned)n;
	}
	if ((v = getenv("LEINDEX_ALLOWED_ROOTS"))) {
		if (config_split_env(cfg, v, ':', &cfg->allow_roots, &cfg->allow_root_count, err) < 0)
			return -ENOMEM;
		/* Set but naming nothing must not mean "anything": that is how a typo opens /. */
		if (cfg->allow_root_count == 0)
			return errbuf_set(err, -EINVAL, "LEINDEX_ALLOWED_ROOTS is set to '%s', which names no "
					  "directory: list absolute directories separated by ':', or unset it "
					  "to allow any root", v);
	}
	if ((v = getenv("LEINDEX_TOKEN_FILE")) && *v)
		cfg->token_file = v;
	if ((v = getenv("LEINDEX_METRICS_AUTH")) && *v)
		cfg->metrics_auth = strcmp(v, "0") != 0;
	if (config_env_uint("LEINDEX_MAX_CONNECTIONS", 1, CONFIG_MAX_CONNECTIONS_MAX,
			    &cfg->max_connections, err) < 0 ||
	    config_env_uint("LEINDEX_MAX_CONNECTIONS_PER_CLIENT", 1, CONFIG_MAX_CONNECTIONS_MAX,
			    &cfg->max_connections_per_client, err) < 0 ||
	    config_env_uint("LEINDEX_REQUEST_TIMEOUT", 1, CONFIG_REQUEST_TIMEOUT_MAX,
			    &cfg->request_timeout_s, err) < 0)
		return -EINVAL;
	if ((v = getenv("LEINDEX_CORS_ORIGINS")) && *v &&
	    config_split_env(cfg, v, ',', &cfg->cors_origins, &cfg->cors_origin_count, err) < 0)
		return -ENOMEM;
	if ((v = getenv("LEINDEX_LOG_LEVEL")) && *v && log_level_parse(v, &cfg->log_level) < 0)
		return errbuf_set(err, -EINVAL, "LEINDEX_LOG_LEVEL: expected debug, info, warn or error, got '%s'", v);
	if ((v = getenv("LEINDEX_LOG_FORMAT")) && *v && log_format_parse(v, &cfg->log_format) < 0)
		return errbuf_set(err, -EINVAL, "LEINDEX_LOG_FORMAT: expected text or json, got '%s'", v);
	return 0;
}

/* --max-connections, --max-connections-per-client, --request-timeout. */
static int config_limit(struct config *cfg, int opt, const char *arg, struct errbuf *err)
{
	unsigned long long n = 0;
	const char *flag = opt == OPT_MAX_CONNS ? "--max-connections"
			   : opt == OPT_MAX_CONNS_CLIENT ? "--max-connections-per-client"
							 : "--request-timeout";
	unsigned max = opt == OPT_REQUEST_TIMEOUT ? CONFIG_REQUEST_TIMEOUT_MAX : CONFIG_MAX_CONNECTIONS_MAX;
	if (config_uint(flag, arg, 1, max, &n, err) < 0)
		return -EINVAL;
	unsigned *to = opt == OPT_MAX_CONNS ? &cfg->max_connections
		       : opt == OPT_MAX_CONNS_CLIENT ? &cfg->max_connections_per_client
						     : &cfg->request_timeout_s;
	*to = (unsigned)n;
	return 0;
}

/* Flags given on the command line replace the environment's lists rather than add to them. */
struct config_seen {
	bool allow_root, cors_origin;
};

/* --max-running, --max-queued, --keep-scans: the job manager's numbers. */
static int config_jobs(struct config *cfg, int opt, const char *arg, struct errbuf *err)
{
	unsigned long long n = 0;
	if (opt == OPT_MAX_RUNNING) {
		if (config_uint("--max-running", arg, 1, CONFIG_MAX_RUNNING_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->max_running = (unsigned)n;
	} else if (opt == OPT_MAX_QUEUED) {
		if (config_uint("--max-queued", arg, 0, CONFIG_MAX_QUEUED_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->max_queued = (unsigned)n;
	} else {
		if (config_uint("--keep-scans", arg, 1, CONFIG_KEEP_SCANS_MAX, &n, err) < 0)
			return -EINVAL;
		cfg->keep_scans = (unsigned)n;
	}
	return 0;
}

/* --allow-root, --cors-origin: repeatable; the first on the command line drops the
 * environment's list. */
static int config_list(struct config *cfg, int opt, const char *arg, struct config_seen *seen,
		       struct errbuf *err)
{
	if (opt == OPT_ALLOW_ROOT) {
		if (arg[0] != '/')
			return errbuf_set(err, -EINVAL, "--allow-root: expected an absolute directory, got '%s'", arg);
		if (!seen->allow_root) {
			cfg->allow_root_count = 0;
			seen->allow_root = true;
		}
		return config_push(&cfg->allow_roots, &cfg->allow_root_count, arg, err);
	}
	if (!seen->cors_origin) {
		cfg->cors_origin_count = 0;
		seen->cors_origin = true;
	}
	return config_push(&cfg->cors_origins, &cfg->cors_origin_count, arg, err);
}

static int config_common(struct config *cfg, int opt, const char *arg, struct config_seen *seen,
			 struct errbuf *err)
{
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
	case OPT_MAX_QUEUED:
	case OPT_KEEP_SCANS:
		return config_jobs(cfg, opt, arg, err);
	case OPT_ALLOW_ROOT:
	case OPT_CORS_ORIGIN:
		return config_list(cfg, opt, arg, seen, err);
	case OPT_LOG_LEVEL:
		if (log_level_parse(arg, &cfg->log_level) < 0)
			return errbuf_set(err, -EINVAL, "--log-level: expected debug, info, warn or error, got '%s'", arg);
		return 0;
	case OPT_LOG_FORMAT:
		if (log_format_parse(arg, &cfg->log_format) < 0)
			return errbuf_set(err, -EINVAL, "--log-format: expected text or json, got '%s'", arg);
		return 0;
	case OPT_TOKEN_FILE:
		if (!*arg)
			return errbuf_set(err, -EINVAL, "--token-file: expected a file, got ''");
		cfg->token_file = arg;
		return 0;
	case OPT_METRICS_AUTH:
		cfg->metrics_auth = true;
		return 0;
	case OPT_INSECURE_NO_AUTH:
		cfg->insecure_no_auth = true;
		return 0;
	case OPT_MAX_CONNS:
	case OPT_MAX_CONNS_CLIENT:
	case OPT_REQUEST_TIMEOUT:
		return config_limit(cfg, opt, arg, err);
	case OPT_ID:
		cfg->token_id = arg;
		return 0;
	case OPT_SCOPE:
		cfg->token_scope = arg;
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

/* A flag only `leindexd scan` has: --json, --list, --null, or a scan option (to cfg->scan_given). */
static int config_scan_opt(struct config *cfg, int opt, const char *arg, struct errbuf *err)
{
	switch (opt) {
	case OPT_JSON:
		cfg->scan_cli_flags |= CONFIG_SCAN_JSON;
		return 0;
	case OPT_LIST:
		cfg->scan_cli_flags |= CONFIG_SCAN_LIST;
		return 0;
	case OPT_NULL:
		cfg->scan_cli_flags |= CONFIG_SCAN_NUL;
		return 0;
	case OPT_NO_STORE:
		cfg->scan_cli_flags |= CONFIG_SCAN_NO_STORE;
		return 0;
	case OPT_SKIPPED:
		cfg->scan_cli_flags |= CONFIG_SCAN_SKIPPED;
		return 0;
	default:
		if (opt < OPT_SCANOPT || !cfg->scan_given)
			return errbuf_set(err, -EINVAL, "unknown option");
		return scanopt_cli_arg(scanopt_scan_table(), (size_t)(opt - OPT_SCANOPT), arg,
				       cfg->scan_given, err);
	}
}

/* The getopt_long() table of `leindexd scan`: its own flags and the table's. Caller frees. */
static int config_scan_longopts(struct option **out, struct errbuf *err)
{
	const struct scanopt_table *t = scanopt_scan_table();
	size_t fixed = sizeof(config_scan_cli_opts) / sizeof(config_scan_cli_opts[0]);
	size_t n = scanopt_cli_longopts(t, NULL, 0, OPT_SCANOPT);
	struct option *o = calloc(fixed + n + 1, sizeof(*o)); /* the last entry stays zero */
	if (!o)
		return errbuf_errno(err, ENOMEM, "parsing the options");
	memcpy(o, config_scan_cli_opts, sizeof(config_scan_cli_opts));
	scanopt_cli_longopts(t, o + fixed, n, OPT_SCANOPT);
	*out = o;
	return 0;
}

/* Runs getopt_long() over argv[1..argc) with `table`: options may come before or after DIR. */
static int config_getopt(struct config *cfg, int argc, char **argv, const struct option *table,
			 int *rest, struct errbuf *err)
{
	struct config_seen seen = {false, false};
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
		if (opt == 'h')
			opt = OPT_HELP;
		if (opt == '?')
			return errbuf_set(err, -EINVAL, "unknown option '%s' (see leindexd --help)",
					  argv[optind - 1]);
		if (opt == ':')
			return errbuf_set(err, -EINVAL, "option '%s' needs a value", argv[optind - 1]);
		int rc = config_common(cfg, opt, optarg, &seen, err);
		if (rc == 1)
			rc = config_scan_opt(cfg, opt, optarg, err);
		if (rc < 0)
			return -1;
	}
	*rest = optind;
	return 0;
}

/* `leindexd scan [OPTIONS] DIR`: the flags into cfg->scan through the table of scan options. */
static int config_parse_scan(struct config *cfg, int argc, char **argv, struct errbuf *err)
{
	struct option *table = NULL;
	cfg->scan_given = json_object();
	if (!cfg->scan_given)
		return errbuf_errno(err, ENOMEM, "parsing the options");
	if (config_scan_longopts(&table, err) < 0)
		return -1;
	int first;
	int rc = config_getopt(cfg, argc, argv, table, &first, err);
	free(table);
	if (cfg->command == CONFIG_HELP)
		cfg->help_of = CONFIG_SCAN;
	if (rc < 0 || cfg->command == CONFIG_HELP)
		return rc;
	unsigned f = cfg->scan_cli_flags;
	if ((f & CONFIG_SCAN_LIST) && (f & CONFIG_SCAN_JSON))
		return errbuf_set(err, -EINVAL, "--list and --json do not go together: --list prints "
				  "paths, --json the scan (see leindexd scan --help)");
	if ((f & CONFIG_SCAN_NUL) && !(f & CONFIG_SCAN_LIST))
		return errbuf_set(err, -EINVAL, "--null ends the paths of --list; give --list too");
	int rest = argc - first;
	if (rest != 1)
		return errbuf_set(err, -EINVAL, rest ? "scan takes one directory, got %d arguments"
						    : "scan needs a directory (leindexd scan DIR)%.0d",
				  rest);
	cfg->scan_root = argv[first];
	/* Defaults, and checks across options; the strings stay in cfg->scan_given. */
	if (scanopt_read(scanopt_scan_table(), cfg->scan_given, SCANOPT_FROM_CLI, &cfg->scan, err) < 0)
		return -1;
	cfg->scan.root = cfg->scan_root;
	return 0;
}

int config_data_dir(const char *given, char *buf, size_t cap, struct errbuf *err)
{
	if (given) {
		if (snprintf(buf, cap, "%s", given) >= (int)cap)
			return errbuf_set(err, -ENAMETOOLONG, "--data-dir: '%.64s...' is too long", given);
		return 0;
	}
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;
	/* The XDG specification: a relative XDG_STATE_HOME is invalid and is ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/leindexd", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, cap, "%s/.local/state/leindexd", home);
	else
		return errbuf_set(err, -ENOENT, "no data directory: give --data-dir DIR (or set "
				  "LEINDEX_DATA_DIR); neither XDG_STATE_HOME nor HOME names one");
	if (n < 0 || (size_t)n >= cap)
		return errbuf_set(err, -ENAMETOOLONG, "the default data directory is too long; "
				  "give --data-dir DIR");
	return 1;
}

int config_data_dir_parents(const char *dir, struct errbuf *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return errbuf_set(err, -ENAMETOOLONG, "the data directory is too long; give --data-dir DIR");
	/* Each parent in turn, the directory itself left to the store. */
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			return errbuf_set(err, -e, "creating %s for the data directory %s: %s; give "
					  "--data-dir DIR", path, dir, strerror(e));
		}
		*p = '/';
	}
	return 0;
}

/* Resolves cfg->data_dir (config_data_dir()) into a string the config owns. */
static int config_resolve_dir(struct config *cfg, struct errbuf *err)
{
	char buf[PATH_MAX];
	int rc = config_data_dir(cfg->data_dir, buf, sizeof(buf), err);
	if (rc < 0)
		return -1;
	cfg->data_dir_default = rc == 1;
	char *copy = strdup(buf);
	if (!copy || config_push(&cfg->owned, &cfg->owned_count, copy, err) < 0) {
		free(copy);
		return errbuf_errno(err, ENOMEM, "parsing the options");
	}
	cfg->data_dir = copy;
	return 0;
}

/* `leindexd token new --id NAME --scope read|write`. */
static int config_parse_token(struct config *cfg, int argc, char **argv, struct errbuf *err)
{
	cfg->command = CONFIG_TOKEN;
	int rest;
	if (config_getopt(cfg, argc, argv, config_token_opts, &rest, err) < 0)
		return -1;
	if (cfg->command == CONFIG_HELP)
		return 0;
	if (rest != argc - 1 || strcmp(argv[rest], "new") != 0)
		return errbuf_set(err, -EINVAL, "usage: leindexd token new --id NAME --scope read|write");
	if (!cfg->token_id || !cfg->token_scope)
		return errbuf_set(err, -EINVAL, "token new needs --id NAME and --scope read|write");
	return 0;
}

int config_parse(struct config *cfg, int argc, char **argv, struct errbuf *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = CONFIG_SERVE;
	cfg->listen = "127.0.0.1:8080";
	cfg->max_running = JOBQ_MAX_RUNNING_DEFAULT;
	cfg->max_queued = 64;
	cfg->max_connections = API_MAX_CONNECTIONS_DEFAULT;
	cfg->max_connections_per_client = API_MAX_CONNECTIONS_PER_CLIENT_DEFAULT;
	cfg->request_timeout_s = API_REQUEST_TIMEOUT_DEFAULT_S;
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
	if (config_from_env(cfg, err) < 0)
		return -1;

	/* getopt_long over argv[first..]: it permutes, so options may follow DIR. */
	int first = 1;
	const struct cli_command *cmd = argc > 1 ? cli_command_find(argv[1]) : NULL;
	if (cmd) {
		/* The command reads its own flags (cli_commands.h), the data directory included. */
		cfg->command = CONFIG_COMMAND;
		cfg->cmd = cmd;
		cfg->cmd_argc = argc - 1;
		cfg->cmd_argv = argv + 1;
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "scan") == 0) {
		cfg->command = CONFIG_SCAN;
		if (config_parse_scan(cfg, argc - 1, argv + 1, err) < 0)
			return -1;
		return cfg->command == CONFIG_HELP ? 0 : config_resolve_dir(cfg, err);
	} else if (argc > 1 && strcmp(argv[1], "health") == 0) {
		cfg->command = CONFIG_HEALTH;
		first = 2;
	} else if (argc > 1 && strcmp(argv[1], "token") == 0) {
		return config_parse_token(cfg, argc - 1, argv + 1, err);
	}
	int sub_argc = argc - first + 1;
	char **sub_argv = argv + first - 1;
	int rest;
	if (config_getopt(cfg, sub_argc, sub_argv, config_serve_opts, &rest, err) < 0)
		return -1;
	if (cfg->command == CONFIG_HELP || cfg->command == CONFIG_VERSION)
		return 0;
	if (rest < sub_argc)
		return errbuf_set(err, -EINVAL, "unexpected argument '%s' (see leindexd --help)",
				  sub_argv[rest]);
	return cfg->command == CONFIG_SERVE ? config_resolve_dir(cfg, err) : 0;
}

void config_free(struct config *cfg)
{
	free((void *)cfg->allow_roots);
	free((void *)cfg->cors_origins);
	scanopt_release(scanopt_scan_table(), &cfg->scan);
	json_decref(cfg->scan_given);
	for (size_t i = 0; i < cfg->owned_count; i++)
		free((void *)cfg->owned[i]);
	free((void *)cfg->owned);
	memset(cfg, 0, sizeof(*cfg));
}
