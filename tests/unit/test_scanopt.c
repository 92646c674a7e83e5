/* test_scanopt: the table of scan options, and the machinery the next options need (an
 * enumeration, an integer-or-keyword, nullable values, an alias, a rule across fields) on a
 * test-only table: what a client or a command line gets back, values and messages. */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/scanopt.h"
#include "unit.h"

/* ---------------------------------------------------------------- a test-only table */

enum topt_view { TV_ALL = 0, TV_GITIGNORE, TV_GIT };
#define TF_HASH 1u

struct topts {
	const char *root;
	int view;
	int64_t baseline; /* 0: null (none), -1: "latest" */
	int max_depth;    /* -1: null */
	unsigned flags;   /* TF_HASH */
	unsigned workers;
	const char *const *ignore;
	size_t ignore_count;
};

static const struct scanopt_keyword topt_views[] = {
	{"all", TV_ALL}, {"gitignore", TV_GITIGNORE}, {"git", TV_GIT}, {NULL, 0}};
static const struct scanopt_keyword topt_baselines[] = {{"latest", -1}, {NULL, 0}};

static long long topt_many_cpus(void)
{
	return 100; /* more than the maximum: the default is clamped */
}

static const struct scanopt_def topt_defs[] = {
	{.name = "root", .type = SCANOPT_PATH, .flags = SCANOPT_REQUIRED | SCANOPT_NOT_ECHOED,
	 .help = "the directory", .slot = SCANOPT_AT(struct topts, root)},
	{.name = "view", .type = SCANOPT_ENUM, .def = TV_GITIGNORE, .keywords = topt_views,
	 .help = "which entries to keep", .cli = {"view", SCANOPT_CLI_VALUE, "VIEW", "which entries to keep"},
	 .slot = SCANOPT_AT(struct topts, view)},
	{.name = "use_gitignore", .type = SCANOPT_BOOL, .help = "view other than all",
	 .cli = {"no-gitignore", SCANOPT_CLI_FALSE, NULL, "the view all"},
	 .alias = {.of = "view", .off = TV_ALL, .on = TV_GITIGNORE}},
	{.name = "baseline", .type = SCANOPT_INT, .flags = SCANOPT_NULLABLE, .min = 1,
	 .max = INT64_MAX, .null_value = 0, .keywords = topt_baselines,
	 .help = "the scan to compare with",
	 .cli = {"baseline", SCANOPT_CLI_VALUE, "ID", "the scan to compare with"},
	 .slot = SCANOPT_AT(struct topts, baseline)},
	{.name = "max_depth", .type = SCANOPT_INT, .flags = SCANOPT_NULLABLE, .min = 0,
	 .max = INT_MAX, .null_value = -1, .help = "depth",
	 .slot = SCANOPT_AT(struct topts, max_depth)},
	{.name = "hash", .type = SCANOPT_BOOL, .def = 0, .help = "hash files",
	 .cli = {"hash", SCANOPT_CLI_TRUE, NULL, "hash files"},
	 .slot = SCANOPT_BIT(struct topts, flags, TF_HASH)},
	{.name = "workers", .type = SCANOPT_INT, .min = 1, .max = 8, .auto_default = topt_many_cpus,
	 .auto_default_help = "the CPUs", .help = "threads",
	 .cli = {"workers", SCANOPT_CLI_VALUE, "N", "threads"},
	 .slot = SCANOPT_AT(struct topts, workers)},
	{.name = "ignore", .type = SCANOPT_STRINGS, .max = 2, .max_len = 5, .items = "patterns",
	 .help = "patterns", .cli = {"ignore", SCANOPT_CLI_APPEND, "PAT", "a pattern"},
	 .slot = SCANOPT_LIST(struct topts, ignore, ignore_count)},
};

static bool topt_baseline_needs_hash(const void *target)
{
	const struct topts *o = target;
	return o->baseline == 0 || (o->flags & TF_HASH);
}

static const struct scanopt_rule topt_rules[] = {
	{"baseline", "hash", topt_baseline_needs_hash, "a baseline compares hashes"},
};

