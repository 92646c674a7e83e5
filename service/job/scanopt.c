/* scanopt.c: the table of scan options, and reading, checking and echoing options by a table. */
#include "service/job/scanopt.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/scanopt_impl.h"

/* ---------------------------------------------------------------- the scan options */

static long long scanopt_default_workers(void)
{
	return scanner_default_workers();
}

/*
 * The options of a scan, in the order of --help and of the echo. Adding one: a row here (and a
 * member of struct scanner_opts when it needs one), its property in openapi.yaml's ScanRequest
 * and ScanOptions (tests/contract checks them against this table), and the README's list.
 */
static const struct scanopt_keyword scanopt_views[] = {
	{"all", SCANNER_VIEW_ALL}, {"gitignore", SCANNER_VIEW_GITIGNORE}, {"git", SCANNER_VIEW_GIT},
	{NULL, 0},
};

static bool scanopt_recurse_needs_git(const void *target)
{
	const struct scanner_opts *o = target;
	return !(o->flags & SCANNER_RECURSE_REPOS) || o->view == SCANNER_VIEW_GIT;
}

static bool scanopt_git_follows_no_links(const void *target)
{
	const struct scanner_opts *o = target;
	return !(o->flags & SCANNER_FOLLOW_SYMLINKS) || o->view != SCANNER_VIEW_GIT;
}

static const struct scanopt_keyword scanopt_baseline_words[] = {
	{"latest", SCANNER_BASELINE_LATEST}, {NULL, 0},
};

static const struct scanopt_keyword scanopt_reuses[] = {
	{"hashes", SCANNER_REUSE_HASHES}, {"dirs", SCANNER_REUSE_DIRS}, {NULL, 0},
};

static bool scanopt_reuse_needs_baseline(const void *target)
{
	const struct scanner_opts *o = target;
	return o->reuse == SCANNER_REUSE_UNSET || o->baseline != 0;
}

/* Rules across two options: a 422 naming both when broken. */
static const struct scanopt_rule scanopt_scan_rules[] = {
	{"recurse_repos", "view", scanopt_recurse_needs_git,
	 "recurse_repos applies to the view \"git\" only"},
	{"follow_symlinks", "view", scanopt_git_follows_no_links,
	 "the view \"git\" lists symbolic links as git does, never following them"},
	{"reuse", "baseline", scanopt_reuse_needs_baseline,
	 "reuse takes from a baseline scan: give one (an id or \"latest\")"},
};

