/* scanopt_cli.c: a table's options as command-line flags, and their part of --help. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/scanopt.h"
#include "service/job/scanopt_impl.h"

size_t scanopt_cli_longopts(const struct scanopt_table *t, struct option *out, size_t cap,
			    int val_base)
{
	size_t n = 0;
	for (size_t i = 0; i < t->count; i++) {
		const struct scanopt_cli *c = &t->defs[i].cli;
		if (c->kind == SCANOPT_CLI_NONE)
			continue;
		if (n < cap) {
			bool value = c->kind == SCANOPT_CLI_VALUE || c->kind == SCANOPT_CLI_APPEND;
			out[n] = (struct option){c->flag, value ? required_argument : no_argument, NULL,
						 val_base + (int)i};
		}
		n++;
	}
	return n;
}

/* --flag N: a whole number in the row's range, or one of its keywords. */
static int scanopt_cli_number(const struct scanopt_def *d, const char *arg, json_t **out,
			      struct errbuf *err)
{
	if (scanopt_keyword_named(d, arg)) {
		*out = json_string(arg);
		return *out ? 0 : -ENOMEM;
	}
	if ((arg[0] >= '0' && arg[0] <= '9') || (arg[0] == '-' && d->min < 0)) {
		char *end;
		errno = 0;
		long long v = strtoll(arg, &end, 10);
		if (!errno && !*end && v >= d->min && v <= d->max) {
			*out = json_integer(v);
			return *out ? 0 : -ENOMEM;
		}
	}
	char kw[256], shown[72];
	scanopt_keywords_text(d, "", kw, sizeof(kw));
	scanopt_clip(arg, strlen(arg), shown, sizeof(shown));
	return errbuf_set(err, SCANOPT_EINVALID, "--%s: expected a whole number from %lld to %lld%s%s, got '%s'",
			  d->cli.flag, d->min, d->max, d->keywords ? " or " : "", kw, shown);
}

/* --flag WORD: one of the row's keywords. */
static int scanopt_cli_keyword(const struct scanopt_def *d, const char *arg, json_t **out,
			       struct errbuf *err)
{
	if (scanopt_keyword_named(d, arg)) {
		*out = json_string(arg);
		return *out ? 0 : -ENOMEM;
	}
	char kw[256], shown[72];
	scanopt_keywords_text(d, "", kw, sizeof(kw));
	scanopt_clip(arg, strlen(arg), shown, sizeof(shown));
	return errbuf_set(err, SCANOPT_EINVALID, "--%s: expected %s, got '%s'", d->cli.flag, kw, shown);
}

/* --flag STRING, repeatable: one more item of the list in `given`. */
static int scanopt_cli_append(const struct scanopt_def *d, const char *arg, json_t *given,
			      struct errbuf *err)
{
	const char *items = d->items ? d->items : "values";
	size_t len = strlen(arg);
	if (len > d->max_len)
		return errbuf_set(err, SCANOPT_EINVALID, "--%s: a value is at most %zu bytes, got %zu",
				  d->cli.flag, d->max_len, len);
	json_t *list = json_object_get(given, d->name);
	if (list && json_array_size(list) >= (size_t)d->max)
		return errbuf_set(err, SCANOPT_EINVALID, "--%s: at most %lld %s are allowed", d->cli.flag,
				  d->max, items);
	json_t *s = json_string(arg);
	if (!s) /* jansson refuses strings that are not UTF-8 (or when memory is short) */
		return errbuf_set(err, SCANOPT_EINVALID, "--%s: '%s' is not valid UTF-8", d->cli.flag, arg);
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(given, d->name, list) < 0) {
			json_decref(s);
			return errbuf_errno(err, ENOMEM, "reading --%s", d->cli.flag);
		}
	}
	if (json_array_append_new(list, s) < 0)
		return errbuf_errno(err, ENOMEM, "reading --%s", d->cli.flag);
	return 0;
}