static const struct scanopt_table topt_table = {
	.defs = topt_defs, .count = sizeof(topt_defs) / sizeof(topt_defs[0]),
	.rules = topt_rules, .rule_count = 1,
};

/* ---------------------------------------------------------------- helpers */

/* Reads `text` (a JSON object) by `t` into `target`; the message lands in `err`. */
static int t_read(const struct scanopt_table *t, const char *text, void *target, json_t **doc,
		  struct errbuf *err)
{
	errbuf_clear(err);
	json_error_t je;
	*doc = json_loads(text, 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*doc);
	return scanopt_read(t, *doc, SCANOPT_FROM_JSON, target, err);
}

/* Reads `text` by the test table; expects status `want` and, on failure, each of the words. */
static void t_expect(const char *text, int want, const char *w1, const char *w2, const char *w3)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	int rc = t_read(&topt_table, text, &o, &doc, &err);
	CU_ASSERT_EQUAL(rc, want);
	if (rc != want)
		fprintf(stderr, "\n%s: got %d (%s), want %d\n", text, rc, err.msg, want);
	const char *words[] = {w1, w2, w3};
	for (size_t i = 0; i < 3; i++) {
		if (!words[i])
			continue;
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, words[i]));
		if (!strstr(err.msg, words[i]))
			fprintf(stderr, "\n%s: '%s' not in: %s\n", text, words[i], err.msg);
	}
	scanopt_release(&topt_table, &o);
	json_decref(doc);
}

/* The echo of `target` by `t` equals the JSON `want`. */
static void t_echo_is(const struct scanopt_table *t, const void *target, const char *want)
{
	json_t *got = scanopt_echo(t, target);
	json_t *w = json_loads(want, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_TRUE(json_equal(got, w));
	if (!json_equal(got, w)) {
		char *s = json_dumps(got, JSON_COMPACT);
		fprintf(stderr, "\necho %s, want %s\n", s, want);
		free(s);
	}
	json_decref(got);
	json_decref(w);
}

/* ---------------------------------------------------------------- the test table from JSON */

static void test_defaults(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\"}", &o, &doc, &err), 0);
	CU_ASSERT_STRING_EQUAL(o.root, "/r");
	CU_ASSERT_EQUAL(o.view, TV_GITIGNORE);
	CU_ASSERT_EQUAL(o.baseline, 0);
	CU_ASSERT_EQUAL(o.max_depth, -1);
	CU_ASSERT_EQUAL(o.flags, 0);
	CU_ASSERT_EQUAL(o.workers, 8); /* the run-time default, clamped to the maximum */
	CU_ASSERT_EQUAL(o.ignore_count, 0);
	t_echo_is(&topt_table, &o,
		  "{\"view\": \"gitignore\", \"use_gitignore\": true, \"baseline\": null,"
		  " \"max_depth\": null, \"hash\": false, \"workers\": 8, \"ignore\": []}");
	scanopt_release(&topt_table, &o);
	json_decref(doc);
}

static void test_enum(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"view\": \"git\"}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_GIT);
	json_t *e = scanopt_echo(&topt_table, &o);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "view")), "git");
	json_decref(e);
	json_decref(doc);
	t_expect("{\"root\": \"/r\", \"view\": \"svn\"}", SCANOPT_EINVALID,
		 "field 'view' must be \"all\", \"gitignore\" or \"git\"", "got \"svn\"", NULL);
	t_expect("{\"root\": \"/r\", \"view\": 2}", SCANOPT_EINVALID, "field 'view'", "got an integer", NULL);
	t_expect("{\"root\": \"/r\", \"view\": null}", SCANOPT_EINVALID, "field 'view'", "got null", NULL);
}