static const struct scanopt_def scanopt_scan_defs[] = {
	{.name = "root", .type = SCANOPT_PATH, .flags = SCANOPT_REQUIRED | SCANOPT_NOT_ECHOED,
	 .help = "the absolute path of the directory to scan",
	 .slot = SCANOPT_AT(struct scanner_opts, root)},
	{.name = "workers", .type = SCANOPT_INT, .min = 1, .max = SCANOPT_WORKERS_MAX,
	 .auto_default = scanopt_default_workers,
	 .auto_default_help = "the CPUs this process may use",
	 .help = "worker threads",
	 .cli = {"workers", SCANOPT_CLI_VALUE, "N", "worker threads"},
	 .slot = SCANOPT_AT(struct scanner_opts, workers)},
	{.name = "io_depth", .type = SCANOPT_INT, .min = 0, .max = SCANOPT_IO_DEPTH_MAX,
	 .def = SCANOPT_IO_DEPTH_DEFAULT,
	 .help = "directory reads in flight while they wait on the device (a cold cache): I/O "
		 "threads woken beside the workers only then; 0 for none",
	 .cli = {"io-depth", SCANOPT_CLI_VALUE, "N",
		 "reads in flight on a cold cache: I/O threads woken while reads wait on the "
		 "device (0: none)"},
	 .slot = SCANOPT_AT(struct scanner_opts, io_depth)},
	{.name = "max_depth", .type = SCANOPT_INT, .flags = SCANOPT_NULLABLE, .min = 0, .max = INT_MAX,
	 .null_value = -1,
	 .help = "keep entries at most this deep (children of the root are depth 0); null for no limit",
	 .cli = {"max-depth", SCANOPT_CLI_VALUE, "N",
		 "keep entries of depth <= N (0: only DIR's own entries)"},
	 .slot = SCANOPT_AT(struct scanner_opts, max_depth)},
	{.name = "follow_symlinks", .type = SCANOPT_BOOL, .def = 0,
	 .help = "follow links to directories that resolve inside the root",
	 .cli = {"follow-symlinks", SCANOPT_CLI_TRUE, NULL,
		 "follow links to directories that stay inside DIR"},
	 .slot = SCANOPT_BIT(struct scanner_opts, flags, SCANNER_FOLLOW_SYMLINKS)},
	{.name = "one_file_system", .type = SCANOPT_BOOL, .def = 0,
	 .help = "do not descend into other file systems",
	 .cli = {"one-file-system", SCANOPT_CLI_TRUE, NULL, "do not descend into other file systems"},
	 .slot = SCANOPT_BIT(struct scanner_opts, flags, SCANNER_ONE_FILE_SYSTEM)},
	{.name = "ignore", .type = SCANOPT_STRINGS, .max = SCANOPT_IGNORE_MAX,
	 .max_len = SCANOPT_IGNORE_LEN_MAX, .items = "gitignore patterns",
	 .help = "gitignore patterns applied at the root, with precedence over .gitignore files",
	 .cli = {"ignore", SCANOPT_CLI_APPEND, "PATTERN", "gitignore pattern applied at DIR"},
	 .slot = SCANOPT_LIST(struct scanner_opts, ignore, ignore_count)},
	{.name = "view", .type = SCANOPT_ENUM, .def = SCANNER_VIEW_GITIGNORE,
	 .keywords = scanopt_views,
	 .help = "which entries to keep: all (like find), gitignore (.gitignore files and "
		 "info/exclude applied), git (what git considers the project: tracked files and "
		 "untracked ones not ignored, each with its git status)",
	 .cli = {"view", SCANOPT_CLI_VALUE, "VIEW",
		 "all: every path, like find; gitignore: .gitignore files applied; git: what git "
		 "lists (ls-files -co --exclude-standard)"},
	 .slot = SCANOPT_AT(struct scanner_opts, view)},
	{.name = "use_gitignore", .type = SCANOPT_BOOL,
	 .help = "an alias: false is view \"all\", true a view other than \"all\"",
	 .cli = {"no-gitignore", SCANOPT_CLI_FALSE, NULL,
		 "do not read .gitignore files: list everything, like find (--view all)"},
	 .alias = {.of = "view", .off = SCANNER_VIEW_ALL, .on = SCANNER_VIEW_GITIGNORE}},
	{.name = "recurse_repos", .type = SCANOPT_BOOL, .def = 0,
	 .help = "view git: list submodules and nested repositories under their own index and "
		 "rules instead of one entry each",
	 .cli = {"recurse-repos", SCANOPT_CLI_TRUE, NULL,
		 "--view git: enter submodules and nested repositories"},
	 .slot = SCANOPT_BIT(struct scanner_opts, flags, SCANNER_RECURSE_REPOS)},
	{.name = "hash", .type = SCANOPT_BOOL, .def = 0,
	 .help = "compute the SHA-256 of regular files",
	 .cli = {"hash", SCANOPT_CLI_TRUE, NULL, "record the SHA-256 of every regular file"},
	 .slot = SCANOPT_BIT(struct scanner_opts, flags, SCANNER_HASH)},
	{.name = "slow_threshold_ms", .type = SCANOPT_INT, .min = 1, .max = SCANOPT_SLOW_MS_MAX,
	 .def = SCANOPT_SLOW_MS_DEFAULT,
	 .help = "a directory taking longer (ms) to read is logged and counted as slow",
	 .cli = {"slow-threshold-ms", SCANOPT_CLI_VALUE, "N",
		 "log and count directories slower than N ms"},
	 .slot = SCANOPT_AT(struct scanner_opts, slow_threshold_ms)},
	{.name = "baseline", .type = SCANOPT_INT, .flags = SCANOPT_NULLABLE, .min = 1,
	 .max = INT64_MAX, .null_value = 0, .keywords = scanopt_baseline_words,
	 .help = "a completed scan of the same root to reuse, by id, or \"latest\" (the newest "
		 "completed one, echoed as its id); null for none",
	 .cli = {"baseline", SCANOPT_CLI_VALUE, "ID",
		 "reuse the completed scan ID of the same root (latest: the newest)"},
	 .slot = SCANOPT_AT(struct scanner_opts, baseline)},
	{.name = "reuse", .type = SCANOPT_ENUM, .flags = SCANOPT_NULLABLE,
	 .null_value = SCANNER_REUSE_UNSET,
	 .keywords = scanopt_reuses,
	 .help = "with a baseline: hashes (read and stat everything, copy the SHA-256 of unchanged "
		 "files) or dirs (do not read again directories whose dev, ino, mtime and ctime "
		 "are unchanged)",
	 .cli = {"reuse", SCANOPT_CLI_VALUE, "WHAT",
		 "with --baseline: hashes (copy unchanged files' SHA-256) or dirs (skip unchanged "
		 "directories)"},
	 .slot = SCANOPT_AT(struct scanner_opts, reuse)},
};