int scanopt_cli_arg(const struct scanopt_table *t, size_t row, const char *arg, json_t *given,
		    struct errbuf *err)
{
	if (row >= t->count || t->defs[row].cli.kind == SCANOPT_CLI_NONE)
		return errbuf_set(err, -EINVAL, "option table: row %zu has no flag", row);
	const struct scanopt_def *d = &t->defs[row];
	json_t *v = NULL;
	int rc = 0;
	switch (d->cli.kind) {
	case SCANOPT_CLI_TRUE: v = json_true(); break;
	case SCANOPT_CLI_FALSE: v = json_false(); break;
	case SCANOPT_CLI_APPEND: return scanopt_cli_append(d, arg ? arg : "", given, err);
	default:
		if (d->type == SCANOPT_INT)
			rc = scanopt_cli_number(d, arg ? arg : "", &v, err);
		else if (d->type == SCANOPT_ENUM)
			rc = scanopt_cli_keyword(d, arg ? arg : "", &v, err);
		else
			rc = errbuf_set(err, -EINVAL, "option table: --%s cannot take a value", d->cli.flag);
		break;
	}
	if (rc == -ENOMEM || (rc == 0 && !v))
		return errbuf_errno(err, ENOMEM, "reading --%s", d->cli.flag);
	if (rc < 0)
		return rc;
	if (json_object_set_new(given, d->name, v) < 0)
		return errbuf_errno(err, ENOMEM, "reading --%s", d->cli.flag);
	return 0;
}

/* ---------------------------------------------------------------- --help */

#define SCANOPT_HELP_INDENT 25 /* where the text starts: "  --slow-threshold-ms N  " */
#define SCANOPT_HELP_WIDTH 99

/* The help text of a row with what the table adds: range, default, repeatable. */
static void scanopt_cli_help_text(const struct scanopt_def *d, char *buf, size_t cap)
{
	char range[192] = "", def[160] = "";
	if (d->cli.kind == SCANOPT_CLI_VALUE && d->type == SCANOPT_INT && d->max < INT_MAX)
		snprintf(range, sizeof(range), ", %lld..%lld", d->min, d->max);
	if (d->cli.kind == SCANOPT_CLI_VALUE && d->type == SCANOPT_ENUM) {
		char kw[128];
		scanopt_keywords_text(d, "", kw, sizeof(kw));
		snprintf(range, sizeof(range), ": %s", kw);
	}
	if (d->cli.kind == SCANOPT_CLI_APPEND)
		snprintf(range, sizeof(range), "; repeatable, up to %lld of at most %zu bytes", d->max,
			 d->max_len);
	if (d->cli.kind == SCANOPT_CLI_VALUE && d->auto_default) {
		snprintf(def, sizeof(def), " (default: %s)", d->auto_default_help);
	} else if (d->cli.kind == SCANOPT_CLI_VALUE && !(d->flags & SCANOPT_NULLABLE)) {
		const struct scanopt_keyword *k = NULL;
		for (const struct scanopt_keyword *i = d->keywords; i && i->name && !k; i++)
			k = i->value == d->def ? i : NULL;
		if (k)
			snprintf(def, sizeof(def), " (default %s)", k->name);
		else
			snprintf(def, sizeof(def), " (default %lld)", d->def);
	}
	snprintf(buf, cap, "%s%s%s", d->cli.help ? d->cli.help : d->help, range, def);
}

/* Writes `text` from column SCANOPT_HELP_INDENT, wrapped at spaces to SCANOPT_HELP_WIDTH. */
static void scanopt_cli_wrap(FILE *out, const char *text)
{
	const char *p = text;
	size_t room = SCANOPT_HELP_WIDTH - SCANOPT_HELP_INDENT;
	while (strlen(p) > room) {
		const char *cut = p + room;
		while (cut > p && *cut != ' ')
			cut--;
		if (cut == p)
			break;
		fprintf(out, "%.*s\n%*s", (int)(cut - p), p, SCANOPT_HELP_INDENT, "");
		p = cut + 1;
	}
	fprintf(out, "%s\n", p);
}

void scanopt_cli_usage(const struct scanopt_table *t, FILE *out)
{
	for (size_t i = 0; i < t->count; i++) {
		const struct scanopt_def *d = &t->defs[i];
		if (d->cli.kind == SCANOPT_CLI_NONE)
			continue;
		char flag[64], text[512];
		snprintf(flag, sizeof(flag), "--%s%s%s", d->cli.flag, d->cli.arg ? " " : "",
			 d->cli.arg ? d->cli.arg : "");
		int w = fprintf(out, "  %-*s", SCANOPT_HELP_INDENT - 3, flag);
		if (w > SCANOPT_HELP_INDENT - 1)
			fprintf(out, "\n%*s", SCANOPT_HELP_INDENT, "");
		else
			fputc(' ', out);
		scanopt_cli_help_text(d, text, sizeof(text));
		scanopt_cli_wrap(out, text);
	}
}