static void test_int_or_keyword(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"hash\": true, \"baseline\": 7}",
				     &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.baseline, 7);
	t_echo_is(&topt_table, &o,
		  "{\"view\": \"gitignore\", \"use_gitignore\": true, \"baseline\": 7,"
		  " \"max_depth\": null, \"hash\": true, \"workers\": 8, \"ignore\": []}");
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"hash\": true, \"baseline\": \"latest\"}",
				     &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.baseline, -1);
	json_t *e = scanopt_echo(&topt_table, &o);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "baseline")), "latest");
	json_decref(e);
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"baseline\": null}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.baseline, 0);
	json_decref(doc);
	t_expect("{\"root\": \"/r\", \"hash\": true, \"baseline\": \"earliest\"}", SCANOPT_EINVALID,
		 "field 'baseline' must be null or an integer from 1 to", "or \"latest\"", "got \"earliest\"");
	t_expect("{\"root\": \"/r\", \"hash\": true, \"baseline\": 0}", SCANOPT_EINVALID,
		 "field 'baseline' must be from 1 to 9223372036854775807, got 0", NULL, NULL);
	t_expect("{\"root\": \"/r\", \"baseline\": true}", SCANOPT_EINVALID, "field 'baseline'",
		 "got a boolean", NULL);
	t_expect("{\"root\": \"/r\", \"baseline\": 1.5}", SCANOPT_EINVALID, "field 'baseline'",
		 "got a number with a fraction", NULL);
}

static void test_nullable(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"max_depth\": 3}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.max_depth, 3);
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"max_depth\": null}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.max_depth, -1);
	json_t *e = scanopt_echo(&topt_table, &o);
	CU_ASSERT_TRUE(json_is_null(json_object_get(e, "max_depth")));
	json_decref(e);
	json_decref(doc);
	t_expect("{\"root\": \"/r\", \"max_depth\": -1}", SCANOPT_EINVALID,
		 "field 'max_depth' must be from 0 to 2147483647, got -1", NULL, NULL);
	t_expect("{\"root\": \"/r\", \"max_depth\": \"3\"}", SCANOPT_EINVALID,
		 "field 'max_depth' must be null or an integer from 0 to 2147483647", "got a string", NULL);
}

static void test_alias(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"use_gitignore\": false}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_ALL);
	t_echo_is(&topt_table, &o,
		  "{\"view\": \"all\", \"use_gitignore\": false, \"baseline\": null,"
		  " \"max_depth\": null, \"hash\": false, \"workers\": 8, \"ignore\": []}");
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"use_gitignore\": true}", &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_GITIGNORE);
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"view\": \"git\", \"use_gitignore\": true}",
				     &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_GIT);
	json_t *e = scanopt_echo(&topt_table, &o);
	CU_ASSERT_TRUE(json_is_true(json_object_get(e, "use_gitignore")));
	json_decref(e);
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"view\": \"all\", \"use_gitignore\": false}",
				     &o, &doc, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_ALL);
	json_decref(doc);
	/* Contradictions are a 422 naming both fields, each with its value. */
	t_expect("{\"root\": \"/r\", \"view\": \"git\", \"use_gitignore\": false}", SCANOPT_ECONFLICT,
		 "fields 'view' (\"git\") and 'use_gitignore' (false) contradict each other",
		 "'use_gitignore' false means 'view' \"all\"", NULL);
	t_expect("{\"root\": \"/r\", \"use_gitignore\": true, \"view\": \"all\"}", SCANOPT_ECONFLICT,
		 "'view' (\"all\")", "'use_gitignore' (true)", "other than \"all\"");
	/* A type error in the alias is the client's 400, before any contradiction. */
	t_expect("{\"root\": \"/r\", \"view\": \"git\", \"use_gitignore\": \"no\"}", SCANOPT_EINVALID,
		 "field 'use_gitignore' must be true or false, got a string", NULL, NULL);
}

static void test_rule(void)
{
	t_expect("{\"root\": \"/r\", \"baseline\": 7}", SCANOPT_ECONFLICT,
		 "fields 'baseline' (7) and 'hash' (false, the default) contradict each other",
		 "a baseline compares hashes", NULL);
	t_expect("{\"root\": \"/r\", \"baseline\": \"latest\", \"hash\": false}", SCANOPT_ECONFLICT,
		 "'baseline' (\"latest\")", "'hash' (false)", NULL);
	t_expect("{\"root\": \"/r\", \"baseline\": 7, \"hash\": true}", 0, NULL, NULL, NULL);
	t_expect("{\"root\": \"/r\", \"hash\": false}", 0, NULL, NULL, NULL);
}