static const struct scanopt_table scanopt_scan = {
	.defs = scanopt_scan_defs,
	.count = sizeof(scanopt_scan_defs) / sizeof(scanopt_scan_defs[0]),
	.rules = scanopt_scan_rules,
	.rule_count = sizeof(scanopt_scan_rules) / sizeof(scanopt_scan_rules[0]),
};

const struct scanopt_table *scanopt_scan_table(void)
{
	return &scanopt_scan;
}

/* ---------------------------------------------------------------- rows and slots */

const struct scanopt_def *scanopt_find(const struct scanopt_table *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->defs[i].name, name) == 0)
			return &t->defs[i];
	return NULL;
}

const struct scanopt_keyword *scanopt_keyword_named(const struct scanopt_def *d, const char *name)
{
	for (const struct scanopt_keyword *k = d->keywords; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static const struct scanopt_keyword *scanopt_keyword_valued(const struct scanopt_def *d,
							    long long value)
{
	for (const struct scanopt_keyword *k = d->keywords; k && k->name; k++)
		if (k->value == value)
			return k;
	return NULL;
}

long long scanopt_slot_get(const struct scanopt_slot *s, const void *target)
{
	const char *p = (const char *)target + s->offset;
	switch (s->kind) {
	case SCANOPT_SLOT_UINT: return *(const unsigned *)p;
	case SCANOPT_SLOT_INT: return *(const int *)p;
	case SCANOPT_SLOT_I64: return *(const int64_t *)p;
	case SCANOPT_SLOT_BIT: return (*(const unsigned *)p & s->bit) != 0;
	default: return 0;
	}
}

void scanopt_slot_set(const struct scanopt_slot *s, void *target, long long v)
{
	char *p = (char *)target + s->offset;
	switch (s->kind) {
	case SCANOPT_SLOT_UINT: *(unsigned *)p = (unsigned)v; break;
	case SCANOPT_SLOT_INT: *(int *)p = (int)v; break;
	case SCANOPT_SLOT_I64: *(int64_t *)p = (int64_t)v; break;
	case SCANOPT_SLOT_BIT:
		if (v)
			*(unsigned *)p |= s->bit;
		else
			*(unsigned *)p &= ~s->bit;
		break;
	default: break;
	}
}

/* The default of a row that is not REQUIRED, as the number it lands as. */
static long long scanopt_default(const struct scanopt_def *d)
{
	if (d->flags & SCANOPT_NULLABLE)
		return d->null_value;
	if (!d->auto_default)
		return d->def;
	long long v = d->auto_default();
	return v < d->min ? d->min : v > d->max ? d->max : v;
}

/* Whether scanopt_read() from `src` reads row `d`: the command line reads rows with a flag. */
static bool scanopt_in_scope(const struct scanopt_def *d, enum scanopt_source src)
{
	return src == SCANOPT_FROM_JSON || d->cli.kind != SCANOPT_CLI_NONE;
}

/* ---------------------------------------------------------------- words for messages */

const char *scanopt_json_what(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

void scanopt_clip(const char *s, size_t len, char *buf, size_t cap)
{
	if (len < cap) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		return;
	}
	size_t n = cap - 4; /* room for "..." */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* cut before a UTF-8 continuation byte, never inside a character */
	memcpy(buf, s, n);
	memcpy(buf + n, "...", 4);
}

void scanopt_keywords_text(const struct scanopt_def *d, const char *quote, char *buf, size_t cap)
{
	size_t used = 0, n = 0;
	buf[0] = '\0';
	for (const struct scanopt_keyword *k = d->keywords; k && k->name; k++)
		n++;
	size_t i = 0;
	for (const struct scanopt_keyword *k = d->keywords; k && k->name; k++, i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + used, cap - used, "%s%s%s%s", sep, quote, k->name, quote);
		if (w < 0 || (size_t)w >= cap - used)
			return;
		used += (size_t)w;
	}
}

/* What a row's value must be: "an integer from 1 to 256", "true or false"... */
static void scanopt_expect(const struct scanopt_def *d, char *buf, size_t cap)
{
	char kw[256];
	scanopt_keywords_text(d, "\"", kw, sizeof(kw));
	const char *null = d->flags & SCANOPT_NULLABLE ? "null or " : "";
	switch (d->type) {
	case SCANOPT_BOOL:
		snprintf(buf, cap, "%strue or false", null);
		break;
	case SCANOPT_INT:
		snprintf(buf, cap, "%san integer from %lld to %lld%s%s", null, d->min, d->max,
			 d->keywords ? " or " : "", kw);
		break;
	case SCANOPT_ENUM:
		snprintf(buf, cap, "%s%s", null, kw);
		break;
	case SCANOPT_STRINGS:
		snprintf(buf, cap, "%san array of %s (strings)", null, d->items ? d->items : "strings");
		break;
	case SCANOPT_PATH:
		snprintf(buf, cap, "%san absolute path (a string starting with '/')", null);
		break;
	}
}

/* "field 'workers'" or "--workers". */
void scanopt_subject(const struct scanopt_def *d, enum scanopt_source src, char *buf, size_t cap)
{
	if (src == SCANOPT_FROM_CLI && d->cli.flag)
		snprintf(buf, cap, "--%s", d->cli.flag);
	else
		snprintf(buf, cap, "field '%s'", d->name);
}

/* ---------------------------------------------------------------- checking one field */

static int scanopt_check_int(const struct scanopt_def *d, const json_t *v, const char *who,
			     struct errbuf *err)
{
	long long x = json_integer_value(v);
	if (x < d->min || x > d->max)
		return errbuf_set(err, SCANOPT_EINVALID, "%s must be from %lld to %lld, got %lld", who,
				  d->min, d->max, x);
	return 0;
}

static int scanopt_check_strings(const struct scanopt_def *d, const json_t *v, const char *who,
				 struct errbuf *err)
{
	const char *items = d->items ? d->items : "strings";
	if (json_array_size(v) > (size_t)d->max)
		return errbuf_set(err, SCANOPT_EINVALID, "%s holds %zu %s; at most %lld are allowed",
				  who, json_array_size(v), items, d->max);
	size_t i;
	json_t *s;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return errbuf_set(err, SCANOPT_EINVALID, "%s item %zu must be a string, got %s",
					  who, i, scanopt_json_what(s));
		size_t len = json_string_length(s);
		if (len != strlen(json_string_value(s)))
			return errbuf_set(err, SCANOPT_EINVALID, "%s item %zu holds a NUL", who, i);
		if (len > d->max_len)
			return errbuf_set(err, SCANOPT_EINVALID,
					  "%s item %zu is %zu bytes long; at most %zu are allowed", who, i,
					  len, d->max_len);
	}
	return 0;
}

