/* gitconfig.c: a reader of git's config syntax for the few settings the view git needs.
 *
 * The syntax (git-config(1), "CONFIGURATION FILE"): lines of `[section]`, `[section "sub"]`,
 * `key = value` or `key` alone (a true boolean), comments from `#` or `;`; a header may be
 * followed by a key on the same line; values may be quoted, escape \" \\ \n \t \b, continue
 * on the next line after a backslash, and end at an unquoted comment. Names are
 * case-insensitive. Every byte is looked at once: linear in the file, whatever it holds.
 */
#include "service/scan/gitconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest value kept: booleans and numbers only are read. Longer ones are not booleans. */
#define GITCONFIG_VALUE_MAX 32

struct gitconfig_in {
	const char *p, *end;
};

static bool gitconfig_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool gitconfig_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

static void gitconfig_skip_line(struct gitconfig_in *in)
{
	const char *nl = memchr(in->p, '\n', (size_t)(in->end - in->p));
	in->p = nl ? nl + 1 : in->end;
}

/* A boolean as git reads it: 1 true, 0 false, -1 not a boolean. */
static int gitconfig_bool(const char *v, size_t n, bool had_equals)
{
	if (!had_equals)
		return 1; /* "key" alone */
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0)
			return 1;
		if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0)
			return 0;
	}
	if (n == 0)
		return 0; /* "key =" */
	/* An integer: non-zero is true (a unit suffix k, m or g allowed). */
	size_t i = v[0] == '-' || v[0] == '+' ? 1 : 0;
	bool nonzero = false;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			nonzero |= v[i] != '0';
		else if (i == n - 1 && i > 0 && strchr("kKmMgG", v[i]))
			break;
		else
			return -1;
	}
	return nonzero;
}

/* A section header from '[': *core set when it is [core] itself. Leaves in->p after ']'. */
static void gitconfig_header(struct gitconfig_in *in, bool *core)
{
	*core = false;
	const char *name = ++in->p;
	while (in->p < in->end && (gitconfig_namechar(*in->p) || *in->p == '.'))
		in->p++;
	size_t n = (size_t)(in->p - name);
	bool sub = false;
	/* [section "sub"]: a subsection, never [core] itself; its escapes are skipped whole. */
	while (in->p < in->end && gitconfig_space(*in->p))
		in->p++;
	if (in->p < in->end && *in->p == '"') {
		sub = true;
		for (in->p++; in->p < in->end && *in->p != '"' && *in->p != '\n'; in->p++)
			if (*in->p == '\\' && in->p + 1 < in->end && in->p[1] != '\n')
				in->p++;
		if (in->p < in->end && *in->p == '"')
			in->p++;
	}
	if (in->p >= in->end || *in->p != ']') {
		gitconfig_skip_line(in); /* not a header git would take */
		return;
	}
	in->p++;
	*core = !sub && n == 4 && strncasecmp(name, "core", 4) == 0;
}

/*
 * A value after '=' (in->p just after it), into v (at most GITCONFIG_VALUE_MAX bytes kept; *n
 * the length, beyond the cap when longer). Leaves in->p at the end of the line.
 */
static void gitconfig_value(struct gitconfig_in *in, char *v, size_t *n)
{
	bool quoted = false;
	size_t len = 0, keep = 0; /* keep: the length without trailing unquoted blanks */
	while (in->p < in->end && gitconfig_space(*in->p))
		in->p++;
	while (in->p < in->end) {
		char c = *in->p++;
		if (c == '\n')
			break;
		if (!quoted && (c == '#' || c == ';')) {
			gitconfig_skip_line(in);
			break;
		}
		if (c == '"') {
			quoted = !quoted;
			keep = len;
			continue;
		}
		if (c == '\\' && in->p < in->end) {
			char e = *in->p++;
			if (e == '\n')
				continue; /* the value goes on on the next line */
			c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'b' ? '\b' : e;
		} else if (!quoted && gitconfig_space(c)) {
			if (len < GITCONFIG_VALUE_MAX)
				v[len] = ' ';
			len++;
			continue;
		}
		if (len < GITCONFIG_VALUE_MAX)
			v[len] = c;
		keep = ++len;
	}
	*n = keep;
}

/* A `key [= value]` line from its first letter; sets c->filemode when in [core]. */
static void gitconfig_entry(struct gitconfig_in *in, bool core, struct gitconfig *c)
{
	const char *key = in->p;
	while (in->p < in->end && gitconfig_namechar(*in->p))
		in->p++;
	size_t klen = (size_t)(in->p - key);
	while (in->p < in->end && gitconfig_space(*in->p))
		in->p++;
	char v[GITCONFIG_VALUE_MAX];
	size_t n = 0;
	bool equals = in->p < in->end && *in->p == '=';
	if (equals) {
		in->p++;
		gitconfig_value(in, v, &n);
	} else if (in->p < in->end && *in->p != '\n' && *in->p != '#' && *in->p != ';') {
		gitconfig_skip_line(in); /* not an entry git would take */
		return;
	} else {
		gitconfig_skip_line(in);
	}
	if (!core || klen != 8 || strncasecmp(key, "filemode", 8) != 0 || n > GITCONFIG_VALUE_MAX)
		return;
	int b = gitconfig_bool(v, n, equals);
	if (b >= 0)
		c->filemode = b;
}

void gitconfig_defaults(struct gitconfig *c)
{
	c->filemode = true;
}

void gitconfig_parse(const char *text, size_t len, struct gitconfig *c)
{
	struct gitconfig_in in = {text, text + len};
	bool core = false;
	/* A UTF-8 byte order mark may open the file. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		in.p += 3;
	while (in.p < in.end) {
		char ch = *in.p;
		if (gitconfig_space(ch) || ch == '\n')
			in.p++;
		else if (ch == '#' || ch == ';')
			gitconfig_skip_line(&in);
		else if (ch == '[')
			gitconfig_header(&in, &core);
		else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
			gitconfig_entry(&in, core, c);
		else
			gitconfig_skip_line(&in);
	}
}