static void test_names_and_root(void)
{
	t_expect("{\"root\": \"/r\", \"bogus\": 1}", SCANOPT_EINVALID, "unknown field 'bogus'",
		 "the fields are root, view, use_gitignore, baseline, max_depth, hash, workers, ignore",
		 NULL);
	t_expect("{}", SCANOPT_EINVALID, "field 'root' is required: the directory", NULL, NULL);
	t_expect("{\"root\": \"rel/dir\"}", SCANOPT_EINVALID,
		 "field 'root' must be an absolute path (starting with '/'), got 'rel/dir'", NULL, NULL);
	t_expect("{\"root\": 5}", SCANOPT_EINVALID, "field 'root' must be an absolute path",
		 "got an integer", NULL);
	/* A long name is cut with "..." between characters: the message stays valid UTF-8. */
	char body[400] = "{\"root\": \"/r\", \"";
	for (int i = 0; i < 100; i++)
		strcat(body, "\xc3\xa9"); /* é */
	strcat(body, "\": 1}");
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL(t_read(&topt_table, body, &o, &doc, &err), SCANOPT_EINVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "...'; the fields are"));
	json_t *valid = json_string(err.msg);
	CU_ASSERT_PTR_NOT_NULL(valid);
	json_decref(valid);
	json_decref(doc);
	/* A root of PATH_MAX bytes is one too many. */
	char *big = malloc(PATH_MAX + 32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	strcpy(big, "{\"root\": \"/");
	size_t at = strlen(big);
	memset(big + at, 'a', PATH_MAX - 1);
	strcpy(big + at + PATH_MAX - 1, "\"}");
	t_expect(big, SCANOPT_EINVALID, "field 'root' is 4096 bytes long; at most 4095 are allowed", NULL, NULL);
	free(big);
	/* Unknown names come first, even when other fields are also wrong. */
	t_expect("{\"workers\": 0, \"zzz\": 1}", SCANOPT_EINVALID, "unknown field 'zzz'", NULL, NULL);
}

static void test_strings(void)
{
	struct topts o = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(&topt_table, "{\"root\": \"/r\", \"ignore\": [\"*.o\", \"b/\"]}",
				     &o, &doc, &err), 0);
	CU_ASSERT_EQUAL_FATAL(o.ignore_count, 2);
	CU_ASSERT_STRING_EQUAL(o.ignore[0], "*.o");
	CU_ASSERT_STRING_EQUAL(o.ignore[1], "b/");
	scanopt_release(&topt_table, &o);
	CU_ASSERT_PTR_NULL(o.ignore);
	CU_ASSERT_EQUAL(o.ignore_count, 0);
	json_decref(doc);
	t_expect("{\"root\": \"/r\", \"ignore\": [\"a\", \"b\", \"c\"]}", SCANOPT_EINVALID,
		 "field 'ignore' holds 3 patterns; at most 2 are allowed", NULL, NULL);
	t_expect("{\"root\": \"/r\", \"ignore\": [\"a\", \"abcdef\"]}", SCANOPT_EINVALID,
		 "field 'ignore' item 1 is 6 bytes long; at most 5 are allowed", NULL, NULL);
	t_expect("{\"root\": \"/r\", \"ignore\": [1]}", SCANOPT_EINVALID,
		 "field 'ignore' item 0 must be a string, got an integer", NULL, NULL);
	t_expect("{\"root\": \"/r\", \"ignore\": \"*.o\"}", SCANOPT_EINVALID,
		 "field 'ignore' must be an array of patterns (strings), got a string", NULL, NULL);
	/* A failure after the list was allocated leaves nothing allocated (ASan checks the leak). */
	t_expect("{\"root\": \"/r\", \"ignore\": [\"a\"], \"baseline\": 3}", SCANOPT_ECONFLICT,
		 "'baseline'", NULL, NULL);
}

/* ---------------------------------------------------------------- the command line */