static int scanopt_check_path(const json_t *v, const char *who, struct errbuf *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char shown[208];
	scanopt_clip(s, len, shown, sizeof(shown));
	if (s[0] != '/')
		return errbuf_set(err, SCANOPT_EINVALID,
				  "%s must be an absolute path (starting with '/'), got '%s'", who, shown);
	if (len != strlen(s))
		return errbuf_set(err, SCANOPT_EINVALID, "%s holds a NUL", who);
	if (len >= PATH_MAX)
		return errbuf_set(err, SCANOPT_EINVALID, "%s is %zu bytes long; at most %d are allowed",
				  who, len, PATH_MAX - 1);
	return 0;
}

/* Checks the given value `v` of row `d`: 0 or SCANOPT_EINVALID. */
static int scanopt_check(const struct scanopt_def *d, const json_t *v, enum scanopt_source src,
			 struct errbuf *err)
{
	char who[96];
	scanopt_subject(d, src, who, sizeof(who));
	if (json_is_null(v) && (d->flags & SCANOPT_NULLABLE))
		return 0;
	char expect[320];
	scanopt_expect(d, expect, sizeof(expect));
	switch (d->type) {
	case SCANOPT_BOOL:
		if (json_is_boolean(v))
			return 0;
		break;
	case SCANOPT_INT:
		if (json_is_integer(v))
			return scanopt_check_int(d, v, who, err);
		__attribute__((fallthrough)); /* a string must be one of the keywords */
	case SCANOPT_ENUM:
		if (!json_is_string(v) || !d->keywords)
			break;
		if (scanopt_keyword_named(d, json_string_value(v)))
			return 0;
		char shown[72];
		scanopt_clip(json_string_value(v), json_string_length(v), shown, sizeof(shown));
		return errbuf_set(err, SCANOPT_EINVALID, "%s must be %s, got \"%s\"", who, expect, shown);
	case SCANOPT_STRINGS:
		if (json_is_array(v))
			return scanopt_check_strings(d, v, who, err);
		break;
	case SCANOPT_PATH:
		if (json_is_string(v))
			return scanopt_check_path(v, who, err);
		break;
	}
	return errbuf_set(err, SCANOPT_EINVALID, "%s must be %s, got %s", who, expect,
			  scanopt_json_what(v));
}

