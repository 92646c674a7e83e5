/*
 * fuzz_scan_body.c: the body of POST /scans as api_scans_post() reads it: json_loadb() with
 * JSON_REJECT_DUPLICATES, then the table of scan options (service/job/scanopt.h,
 * scanopt_read(SCANOPT_FROM_JSON)) into struct scanner_opts, then scanopt_release(). Every byte
 * is the client's.
 *
 * fuzz-options: -max_len=8192 -timeout=5
 *
 * Properties (beyond no crash, leak or UBSan report):
 *  - a refusal is SCANOPT_EINVALID (400) or SCANOPT_ECONFLICT (422) with a non-empty UTF-8
 *    message that names a field: one of the table's rows as 'name', or an unknown member;
 *  - an accepted body lands values in range; its echo (scanjson_options(), what the scan record
 *    stores) exists, shows every given member (root excepted) as given, and, printed and parsed
 *    again with the root put back, is accepted, lands the same options and echoes the same text.
 */
#include <jansson.h>
#include <string.h>

#include "base/utf8.h"
#include "service/job/scanjson.h"
#include "service/job/scanopt.h"
#include "tests/fuzz/fuzz.h"

/* The flags of api_scans_post() (api/scans.c). */
#define FUZZ_SB_LOAD_FLAGS JSON_REJECT_DUPLICATES

static bool fuzz_sb_same(const struct scanner_opts *a, const struct scanner_opts *b)
{
	if (strcmp(a->root, b->root) != 0 || a->workers != b->workers ||
	    a->max_depth != b->max_depth || a->flags != b->flags || a->view != b->view ||
	    a->slow_threshold_ms != b->slow_threshold_ms || a->ignore_count != b->ignore_count)
		return false;
	for (size_t i = 0; i < a->ignore_count; i++)
		if (strcmp(a->ignore[i], b->ignore[i]) != 0)
			return false;
	return true;
}

/* Whether a refusal's message names a field: a row as 'name', or "unknown field '...'". */
static bool fuzz_sb_names_field(const struct scanopt_table *t, const char *msg)
{
	if (strncmp(msg, "unknown field '", 15) == 0)
		return true;
	if (!strstr(msg, "field"))
		return false;
	for (size_t i = 0; i < t->count; i++) {
		char quoted[96];
		snprintf(quoted, sizeof(quoted), "'%s'", t->defs[i].name);
		if (strstr(msg, quoted))
			return true;
	}
	return false;
}

static void fuzz_sb_refused(const struct scanopt_table *t, int rc, const struct errbuf *err)
{
	FUZZ_CHECK(rc == SCANOPT_EINVALID || rc == SCANOPT_ECONFLICT, "scanopt_read returned %d",
		   rc);
	size_t n = strnlen(err->msg, sizeof(err->msg));
	FUZZ_CHECK(n > 0 && n < sizeof(err->msg), "a refusal without a message");
	FUZZ_CHECK(utf8_valid(err->msg, n), "the message is not UTF-8: %s", err->msg);
	FUZZ_CHECK(fuzz_sb_names_field(t, err->msg), "the message names no field: %s", err->msg);
}

/* The landed options are in the table's ranges. */
static void fuzz_sb_ranges(const struct scanner_opts *so)
{
	FUZZ_CHECK(so->root && so->root[0] == '/', "root '%s'", so->root ? so->root : "(null)");
	FUZZ_CHECK(so->workers >= 1 && so->workers <= SCANOPT_WORKERS_MAX, "workers %u",
		   so->workers);
	FUZZ_CHECK(so->max_depth >= -1, "max_depth %d", so->max_depth);
	FUZZ_CHECK(so->slow_threshold_ms >= 1 && so->slow_threshold_ms <= SCANOPT_SLOW_MS_MAX,
		   "slow_threshold_ms %u", so->slow_threshold_ms);
	FUZZ_CHECK(so->ignore_count <= SCANOPT_IGNORE_MAX && (!so->ignore_count || so->ignore),
		   "%zu ignore patterns", so->ignore_count);
	for (size_t i = 0; i < so->ignore_count; i++)
		FUZZ_CHECK(strlen(so->ignore[i]) <= SCANOPT_IGNORE_LEN_MAX, "pattern %zu", i);
}

/* The echo of accepted options `so` read from `body`, read back. */
static void fuzz_sb_echo(const struct scanopt_table *t, json_t *body,
			 const struct scanner_opts *so)
{
	json_t *echo = scanjson_options(so);
	FUZZ_CHECK(echo != NULL, "no echo for accepted options");
	FUZZ_CHECK(!json_object_get(echo, "root"), "the echo shows the root");
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "root") == 0)
			continue;
		FUZZ_CHECK(json_equal(v, json_object_get(echo, key)), "the echo changes '%s'", key);
	}
	char *text = json_dumps(echo, JSON_COMPACT);
	FUZZ_CHECK(text != NULL, "printing the echo");

	json_error_t jerr;
	json_t *again = json_loadb(text, strlen(text), FUZZ_SB_LOAD_FLAGS, &jerr);
	FUZZ_CHECK(again && json_is_object(again), "the echo does not parse: %s (%s)", jerr.text,
		   text);
	FUZZ_CHECK(json_object_set_new(again, "root", json_string(so->root)) == 0, "adding root");
	struct scanner_opts so2 = {0};
	struct errbuf err = {0};
	FUZZ_CHECK(scanopt_read(t, again, SCANOPT_FROM_JSON, &so2, &err) == 0,
		   "the echo is refused: %s (%s)", err.msg, text);
	FUZZ_CHECK(fuzz_sb_same(so, &so2), "the echo lands other options: %s", text);
	json_t *echo2 = scanjson_options(&so2);
	char *text2 = echo2 ? json_dumps(echo2, JSON_COMPACT) : NULL;
	FUZZ_CHECK(text2 && strcmp(text, text2) == 0, "the echo of the echo differs: %s, %s", text,
		   text2 ? text2 : "(none)");
	free(text2);
	json_decref(echo2);
	scanopt_release(t, &so2);
	FUZZ_CHECK(so2.ignore == NULL && so2.ignore_count == 0, "scanopt_release left patterns");
	json_decref(again);
	free(text);
	json_decref(echo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* api_scans_post() refuses an empty body before parsing */
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, FUZZ_SB_LOAD_FLAGS, &jerr);
	if (!body) {
		FUZZ_CHECK(jerr.text[0] != '\0', "a JSON error without a message");
		return 0;
	}
	if (!json_is_object(body)) {
		FUZZ_CHECK(scanopt_json_what(body) != NULL, "no name for the type");
		json_decref(body);
		return 0;
	}
	const struct scanopt_table *t = scanopt_scan_table();
	struct scanner_opts so = {0};
	struct errbuf err = {0};
	int rc = scanopt_read(t, body, SCANOPT_FROM_JSON, &so, &err);
	if (rc < 0) {
		fuzz_sb_refused(t, rc, &err);
		FUZZ_CHECK(so.ignore == NULL, "a refusal leaves patterns allocated");
	} else {
		FUZZ_CHECK(rc == 0, "scanopt_read returned %d", rc);
		fuzz_sb_ranges(&so);
		fuzz_sb_echo(t, body, &so);
		scanopt_release(t, &so);
	}
	json_decref(body);
	return 0;
}