/* Runs getopt_long() with the table's flags over argv, as config.c does; then reads. */
static int t_cli(const char *const *args, struct topts *o, json_t **given, struct errbuf *err)
{
	struct option opts[16] = {{0}};
	size_t n = scanopt_cli_longopts(&topt_table, opts, 15, 1000);
	CU_ASSERT_EQUAL_FATAL(n, 6); /* every row but root and max_depth */
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)"prog";
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	*given = json_object();
	errbuf_clear(err);
	optind = 1;
	opterr = 0;
	int opt, rc = 0;
	while (rc == 0 && (opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		CU_ASSERT_TRUE_FATAL(opt >= 1000);
		rc = scanopt_cli_arg(&topt_table, (size_t)(opt - 1000), optarg, *given, err);
	}
	if (rc == 0)
		rc = scanopt_read(&topt_table, *given, SCANOPT_FROM_CLI, o, err);
	return rc;
}

static void t_cli_expect(const char *const *args, int want, const char *w1, const char *w2)
{
	struct topts o = {0};
	json_t *given;
	struct errbuf err;
	int rc = t_cli(args, &o, &given, &err);
	CU_ASSERT_EQUAL(rc, want);
	if (w1)
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, w1));
	if (w2)
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, w2));
	if (rc != want || (w1 && !strstr(err.msg, w1)) || (w2 && !strstr(err.msg, w2)))
		fprintf(stderr, "\n%s...: got %d: %s\n", args[0], rc, err.msg);
	scanopt_release(&topt_table, &o);
	json_decref(given);
}