/* ---------------------------------------------------------------- landing */

static int scanopt_land_strings(const struct scanopt_def *d, const json_t *v, void *target)
{
	char *base = target;
	size_t n = v ? json_array_size(v) : 0;
	const char **arr = NULL;
	if (n) {
		arr = calloc(n, sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			arr[i] = json_string_value(json_array_get(v, i));
	}
	memcpy(base + d->slot.offset, &arr, sizeof(arr));
	memcpy(base + d->slot.count_offset, &n, sizeof(n));
	return 0;
}

/* The number a valid given value lands as. */
static long long scanopt_value(const struct scanopt_def *d, const json_t *v)
{
	if (json_is_null(v))
		return d->null_value;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v);
	const struct scanopt_keyword *k = scanopt_keyword_named(d, json_string_value(v));
	return k ? k->value : 0;
}

/* Lands row `d` from `v`, its checked value, or its default when `v` is NULL. */
static int scanopt_land(const struct scanopt_def *d, const json_t *v, void *target)
{
	switch (d->slot.kind) {
	case SCANOPT_SLOT_NONE:
		return 0;
	case SCANOPT_SLOT_STR: {
		const char *s = v && json_is_string(v) ? json_string_value(v) : NULL;
		memcpy((char *)target + d->slot.offset, &s, sizeof(s));
		return 0;
	}
	case SCANOPT_SLOT_STRV:
		return scanopt_land_strings(d, v && json_is_array(v) ? v : NULL, target);
	default:
		scanopt_slot_set(&d->slot, target, v ? scanopt_value(d, v) : scanopt_default(d));
		return 0;
	}
}

void scanopt_release(const struct scanopt_table *t, void *target)
{
	char *base = target;
	for (size_t i = 0; i < t->count; i++) {
		const struct scanopt_slot *s = &t->defs[i].slot;
		if (s->kind != SCANOPT_SLOT_STRV)
			continue;
		void *arr;
		memcpy(&arr, base + s->offset, sizeof(arr));
		free(arr);
		arr = NULL;
		size_t zero = 0;
		memcpy(base + s->offset, &arr, sizeof(arr));
		memcpy(base + s->count_offset, &zero, sizeof(zero));
	}
}

/* ---------------------------------------------------------------- echo */