static void test_cli(void)
{
	struct topts o = {0};
	json_t *given;
	struct errbuf err;
	const char *const a1[] = {"--view", "git", "--baseline", "latest", "--hash", "--ignore", "x",
				  "--ignore", "y", "--workers", "3", NULL};
	CU_ASSERT_EQUAL_FATAL(t_cli(a1, &o, &given, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_GIT);
	CU_ASSERT_EQUAL(o.baseline, -1);
	CU_ASSERT_EQUAL(o.flags, TF_HASH);
	CU_ASSERT_EQUAL(o.workers, 3);
	CU_ASSERT_EQUAL(o.max_depth, 0); /* no flag: the command line leaves it alone */
	CU_ASSERT_PTR_NULL(o.root);      /* the root is DIR, not a flag */
	CU_ASSERT_EQUAL_FATAL(o.ignore_count, 2);
	CU_ASSERT_STRING_EQUAL(o.ignore[1], "y");
	scanopt_release(&topt_table, &o);
	json_decref(given);

	const char *const a2[] = {"--no-gitignore", NULL};
	CU_ASSERT_EQUAL_FATAL(t_cli(a2, &o, &given, &err), 0);
	CU_ASSERT_EQUAL(o.view, TV_ALL);
	CU_ASSERT_EQUAL(o.workers, 8);
	json_decref(given);

	const char *const c1[] = {"--view", "git", "--no-gitignore", NULL};
	t_cli_expect(c1, SCANOPT_ECONFLICT, "--view git and --no-gitignore contradict each other",
		     "--no-gitignore means view \"all\"");
	const char *const c2[] = {"--baseline", "4", NULL};
	t_cli_expect(c2, SCANOPT_ECONFLICT, "--baseline 4 and the default of --hash (false)", NULL);
	const char *const b1[] = {"--workers", "0", NULL};
	t_cli_expect(b1, SCANOPT_EINVALID, "--workers: expected a whole number from 1 to 8, got '0'", NULL);
	const char *const b2[] = {"--workers", "3x", NULL};
	t_cli_expect(b2, SCANOPT_EINVALID, "--workers: expected a whole number", "got '3x'");
	const char *const b3[] = {"--baseline", "earliest", NULL};
	t_cli_expect(b3, SCANOPT_EINVALID, "or latest, got 'earliest'", NULL);
	const char *const b4[] = {"--view", "svn", NULL};
	t_cli_expect(b4, SCANOPT_EINVALID, "--view: expected all, gitignore or git, got 'svn'", NULL);
	const char *const b5[] = {"--ignore", "a", "--ignore", "b", "--ignore", "c", NULL};
	t_cli_expect(b5, SCANOPT_EINVALID, "--ignore: at most 2 patterns are allowed", NULL);
	const char *const b6[] = {"--ignore", "abcdef", NULL};
	t_cli_expect(b6, SCANOPT_EINVALID, "--ignore: a value is at most 5 bytes, got 6", NULL);
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	scanopt_cli_usage(&topt_table, f);
	fclose(f);
	const char *want[] = {
		"  --view VIEW            which entries to keep: all, gitignore or git (default gitignore)\n",
		"  --no-gitignore         the view all\n",
		"  --baseline ID          the scan to compare with\n",
		"  --workers N            threads, 1..8 (default: the CPUs)\n",
		"  --ignore PAT           a pattern; repeatable, up to 2 of at most 5 bytes\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want[i]));
		if (!strstr(text, want[i]))
			fprintf(stderr, "\nmissing: %s in:\n%s", want[i], text);
	}
	CU_ASSERT_PTR_NULL(strstr(text, "max-depth")); /* no flag, no line */
	free(text);
}

/* ---------------------------------------------------------------- the real table */

static void test_scan_table(void)
{
	const struct scanopt_table *t = scanopt_scan_table();
	struct scanner_opts so = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(t, "{\"root\": \"/x\"}", &so, &doc, &err), 0);
	CU_ASSERT_STRING_EQUAL(so.root, "/x");
	CU_ASSERT_TRUE(so.workers >= 1 && so.workers <= SCANOPT_WORKERS_MAX);
	CU_ASSERT_EQUAL(so.max_depth, -1);
	CU_ASSERT_EQUAL(so.flags, 0);
	CU_ASSERT_EQUAL(so.view, SCANNER_VIEW_GITIGNORE);
	CU_ASSERT_EQUAL(so.slow_threshold_ms, 100);
	CU_ASSERT_EQUAL(so.io_depth, SCANNER_IO_DEPTH_DEFAULT);
	CU_ASSERT_EQUAL(so.ignore_count, 0);
	json_decref(doc);

	/* Every option, then its echo read back gives the same options (the record's round trip). */
	const char *all = "{\"root\": \"/x\", \"workers\": 3, \"io_depth\": 0, \"max_depth\": 2, \"follow_symlinks\": true,"
			  " \"one_file_system\": true, \"ignore\": [\"*.o\"], \"view\": \"all\","
			  " \"use_gitignore\": false, \"recurse_repos\": false, \"hash\": true,"
			  " \"slow_threshold_ms\": 86400000, \"baseline\": 7, \"reuse\": \"dirs\"}";
	CU_ASSERT_EQUAL_FATAL(t_read(t, all, &so, &doc, &err), 0);
	CU_ASSERT_EQUAL(so.flags, SCANNER_FOLLOW_SYMLINKS | SCANNER_ONE_FILE_SYSTEM | SCANNER_HASH);
	json_t *echo = scanopt_echo(t, &so);
	json_object_del(doc, "root");
	CU_ASSERT_TRUE(json_equal(echo, doc));
	json_object_set_new(echo, "root", json_string("/x"));
	struct scanner_opts again = {0};
	CU_ASSERT_EQUAL(scanopt_read(t, echo, SCANOPT_FROM_JSON, &again, &err), 0);
	CU_ASSERT_EQUAL(again.workers, 3);
	CU_ASSERT_EQUAL(again.io_depth, 0);
	CU_ASSERT_EQUAL(again.flags, so.flags);
	CU_ASSERT_EQUAL(again.slow_threshold_ms, SCANOPT_SLOW_MS_MAX);
	CU_ASSERT_EQUAL(again.baseline, 7);
	CU_ASSERT_EQUAL(again.reuse, SCANNER_REUSE_DIRS);
	scanopt_release(t, &again);
	scanopt_release(t, &so);
	json_decref(echo);
	json_decref(doc);

	struct { const char *body, *want; } bad[] = {
		{"{\"root\": \"/x\", \"workers\": 257}", "field 'workers' must be from 1 to 256, got 257"},
		{"{\"root\": \"/x\", \"workers\": \"2\"}", "field 'workers' must be an integer from 1 to 256, got a string"},
		{"{\"root\": \"/x\", \"io_depth\": 257}", "field 'io_depth' must be from 0 to 256, got 257"},
		{"{\"root\": \"/x\", \"io_depth\": -1}", "field 'io_depth' must be from 0 to 256, got -1"},
		{"{\"root\": \"/x\", \"slow_threshold_ms\": 86400001}", "field 'slow_threshold_ms' must be from 1 to 86400000, got 86400001"},
		{"{\"root\": \"/x\", \"hash\": 0}", "field 'hash' must be true or false, got an integer"},
		{"{\"root\": \"/x\", \"ignore\": \"*.o\"}", "field 'ignore' must be an array of gitignore patterns (strings), got a string"},
		{"{\"root\": \"/x\", \"bogus\": 1}", "unknown field 'bogus'; the fields are root, workers, io_depth, max_depth, follow_symlinks, one_file_system, ignore, view, use_gitignore, recurse_repos, hash, slow_threshold_ms, baseline, reuse"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(t_read(t, bad[i].body, &so, &doc, &err), SCANOPT_EINVALID);
		CU_ASSERT_STRING_EQUAL(err.msg, bad[i].want);
		json_decref(doc);
	}
}

/* The view of the real table: the alias use_gitignore, and its rules across fields. */
static void test_scan_view(void)
{
	const struct scanopt_table *t = scanopt_scan_table();
	struct scanner_opts so = {0};
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(t, "{\"root\": \"/x\", \"view\": \"git\", \"use_gitignore\": true,"
				     " \"recurse_repos\": true}", &so, &doc, &err), 0);
	CU_ASSERT_EQUAL(so.view, SCANNER_VIEW_GIT);
	CU_ASSERT_EQUAL(so.flags, SCANNER_RECURSE_REPOS);
	json_t *e = scanopt_echo(t, &so);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "view")), "git");
	CU_ASSERT_TRUE(json_is_true(json_object_get(e, "use_gitignore")));
	CU_ASSERT_TRUE(json_is_true(json_object_get(e, "recurse_repos")));
	json_decref(e);
	json_decref(doc);
	scanopt_release(t, &so);
	CU_ASSERT_EQUAL_FATAL(t_read(t, "{\"root\": \"/x\", \"use_gitignore\": false}", &so, &doc, &err), 0);
	CU_ASSERT_EQUAL(so.view, SCANNER_VIEW_ALL);
	json_decref(doc);
	scanopt_release(t, &so);
	struct { const char *body, *want; } bad[] = {
		{"{\"root\": \"/x\", \"view\": \"git\", \"use_gitignore\": false}",
		 "fields 'view' (\"git\") and 'use_gitignore' (false) contradict each other: "
		 "'use_gitignore' false means 'view' \"all\""},
		{"{\"root\": \"/x\", \"recurse_repos\": true}",
		 "fields 'recurse_repos' (true) and 'view' (\"gitignore\", the default) contradict each "
		 "other: recurse_repos applies to the view \"git\" only"},
		{"{\"root\": \"/x\", \"view\": \"git\", \"follow_symlinks\": true}",
		 "fields 'follow_symlinks' (true) and 'view' (\"git\") contradict each other: the view "
		 "\"git\" lists symbolic links as git does, never following them"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(t_read(t, bad[i].body, &so, &doc, &err), SCANOPT_ECONFLICT);
		CU_ASSERT_STRING_EQUAL(err.msg, bad[i].want);
		if (strcmp(err.msg, bad[i].want) != 0)
			fprintf(stderr, "\ngot:  %s\nwant: %s\n", err.msg, bad[i].want);
		json_decref(doc);
	}
}

/* baseline: an id or "latest", null by default; reuse needs a baseline (422). */
static void test_baseline_reuse(void)
{
	const struct scanopt_table *t = scanopt_scan_table();
	struct scanner_opts so;
	struct errbuf err;
	json_t *doc;
	CU_ASSERT_EQUAL_FATAL(t_read(t, "{\"root\": \"/x\"}", &so, &doc, &err), 0);
	CU_ASSERT_EQUAL(so.baseline, 0);
	CU_ASSERT_EQUAL(so.reuse, SCANNER_REUSE_UNSET);
	json_t *echo = scanopt_echo(t, &so);
	CU_ASSERT_TRUE(json_is_null(json_object_get(echo, "baseline")));
	CU_ASSERT_TRUE(json_is_null(json_object_get(echo, "reuse")));
	/* The echo reads back as it is (the fuzzer's property: an echo posted again is taken). */
	struct scanner_opts so2;
	json_t *again = json_deep_copy(echo);
	json_object_set_new(again, "root", json_string("/x"));
	CU_ASSERT_EQUAL(scanopt_read(t, again, SCANOPT_FROM_JSON, &so2, &err), 0);
	scanopt_release(t, &so2);
	json_decref(again);
	json_decref(echo);
	scanopt_release(t, &so);
	json_decref(doc);
	CU_ASSERT_EQUAL_FATAL(t_read(t, "{\"root\": \"/x\", \"baseline\": \"latest\"}", &so, &doc,
				     &err), 0);
	CU_ASSERT_EQUAL(so.baseline, SCANNER_BASELINE_LATEST);
	CU_ASSERT_EQUAL(so.reuse, SCANNER_REUSE_UNSET); /* hashes once the baseline is resolved */
	scanopt_release(t, &so);
	json_decref(doc);
	CU_ASSERT_EQUAL(t_read(t, "{\"root\": \"/x\", \"reuse\": \"dirs\"}", &so, &doc, &err),
			SCANOPT_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "baseline"));
	json_decref(doc);
	CU_ASSERT_EQUAL(t_read(t, "{\"root\": \"/x\", \"baseline\": \"newest\"}", &so, &doc, &err),
			SCANOPT_EINVALID);
	json_decref(doc);
	CU_ASSERT_EQUAL(t_read(t, "{\"root\": \"/x\", \"baseline\": 0}", &so, &doc, &err),
			SCANOPT_EINVALID);
	json_decref(doc);
}