json_t *scanopt_echo_row(const struct scanopt_table *t, const struct scanopt_def *d,
			 const void *target)
{
	if (d->alias.of) {
		const struct scanopt_def *of = scanopt_find(t, d->alias.of);
		return of ? json_boolean(scanopt_slot_get(&of->slot, target) != d->alias.off) : NULL;
	}
	const char *base = target;
	if (d->slot.kind == SCANOPT_SLOT_STR) {
		const char *s;
		memcpy(&s, base + d->slot.offset, sizeof(s));
		return s ? json_string(s) : json_null();
	}
	if (d->slot.kind == SCANOPT_SLOT_STRV) {
		const char *const *arr;
		size_t n;
		memcpy(&arr, base + d->slot.offset, sizeof(arr));
		memcpy(&n, base + d->slot.count_offset, sizeof(n));
		json_t *a = json_array();
		for (size_t i = 0; a && i < n; i++) {
			if (json_array_append_new(a, json_string(arr[i])) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	long long x = scanopt_slot_get(&d->slot, target);
	if (d->type == SCANOPT_BOOL)
		return json_boolean(x);
	if ((d->flags & SCANOPT_NULLABLE) && x == d->null_value)
		return json_null();
	const struct scanopt_keyword *k = scanopt_keyword_valued(d, x);
	if (k && (d->type == SCANOPT_ENUM || x < d->min || x > d->max))
		return json_string(k->name);
	return json_integer(x);
}

json_t *scanopt_echo(const struct scanopt_table *t, const void *target)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < t->count; i++) {
		const struct scanopt_def *d = &t->defs[i];
		if (d->flags & SCANOPT_NOT_ECHOED)
			continue;
		if (json_object_set_new(o, d->name, scanopt_echo_row(t, d, target)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---------------------------------------------------------------- rules across fields */

/* One side of a conflict: "'view' ("git")", "'hash' (false, the default)" or "--view git". */
static void scanopt_side(const struct scanopt_table *t, const struct scanopt_def *d, json_t *obj,
			 enum scanopt_source src, const void *target, char *buf, size_t cap)
{
	/* The value given, else the one that landed (the default). */
	json_t *given = json_object_get(obj, d->name);
	json_t *now = given ? json_incref(given) : scanopt_echo_row(t, d, target);
	char *text = NULL;
	if (now && src == SCANOPT_FROM_CLI && json_is_string(now))
		text = strdup(json_string_value(now)); /* as typed: --view git */
	else if (now)
		text = json_dumps(now, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(now);
	char shown[72];
	scanopt_clip(text ? text : "?", text ? strlen(text) : 1, shown, sizeof(shown));
	free(text);
	if (src == SCANOPT_FROM_JSON)
		snprintf(buf, cap, "'%s' (%s%s)", d->name, shown, given ? "" : ", the default");
	else if (!given)
		snprintf(buf, cap, "the default of --%s (%s)", d->cli.flag, shown);
	else if (d->cli.kind == SCANOPT_CLI_TRUE || d->cli.kind == SCANOPT_CLI_FALSE)
		snprintf(buf, cap, "--%s", d->cli.flag);
	else
		snprintf(buf, cap, "--%s %s", d->cli.flag, shown);
}

/* The 422 naming both fields. */
static int scanopt_conflict(const struct scanopt_table *t, const struct scanopt_def *a,
			    const struct scanopt_def *b, json_t *obj, enum scanopt_source src,
			    const void *target, const char *why, struct errbuf *err)
{
	char sa[128], sb[128];
	scanopt_side(t, a, obj, src, target, sa, sizeof(sa));
	scanopt_side(t, b, obj, src, target, sb, sizeof(sb));
	return errbuf_set(err, SCANOPT_ECONFLICT, "%s%s and %s contradict each other: %s",
			  src == SCANOPT_FROM_JSON ? "fields " : "", sa, sb, why);
}

/* Lands a given alias into the option it aliases, or finds the two disagree. */
static int scanopt_alias_apply(const struct scanopt_table *t, const struct scanopt_def *d,
			       json_t *obj, enum scanopt_source src, void *target,
			       struct errbuf *err)
{
	const struct scanopt_def *of = scanopt_find(t, d->alias.of);
	if (!of)
		return errbuf_set(err, -EINVAL, "option table: '%s' aliases '%s', which is no option",
				  d->name, d->alias.of);
	json_t *v = json_object_get(obj, d->name);
	if (!v)
		return 0;
	bool on = json_is_true(v);
	if (!json_object_get(obj, of->name)) {
		scanopt_slot_set(&of->slot, target, on ? d->alias.on : d->alias.off);
		return 0;
	}
	if ((scanopt_slot_get(&of->slot, target) != d->alias.off) == on)
		return 0;
	const struct scanopt_keyword *off = scanopt_keyword_valued(of, d->alias.off);
	char offs[80], why[256];
	snprintf(offs, sizeof(offs), "\"%s\"", off ? off->name : "?");
	if (src == SCANOPT_FROM_JSON)
		snprintf(why, sizeof(why), "'%s' %s means '%s' %s%s", d->name, on ? "true" : "false",
			 of->name, on ? "other than " : "", offs);
	else
		snprintf(why, sizeof(why), "--%s means %s %s%s", d->cli.flag, of->name,
			 on ? "other than " : "", offs);
	return scanopt_conflict(t, of, d, obj, src, target, why, err);
}

static int scanopt_rule_check(const struct scanopt_table *t, const struct scanopt_rule *r,
			      json_t *obj, enum scanopt_source src, const void *target,
			      struct errbuf *err)
{
	const struct scanopt_def *a = scanopt_find(t, r->a), *b = scanopt_find(t, r->b);
	if (!a || !b)
		return errbuf_set(err, -EINVAL, "option table: a rule names '%s' and '%s', not both options",
				  r->a, r->b);
	if (!scanopt_in_scope(a, src) || !scanopt_in_scope(b, src))
		return 0;
	if (!json_object_get(obj, a->name) && !json_object_get(obj, b->name))
		return 0;
	if (r->holds(target))
		return 0;
	return scanopt_conflict(t, a, b, obj, src, target, r->why, err);
}

/* ---------------------------------------------------------------- reading a whole object */

/* A member of `obj` no row knows: 400 listing the fields. */
static int scanopt_unknown(const struct scanopt_table *t, json_t *obj, struct errbuf *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (scanopt_find(t, key))
			continue;
		char names[512] = "", shown[72];
		size_t used = 0;
		for (size_t i = 0; i < t->count && used < sizeof(names); i++) {
			int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
					 t->defs[i].name);
			used += w > 0 ? (size_t)w : 0;
		}
		scanopt_clip(key, strlen(key), shown, sizeof(shown));
		return errbuf_set(err, SCANOPT_EINVALID, "unknown field '%s'; the fields are %s", shown,
				  names);
	}
	return 0;
}

/* Every field in scope: unknown, missing or invalid is SCANOPT_EINVALID. */
static int scanopt_check_all(const struct scanopt_table *t, json_t *obj, enum scanopt_source src,
			     struct errbuf *err)
{
	if (src == SCANOPT_FROM_JSON && scanopt_unknown(t, obj, err) < 0)
		return SCANOPT_EINVALID;
	for (size_t i = 0; i < t->count; i++) {
		const struct scanopt_def *d = &t->defs[i];
		if (!scanopt_in_scope(d, src))
			continue;
		const json_t *v = json_object_get(obj, d->name);
		if (!v && (d->flags & SCANOPT_REQUIRED)) {
			char who[96];
			scanopt_subject(d, src, who, sizeof(who));
			return errbuf_set(err, SCANOPT_EINVALID, "%s is required: %s", who, d->help);
		}
		if (v && scanopt_check(d, v, src, err) < 0)
			return SCANOPT_EINVALID;
	}
	return 0;
}

int scanopt_read(const struct scanopt_table *t, json_t *obj, enum scanopt_source src,
		 void *target, struct errbuf *err)
{
	int rc = scanopt_check_all(t, obj, src, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->count; i++) {
		const struct scanopt_def *d = &t->defs[i];
		if (scanopt_in_scope(d, src) &&
		    scanopt_land(d, json_object_get(obj, d->name), target) < 0) {
			scanopt_release(t, target);
			return errbuf_errno(err, ENOMEM, "reading the option '%s'", d->name);
		}
	}
	for (size_t i = 0; rc == 0 && i < t->count; i++)
		if (t->defs[i].alias.of && scanopt_in_scope(&t->defs[i], src))
			rc = scanopt_alias_apply(t, &t->defs[i], obj, src, target, err);
	for (size_t i = 0; rc == 0 && i < t->rule_count; i++)
		rc = scanopt_rule_check(t, &t->rules[i], obj, src, target, err);
	if (rc < 0)
		scanopt_release(t, target);
	return rc;
}


/* ---------------------------------------------------------------- the table as JSON */

static const char *const scanopt_type_names[] = {
	[SCANOPT_BOOL] = "boolean", [SCANOPT_INT] = "integer", [SCANOPT_ENUM] = "enum",
	[SCANOPT_STRINGS] = "strings", [SCANOPT_PATH] = "path",
};

/* The default as JSON (absent for REQUIRED rows and run-time defaults). */
static json_t *scanopt_describe_default(const struct scanopt_table *t, const struct scanopt_def *d)
{
	if (d->alias.of) {
		const struct scanopt_def *of = scanopt_find(t, d->alias.of);
		return of ? json_boolean(scanopt_default(of) != d->alias.off) : NULL;
	}
	if ((d->flags & SCANOPT_NULLABLE))
		return json_null();
	const struct scanopt_keyword *k = scanopt_keyword_valued(d, d->def);
	switch (d->type) {
	case SCANOPT_BOOL: return json_boolean(d->def);
	case SCANOPT_STRINGS: return json_array();
	case SCANOPT_ENUM: return k ? json_string(k->name) : NULL;
	case SCANOPT_INT:
		if (k && (d->def < d->min || d->def > d->max))
			return json_string(k->name);
		return json_integer(d->def);
	default: return NULL;
	}
}

static json_t *scanopt_describe_row(const struct scanopt_table *t, const struct scanopt_def *d)
{
	json_t *o = json_pack("{ss ss sb sb sb}", "name", d->name, "type", scanopt_type_names[d->type],
			      "required", (d->flags & SCANOPT_REQUIRED) != 0,
			      "nullable", (d->flags & SCANOPT_NULLABLE) != 0,
			      "echoed", !(d->flags & SCANOPT_NOT_ECHOED));
	int bad = !o || json_object_set_new(o, "help", json_string(d->help ? d->help : "")) < 0;
	if (!bad && d->type == SCANOPT_INT)
		bad = json_object_set_new(o, "minimum", json_integer(d->min)) < 0 ||
		      json_object_set_new(o, "maximum", json_integer(d->max)) < 0;
	if (!bad && d->type == SCANOPT_STRINGS)
		bad = json_object_set_new(o, "max_items", json_integer(d->max)) < 0 ||
		      json_object_set_new(o, "max_length", json_integer((json_int_t)d->max_len)) < 0;
	if (!bad && d->type == SCANOPT_PATH)
		bad = json_object_set_new(o, "max_length", json_integer(PATH_MAX - 1)) < 0;
	if (!bad && d->keywords) {
		json_t *kw = json_array();
		for (const struct scanopt_keyword *k = d->keywords; kw && k->name; k++)
			if (json_array_append_new(kw, json_string(k->name)) < 0)
				bad = 1;
		bad |= json_object_set_new(o, "keywords", kw) < 0;
	}
	if (!bad && !(d->flags & SCANOPT_REQUIRED) && !d->auto_default)
		bad = json_object_set_new(o, "default", scanopt_describe_default(t, d)) < 0;
	if (!bad && d->auto_default)
		bad = json_object_set_new(o, "auto_default", json_string(d->auto_default_help)) < 0;
	if (!bad && d->alias.of)
		bad = json_object_set_new(o, "alias_of", json_string(d->alias.of)) < 0;
	if (!bad && d->cli.flag)
		bad = json_object_set_new(o, "flag", json_sprintf("--%s", d->cli.flag)) < 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *scanopt_describe(const struct scanopt_table *t)
{
	json_t *opts = json_array(), *rules = json_array();
	for (size_t i = 0; opts && i < t->count; i++)
		if (json_array_append_new(opts, scanopt_describe_row(t, &t->defs[i])) < 0) {
			json_decref(opts);
			opts = NULL;
		}
	for (size_t i = 0; rules && i < t->rule_count; i++) {
		const struct scanopt_rule *r = &t->rules[i];
		if (json_array_append_new(rules, json_pack("{ss ss ss}", "a", r->a, "b", r->b,
							   "why", r->why)) < 0) {
			json_decref(rules);
			rules = NULL;
		}
	}
	if (!opts || !rules) {
		json_decref(opts);
		json_decref(rules);
		return NULL;
	}
	return json_pack("{so so}", "options", opts, "rules", rules);
}