static void test_describe(void)
{
	json_t *d = scanopt_describe(scanopt_scan_table());
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	json_t *opts = json_object_get(d, "options");
	CU_ASSERT_EQUAL_FATAL(json_array_size(opts), 14);
	json_t *root = json_array_get(opts, 0), *workers = json_array_get(opts, 1);
	json_t *io = json_array_get(opts, 2), *slow = json_array_get(opts, 11);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(io, "default")), SCANNER_IO_DEPTH_DEFAULT);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(io, "minimum")), 0);
	CU_ASSERT_TRUE(json_is_true(json_object_get(root, "required")));
	CU_ASSERT_TRUE(json_is_false(json_object_get(root, "echoed")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(workers, "maximum")), 256);
	CU_ASSERT_PTR_NULL(json_object_get(workers, "default")); /* found at run time */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(workers, "flag")), "--workers");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(slow, "default")), 100);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(slow, "maximum")), 86400000);
	json_decref(d);

	d = scanopt_describe(&topt_table);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	opts = json_object_get(d, "options");
	json_t *alias = json_array_get(opts, 2), *base = json_array_get(opts, 3);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(alias, "alias_of")), "view");
	CU_ASSERT_TRUE(json_is_true(json_object_get(alias, "default")));
	CU_ASSERT_TRUE(json_is_null(json_object_get(base, "default")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(base, "keywords"), 0)), "latest");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "rules")), 1);
	json_decref(d);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"defaults land and echo", test_defaults},
		{"an enumeration", test_enum},
		{"an integer or a keyword", test_int_or_keyword},
		{"nullable values", test_nullable},
		{"a boolean alias of an enumeration", test_alias},
		{"a rule across fields", test_rule},
		{"unknown names and the required root", test_names_and_root},
		{"string lists", test_strings},
		{"flags through getopt_long", test_cli},
		{"--help lines", test_usage},
		{"the table of scan options", test_scan_table},
		{"the view option, its alias and its rules", test_scan_view},
		{"the table as JSON", test_describe},
		{"baseline and reuse", test_baseline_reuse},
		{NULL, NULL},
	};
	return unit_run("scanopt", tests);
}
